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
    kill_child,
    poll_child,
    reap_child,
    require_linux,
    settled,
    sleeps_in,
    thread_state,
    thread_wchan,
    vmrss_kib,
    voluntary_switches,
    wait_child,
    wait_until_blocked,
)
from .interrupts import Teardown, accept_on, close_pipe, deferred_signals, own, socket_pair
from .limits import (
    WORKER_STACK,
    check_fd_budget,
    check_fd_room,
    check_select_fds,
    check_thread_room,
    fds_in_use,
    raised_fd_limit,
    thread_room,
)
from .stop import REPOKE_S, StopSignal

__all__ = [
    "EVENTS_PER_WAIT",
    "accept_on",
    "close_pipe",
    "socket_pair",
    "deferred_signals",
    "own",
    "Teardown",
    "REPOKE_S",
    "StopSignal",
    "JOIN_TIMEOUT_S",
    "WAIT_WCHANS",
    "ClientProcess",
    "WorkerGroup",
    "asleep_in_wait",
    "kill_child",
    "poll_child",
    "reap_child",
    "wait_child",
    "WORKER_STACK",
    "check_fd_budget",
    "check_select_fds",
    "check_thread_room",
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
    "settled",
]
