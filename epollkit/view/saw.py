"""The "What you saw" summaries of notebooks 04, 05 and 07: the records a notebook measured in, bullets out.

Each function only formats numbers from the records it is given (nothing measured, nothing typed in),
so the notebook's cell is one call a reader can read, and the plumbing lives here.
"""

from __future__ import annotations

__all__ = ["accept_lt_et_saw", "fixes_saw", "read_races_saw"]


def _order(order) -> str:
    return " ".join(map(str, order)) if order else ""


def accept_lt_et_saw(*, one, lt_real, et_real, os_real, source, posts, found, rearm, compared, agree) -> str:
    """Notebook 04. ``one``: model records by strategy (one connection, three workers); ``lt_real``,
    ``et_real``, ``os_real``: lab (or recorded) records with 2 workers; ``posts``: the post replays;
    ``found``: explorations by strategy; ``rearm``: the hand-off trace; ``compared``/``agree``: how many
    (strategy, metric) numbers were compared with the model, and how many agreed within 0.15."""
    hidden = max(0.0, lt_real.kernel_wakeups_per_connection - lt_real.returns_per_connection)
    stopped = [p for p in posts if p.stopped_at is not None]
    handoff = next(s for s in rearm.steps if s.actor != "Kernel" and s.woken)

    def spread(r):
        return "one worker took most" if r.max_share >= 0.75 else "spread"

    lines = [
        f"One connection, three workers: the model wakes {one['epoll-lt-private'].kernel_wakeups} threads "
        f"with private instances, {one['epoll-lt'].kernel_wakeups} with a shared level-triggered one.",
        f"Shared LT, 2 workers, {source}: {lt_real.kernel_wakeups_per_connection:.2f} wake-ups, "
        f"{lt_real.returns_per_connection:.2f} returns and {lt_real.eagain_per_connection:.2f} EAGAIN per "
        f"connection: the post's confused thread was "
        f"{'rare' if lt_real.eagain_per_connection < 0.1 else 'common'} in this run, and {hidden:.2f} "
        "wake-ups per connection never returned to the program.",
        f"{len(stopped)} of the post's {len(posts)} accept traces cannot happen as told"
        + (f"; the first stops because: {stopped[0].reason}" if stopped else "."),
        "The busiest of 2 workers' share (" + source + "): "
        + ", ".join(f"{name} {r.max_share:.0%} ({spread(r)})"
                    for name, r in (("shared ET", et_real), ("ET+ONESHOT", os_real))) + ".",
        "Only the single-accept edge-triggered loop can strand a connection: "
        f"{[n for n, ex in found.items() if 'stuck' in ex.properties]}.",
        f"ONESHOT's re-arm (step {handoff.index} of the hand-off run) woke Thread {handoff.woken[0]} while "
        f"{handoff.actor} was running, yet the explorer finds herd for epoll-oneshot in "
        f"{'some' if 'herd' in found['epoll-oneshot'].properties else 'no'} run: a hand-off, not a herd.",
        f"Model (paced) and lab agree within 0.15 on {agree} of {compared} numbers.",
    ]
    return "\n".join(f"- {line}" for line in lines)


