"""io_uring accept, interpreted (pure): the strategy name tables use, the record derived from what each
worker counted (the lab's threads and processes alike; "observe, then interpret"), and one table row for
an io_uring or an epoll accept record. No io_uring, no sockets.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..records.uring import EXPERIMENT, UringAcceptResult


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
