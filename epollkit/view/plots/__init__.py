"""matplotlib figures: take results (+ optional ax), return the Axes; matplotlib imported lazily inside
functions. Plots never run experiments and never call ``plt.show()``.

Each function accepts live records or recorded ones (``epollkit.data``) alike.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...analysis.tables import ACCEPT_METRICS, outcome_ranges  # noqa: F401  (outcome_ranges re-exported)

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


def serve_latency(results: Sequence, stat: str = "p99", ax=None, *, model: bool = True, replay: bool = True,
                  title: str | None = None):
    """Latency (ms) against the NOMINAL utilisation (the load asked for) for the ``shared`` and
    ``sharded`` runs (filled markers), with the M/M/c and c x M/M/1 curves (lines) at the nominal mean
    service time, and -- when the runs carry it -- the same requests replayed through ideal FIFO queues
    (hollow markers, ``params["fifo_replay_ms"]``).

    stat    ``"mean"``, ``"p50"``, ``"p90"`` or ``"p99"`` of the response time
    """
    from ...analysis import queueing

    if stat not in ("mean", "p50", "p90", "p99"):
        raise ValueError(f"stat must be one of mean, p50, p90, p99; not {stat!r}")
    ax = _axes(ax)
    rs = [r for r in results if r.experiment == "serve"]
    for name in ("shared", "sharded"):
        mine = sorted((r for r in rs if r.strategy == name), key=lambda r: r.utilization)
        if not mine:
            continue
        ax.plot([r.utilization for r in mine], [r.latency_ms[stat] for r in mine], "o", color=color(name),
                label=f"{name}, measured")
        again = [r for r in mine if (r.params or {}).get("fifo_replay_ms")]
        if replay and again:
            ax.plot([r.utilization for r in again], [r.params["fifo_replay_ms"][stat] for r in again], "o",
                    mfc="none", color=color(name), label=f"{name}, same requests, ideal FIFO")
    if model and rs:
        workers = rs[0].workers
        svc = rs[0].service_ms
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
    ax.set_xlabel("utilisation asked for (nominal arrival rate / capacity)")
    ax.set_ylabel(f"{stat} response time (ms)")
    ax.set_title(title or f"one shared queue vs a queue per worker: {stat} latency", fontsize="medium")
    ax.legend(fontsize="x-small")
    return ax


def serve_percentiles(results: Sequence, ax=None, *, title: str | None = None):
    """Bars: mean, p50, p90 and p99 response time (ms) of one ``shared`` and one ``sharded`` run (the
    first of each in ``results``), with the formula's value as a black dash (percentiles for cv = 1 only)
    -- the picture ``widgets.queue_explorer`` draws."""
    ax = _axes(ax)
    keys = ["mean", "p50", "p90", "p99"]
    for k, name in enumerate(("shared", "sharded")):
        r = next((r for r in results if r.experiment == "serve" and r.strategy == name), None)
        if r is None:
            continue
        xs = [i + (k - 0.5) * 0.4 for i in range(len(keys))]
        ax.bar(xs, [r.latency_ms[q] for q in keys], 0.4, color=color(name), label=f"{name}, measured")
        form = [(r.model or {}).get(q) for q in keys]
        ax.plot(xs, [f if f is not None else float("nan") for f in form], "k_", markersize=18,
                label="formula" if k == 0 else None)
    ax.set_xticks(range(len(keys)))
    ax.set_xticklabels(keys)
    ax.set_ylabel("response time (ms)")
    if title:
        ax.set_title(title, fontsize="medium")
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
    from ...analysis import queueing

    if stat not in ("mean", "p50", "p90", "p99"):
        raise ValueError(f"stat must be one of mean, p50, p90, p99; not {stat!r}")
    if which not in ("latency_ms", "wait_ms"):
        raise ValueError(f"which must be 'latency_ms' or 'wait_ms', not {which!r}")
    ax = _axes(ax)
    rs = [r for r in results if r.experiment == "accept-latency"]
    # Two shared-queue strategies can measure the same latency: a different marker per strategy, every
    # other one hollow and larger, keeps a point from hiding another.
    for k, name in enumerate(dict.fromkeys(r.strategy for r in rs)):
        pts = sorted((r.params.get("measured_utilization", r.utilization), getattr(r, which)[stat])
                     for r in rs if r.strategy == name)
        hollow = k % 2 == 1
        ax.plot([p[0] for p in pts], [p[1] for p in pts], linestyle="none", marker="os^Dv"[k % 5],
                color=color(name), markersize=9 if hollow else 6, markerfacecolor="none" if hollow else None,
                markeredgewidth=1.5, zorder=3 if hollow else 2, label=f"{name}, measured")
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


# ------------------------------------------------------------- model traces (notebooks 03, 04, 06)
#
# These take an ``epollkit.sim.Trace`` (or anything with ``steps`` of ``epollkit.sim.Step``) and never
# run the model themselves beyond replaying the start of the trace's own setup for the initial state.

_ASLEEP_PREFIX = "asleep"
_WOKEN = "woken, runnable"
_LANE_STYLE = {  # thread state -> (linestyle, linewidth, colour)
    "running": ("-", 2.6, "#1f78b4"),
    _WOKEN: ("--", 2.0, "#e66101"),
    "done": ("", 0.0, "white"),
}
_ASLEEP_STYLE = (":", 1.4, "#9a9a9a")
_PROP_COLOR = "#c51b7d"


def _initial_view(trace):
    """The view before the trace's first step (the start of its setup)."""
    from ...sim.trace import View

    return View.of(trace.machine.setup.initial)


