"""Notebook helpers for the io_uring accept chapter: live-or-recorded runs and one table of io_uring and
epoll records. pandas is imported inside the function; the ctypes ring binding only when this machine is
Linux. The chapter's plot is ``plots.uring_shares`` (view/plots/uring.py), its widget
``widgets.uring_explorer`` (view/widgets/uring.py).
"""

from __future__ import annotations

import sys

from .. import data  # epollkit.records registers UringAcceptResult: recorded "uring-accept" files load

RECORDED = "uring_accept"


def unavailable() -> str | None:
    """None when live io_uring accept runs here, else the one-line reason (never imports ctypes off Linux)."""
    if not sys.platform.startswith("linux"):
        return f"io_uring needs Linux; this is {sys.platform}"
    from ..lab.harness.uring_ring import unavailable_reason

    return unavailable_reason()


def _recorded(mode, workers, rate, work_ms, setup, shared_ring, process=False, connections=200):
    found = [r for r in data.find(RECORDED) if r.mode == mode and r.params.get("shared_ring") == shared_ring
             and r.params.get("process", False) == process]
    if not found:
        return None, False

    def distance(r):
        p = r.params
        return (r.workers != workers, r.setup != setup, abs((p.get("rate") or 1e6) - (rate or 1e6)),
                abs(p.get("work_ms", 0) - work_ms), abs(r.connections - connections),
                abs(r.workers - workers))

    best = min(found, key=distance)
    exact = distance(best)[:2] == (False, False) and distance(best)[2:5] == (0, 0, 0)
    return best, exact


def run_or_recorded(mode: str = "multishot", workers: int = 4, connections: int = 200, *,
                    rate: float = 400.0, work_ms: float = 0.0, setup: str = "defer-taskrun",
                    shared_ring: bool = False, process: bool = False):
    """The live record, or -- where io_uring is unavailable -- the closest recorded one, saying NOT LIVE,
    why, and where and when it was recorded."""
    why = unavailable()
    if why is None:
        from ..lab.experiments.uring_accept import uring_accept

        return uring_accept(mode, workers, connections, rate=rate, work_ms=work_ms, setup=setup,
                            shared_ring=shared_ring, process=process)
    r, exact = _recorded(mode, workers, rate, work_ms, setup, shared_ring, process, connections)
    which = "" if exact else f" (closest recorded: {r.workers} workers, {r.connections} connections, " \
                             f"{r.params.get('rate')}/s, work {r.params.get('work_ms')} ms, {r.setup})"
    print(f"NOT LIVE ({why}): showing a recorded result{which}, {data.describe(RECORDED)}.")
    return r


def compare_or_recorded(workers: int = 4, connections: int = 200, *, rate: float = 400.0,
                        work_ms: float = 0.0):
    """Both io_uring modes and epoll-lt-private / epoll-exclusive at one load: live, or recorded (the
    io_uring records of data/reference/uring_accept.json beside the epoll ones of accept.json)."""
    why = unavailable()
    if why is None:
        from ..lab.experiments.uring_accept import compare

        return compare(workers, connections, rate=rate, work_ms=work_ms)
    out = [_recorded(m, workers, rate, work_ms, "defer-taskrun", False)[0]
           for m in ("multishot", "single-shot")]
    print(f"NOT LIVE ({why}): io_uring rows recorded, {data.describe(RECORDED)}.")
    epoll = [r for r in data.find("accept", workers=workers)
             if r.strategy in ("epoll-lt-private", "epoll-exclusive")]
    print(f"NOT LIVE: epoll rows recorded, {data.describe('accept')}.")
    return out + epoll


def table(records):
    """One pandas table of io_uring and epoll accept records (``analysis.uring.row``)."""
    import pandas as pd

    from ..analysis.uring import row

    return pd.DataFrame([row(r) for r in records])
