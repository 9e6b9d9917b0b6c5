"""Accept figures: costs per connection against workers, who accepted what, the fixes' sweeps (02-04)."""

from __future__ import annotations

from collections.abc import Sequence

from ._style import _axes, _rect, color


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


def accept_order_strip(rows: Sequence, ax=None, *, title: str | None = None):
    """One row of coloured cells per order: which worker accepted each connection.

    rows   ``(label, order)`` pairs, or AcceptResult records (labelled "strategy (backend)"); a cell's
           colour and number are the worker index.
    """
    from matplotlib import colormaps

    pairs = [(f"{r.strategy} ({r.backend})", r.accept_order) if hasattr(r, "accept_order") else r
             for r in rows]
    ax = _axes(ax, figsize=(7.5, 0.45 * len(pairs) + 1.0))
    cmap = colormaps["tab10"]
    longest = max((len(o) for _, o in pairs), default=1)
    for y, (_label, order) in enumerate(pairs):
        for x, w in enumerate(order):
            ax.add_patch(_rect(x, y, cmap(w % 10)))
            if longest <= 30:
                ax.text(x + 0.5, y + 0.5, str(w), ha="center", va="center", fontsize="small", color="white")
    ax.set_xlim(0, longest)
    ax.set_ylim(len(pairs), 0)
    ax.set_yticks([y + 0.5 for y in range(len(pairs))])
    ax.set_yticklabels([label for label, _ in pairs], fontsize="small")
    ax.set_xlabel("connection (in the order accepted)")
    ax.grid(False)
    ax.set_title(title or "which worker accepted each connection", fontsize="medium")
    return ax


def max_share_sweep(results: Sequence, x: str = "work_ms", ax=None, *, title: str | None = None):
    """``max_share`` (the busiest worker's share) against a swept parameter, one line per strategy.

    x   a key of ``params``: ``"work_ms"``, ``"rate"`` (None = burst, drawn at the right edge) or
        ``"rotate_every"``. A dotted line marks 1/workers (a perfectly even spread).
    """
    ax = _axes(ax)
    by: dict[str, list] = {}
    for r in results:
        by.setdefault(r.strategy, []).append(r)
    finite = [r.params.get(x) for r in results if r.params.get(x) is not None]
    burst_x = max(finite) * 3 if finite else 1.0
    for name, rs in by.items():
        pts = sorted(((r.params.get(x) if r.params.get(x) is not None else burst_x), r.max_share)
                     for r in rs)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "-o", color=color(name), label=name)
    if results:
        ax.axhline(1 / results[0].workers, color="grey", ls=":", lw=1,
                   label=f"1/{results[0].workers} (even)")
    if x == "rate":
        ax.set_xscale("log")
        if any(r.params.get("rate") is None for r in results):
            ax.annotate("burst", (burst_x, 0.02), ha="center", fontsize="small", color="grey")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel({"work_ms": "work per connection (ms, a sleep)", "rate": "connections per second",
                   "rotate_every": "K (re-add every K accepts)"}.get(x, x))
    ax.set_ylabel("busiest worker's share")
    ax.set_title(title or f"max share against {x}", fontsize="medium")
    ax.legend(fontsize="small")
    return ax


def rotate_cost(results: Sequence, ax=None):
    """``epoll-exclusive-rotate``: the busiest share (bars) and ``epoll_ctl`` calls per connection
    (line, right axis) for each K; K=None is plain ``epoll-exclusive``."""
    ax = _axes(ax)
    rs = list(results)
    labels = ["never" if r.params.get("rotate_every") is None else str(r.params["rotate_every"]) for r in rs]
    xs = range(len(rs))
    ax.bar(xs, [r.max_share for r in rs], color=color("epoll-exclusive-rotate"), label="busiest share")
    ax.set_xticks(list(xs))
    ax.set_xticklabels(labels)
    ax.set_xlabel("K: re-add the listener every K accepts")
    ax.set_ylabel("busiest worker's share")
    ax.set_ylim(0, 1.05)
    right = ax.twinx()
    right.plot(list(xs), [r.params.get("epoll_ctl", 0) / r.connections for r in rs], "k-o",
               label="epoll_ctl per connection")
    right.set_ylabel("epoll_ctl calls per connection")
    right.grid(False)
    ax.legend(loc="upper center", fontsize="small")
    right.legend(loc="upper right", fontsize="small")
    ax.set_title("rotation: fairness bought with epoll_ctl calls", fontsize="medium")
    return ax


def oneshot_price(results: Sequence, ax=None):
    """Per strategy: epoll_ctl calls and this process's CPU microseconds per connection (bars), with the
    most accept() calls seen in flight at once written above."""
    ax = _axes(ax)
    rs = list(results)
    xs = list(range(len(rs)))
    width = 0.4
    ctl = [r.params.get("epoll_ctl_per_connection") or 0.0 for r in rs]
    cpu = [r.params.get("cpu_us_per_connection") or 0.0 for r in rs]
    ax.bar([x - width / 2 for x in xs], ctl, width, color="white", edgecolor="black", hatch="//",
           label="epoll_ctl per connection")
    ax.set_ylabel("epoll_ctl calls per connection")
    right = ax.twinx()
    right.bar([x + width / 2 for x in xs], cpu, width, color=[color(r.strategy) or "C0" for r in rs],
              label="CPU µs per connection")
    right.set_ylabel("CPU µs per connection (server process)")
    right.grid(False)
    for x, r in zip(xs, rs, strict=True):
        m = r.params.get("max_concurrent_accepts")
        right.annotate(f"max {m} in accept()" if m is not None else "(waits in accept)",
                       (x, max(cpu) * 1.02 if cpu else 1), ha="center", fontsize="x-small")
    ax.set_xticks(xs)
    ax.set_xticklabels([r.strategy for r in rs], fontsize="small")
    ax.set_ylim(0, max(1.2, max(ctl, default=0) * 1.2))
    right.set_ylim(0, max(cpu, default=1) * 1.2)
    ax.legend(loc="upper left", fontsize="small")
    right.legend(loc="upper right", fontsize="small")
    ax.set_title("ET + ONESHOT's price", fontsize="medium")
    return ax