def _lane_style(state: str):
    if state.startswith(_ASLEEP_PREFIX):
        return _ASLEEP_STYLE
    return _LANE_STYLE.get(state, ("-", 1.5, "#555555"))


def step_label(step, width: int = 32) -> str:
    """A short label for one trace step (the full sentence is in ``trace.text()``):
    "epoll_wait(e0) → sleeps", "accept(l0) → EAGAIN", "conn 2 → l0", "+2047 B → s0", ..."""
    import re

    text = step.text
    first = text.split("; ")[0]
    rest = text[len(first):]
    m = re.match(r"(?i)connection (\d+) arrives on (\w+)", first)
    if m:
        out = f"conn {m.group(1)} → {m.group(2)}"
    elif (m := re.match(r"(\d+) bytes? arrives? on (\w+)", first)):
        out = f"+{m.group(1)} B → {m.group(2)}"
    elif (m := re.match(r"re-polls in (\S+): nothing for it", first)):
        out = "woken: nothing, sleeps"
    elif (m := re.match(r"calls (\S+): nothing ready", first)):
        out = f"{m.group(1)} → sleeps"
    elif (m := re.match(r"(?:calls|finishes|re-polls in) (.+?): (.*)$", first)):
        call, res = m.group(1), m.group(2)
        res = re.sub(r"^returns \[(.*)\]$", lambda g: ", ".join(
            e.split(" ")[0] for e in g.group(1).split(", ")) + " ready", res)
        res = re.sub(r"^returns (\d+) bytes?$", r"\1 B", res)
        res = res.replace("fails with ", "").replace("succeeds", "ok").replace("returns: ", "")
        call = call.replace(", blocking", "")
        c = re.search(r"gets connection (\d+)", rest)
        d = re.search(r"hands (\d+) bytes? on", rest)
        if c:
            res = f"conn {c.group(1)}"
        elif d:
            call, res = "deliver", f"{d.group(1)} B"
        out = f"{call} → {res}" if res != "done" else call
    elif first == "has nothing more to do":
        out = "(nothing to do)"
    else:
        out = first
    if "a wasted wake-up" in text and not out.startswith("woken"):
        out += " (wasted)"
    return out if len(out) <= width else out[: width - 1] + "…"


