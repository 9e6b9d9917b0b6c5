"""Notebook helpers for the io_uring accept chapter: live-or-recorded runs, one table of io_uring and
epoll records, a shares plot and the explorer widget. matplotlib, pandas and ipywidgets are imported
inside the functions; the ctypes ring binding only when this machine is Linux.
"""

from __future__ import annotations

import sys

from . import data, uring_record

assert uring_record.EXPERIMENT  # imported for its registration: recorded "uring-accept" files load

RECORDED = "uring_accept"


def unavailable() -> str | None:
    """None when live io_uring accept runs here, else the one-line reason (never imports ctypes off Linux)."""
    if not sys.platform.startswith("linux"):
        return f"io_uring needs Linux; this is {sys.platform}"
    from .lab.uring_ring import unavailable_reason

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
        from .lab.uring_accept import uring_accept

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
        from .lab.uring_accept import compare

        return compare(workers, connections, rate=rate, work_ms=work_ms)
    out = [_recorded(m, workers, rate, work_ms, "defer-taskrun", False)[0]
           for m in ("multishot", "single-shot")]
    print(f"NOT LIVE ({why}): io_uring rows recorded, {data.describe(RECORDED)}.")
    epoll = [r for r in data.find("accept", workers=workers)
             if r.strategy in ("epoll-lt-private", "epoll-exclusive")]
    print(f"NOT LIVE: epoll rows recorded, {data.describe('accept')}.")
    return out + epoll


def table(records):
    """One pandas table of io_uring and epoll accept records (``uring_accept.row``)."""
    import pandas as pd

    from .uring_record import row

    return pd.DataFrame([row(r) for r in records])


def shares_plot(records, ax=None, title: str = "share of connections per worker"):
    """Stacked bars: each record's per-worker share of the connections (worker 0 at the bottom)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _fig, ax = plt.subplots(figsize=(7.5, 3.0))
    for i, r in enumerate(records):
        accepts = [w["accepts"] if isinstance(w, dict) else w.accepts for w in r.per_worker]
        total = sum(accepts) or 1
        bottom = 0.0
        for j, a in enumerate(accepts):
            ax.bar(i, a / total, bottom=bottom, color=plt.cm.tab10(j % 10), edgecolor="white",
                   label=f"worker {j}" if i == 0 else None)
            bottom += a / total
    ax.set_xticks(range(len(records)), [r.strategy.replace("uring-", "uring\n") for r in records], fontsize=8)
    ax.set_ylabel("share")
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return ax


def explorer(mode: str = "multishot", rings: int = 4, rate: float = 400.0, work_ms: float = 0.0,
             connections: int = 100):
    """Pick the io_uring mode (or an epoll strategy), the rings (= worker threads), the rate and the work
    per connection; Run shows who accepted each connection, next to the model's prediction."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    from .sim.uring import predict
    from .widgets import _run_panel, _show

    pick = w.Dropdown(options=["multishot", "single-shot"], value=mode, description="mode")
    n = w.IntSlider(value=rings, min=1, max=8, description="rings", continuous_update=False)
    pace = w.FloatLogSlider(value=rate, base=10, min=2, max=3.6, description="conn/s",
                            continuous_update=False)
    work = w.FloatSlider(value=work_ms, min=0.0, max=10.0, step=0.5, description="work ms",
                         continuous_update=False)

    def draw():
        r = run_or_recorded(pick.value, n.value, connections, rate=round(pace.value), work_ms=work.value)
        arm = r.params.get("arm_order")
        p = predict(r.mode, r.workers, r.connections, rate=r.params.get("rate"),
                    work_ms=r.params.get("work_ms", 0.0), arm_order=arm,
                    cq_entries=r.params.get("cq_entries", 128))
        live = "live" if unavailable() is None else "NOT LIVE, see above"
        print(f"{r.strategy} ({live}, Linux {r.kernel}): {r.workers} rings, busiest {r.max_share:.0%}, "
              f"{r.kernel_wakeups_per_connection:.2f} wake-ups/connection; model: busiest {p.max_share:.0%}")
        fig, ax = plt.subplots(figsize=(8, 1.9))
        ax.scatter(range(len(r.accept_order)), r.accept_order, s=8, label="measured")
        ax.scatter(range(len(p.accept_order)), [y + 0.25 for y in p.accept_order], s=8, marker="x",
                   label="model (+0.25)")
        ax.set_xlabel("connection")
        ax.set_ylabel("worker")
        ax.set_yticks(range(r.workers))
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        ax.set_title("who accepted each connection")
        fig.tight_layout()
        _show(fig)

    return _run_panel([[pick], [n, pace, work]], draw)
