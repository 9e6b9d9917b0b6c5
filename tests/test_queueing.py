"""The queueing formulas against the published table and against known special cases."""

from __future__ import annotations

import math

import pytest

from epollkit.analysis import queueing as q

# the published QUEUEING table (epollkit.analysis.published): (c, rho) -> W shared, W per-worker,
# Wq shared, Wq per-worker (mu = 1)
PUBLISHED = {
    (2, 0.8): (2.78, 5.00, 1.78, 4.00),
    (4, 0.8): (1.75, 5.00, 0.75, 4.00),
    (12, 0.8): (1.15, 5.00, 0.15, 4.00),
    (12, 0.9): (1.53, 10.0, 0.53, 9.00),
}


@pytest.mark.parametrize("c, rho", list(PUBLISHED))
def test_shared_and_per_worker_means_match_the_published_table(c, rho):
    shared, sharded = q.mmc(rho * c, 1.0, c), q.per_worker(rho * c, 1.0, c)
    w_s, w_p, wq_s, wq_p = PUBLISHED[(c, rho)]
    assert round(shared.mean_response, 2) == w_s
    assert round(sharded.mean_response, 2) == w_p
    assert round(shared.mean_wait, 2) == wq_s
    assert round(sharded.mean_wait, 2) == wq_p


def test_erlang_c_with_one_server_is_the_utilisation():
    assert q.erlang_c(1, 0.7) == pytest.approx(0.7)


def test_erlang_c_matches_the_factorial_formula():
    c, a = 5, 3.7
    rho = a / c
    top = a**c / math.factorial(c) / (1 - rho)
    expect = top / (sum(a**n / math.factorial(n) for n in range(c)) + top)
    assert q.erlang_c(c, a) == pytest.approx(expect, rel=1e-12)


def test_erlang_c_stays_finite_for_many_servers():
    assert 0 < q.erlang_c(5000, 4900.0) < 1


def test_mm1_response_time_is_exponential():
    m = q.mm1(0.6, 1.0)
    for p in (0.5, 0.9, 0.99):
        assert m.response_percentile(p) == pytest.approx(-math.log(1 - p) / 0.4, rel=1e-9)


def test_response_percentiles_invert_the_survival_function():
    m = q.mmc(3.2, 1.0, 4)
    for p in (0.5, 0.9, 0.99):
        assert m.response_sf(m.response_percentile(p)) == pytest.approx(1 - p, abs=1e-9)


def test_mean_response_is_the_integral_of_the_survival_function():
    m = q.mmc(1.5, 1.0, 2)
    dt, area, t = 1e-3, 0.0, 0.0
    while t < 60:
        area += m.response_sf(t + dt / 2) * dt
        t += dt
    assert area == pytest.approx(m.mean_response, rel=1e-4)


def test_wait_percentile_is_zero_when_most_jobs_do_not_wait():
    m = q.mmc(1.0, 1.0, 4)  # rho 0.25: few jobs wait
    assert m.prob_wait < 0.5
    assert m.wait_percentile(0.5) == 0.0
    assert m.wait_percentile(0.999) > 0


def test_a_shared_queue_beats_sharding_at_every_percentile():
    for rho in (0.3, 0.6, 0.9):
        cmp = q.compare(rho, 8)
        for key in ("mean_response", "response_p50", "response_p90", "response_p99"):
            assert cmp["shared"][key] < cmp["sharded"][key]


def test_an_overloaded_queue_is_unstable_with_infinite_waits():
    m = q.mmc(5.0, 1.0, 4)
    assert not m.stable and math.isinf(m.mean_response) and math.isinf(m.response_percentile(0.5))


def test_pollaczek_khinchine_halves_the_wait_for_fixed_service_times():
    assert q.mgc_mean_wait(0.5, 1.0, 1, 0.0) == pytest.approx(q.mm1(0.5, 1.0).mean_wait / 2)
    assert q.mgc_mean_wait(0.5, 1.0, 1, 1.0) == pytest.approx(q.mm1(0.5, 1.0).mean_wait)


def test_compare_gives_percentiles_only_for_exponential_service():
    assert q.compare(0.8, 4, cv=0.5)["shared"]["response_p99"] is None
    assert q.compare(0.8, 4, cv=1.0)["shared"]["response_p99"] > 0


@pytest.mark.parametrize(
    "call",
    [
        lambda: q.mmc(-1, 1, 2),
        lambda: q.mmc(1, 0, 2),
        lambda: q.mmc(1, 1, 0),
        lambda: q.mmc(1, 1, 2.5),
        lambda: q.mm1(0.5, 1).response_percentile(1.0),
        lambda: q.mgc_mean_wait(0.5, 1, 1, -1),
        lambda: q.erlang_c(2, -1.0),
    ],
)
def test_bad_arguments_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_fifo_replay_of_one_shared_line_lets_the_free_worker_take_the_head():
    # two workers; jobs at t=0 (service 3), 0 (service 1), 1 (service 1): the third waits for the second
    assert q.fifo_replay([0, 0, 1], [3, 1, 1], 2) == [3, 1, 1]
    assert q.fifo_replay([0, 0, 0.5], [3, 1, 1], 2) == [3, 1, 1.5]


def test_fifo_replay_per_worker_lines_wait_behind_their_own_worker_only():
    # job 2 belongs to worker 0, busy until 3, while worker 1 idles from 1
    assert q.fifo_replay([0, 0, 1], [3, 1, 1], 2, assignment=[0, 1, 0]) == [3, 1, 3]


def test_fifo_replay_rejects_unordered_arrivals_and_bad_workers():
    with pytest.raises(ValueError, match="in order"):
        q.fifo_replay([1, 0], [1, 1], 1)
    with pytest.raises(ValueError, match="assignment"):
        q.fifo_replay([0, 1], [1, 1], 2, assignment=[0, 2])