def view_line(view, *, sleepers: bool = True) -> str:
    """One compact line of a :class:`epollkit.sim.View`: queues, ready lists, sleepers in wake order,
    disarmed ONESHOT items. ``l0:1 | e0[l0] | wq e0: B A``."""
    parts = [" ".join(f"{n}:{q}" for n, q in view.queued.items())]
    ready = " ".join(f"{n}[{','.join(r)}]" for n, r in view.ready.items())
    if ready:
        parts.append(ready)
    if sleepers:
        sl = " ".join(f"{n}:{''.join(s)}" for n, s in view.sleepers.items() if s)
        parts.append(f"wq {sl}" if sl else "wq -")
    if view.disarmed:
        parts.append("off " + ",".join(view.disarmed))
    return " | ".join(parts)


def trace_text(trace, *, state: bool = True, start: bool = True) -> str:
    """The numbered text rendering of a trace, one line per step (``trace.text()``), each followed by
    the state after it (queues, ready lists, sleepers in wake order) when ``state`` is true."""
    lines = []
    if state and start:
        lines.append(f"0. start      {view_line(_initial_view(trace))}")
    for s in trace.steps:
        lines.append(s.line())
        if state:
            lines.append(f"      after:  {view_line(s.view)}")
    return "\n".join(lines)


