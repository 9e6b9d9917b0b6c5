"""Accept records: what each worker did, and the figures of one run (docs/architecture.md, "Result
records")."""

from __future__ import annotations

from dataclasses import dataclass, field  # noqa: F401

from .base import Record


@dataclass(frozen=True)
class WorkerStats(Record):
    """What one accept worker did. ``kernel_wakeups``: times it was woken (see AcceptResult)."""

    worker: int
    accepts: int
    returns: int
    eagain: int
    kernel_wakeups: int


@dataclass(frozen=True)
class AcceptResult(Record):
    """One accept experiment: ``workers`` threads share one TCP listener (or a port) on 127.0.0.1.

    accepted / lost        connections accepted, and ``connections - accepted`` (must be 0)
    returns                wait calls (select/poll/epoll_wait, or accept() for ``blocking``) that
                           returned at least one event for the listener
    eagain                 accept() calls that found the queue empty
    kernel_wakeups         times a worker was woken. Real runs: the workers' voluntary context
                           switches (``ru_nvcsw``) between "all waiting" and the stop -- a proxy that
                           also counts sleeps on the GIL or a page fault; the model counts wake-ups
                           exactly.
    *_per_connection       the three above divided by ``connections``
    accept_order           worker index of each accepted connection, in accept order
    max_share              largest fraction of connections accepted by one worker
    per_worker             one WorkerStats per worker
    """

    EXPERIMENT = "accept"
    _row_cls = WorkerStats

    _rows_field = "per_worker"

    experiment: str
    backend: str
    strategy: str
    workers: int
    connections: int
    accepted: int
    lost: int
    returns: int
    eagain: int
    kernel_wakeups: int
    returns_per_connection: float
    eagain_per_connection: float
    kernel_wakeups_per_connection: float
    accept_order: list[int]
    max_share: float
    per_worker: list[WorkerStats]
    params: dict | None = None
    kernel: str | None = None
    duration_s: float | None = None
    schedules: int | None = None
    states: int | None = None
    outcomes: list | None = None
    witnesses: dict | None = None


@dataclass(frozen=True)
class EpollRefusalResult(Record):
    """What ``epoll_ctl()`` said to each flag combination: ``cases`` of ``{"case", "call", "errno"}``
    (``errno`` an errno name such as ``"EINVAL"``, or ``"ok"``)."""

    EXPERIMENT = "epoll-refusals"

    _rows_field = "cases"

    experiment: str
    backend: str
    cases: list[dict]
    kernel: str | None = None

