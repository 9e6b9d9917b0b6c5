"""The closing notebook's measurements: every accept strategy, paced and in a burst, and every read
strategy racing, on this kernel, in one call per table.

Nothing new is measured here: this composes :func:`epollkit.lab.accept` and :func:`epollkit.lab.read`
(each validates, has a deadline and leaves nothing behind) and keeps every run, so the table's numbers
can be traced back to records. ``reference_runs`` is what ``data/reference/which_to_use.json`` holds.
"""

from __future__ import annotations

import statistics

from ...validate import check_int
from .accept import accept
from .read import read

#: every accept strategy the lab runs, except the one that strands connections on purpose
GUIDE_ACCEPT = ("blocking", "select", "poll", "epoll-lt", "epoll-et", "epoll-oneshot", "epoll-lt-private",
                "epoll-et-private", "epoll-exclusive", "epoll-exclusive-rotate", "reuseport")
#: the read pattern each accept strategy corresponds to (same flags, same topology), where there is one
READ_OF = {"epoll-lt": "lt", "epoll-et": "et", "epoll-exclusive": "lt-exclusive", "epoll-oneshot": "oneshot"}


def accept_runs(workers: int = 4, paced: int = 200, burst: int = 400, repeats: int = 3) -> dict:
    """Paced runs (one per strategy: wake-ups, EAGAIN, fairness, epoll_ctl) and ``repeats`` burst runs
    per strategy (throughput, with their spread). Returns ``{"paced": [...], "burst": {s: [...]}}``."""
    check_int("workers", workers, 1, 64)
    check_int("paced", paced, 1, 100_000)
    check_int("burst", burst, 1, 100_000)
    check_int("repeats", repeats, 1, 20)
    out = {"paced": [accept(s, workers, paced) for s in GUIDE_ACCEPT], "burst": {}}
    for _ in range(repeats):
        for s in GUIDE_ACCEPT:
            out["burst"].setdefault(s, []).append(accept(s, workers, burst, burst=True))
    return out


def read_runs(readers: int = 2, messages: int = 20_000, think_us: float = 200, repeats: int = 3) -> dict:
    """``repeats`` races per read strategy (100-byte messages: a 2048-byte read ends inside one), with
    a reader pause of ``think_us`` after each wake-up to widen the window. ``{strategy: [ReadResult]}``."""
    check_int("repeats", repeats, 1, 20)
    return {s: [read(s, readers, messages, message_size=100, think_us=think_us) for _ in range(repeats)]
            for s in READ_OF.values()}


def throughput(runs) -> dict:
    """Connections per second of burst runs: median, min, max (over the runs)."""
    rates = sorted(r.accepted / r.duration_s for r in runs if r.duration_s)
    return {"median": round(statistics.median(rates)), "min": round(rates[0]), "max": round(rates[-1])}
