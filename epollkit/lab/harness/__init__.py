"""What every live experiment shares: platform and fd-budget gates, thread states read from /proc
(``sleeps_in``: asleep in the kernel function of its wait), a worker group that always stops, and a
helper process that runs in a process of its own.

Import from here (``from epollkit.lab.harness import WorkerGroup``); the modules behind it may move.
"""

from __future__ import annotations

from ...strategies import EVENTS_PER_WAIT
from .core import (
    JOIN_TIMEOUT_S,
    WAIT_WCHANS,
    ClientProcess,
    WorkerGroup,
    asleep_in_wait,
    require_linux,
    sleeps_in,
    thread_state,
    thread_wchan,
    vmrss_kib,
    voluntary_switches,
    wait_until_blocked,
)
from .limits import check_fd_budget, check_fd_room, fds_in_use, raised_fd_limit, thread_room
from .stop import REPOKE_S, StopSignal

__all__ = [
    "EVENTS_PER_WAIT",
    "REPOKE_S",
    "StopSignal",
    "JOIN_TIMEOUT_S",
    "WAIT_WCHANS",
    "ClientProcess",
    "WorkerGroup",
    "asleep_in_wait",
    "check_fd_budget",
    "check_fd_room",
    "fds_in_use",
    "raised_fd_limit",
    "thread_room",
    "require_linux",
    "sleeps_in",
    "thread_state",
    "thread_wchan",
    "vmrss_kib",
    "voluntary_switches",
    "wait_until_blocked",
]
