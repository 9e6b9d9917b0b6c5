"""A short history of select (notebook 01): cost per call, and connect() latency against waiters."""

from __future__ import annotations

from ._style import API_COLORS, _axes, _records, color


def multiplex_cost(results, ax=None, *, stat: str = "median", spread: bool = True, log: bool = True):
    """µs per call of select/poll/epoll against the number of idle fds watched (MultiplexResult, live or
    recorded), one line per API, with a p90-to-min band when ``spread``. Log-log by default: select
    and poll climb with slope 1 (linear), epoll stays flat."""
    ax = _axes(ax)
    for r in _records(results):
        for api in ("select", "poll", "epoll"):
            pts = sorted((p for p in r.points if p["api"] == api), key=lambda p: p["fds"])
            if not pts:
                continue
            xs = [p["fds"] for p in pts]
            ax.plot(xs, [p["us_per_call"][stat] for p in pts], marker="o", color=API_COLORS[api],
                    label=f"{api} ({stat})")
            if spread:
                ax.fill_between(xs, [p["us_per_call"]["min"] for p in pts],
                                [p["us_per_call"]["p90"] for p in pts], color=API_COLORS[api], alpha=0.15)
    if any(p["api"] == "select" for r in _records(results) for p in r.points):
        ax.axvline(1024, color="grey", ls=":", lw=1)
        ax.annotate("FD_SETSIZE", (1024, 1), xycoords=("data", "axes fraction"), ha="right", va="top",
                    rotation=90, fontsize="small", color="grey")
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    kernel = _records(results)[0].kernel if _records(results) else None
    ax.set_xlabel("idle fds watched (plus one ready fd)")
    ax.set_ylabel("µs per call")
    ax.set_title(f"Cost of one wait call{f' (Linux {kernel})' if kernel else ''}", fontsize="medium")
    ax.legend(fontsize="small")
    return ax


def herd_latency_curve(results, ax=None, *, stat: str = "median", published: bool = True,
                       log: bool = False, spread: bool = False):
    """connect() latency (ms) against the number of waiters, one line per strategy (HerdLatencyResult,
    live or recorded), with Majkowski's published select means beside them (source in the legend).
    ``spread`` shades min..p90 (on a busy machine p90 can dwarf the medians)."""
    from ...analysis import published as pub

    ax = _axes(ax)
    for r in _records(results):
        pts = sorted(r.points, key=lambda p: p["waiters"])
        xs = [p["waiters"] for p in pts]
        ax.plot(xs, [p["connect_us"][stat] / 1000 for p in pts], marker="o", color=color(r.strategy),
                label=f"{r.strategy} ({stat}, {r.backend})")
        if spread:
            ax.fill_between(xs, [p["connect_us"]["min"] / 1000 for p in pts],
                            [p["connect_us"]["p90"] / 1000 for p in pts], color=color(r.strategy), alpha=0.15)
    if published:
        t = pub.MAJKOWSKI_SELECT
        top = max((p["waiters"] for r in _records(results) for p in r.points), default=1024)
        rows = [row for row in t.records() if row["waiters"] <= max(top, 1024)]
        ax.plot([row["waiters"] for row in rows], [row["avg_ms"] for row in rows], "s--", color="black",
                mfc="white", label="select, published mean (Majkowski 2017, idea.popcount.org)")
    if log:
        ax.set_xscale("symlog", linthresh=16)
        ax.set_yscale("log")
    ax.set_xlabel("waiters blocked on the listener")
    ax.set_ylabel("non-blocking connect() (ms)")
    ax.set_title("The herd's cost, paid inside connect()", fontsize="medium")
    ax.legend(fontsize="small")
    return ax
