"""Statistics of measured samples (pure)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def summarize_us(samples: Sequence[float]) -> dict[str, float]:
    """``{"median", "p90", "min"}`` of timings in µs (p90 by nearest rank), rounded to 0.001 µs."""
    if not samples:
        raise ValueError("no samples to summarize")
    s = sorted(samples)
    n = len(s)
    mid = n // 2
    median = s[mid] if n % 2 else (s[mid - 1] + s[mid]) / 2
    p90 = s[max(0, math.ceil(0.9 * n) - 1)]
    return {"median": round(median, 3), "p90": round(p90, 3), "min": round(s[0], 3)}


def stats_ms(values_s: list[float]) -> dict:
    """``{"mean", "p50", "p90", "p99", "max", "min"}`` in ms of a list of seconds (nearest rank)."""
    if not values_s:
        return {k: None for k in ("mean", "p50", "p90", "p99", "max", "min")}
    v = sorted(values_s)
    n = len(v)

    def pct(p):
        return v[min(n - 1, max(0, math.ceil(p * n) - 1))]

    return {k: round(x * 1000.0, 4) for k, x in (
        ("mean", sum(v) / n), ("p50", pct(0.5)), ("p90", pct(0.9)), ("p99", pct(0.99)),
        ("max", v[-1]), ("min", v[0]))}


def latency_stats(values: Sequence[float]) -> dict:
    """``{"mean", "p50", "p90", "p99", "max"}`` of response times (in their own unit)."""
    xs = sorted(values)
    if not xs:
        return {"mean": None, "p50": None, "p90": None, "p99": None, "max": None}
    pick = lambda q: xs[min(len(xs) - 1, int(q * len(xs)))]  # noqa: E731
    return {
        "mean": round(sum(xs) / len(xs), 4),
        "p50": round(pick(0.5), 4),
        "p90": round(pick(0.9), 4),
        "p99": round(pick(0.99), 4),
        "max": round(xs[-1], 4),
    }
