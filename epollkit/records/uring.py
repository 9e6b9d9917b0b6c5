"""The frozen record of one io_uring accept experiment (``experiment = "uring-accept"``), registered with
``results.register_record`` so recorded files load back as records. Pure: no io_uring, no sockets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .results import Record, register_record

EXPERIMENT = "uring-accept"


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


def strategy_name(mode: str, workers: int, rings: int, process: bool = False) -> str:
    """The name tables use: ``uring-multishot``, ``uring-single-shot``, ``...-shared-ring``, ``...-procs``."""
    name = f"uring-{mode}"
    if rings < workers:
        name += "-shared-ring"
    if process:
        name += "-procs"
    return name


def summarize_uring(*, backend: str, mode: str, rings: int, setup: str, connections: int,
                    per_worker: Sequence[dict], accept_order: Sequence[int], rearms: int = 0,
                    cpu_ns: int | None = None, params: dict | None = None, kernel: str | None = None,
                    duration_s: float | None = None, process: bool = False) -> UringAcceptResult:
    """Derive the record from what each worker counted (pure)."""
    workers = len(per_worker)
    accepted = sum(w["accepts"] for w in per_worker)
    wakeups = sum(w["kernel_wakeups"] for w in per_worker)
    cqes = sum(w["cqes"] for w in per_worker)
    per = float(connections) if connections else 1.0
    max_share = max((w["accepts"] for w in per_worker), default=0) / accepted if accepted else 0.0
    return UringAcceptResult(
        experiment=EXPERIMENT,
        backend=backend,
        strategy=strategy_name(mode, workers, rings, process),
        mode=mode,
        workers=workers,
        rings=rings,
        setup=setup,
        connections=connections,
        accepted=accepted,
        lost=connections - accepted,
        kernel_wakeups=wakeups,
        kernel_wakeups_per_connection=round(wakeups / per, 4),
        enters=sum(w["enters"] for w in per_worker),
        cqes=cqes,
        empty_cqes=sum(w["empty_cqes"] for w in per_worker),
        rearms=rearms,
        cqes_per_connection=round(cqes / per, 4),
        cpu_us_per_connection=None if cpu_ns is None else round(cpu_ns / 1000 / per, 2),
        accept_order=list(accept_order),
        max_share=round(max_share, 4),
        per_worker=[dict(w) for w in per_worker],
        params=params,
        kernel=kernel,
        duration_s=None if duration_s is None else round(duration_s, 4),
    )


def row(r) -> dict:
    """One table row for an io_uring or an epoll accept record (pure)."""
    params = r.params or {}
    return {
        "strategy": r.strategy,
        "workers": r.workers,
        "setup": getattr(r, "setup", "-"),
        "rate": params.get("rate"),
        "work_ms": params.get("work_ms", 0.0),
        "wakeups/conn": r.kernel_wakeups_per_connection,
        "max_share": r.max_share,
        "cpu_us/conn": getattr(r, "cpu_us_per_connection", None),
        "accepts": [w["accepts"] if isinstance(w, dict) else w.accepts for w in r.per_worker],
        "lost": r.lost,
    }


register_record(EXPERIMENT, UringAcceptResult)