def swimlane(trace, ax=None, *, title: str | None = None, state: bool = True, marks: dict | None = None,
             tags: dict | None = None, divider: tuple | None = None, label_width: int = 32, first: int = 1):
    """A trace as a swimlane figure: one lane per thread plus the kernel, steps downwards.

    Each step is a box in the lane of who moved (its short label, see :func:`step_label`); a red arrow
    is a wake-up (``step.woken``: from the step that caused it to the lane of the thread it woke, in
    wake order from top to bottom); a lane is solid
    while its thread runs, dashed orange while it is woken but has not run yet, dotted grey while it
    sleeps. Beside each step (``state=True``): the queues (connections in an accept queue, bytes in a
    stream), each epoll instance's ready list ``e0[l0]`` and the sleepers in the order a wake-up takes
    them (``wq e0:BA``: B is woken first). A step where a property first shows (``step.shows``) is
    shaded and named. ``marks``: extra notes by step number, drawn like properties (e.g.
    ``{5: "post: B returns; kernel: B re-sleeps"}``). ``tags``: short labels by step number drawn in
    the left margin (e.g. the post's step numbers). ``divider``: ``(k, text)`` draws a line under step k
    with ``text`` (e.g. "below: what the kernel does instead"). ``first``: number of the first step drawn (to
    show the tail of a long trace). Readable up to about 25 steps.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    steps = [s for s in trace.steps if s.index >= first]
    view0 = _initial_view(trace) if first <= 1 else trace.steps[first - 2].view
    threads = list(view0.threads)
    lanes = ["Kernel"] + [f"Thread {n}" for n in threads]
    lane_x = {name: i for i, name in enumerate(lanes)}
    n = len(steps)
    marks = dict(marks or {})
    tags = dict(tags or {})
    left = -1.55 if tags else -0.95
    prop_x = len(lanes) - 0.2
    state_x = prop_x + 1.2
    right = state_x + (1.75 if state else 0.0)
    caption, k_rel, gap = [], n + 1, 0.0
    if divider is not None:
        import textwrap

        k_rel = divider[0] - first + 1
        caption = textwrap.wrap(divider[1], int(15 * (right - left)))
        gap = 0.35 + 0.42 * len(caption)

    def ymap(row):
        return row + (gap if row > k_rel else 0.0)

    if ax is None:
        _fig, ax = plt.subplots(figsize=(1.45 * (right - left), 0.95 + 0.33 * (max(n + 1, 4) + gap)))
    ax.set_axis_off()
    ax.set_xlim(left, right)
    ax.set_ylim(ymap(n) + 0.8, -1.15)
    # header
    for name, x in lane_x.items():
        ax.text(x, -0.8, name, ha="center", va="center", fontweight="bold", fontsize=9)
    if state:
        ax.text(state_x, -0.8, "after the step: queued | ready lists | sleepers (wake order)",
                ha="left", va="center", fontsize=7.5, color="#333333")
        ax.text(state_x, 0, view_line(view0), ha="left", va="center", fontsize=7, family="monospace",
                color="#555555")
    ax.text(-0.6, 0, "start", ha="center", va="center", fontsize=7, color="#555555")
    # lanes: the thread's state between steps
    views = [view0] + [s.view for s in steps]
    ax.plot([0, 0], [-0.5, ymap(n) + 0.5], "-", color="#bbbbbb", lw=1.0, zorder=1)
    for t in threads:
        x = lane_x[f"Thread {t}"]
        for row, v in enumerate(views):
            ls, lw, col = _lane_style(v.threads[t])
            if ls:
                y1 = ymap(row + 1) if row < n else ymap(row) + 0.5
                ax.plot([x, x], [ymap(row), y1], linestyle=ls, lw=lw, color=col, zorder=1,
                        solid_capstyle="butt")
    # steps, wake-ups, properties
    for i, s in enumerate(steps, start=1):
        row = ymap(i)
        x = lane_x.get(s.actor, 0)
        note = [*s.shows]
        if s.index in marks:
            note.append(marks[s.index])
        if note:
            ax.add_patch(Rectangle((left, row - 0.48), right - left, 0.96, color=_PROP_COLOR, alpha=0.09,
                                   lw=0, zorder=0))
            ax.text(prop_x, row, "◀ " + ", ".join(note), ha="left", va="center", fontsize=7.5,
                    color=_PROP_COLOR, fontweight="bold", zorder=4)
        ax.text(-0.6, row, str(s.index), ha="center", va="center", fontsize=8, color="#333333")
        if s.index in tags:
            ax.text(-1.05, row, tags[s.index], ha="center", va="center", fontsize=7, color="#6a51a3",
                    fontweight="bold")
        face = "#eeeeee" if s.actor == "Kernel" else "#deebf7"
        ax.text(x, row, step_label(s, label_width), ha="center", va="center", fontsize=7, zorder=3,
                bbox={"boxstyle": "round,pad=0.25", "fc": face, "ec": "#888888", "lw": 0.6})
        for k, w in enumerate(s.woken):  # the model's own record of the step's wake-ups, in wake order
            tx = lane_x[f"Thread {w}"]
            y = row + 0.27 + 0.1 * k
            ax.annotate("", xy=(tx, y), xytext=(x, y), zorder=2,
                        arrowprops={"arrowstyle": "-|>", "color": "#d7301f", "lw": 1.1,
                                    "shrinkA": 0, "shrinkB": 2})
        if state:
            ax.text(state_x, row, view_line(s.view), ha="left", va="center", fontsize=7,
                    family="monospace", color="#222222")
    if caption:
        y = k_rel + 0.55
        ax.plot([left, right], [y, y], "--", color="#6a51a3", lw=1.2, zorder=5)
        ax.text(left + 0.1, y + 0.12, "\n".join(caption), ha="left", va="top", fontsize=7.5,
                color="#6a51a3", zorder=5, linespacing=1.3,
                bbox={"fc": "white", "ec": "none", "alpha": 0.9, "pad": 1})
    ax.set_title(title if title is not None else trace.machine.setup.name, fontsize="medium", loc="left")
    return ax


def post_swimlane(replay, ax=None, *, title: str | None = None, state: bool = True):
    """One of the seed post's traces (``epollkit.sim.post_replay(name)``) as a :func:`swimlane`.

    The left margin names the post's step that each model step realises (``P4``). Where the kernel
    cannot do what the post says, the post's step is marked, a line states the reason, and the steps
    under the line are what the kernel does instead (``replay.instead``).
    """
    tr = replay.instead if replay.instead is not None else replay.trace
    tags, marks = {}, {}
    for ps in replay.steps:
        for m in ps.model:
            tags[m.index] = f"P{ps.index}"
    divider = None
    if replay.stopped_at is not None:
        at = len(replay.trace.steps)
        if at:
            marks[at] = f"✗ post step {replay.stopped_at}"
        after = " Below the line: what the kernel does instead." if replay.instead_steps else ""
        divider = (at, f"✗ The post's step {replay.stopped_at} cannot happen on a real kernel: "
                       f"{replay.reason}{after}")
    name = getattr(replay.scenario, "name", replay.name)
    return swimlane(tr, ax, title=title if title is not None else name, state=state, marks=marks,
                    tags=tags, divider=divider)


def swimlane_legend(ax=None):
    """A small key for :func:`swimlane` (lane styles and the wake-up arrow)."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    if ax is None:
        _fig, ax = plt.subplots(figsize=(7.5, 0.5))
    ax.set_axis_off()
    handles = [Line2D([], [], ls="-", lw=2.6, color=_LANE_STYLE["running"][2], label="running"),
               Line2D([], [], ls="--", lw=2.0, color=_LANE_STYLE[_WOKEN][2], label="woken, not yet run"),
               Line2D([], [], ls=":", lw=1.4, color=_ASLEEP_STYLE[2], label="asleep"),
               Line2D([], [], marker=">", ls="-", lw=1.1, color="#d7301f", label="wake-up")]
    ax.legend(handles=handles, loc="center", ncol=4, frameon=False, fontsize="small")
    return ax


