"""One percentile definition (nearest rank) behind every figure."""

from __future__ import annotations

import pytest

from epollkit.analysis import stats


@pytest.mark.parametrize("q, want", [(0.0, 1), (0.1, 1), (0.11, 2), (0.5, 5), (0.9, 9), (0.91, 10),
                                     (1.0, 10)])
def test_the_percentile_is_the_sample_at_nearest_rank_ceil_q_n(q, want):
    assert stats.percentile(list(range(1, 11)), q) == want


def test_every_summary_uses_the_same_percentile():
    xs = [0.007, 0.001, 0.004, 0.002, 0.010, 0.003, 0.009, 0.005, 0.006, 0.008]  # 1..10 ms, shuffled
    us, ms, lat = stats.summarize_us(xs), stats.stats_ms(xs), stats.latency_stats(xs)
    assert us["median"] == ms["p50"] / 1000 == lat["p50"] == 0.005
    assert us["p90"] == ms["p90"] / 1000 == lat["p90"] == 0.009
    assert ms["p99"] / 1000 == lat["p99"] == 0.010


def test_a_percentile_of_nothing_or_outside_0_1_is_refused():
    with pytest.raises(ValueError, match="no samples"):
        stats.percentile([], 0.5)
    with pytest.raises(ValueError, match="q must be in 0..1, not 1.5"):
        stats.percentile([1], 1.5)
