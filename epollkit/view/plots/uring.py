"""The io_uring accept chapter's plot: each record's per-worker share of the connections (io_uring and
epoll accept records alike)."""

from __future__ import annotations


def uring_shares(records, ax=None, title: str = "share of connections per worker"):
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
