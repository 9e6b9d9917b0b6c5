"""Statistics of measured samples (pure): ONE percentile definition for every figure.

**Nearest rank.** The q-th percentile of n samples is the smallest sample such that at least q·n of the
samples are at most it: with the samples sorted ascending, the one at 1-based rank ``ceil(q·n)``
(rank 1 for q = 0). It is always a measured value, never an interpolation. The median is the 50th
percentile by the same rule (for an odd n the middle sample; for an even n the lower of the two
middle ones). Every summary below -- µs per call (multiplex, herd latency, epoll_ctl cost), ms of
accept latency, response times of the queueing runs -- uses :func:`percentile`, so figures measured
here and set beside published tables are read the same way everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(sorted_samples: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (0 <= q <= 1) of samples already sorted ascending."""
    if not sorted_samples:
        raise ValueError("no samples: a percentile needs at least one")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be in 0..1, not {q!r}")
    n = len(sorted_samples)
    return sorted_samples[min(n - 1, max(0, math.ceil(q * n) - 1))]


def summarize_us(samples: Sequence[float]) -> dict[str, float]:
    """``{"median", "p90", "min"}`` of timings in µs (nearest rank), rounded to 0.001 µs."""
    if not samples:
        raise ValueError("no samples to summarize")
    s = sorted(samples)
    return {"median": round(percentile(s, 0.5), 3), "p90": round(percentile(s, 0.9), 3),
            "min": round(s[0], 3)}


def stats_ms(values_s: list[float]) -> dict:
    """``{"mean", "p50", "p90", "p99", "max", "min"}`` in ms of a list of seconds (nearest rank)."""
    if not values_s:
        return {k: None for k in ("mean", "p50", "p90", "p99", "max", "min")}
    v = sorted(values_s)
    return {k: round(x * 1000.0, 4) for k, x in (
        ("mean", sum(v) / len(v)), ("p50", percentile(v, 0.5)), ("p90", percentile(v, 0.9)),
        ("p99", percentile(v, 0.99)), ("max", v[-1]), ("min", v[0]))}


def latency_stats(values: Sequence[float]) -> dict:
    """``{"mean", "p50", "p90", "p99", "max"}`` of response times, in their own unit (nearest rank)."""
    xs = sorted(values)
    if not xs:
        return {"mean": None, "p50": None, "p90": None, "p99": None, "max": None}
    return {"mean": round(sum(xs) / len(xs), 4), "p50": round(percentile(xs, 0.5), 4),
            "p90": round(percentile(xs, 0.9), 4), "p99": round(percentile(xs, 0.99), 4),
            "max": round(xs[-1], 4)}
