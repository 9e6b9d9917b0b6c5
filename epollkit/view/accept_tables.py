"""Tables and comparison lines the accept notebooks (04, 05) show: rows built from result records.

Pure formatting: the cells keep what is measured and modelled; these functions only line the records
up (by strategy) and say where two of them differ.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from epollkit.analysis import published
from epollkit.analysis.orders import same_pattern

WITNESS_PROPERTIES = ("herd", "wasted-wakeup", "eagain", "eagain-first", "starvation", "stuck")


def witness_rows(found: Mapping[str, object], properties: Sequence[str] = WITNESS_PROPERTIES) -> list[dict]:
    """One row per explored strategy: schedules, states, and per property the length of its shortest
    witness (``""`` where no schedule shows the property)."""
    rows = []
    for name, ex in found.items():
        row = {"strategy": name, "schedules": ex.schedules, "states": ex.states}
        row.update({p: len(ex.witnesses[p]) if p in ex.witnesses else "" for p in properties})
        rows.append(row)
    return rows


def _order_text(order) -> str:
    return " ".join(map(str, order)) if order else ""


def published_order(strategy: str) -> list[int] | None:
    """Cloudflare's 2017 accept order for ``strategy``, or None where the post measured none."""
    try:
        return published.cloudflare_order(strategy)
    except KeyError:
        return None


def order_rows(orders: Sequence, model_orders: Sequence) -> list[dict]:
    """Kernel order, paced-model order and Cloudflare's published order, one row per strategy (the
    records are paired in order); the last column says whether the kernel's pattern matches the
    published one up to worker names (blank where nothing was published)."""
    rows = []
    for r, m in zip(orders, model_orders, strict=True):
        pub = published_order(r.strategy)
        rows.append({"strategy": r.strategy, "kernel": _order_text(r.accept_order),
                     "model (paced)": _order_text(m.accept_order),
                     "Cloudflare 2017": _order_text(pub),
                     "kernel = published (up to worker names)":
                         same_pattern(r.accept_order, pub) if pub else ""})
    return rows


PRICE_COLUMNS = ["strategy", "epoll_ctl/conn", "CPU µs/conn", "accepted/s", "max accept() in flight",
                 "wake-ups/conn"]


def _shown(v):
    return "—" if v is None else v


def price_rows(price: Iterable) -> list[tuple]:
    """One row per strategy of the ONESHOT price sweep, in :data:`PRICE_COLUMNS` order; ``"—"`` where a
    strategy has no such number (blocking: no epoll, and its accept() calls are its waits)."""
    return [(r.strategy, _shown(r.params.get("epoll_ctl_per_connection")), r.params["cpu_us_per_connection"],
             r.params["throughput"], _shown(r.params["max_concurrent_accepts"]),
             r.kernel_wakeups_per_connection) for r in price]


def by_strategy(records: Iterable, strategy: str):
    """The record of ``strategy`` among ``records`` (ValueError naming the known ones if absent)."""
    records = list(records)
    for x in records:
        if x.strategy == strategy:
            return x
    raise ValueError(f"no record for strategy {strategy!r}; have {[x.strategy for x in records]}")


def differences(strategies: Sequence[str], real: Iterable, model: Iterable, ranges: Mapping,
                metrics: Sequence[str], *, tolerance: float) -> list[str]:
    """A line per (strategy, metric) where lab and paced model differ by more than ``tolerance``, with
    the span every interleaving reaches (``ranges[strategy][metric] = (lo, hi)``) and whether the lab's
    value lies inside it."""
    real, model = list(real), list(model)
    lines = []
    for s in strategies:
        lab, paced = by_strategy(real, s), by_strategy(model, s)
        for k in metrics:
            v, p = getattr(lab, k), getattr(paced, k)
            if abs(v - p) <= tolerance:
                continue
            lo, hi = ranges[s][k]
            where = "inside" if lo <= v <= hi else "OUTSIDE"
            lines.append(f"{s:17} {k}: lab {v:.2f}, paced model {p:.2f}, every interleaving "
                         f"{lo:.2f}..{hi:.2f} ({where} the explorer's span)")
    return lines


def leaning(strategies: Sequence[str], real: Iterable, model: Iterable, metric: str, sign: int, *,
            margin: float) -> list[str]:
    """The strategies whose lab ``metric`` lies above (``sign=1``) or below (``sign=-1``) the paced
    model's by more than ``margin``."""
    if sign not in (1, -1):
        raise ValueError(f"sign must be 1 (above) or -1 (below), got {sign!r}")
    real, model = list(real), list(model)

    def gap(s):
        return getattr(by_strategy(real, s), metric) - getattr(by_strategy(model, s), metric)

    return [s for s in strategies if sign * gap(s) > margin]