# ------------------------------------------------- the model's prediction beside the lab (notebook 03)

_METRIC_TITLES = {
    "returns_per_connection": "wait returns / connection",
    "eagain_per_connection": "EAGAIN / connection",
    "kernel_wakeups_per_connection": "kernel wake-ups / connection",
    "max_share": "busiest worker's share",
}


def model_vs_lab(real, model, ranges: dict | None = None, metrics=ACCEPT_METRICS, axes=None, *,
                 title: str | None = None):
    """One figure, a panel per metric, a group per strategy: the lab's measurement (bar), the model's
    run (black diamond; usually the paced one, ``sim.accept(..., schedule="paced")``) and, if ``ranges``
    (strategy -> :func:`outcome_ranges`) is given, the span of every outcome the model's explorer
    reaches (grey bar).

    real, model  AcceptResult records (one per strategy; same workers) from the lab and the model; the
                 legend names the model's schedule (``params["schedule"]``)
    Returns the array of Axes.
    """
    import matplotlib.pyplot as plt

    real = {r.strategy: r for r in real}
    model = {r.strategy: r for r in model}
    names = [s for s in model if s in real] or list(model)
    metrics = tuple(metrics)
    if axes is None:
        _fig, axes = plt.subplots(1, len(metrics), figsize=(3.0 * len(metrics), 3.6), squeeze=False)
        axes = axes[0]
    xs = range(len(names))
    schedules = sorted({(model[s].params or {}).get("schedule", "") for s in names} - {""})
    for ax, m in zip(axes, metrics, strict=True):
        ys = [getattr(real[s], m) if s in real else float("nan") for s in names]
        ax.bar(xs, ys, 0.7, color=[color(s) or "C0" for s in names], alpha=0.75,
               label="lab (measured)")
        if ranges:
            for i, s in enumerate(names):
                if s in ranges:
                    lo, hi = ranges[s][m]
                    ax.plot([i + 0.28, i + 0.28], [lo, hi], "-", color="#555555", lw=4, alpha=0.45,
                            solid_capstyle="butt", label="model, every interleaving" if i == 0 else None)
        ax.plot(list(xs), [getattr(model[s], m) for s in names], "D", color="black", ms=5,
                label=f"model, {' / '.join(schedules) or 'one'} run")
        ax.set_xticks(list(xs))
        ax.set_xticklabels(names, rotation=60, ha="right", fontsize="x-small")
        ax.set_title(_METRIC_TITLES.get(m, m), fontsize="small")
        ax.set_ylim(bottom=0)
    axes[0].legend(fontsize="x-small", loc="upper left")
    some = next(iter(real.values()), None) or next(iter(model.values()))
    fig = axes[0].figure
    fig.suptitle(title or f"{some.workers} workers: the lab's measurement beside the model's prediction",
                 fontsize="medium")
    fig.tight_layout()
    return axes
