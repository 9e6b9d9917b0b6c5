"""One queue or many: measured response times beside the formulas (04, 06)."""

from __future__ import annotations

from collections.abc import Sequence

from ._style import _axes, color


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
