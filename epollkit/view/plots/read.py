"""Read-race figures (notebook 06): reordered and split deliveries, throughput."""

from __future__ import annotations

from collections.abc import Sequence

from ._style import _axes, color


def _race_rate(r, metric: str) -> float:
    """Percent: reordered deliveries per delivery, or split messages per message."""
    if metric == "reordered":
        chunks = (r.params or {}).get("chunks") or 1
        return 100.0 * r.reordered / chunks
    if metric == "split_messages":
        return 100.0 * r.split_messages / max(1, r.messages)
    raise ValueError(f"metric must be 'reordered' or 'split_messages', not {metric!r}")


def read_races(results: Sequence, x: str = "think_us", metric: str = "reordered", ax=None, *,
               title: str | None = None):
    """One line per read strategy: how often the delivered stream goes wrong, against ``x``.

    x        ``"think_us"`` (reader delay between wake-up and read) or ``"readers"``
    metric   ``"reordered"`` (% of deliveries that arrived behind a later chunk) or ``"split_messages"``
             (% of messages whose bytes went to more than one reader). Repeats are averaged; a bar
             from the lowest to the highest repeat shows how much runs differ.
    """
    if x not in ("think_us", "readers"):
        raise ValueError(f"x must be 'think_us' or 'readers', not {x!r}")
    ax = _axes(ax)
    groups: dict[str, dict[float, list[float]]] = {}
    for r in results:
        xv = (r.params or {}).get("think_us", 0) if x == "think_us" else r.readers
        groups.setdefault(r.strategy, {}).setdefault(xv, []).append(_race_rate(r, metric))
    for name, pts in groups.items():
        xs = sorted(pts)
        ys = [sum(pts[k]) / len(pts[k]) for k in xs]
        lo = [y - min(pts[k]) for k, y in zip(xs, ys, strict=True)]
        hi = [max(pts[k]) - y for k, y in zip(xs, ys, strict=True)]
        ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", color=color(name), label=name, capsize=3)
    ax.set_xlabel("think time between wake-up and read() (us)" if x == "think_us" else "readers")
    if x == "readers":
        ax.set_xticks(sorted({k for pts in groups.values() for k in pts}))
    ax.set_ylabel("% of deliveries reordered" if metric == "reordered" else "% of messages split")
    ax.set_ylim(bottom=0)
    if title:
        ax.set_title(title, fontsize="medium")
    ax.legend(fontsize="small")
    return ax


def read_throughput(results: Sequence, ax=None, *, title: str | None = None):
    """Bars: messages per second for each run (strategy, readers, messages per send()), with the
    number of epoll_ctl re-arms per 1000 messages written on each bar."""
    ax = _axes(ax)
    labels, values, colors, notes = [], [], [], []
    for r in results:
        p = r.params or {}
        labels.append(f"{r.strategy}\n{r.readers} reader{'s' if r.readers > 1 else ''}\n"
                      f"{p.get('per_send', 1)} msg/send")
        values.append(p.get("messages_per_s", r.messages / r.duration_s if r.duration_s else 0))
        colors.append(color(r.strategy) or "C0")
        notes.append(1000.0 * p.get("epoll_ctl", 0) / max(1, r.messages))
    bars = ax.bar(range(len(values)), values, color=colors)
    for b, n in zip(bars, notes, strict=True):
        ax.annotate(f"{n:.0f} ctl/1k", (b.get_x() + b.get_width() / 2, b.get_height()),
                    ha="center", va="bottom", fontsize="x-small")
    ax.set_xticks(range(len(values)))
    ax.set_xticklabels(labels, fontsize="x-small")
    ax.set_ylabel("messages per second")
    if title:
        ax.set_title(title, fontsize="medium")
    return ax
