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


# ------------------------------------------------------------------------ read races (notebook 06)

STRATEGY_COLORS.update({
    "lt": "#7570b3",
    "et": "#a6761d",
    "lt-exclusive": "#66a61e",
    "oneshot": "#1f78b4",
    "oneshot-early-rearm": "#e7298a",
    "shared": "#1f78b4",
    "sharded": "#d95f02",
})


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
             (% of messages whose bytes went to more than one reader). Repeats are averaged.
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
        ax.plot(xs, ys, marker="o", color=color(name), label=name)
    ax.set_xlabel("think time between wake-up and read() (us)" if x == "think_us" else "readers")
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


def serve_latency(results: Sequence, stat: str = "p99", ax=None, *, model: bool = True,
                  title: str | None = None):
    """Latency (ms) against utilisation for the ``shared`` and ``sharded`` runs (markers), with the
    M/M/c and c x M/M/1 curves (lines) for the same workers and measured mean service time.

    stat    ``"mean"``, ``"p50"``, ``"p90"`` or ``"p99"`` of the response time
    """
    from . import queueing

    if stat not in ("mean", "p50", "p90", "p99"):
        raise ValueError(f"stat must be one of mean, p50, p90, p99; not {stat!r}")
    ax = _axes(ax)
    rs = [r for r in results if r.experiment == "serve"]
    for name in ("shared", "sharded"):
        pts = sorted((r.params.get("measured_utilization", r.utilization), r.latency_ms[stat])
                     for r in rs if r.strategy == name)
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "o", color=color(name),
                    label=f"{name}, measured")
    if model and rs:
        workers = rs[0].workers
        svc = sum(r.params.get("measured_service_ms", r.service_ms) for r in rs) / len(rs)
        cv = rs[0].cv
        mu = 1e3 / svc
        us = [u / 100 for u in range(5, 96)]
        q = {"p50": 0.5, "p90": 0.9, "p99": 0.99}
        for name, make in (("shared", queueing.mmc), ("sharded", queueing.per_worker)):
            ys = []
            for u in us:
                m = make(u * workers * mu, mu, workers)
                if stat == "mean":
                    k = workers if name == "shared" else 1
                    lam = u * workers * mu / (1 if name == "shared" else workers)
                    ys.append((queueing.mgc_mean_wait(lam, mu, k, cv) + 1 / mu) * 1e3)
                elif cv == 1:
                    ys.append(m.response_percentile(q[stat]) * 1e3)
                else:
                    ys.append(float("nan"))
            ax.plot(us, ys, "-", color=color(name), alpha=0.6,
                    label=f"{m.name} formula" + ("" if cv == 1 or stat == "mean" else " (cv=1 only)"))
    ax.set_yscale("log")
    ax.set_xlabel("utilisation (arrival rate / capacity)")
    ax.set_ylabel(f"{stat} response time (ms)")
    ax.set_title(title or f"one shared queue vs a queue per worker: {stat} latency", fontsize="medium")
    ax.legend(fontsize="small")
    return ax


# ------------------------------------------------------------ accept fixes and SO_REUSEPORT (04, 05)


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


def _rect(x, y, colour):
    from matplotlib.patches import Rectangle

    return Rectangle((x + 0.05, y + 0.1), 0.9, 0.8, color=colour)


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
    ax.bar([x - width / 2 for x in xs], ctl, width, color="grey", label="epoll_ctl per connection")
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


def reuseport_close(result, ax=None):
    """Bars: connections queued on each listener before one closed; the closed one in red, with the
    resets the client counted."""
    ax = _axes(ax)
    n = len(result.per_listener)
    colours = ["#d62728" if i == result.closed_listener else "#1f78b4" for i in range(n)]
    ax.bar(range(n), result.per_listener, color=colours)
    ax.annotate(f"closed: {result.reset} reset", (result.closed_listener, result.on_closed),
                ha="center", va="bottom", fontsize="small", color="#d62728")
    ax.set_xticks(range(n))
    ax.set_xlabel("listener")
    ax.set_ylabel("connections queued")
    ax.set_title(f"{result.queued} queued on {n} SO_REUSEPORT listeners; "
                 f"tcp_migrate_req = {result.tcp_migrate_req}", fontsize="medium")
    return ax


