"""Colours and axes shared by every figure (one colour per strategy across all notebooks)."""

from __future__ import annotations

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
    "reuseport-cbpf-cpu": "#e31a1c",
    "reuseport-cbpf-random": "#33a02c",
    # read strategies (notebook 06)
    "lt": "#7570b3",
    "et": "#a6761d",
    "lt-exclusive": "#66a61e",
    "oneshot": "#1f78b4",
    "oneshot-early-rearm": "#e7298a",
    # serve strategies: one queue or one per worker
    "shared": "#1f78b4",
    "sharded": "#d95f02",
}


API_COLORS = {"select": "#d95f02", "poll": "#e6ab02", "epoll": "#7570b3"}


def _axes(ax=None, figsize=None):
    import matplotlib.pyplot as plt

    if ax is None:
        _fig, ax = plt.subplots(figsize=figsize)
    return ax


def color(strategy: str) -> str | None:
    return STRATEGY_COLORS.get(strategy)


def _records(results) -> list:
    return list(results) if isinstance(results, (list, tuple)) else [results]


def _rect(x, y, colour):
    from matplotlib.patches import Rectangle

    return Rectangle((x + 0.05, y + 0.1), 0.9, 0.8, color=colour)
