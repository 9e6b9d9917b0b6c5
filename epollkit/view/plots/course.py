"""Plots the course pages add (view layer): each takes records and returns its Axes; matplotlib is
imported only when a plot is drawn, so ``import epollkit`` stays light.

Kept apart from ``epollkit.plots`` so the course's additions merge cleanly with the package's own plots.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["oneshot_price_panels"]


def oneshot_price_panels(results: Sequence, axes=None):
    """ET + ONESHOT's price in two panels with one unit each: epoll_ctl calls per connection (left) and
    this process's CPU microseconds per connection (right). No shared or twin axis, so no bar can be read
    against the other panel's scale. Returns the two Axes."""
    import matplotlib.pyplot as plt

    rs = list(results)
    if axes is None:
        _fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), constrained_layout=True)
    left, right = axes
    names = [r.strategy for r in rs]
    ctl = [r.params.get("epoll_ctl_per_connection") for r in rs]
    cpu = [r.params.get("cpu_us_per_connection") or 0.0 for r in rs]
    left.bar(names, [c or 0.0 for c in ctl], color="#4c72b0")
    for x, c in enumerate(ctl):
        if c is None:  # blocking accept(): no epoll at all
            left.annotate("no epoll", (x, 0), ha="center", va="bottom", fontsize="x-small")
    left.set_ylabel("epoll_ctl calls per connection")
    left.set_title("system calls added", fontsize="medium")
    right.bar(names, cpu, color="#55a868")
    right.set_ylabel("CPU µs per connection (server process)")
    right.set_title("CPU per connection (one run)", fontsize="medium")
    for ax in (left, right):
        ax.tick_params(axis="x", labelrotation=30, labelsize="small")
    return left, right
