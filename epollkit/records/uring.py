"""The io_uring accept record (``experiment = "uring-accept"``): a Record subclass with ``EXPERIMENT`` set,
so it registers itself and recorded files load back as records. Pure: no io_uring, no sockets. Its
figures are derived by :func:`epollkit.analysis.uring.summarize_uring`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .base import Record


@dataclass(frozen=True)
class UringAcceptResult(Record):
    """``workers`` threads (or processes) accept from one listener on 127.0.0.1 through io_uring.

    mode              ``multishot`` (one IORING_ACCEPT_MULTISHOT request per ring, armed once) or
                      ``single-shot`` (one IORING_OP_ACCEPT per ring, submitted again after each CQE)
    rings             io_uring instances; ``rings < workers`` when threads share a ring
    setup             ``plain``, ``single-issuer`` or ``defer-taskrun`` (the ring's setup flags)
    kernel_wakeups    the workers' voluntary context switches between "all asleep" and the stop
                      (the counter every chapter uses); includes one per ``work`` sleep
    enters            io_uring_enter(GETEVENTS) calls that returned
    cqes              accept completions reaped; ``empty_cqes`` those that carried no connection
                      (an error such as -EAGAIN)
    rearms            multishot requests submitted again because a CQE came without IORING_CQE_F_MORE
    cpu_us_per_connection  the workers' CPU time (``/proc/.../schedstat``) per connection, or None
    accept_order      worker index of each accepted connection, in the order they were booked
    per_worker        ``{"worker", "ring", "accepts", "enters", "cqes", "empty_cqes", "kernel_wakeups"}``
    """

    EXPERIMENT = "uring-accept"
    _rows_field = "per_worker"

    experiment: str
    backend: str
    strategy: str
    mode: str
    workers: int
    rings: int
    setup: str
    connections: int
    accepted: int
    lost: int
    kernel_wakeups: int
    kernel_wakeups_per_connection: float
    enters: int
    cqes: int
    empty_cqes: int
    rearms: int
    cqes_per_connection: float
    cpu_us_per_connection: float | None
    accept_order: list[int]
    max_share: float
    per_worker: list[dict]
    params: dict | None = None
    kernel: str | None = None
    duration_s: float | None = None


EXPERIMENT = UringAcceptResult.EXPERIMENT
