"""Accept latency against load, live, beside the queueing formulas. Loose bounds: timing on a shared
2-core machine."""

from __future__ import annotations

import socket
import threading

import pytest

from epollkit.analysis import queueing
from epollkit.analysis.queueing import model_ms
from epollkit.analysis.stats import stats_ms
from epollkit.lab.experiments.latency import accept_latency, latency_sweep
from epollkit.records import from_dict

from .conftest import assert_same_resources, linux_only, snapshot


def test_stats_use_nearest_rank_percentiles_in_milliseconds():
    s = stats_ms([i / 1000.0 for i in range(1, 101)])  # 1..100 ms
    assert s == {"mean": 50.5, "p50": 50.0, "p90": 90.0, "p99": 99.0, "max": 100.0, "min": 1.0}
    assert stats_ms([])["mean"] is None


def test_model_is_the_queueing_module_in_milliseconds():
    m = model_ms(400.0, 0.005, 4)
    ref = queueing.mmc(400.0, 200.0, 4)
    assert m["mmc"]["mean_response"] == pytest.approx(ref.mean_response * 1000, abs=1e-3)
    assert m["per_worker"]["mean_wait"] == pytest.approx(
        queueing.per_worker(400.0, 200.0, 4).mean_wait * 1000, abs=1e-3)
    assert m["mmc"]["mean_wait"] < m["per_worker"]["mean_wait"]
    over = model_ms(900.0, 0.005, 4)  # rho > 1: no steady state
    assert over["mmc"]["mean_wait"] is None


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        ({"strategy": "select"}, "unknown latency strategy 'select'; valid: blocking"),
        ({"utilization": 1.0}, "utilization must be a number > 0 and < 1, not 1.0"),
        ({"utilization": 0}, "utilization must be a number > 0 and < 1"),
        ({"workers": 0}, "workers must be an integer from 1 to 64, not 0"),
        ({"service_ms": 0.0}, "service_ms must be a number > 0.1 and <= 1000"),
        ({"connections": 5}, "connections must be an integer from 10 to 20000, not 5"),
        ({"seed": -1}, "seed must be an integer from 0"),
    ],
)
def test_bad_parameters_raise_value_error_before_anything_starts(kwargs, needle, monkeypatch):
    def no_sockets(*a, **k):
        raise AssertionError("a socket was created before validation finished")

    monkeypatch.setattr(socket, "socket", no_sockets)
    monkeypatch.setattr(threading.Thread, "start", no_sockets)
    before = snapshot()
    args = {"strategy": "blocking", **kwargs}
    with pytest.raises(ValueError) as info:
        accept_latency(args.pop("strategy"), **args)
    assert needle in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(ValueError):
        latency_sweep(("blocking", "nope"))
    assert_same_resources(before)


@linux_only
@pytest.mark.parametrize("strategy", ["blocking", "reuseport"])
def test_every_connection_is_matched_and_latency_is_wait_plus_work(strategy, no_leaks):
    r = accept_latency(strategy, 2, 0.4, service_ms=2.0, connections=80)
    assert r.lost == 0 and r.params["matched"] == 80
    assert 0 <= r.wait_ms["min"] <= r.wait_ms["p50"] <= r.wait_ms["max"]
    assert r.latency_ms["mean"] > r.wait_ms["mean"]
    assert 1.0 <= r.service_ms_measured <= 6.0  # a 2 ms mean sleep plus its overshoot
    assert r.arrival_rate > 0 and r.model["mmc"]["mean_response"] > 0
    assert from_dict(r.to_dict()) == r


@linux_only
def test_a_shared_queue_waits_less_than_per_worker_queues_at_high_load():
    kw = {"service_ms": 4.0, "connections": 300, "seed": 7}
    shared = accept_latency("blocking", 4, 0.8, **kw)
    sharded = accept_latency("reuseport", 4, 0.8, **kw)
    # M/M/4 at 0.8 waits ~0.75 service times, 4 x M/M/1 ~4: a factor of 5, asserted as 1.5
    assert sharded.wait_ms["mean"] > 1.5 * shared.wait_ms["mean"], (shared.wait_ms, sharded.wait_ms)


def test_a_reused_client_port_is_matched_in_order_not_to_its_last_connect():
    from epollkit.analysis.orders import match_by_port

    connects = [[5000, 1.0], [5001, 1.1], [5000, 2.0]]  # port 5000 reused after TIME_WAIT
    trace = [(0, 5000, 0.9, 1.2, 1.3), (1, 5001, 1.0, 1.15, 1.5), (0, None, 1.9, 1.9, 1.9),
             (0, 5000, 1.9, 2.1, 2.4)]
    assert match_by_port(connects, trace) == [(1.1, 1.15, 1.5), (1.0, 1.2, 1.3), (2.0, 2.1, 2.4)]


@linux_only
def test_ctrl_c_mid_sweep_point_stops_workers_and_client(no_leaks):
    import signal

    main = threading.main_thread().ident
    timer = threading.Timer(0.4, signal.pthread_kill, args=(main, signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            # 300 connections at 0.3 x 4 / 5 ms = 240/s: about 1.25 s, interrupted at 0.4 s
            accept_latency("epoll-exclusive", 4, 0.3, service_ms=5.0, connections=300)
    finally:
        timer.join()
