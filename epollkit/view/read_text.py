"""Numbers notebook 07 (read races) prints about its read-run records, and the lines that say them.

Pure formatting over records already measured (or recorded): nothing here measures anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def reordered_pct(runs: Sequence) -> float:
    """Mean over ``runs`` of the percentage of chunk deliveries that arrived out of order (0 for none)."""
    return sum(100 * r.reordered / r.params["chunks"] for r in runs) / max(1, len(runs))


def sleeps_per_return(runs: Iterable) -> float:
    """Sleeps (in epoll_wait() or on a lock) per wait that returned, over all ``runs`` together."""
    runs = list(runs)
    return sum(r.kernel_wakeups for r in runs) / max(1, sum(r.returns for r in runs))


def sleeps_text(runs: Iterable) -> str:
    """:func:`sleeps_per_return` as the line notebook 07 prints, with what a sleep counts."""
    return (f"{sleeps_per_return(runs):.2f} sleeps per return "
            "(sleeps in epoll_wait() or on a lock, per wait that returned)")


def damaged(strategy: str, *runs: Iterable) -> int:
    """Reordered deliveries plus split messages in the runs of ``strategy``, over every list in ``runs``."""
    return sum(r.reordered + r.split_messages for rs in runs for r in rs if r.strategy == strategy)


def ctl_cost_text(cost: dict | None) -> str:
    """The measured price of one ``epoll_ctl(EPOLL_CTL_MOD)`` (``epoll_ctl_cost()``'s dict), or the
    NOT LIVE line when it was not measured (``cost`` is None)."""
    if cost is None:
        return "NOT LIVE: the cost of one epoll_ctl() call is not measured without epoll."
    us = cost["us_per_call"]
    return (f"epoll_ctl(EPOLL_CTL_MOD): median {us['median']:.3f} us per call "
            f"(min {us['min']:.3f}) on Linux {cost['kernel']}")


def rate_text(runs: Sequence) -> str:
    """The first run's throughput as ``"12,345 msg/s (1.2 MB/s)"``; ``"n/a"`` when there is no run."""
    if not runs:
        return "n/a"
    return f"{runs[0].params['messages_per_s']:,.0f} msg/s ({runs[0].params['mb_per_s']:.1f} MB/s)"
