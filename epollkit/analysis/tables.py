"""Tables for notebooks and reports: pick records, one plain row per run, one row per group (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from ..records import ReadResult, ServeResult


def pick(results, **match) -> list:
    """The records among ``results`` (one record or a list) whose fields -- or ``params`` entries --
    equal ``match``: e.g. ``pick(runs, readers=2, think_us=0)``. Works on live and recorded runs alike."""
    rs = results if isinstance(results, list) else [results]

    def value(r, key):
        if hasattr(r, key):
            return getattr(r, key)
        return (getattr(r, "params", None) or {}).get(key)

    return [r for r in rs if all(value(r, k) == v for k, v in match.items())]


def table_rows(results: Sequence[ReadResult]) -> list[dict]:
    """One plain row per run, for ``pandas.DataFrame(table_rows(runs))``."""
    rows = []
    for r in results:
        p = r.params or {}
        rows.append({
            "strategy": r.strategy,
            "readers": r.readers,
            "message_size": r.message_size,
            "think_us": p.get("think_us", 0),
            "deliveries": p.get("chunks"),
            "reordered": r.reordered,
            "split_messages": r.split_messages,
            "in_order": r.in_order,
            "lost_bytes": r.lost_bytes,
            "wakeups": r.kernel_wakeups,
            "eagain": r.eagain,
            "epoll_ctl": p.get("epoll_ctl", 0),
            "messages_per_s": p.get("messages_per_s"),
        })
    return rows


def summary_rows(results: Sequence[ReadResult], by: Sequence[str] = ("strategy", "readers", "think_us")
                 ) -> list[dict]:
    """One row per group of repeats (grouped by ``by``: record fields or ``params`` keys), in first-seen
    order: how many runs, how many kept the stream in order, reordered deliveries (% of deliveries: mean,
    lowest, highest run), split messages (total, lowest, highest run), lost bytes (total), and the
    readers' wake-ups per ``epoll_wait()`` return (mean)."""
    groups: dict[tuple, list] = {}
    for r in results:
        key = tuple(getattr(r, k) if hasattr(r, k) else (r.params or {}).get(k) for k in by)
        groups.setdefault(key, []).append(r)
    rows = []
    for key, rs in groups.items():
        pct = [100.0 * r.reordered / max(1, (r.params or {}).get("chunks") or 1) for r in rs]
        splits = [r.split_messages for r in rs]
        rows.append({
            **dict(zip(by, key, strict=True)),
            "runs": len(rs),
            "in_order_runs": sum(1 for r in rs if r.in_order),
            "reordered_pct": round(sum(pct) / len(pct), 2),
            "reordered_pct_min": round(min(pct), 2),
            "reordered_pct_max": round(max(pct), 2),
            "split_messages": sum(splits),
            "split_min": min(splits),
            "split_max": max(splits),
            "lost_bytes": sum(r.lost_bytes for r in rs),
            "wakeups_per_return": round(sum(r.kernel_wakeups / max(1, r.returns) for r in rs) / len(rs), 2),
        })
    return rows


def comparison_rows(results: Sequence[ServeResult]) -> list[dict]:
    """One row per run: the load asked for and the load achieved, then the mean and p99 response time
    (ms) three ways -- measured, the same requests replayed through ideal FIFO queues, and the formula at
    the nominal rates -- for ``pandas.DataFrame(comparison_rows(runs))``."""
    rows = []
    for r in results:
        p = r.params or {}
        replay = p.get("fifo_replay_ms") or {}
        rows.append({
            "strategy": r.strategy,
            "workers": r.workers,
            "load": r.utilization,
            "load_measured": p.get("measured_utilization"),
            "service_ms_measured": p.get("measured_service_ms"),
            "mean": r.latency_ms["mean"],
            "mean_replay": replay.get("mean"),
            "mean_formula": (r.model or {}).get("mean"),
            "p99": r.latency_ms["p99"],
            "p99_replay": replay.get("p99"),
            "p99_formula": (r.model or {}).get("p99"),
        })
    return rows


ACCEPT_METRICS = ("returns_per_connection", "eagain_per_connection", "kernel_wakeups_per_connection",
                  "max_share")


def outcome_ranges(result) -> dict:
    """From an explored model record (``sim.accept(..., explore=True)``): each metric of
    :data:`ACCEPT_METRICS` as ``(min, max)`` over every outcome any interleaving reaches."""
    outs = result.outcomes or []
    if not outs:
        raise ValueError("outcome_ranges() needs a record from sim.accept(..., explore=True)")
    n = result.connections
    vals: dict = {m: [] for m in ACCEPT_METRICS}
    for o in outs:
        vals["returns_per_connection"].append(o["returns"] / n)
        vals["eagain_per_connection"].append(o["eagain"] / n)
        vals["kernel_wakeups_per_connection"].append(o["kernel_wakeups"] / n)
        vals["max_share"].append(o["max_share"])
    return {m: (min(v), max(v)) for m, v in vals.items()}
