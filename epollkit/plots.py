"""matplotlib figures: take results (+ optional ax), return the Axes; matplotlib imported lazily inside
functions. Plots never run experiments and never call ``plt.show()``.

Each function accepts live records or recorded ones (``epollkit.data``) alike.
"""

from __future__ import annotations

from collections.abc import Sequence

# One colour per strategy, shared by every figure so a reader can follow a strategy across notebooks.
STRATEGY_COLORS = {
    "blocking": "#1b9e77",
    "select": "#d95f02",
    "poll": "#e6ab02",
    "epoll-lt": "#7570b3",
    "epoll-et": "#a6761d",
    "epoll-oneshot": "#666666",
    "epoll-lt-private": "#e7298a",
    "epoll-et-private": "#f781bf",
    "epoll-exclusive": "#66a61e",
    "reuseport": "#1f78b4",
    "epoll-exclusive-rotate": "#b2df8a",
}


def _axes(ax=None, figsize=None):
    import matplotlib.pyplot as plt

    if ax is None:
        _fig, ax = plt.subplots(figsize=figsize)
    return ax


def color(strategy: str) -> str | None:
    return STRATEGY_COLORS.get(strategy)


def accept_sweep(
    results: Sequence,
    metric: str = "kernel_wakeups_per_connection",
    ax=None,
    *,
    label: str | None = None,
    guides: bool = True,
    linestyle: str = "-",
):
    """One line per strategy: ``metric`` (a per-connection figure of AcceptResult) against workers.

    ``guides`` draws y = N (everyone woken) and y = 1 (exactly one woken).
    """
    ax = _axes(ax)
    by_strategy: dict[str, list] = {}
    for r in results:
        by_strategy.setdefault(r.strategy, []).append(r)
    top = 1
    for name, rs in by_strategy.items():
        rs = sorted(rs, key=lambda r: r.workers)
        xs = [r.workers for r in rs]
        ys = [getattr(r, metric) for r in rs]
        top = max(top, *xs)
        tag = f"{name} ({label})" if label else name
        ax.plot(xs, ys, linestyle, marker="o", color=color(name), label=tag)
    if guides and metric == "kernel_wakeups_per_connection":
        ax.plot([1, top], [1, top], ":", color="grey", lw=1, label="N (every worker woken)")
        ax.axhline(1, color="grey", lw=1, ls="--", label="1 (wake exactly one)")
    ax.set_xlabel("workers (threads waiting)")
    ax.set_ylabel(metric.replace("_", " "))
    ax.legend(fontsize="small", ncol=2)
    return ax


def per_worker_accepts(result, ax=None, *, title: str | None = None):
    """Bars: connections accepted by each worker (with kernel wake-ups as a second bar)."""
    ax = _axes(ax)
    workers = [w.worker for w in result.per_worker]
    width = 0.4
    ax.bar([w - width / 2 for w in workers], [w.accepts for w in result.per_worker], width,
           label="accepted", color=color(result.strategy) or "C0")
    ax.bar([w + width / 2 for w in workers], [w.kernel_wakeups for w in result.per_worker], width,
           label="kernel wake-ups", color="lightgrey", edgecolor="grey")
    ax.set_xticks(workers)
    ax.set_xlabel("worker")
    ax.set_ylabel("count")
    ax.set_title(title or f"{result.strategy}: {result.workers} workers, {result.connections} connections "
                 f"({result.backend})", fontsize="medium")
    ax.legend(fontsize="small")
    return ax