def reuseport_shares(results: Sequence, ax=None, *, model: bool = True):
    """The busiest listener's share in each run (dots) for each steering, beside the balls-into-bins
    expectation (a dash) and 1/listeners (dotted)."""
    ax = _axes(ax)
    rs = list(results)
    for i, r in enumerate(rs):
        ax.plot([i] * len(r.max_share), r.max_share, "o", alpha=0.5,
                color={"hash": "#1f78b4", "random": "#33a02c", "cpu": "#e31a1c"}.get(r.steer, "C0"))
        if model:
            ax.plot([i - 0.3, i + 0.3], [r.balls_into_bins_mean_max_share] * 2, "k-",
                    label="balls into bins (mean)" if i == 0 else None)
    if rs:
        ax.axhline(1 / rs[0].listeners, color="grey", ls=":", lw=1, label=f"1/{rs[0].listeners}")
    ax.set_xticks(range(len(rs)))
    ax.set_xticklabels([f"{r.steer}\n{r.connections} conn x {r.runs} runs" for r in rs], fontsize="small")
    ax.set_ylabel("busiest listener's share")
    ax.set_title("how a reuseport group spreads connections", fontsize="medium")
    ax.legend(fontsize="small")
    return ax


def incoming_cpu(result, ax=None):
    """Connections each listener received from a client pinned to each CPU, without and with
    ``SO_INCOMING_CPU`` (listener i set to ``listener_cpu[i]``)."""
    ax = _axes(ax)
    rows = result.rows
    n = result.listeners
    width = 0.8 / n
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    for k, row in enumerate(rows):
        for i, count in enumerate(row["per_listener"]):
            ax.bar(k + (i - (n - 1) / 2) * width, count, width, color=cmap(i % 10),
                   label=f"listener {i} (cpu {result.listener_cpu[i]})" if k == 0 else None)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([f"client on cpu {row['client_cpu']}\n"
                        f"{'SO_INCOMING_CPU set' if row['incoming_cpu_set'] else 'not set'}" for row in rows],
                       fontsize="small")
    ax.set_ylabel("connections")
    ax.set_title("SO_INCOMING_CPU: the listener of the CPU that handled the SYN", fontsize="medium")
    ax.legend(fontsize="x-small")
    return ax


def accept_latency(results: Sequence, stat: str = "mean", which: str = "latency_ms", ax=None, *,
                   model: bool = True, title: str | None = None):
    """Accept latency (ms) against utilisation, one marker series per strategy, with the M/M/c (shared
    queue) and c x M/M/1 (queue per worker) curves for the same workers and measured mean work time.

    stat   ``"mean"``, ``"p50"``, ``"p90"`` or ``"p99"``
    which  ``"latency_ms"`` (connect -> work done: W) or ``"wait_ms"`` (connect -> accepted: Wq)
    """
    from . import queueing

    if stat not in ("mean", "p50", "p90", "p99"):
        raise ValueError(f"stat must be one of mean, p50, p90, p99; not {stat!r}")
    if which not in ("latency_ms", "wait_ms"):
        raise ValueError(f"which must be 'latency_ms' or 'wait_ms', not {which!r}")
    ax = _axes(ax)
    rs = [r for r in results if r.experiment == "accept-latency"]
    for name in dict.fromkeys(r.strategy for r in rs):
        pts = sorted((r.params.get("measured_utilization", r.utilization), getattr(r, which)[stat])
                     for r in rs if r.strategy == name)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o", color=color(name), label=f"{name}, measured")
    if model and rs:
        workers = rs[0].workers
        svc = sum(r.service_ms_measured for r in rs) / len(rs) / 1e3
        mu = 1 / svc
        us = [u / 100 for u in range(5, 97)]
        for label, make, style in (("M/M/c (one shared queue)", queueing.mmc, "-"),
                                   ("c x M/M/1 (a queue per worker)", queueing.per_worker, "--")):
            ys = []
            for u in us:
                m = make(u * workers * mu, mu, workers)
                if stat == "mean":
                    v = m.mean_response if which == "latency_ms" else m.mean_wait
                elif which == "latency_ms":
                    v = m.response_percentile({"p50": 0.5, "p90": 0.9, "p99": 0.99}[stat])
                else:
                    v = m.wait_percentile({"p50": 0.5, "p90": 0.9, "p99": 0.99}[stat])
                ys.append(v * 1e3 if v > 0 else float("nan"))
            ax.plot(us, ys, style, color="black", alpha=0.6, lw=1, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("utilisation (measured arrival rate x mean work / workers)")
    what = "connect -> work done" if which == "latency_ms" else "connect -> accepted"
    ax.set_ylabel(f"{stat} {what} (ms)")
    ax.set_title(title or f"accept: one shared queue vs a queue per worker ({stat})", fontsize="medium")
    ax.legend(fontsize="small")
    return ax


STRATEGY_COLORS.setdefault("reuseport-cbpf-cpu", "#e31a1c")
STRATEGY_COLORS.setdefault("reuseport-cbpf-random", "#33a02c")


# -------------------------------------------- select history: cost per call and herd latency (01)

API_COLORS = {"select": "#d95f02", "poll": "#e6ab02", "epoll": "#7570b3"}


def _records(results) -> list:
    return list(results) if isinstance(results, (list, tuple)) else [results]


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
    from . import published as pub

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