def fixes_saw(*, orders, model_orders, by_work, rotation, price, model_acc, latency) -> str:
    """Notebook 05: wake orders against Cloudflare's, EPOLLEXCLUSIVE's share with and without work, the
    rotation's price, ONESHOT's serialisation, and the shared queue at half load against M/M/c."""
    from ..analysis import published
    from ..analysis.orders import same_pattern

    o = {r.strategy: r for r in orders}
    model_by = {m.strategy: m for m in model_orders}
    bw = {(r.strategy, r.params["work_ms"]): r for r in by_work}
    rot = {r.params["rotate_every"]: r for r in rotation}
    one = {r.strategy: r for r in price}
    blocking = [r.max_share for r in by_work if r.strategy == "blocking"]

    def verdict(strategy):
        pub = published.cloudflare_order(strategy)
        same = same_pattern(o[strategy].accept_order, pub)
        return f"{'the same pattern as' if same else 'NOT the pattern of'} Cloudflare's {_order(pub)}"

    lines = [
        f"3 workers, 6 connections on Linux {o['blocking'].kernel}: blocking accept() gave "
        f"{_order(o['blocking'].accept_order)} ({verdict('blocking')}), EPOLLEXCLUSIVE "
        f"{_order(o['epoll-exclusive'].accept_order)} ({verdict('epoll-exclusive')}), a shared ET epoll "
        f"{_order(o['epoll-et'].accept_order)} "
        f"(the model, paced: {_order(model_by['epoll-et'].accept_order)}).",
        f"With no work, EPOLLEXCLUSIVE's busiest worker took {bw[('epoll-exclusive', 0.0)].max_share:.0%}; "
        f"with 5 ms of work per connection {bw[('epoll-exclusive', 5.0)].max_share:.0%}; "
        f"blocking stayed between {min(blocking):.0%} and {max(blocking):.0%}.",
        f"Rotating every 16 accepts brought the busiest share from {rot[None].max_share:.0%} to "
        f"{rot[16].max_share:.0%} for {rot[16].params['epoll_ctl'] / rot[16].connections:.2f} epoll_ctl "
        f"calls per connection; every 4 accepts: {rot[4].max_share:.0%} for "
        f"{rot[4].params['epoll_ctl'] / rot[4].connections:.2f}.",
        f"ET+ONESHOT paid {one['epoll-oneshot'].params['epoll_ctl_per_connection']:.2f} epoll_ctl per "
        f"connection and had at most {one['epoll-oneshot'].params['max_concurrent_accepts']} accept() in "
        f"flight; over every interleaving of 3 workers the model allows at most "
        f"{model_acc['epoll-oneshot']['max_accepting']}.",
    ]
    half = [r for r in latency if r.strategy == "blocking" and r.utilization == 0.5]
    if half:
        h = half[0]
        mmc = h.model["mmc"]["mean_response"]
        lines.append(f"At 50% load, one shared queue (blocking) measured {h.latency_ms['mean']:.2f} ms mean "
                     f"latency against M/M/c's {mmc:.2f} ms ({h.latency_ms['mean'] / mmc - 1:+.1%}).")
    return "\n".join(f"- {line}" for line in lines)


def read_races_saw(*, races, split_rows, supported, proof, bounds, cost, queue_runs) -> str:
    """Notebook 07: reorders and splits over the live runs, the explorer's verdict per strategy, the
    re-arm's cost, and the queueing comparison at load 0.8."""
    from ..analysis.tables import comparison_rows, pick

    def total(rs, key):
        return sum(getattr(r, key) for r in rs)

    by = {s: pick(races, strategy=s) for s in supported}
    sp = {(r["strategy"], r["think_us"]): r for r in split_rows}
    clean = [s for s, ex in proof.items() if not {"split", "reorder"} & set(ex.witnesses)]
    lines = [
        f"Over {len(by['lt'])} run(s) of 2 readers x 20 000 messages: "
        + ", ".join(f"{s} reordered {total(by[s], 'reordered')}" for s in supported)
        + f" deliveries; lost bytes in all runs: {total(races, 'lost_bytes')}.",
        "With 100-byte messages, split messages over all runs: "
        + "; ".join(f"think {t:g} us: " + ", ".join(f"{s} {sp[(s, t)]['split_messages']}"
                                                   for s in ("lt", "et", "lt-exclusive", "oneshot"))
                    for t in (0, 200)) + ".",
        f"The explorer, over every interleaving of {bounds['readers']} readers x {bounds['messages']} "
        f"messages: no split and no reorder only for {', '.join(clean)}; witnesses for all the others.",
    ]
    if cost:
        lines.append(f"One epoll_ctl() re-arm cost {cost['us_per_call']['median']:.2f} us here.")
    rows08 = {r["strategy"]: r for r in comparison_rows(pick(queue_runs, utilization=0.8))}
    s08, p08 = rows08["shared"], rows08["sharded"]
    lines.append(f"At load 0.8 with 4 workers, the shared queue answered in {s08['mean']:.1f} ms on average "
                 f"(p99 {s08['p99']:.1f} ms), the per-worker queues in {p08['mean']:.1f} ms "
                 f"(p99 {p08['p99']:.1f} ms); the formulas say {s08['mean_formula']:.1f} and "
                 f"{p08['mean_formula']:.1f} ms, the replay of the same requests {s08['mean_replay']:.1f} "
                 f"and {p08['mean_replay']:.1f} ms.")
    return "\n".join(f"- {line}" for line in lines)
