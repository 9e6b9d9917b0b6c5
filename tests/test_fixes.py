"""The fixes, live: wake order (FIFO / LIFO / first-registered), the rotation remedy, ET + ONESHOT's
price, and the EINVAL refusals. Loose bounds: the machine is shared."""

from __future__ import annotations

import errno
import os
import select
import socket
import threading

import pytest

from epollkit.analysis.orders import max_concurrent_accepts, same_pattern
from epollkit.analysis.published import cloudflare_order
from epollkit.lab import accept
from epollkit.lab.experiments.refusals import refusals
from epollkit.lab.experiments.sweeps import oneshot_price, rotate_sweep, wake_order, work_sweep
from epollkit.records import from_dict

from .conftest import assert_same_resources, linux_only, snapshot

LIGHT = 100.0  # connections/s: 10 ms apart, each accepted long before the next arrives


def shares(r):
    return [w.accepts / r.accepted for w in r.per_worker]


# ------------------------------------------------------------------------------------- pure parts


def test_same_pattern_accepts_a_renaming_of_workers_and_nothing_else():
    assert same_pattern([0, 1, 2, 0, 1, 2], [2, 1, 0, 2, 1, 0])
    assert same_pattern([0] * 6, [2] * 6)
    assert not same_pattern([0, 1, 0, 1], [0, 1, 1, 0])
    assert not same_pattern([0, 0, 1], [0, 1, 2])
    assert not same_pattern([0, 1], [0, 1, 2])


def test_max_concurrent_accepts_counts_overlapping_calls_only():
    trace = [(0, 1, 0.0, 1.0, 1.0), (1, 2, 0.5, 1.5, 1.5), (2, 3, 1.5, 2.0, 2.0), (3, 4, 1.6, 1.7, 1.7)]
    assert max_concurrent_accepts(trace) == 2
    assert max_concurrent_accepts([(0, 1, 0.0, 1.0, 1.0), (1, 2, 1.0, 2.0, 2.0)]) == 1
    assert max_concurrent_accepts([]) == 0


# ------------------------------------------------------------------------------------ wake order


@linux_only
def test_blocking_accept_is_a_round_robin_giving_every_worker_15_to_35_percent():
    r = accept("blocking", 4, 100, rate=LIGHT)
    assert r.lost == 0
    assert all(0.15 <= s <= 0.35 for s in shares(r)), r.per_worker


@linux_only
def test_epoll_exclusive_gives_one_worker_at_least_90_percent_at_light_load():
    r = accept("epoll-exclusive", 4, 100, rate=LIGHT)
    assert r.lost == 0
    assert r.max_share >= 0.9, r.per_worker


@linux_only
def test_epoll_exclusive_rotate_every_4_gives_no_worker_more_than_60_percent():
    r = accept("epoll-exclusive-rotate", 4, 100, rate=LIGHT, rotate_every=4)
    assert r.lost == 0
    assert r.max_share <= 0.6, r.per_worker
    # two epoll_ctl calls (DEL + ADD) per K accepts of a worker
    assert r.params["epoll_ctl"] == sum(2 * (w.accepts // 4) for w in r.per_worker)


@linux_only
def test_shared_edge_triggered_epoll_is_lifo_one_worker_takes_nearly_all():
    r = accept("epoll-et", 4, 100, rate=LIGHT)
    assert r.max_share >= 0.75, r.per_worker  # the bound is for EPOLLEXCLUSIVE; LIFO is looser


@linux_only
@pytest.mark.parametrize("strategy", ["blocking", "epoll-exclusive"])
def test_three_workers_six_connections_reproduce_cloudflares_order_up_to_worker_names(strategy):
    r = wake_order(strategy)
    assert same_pattern(r.accept_order, cloudflare_order(strategy)), r.accept_order
    assert r.params["sweep"] == "order"


@linux_only
def test_epoll_exclusive_spreads_once_work_outlasts_the_gap_between_connections():
    idle, busy = work_sweep("epoll-exclusive", (0.0, 10.0), workers=4, connections=60, rate=400.0)
    assert idle.max_share >= 0.9
    assert busy.max_share <= 0.6, busy.per_worker  # 10 ms of work, 2.5 ms apart: >= 4 busy at once
    assert busy.params["work_ms"] == 10.0


# ------------------------------------------------------------------------------ rotate and ONESHOT


@linux_only
def test_rotation_costs_two_epoll_ctl_calls_per_k_accepts_and_spreads_the_load(no_leaks):
    plain, k4 = rotate_sweep((None, 4), workers=4, connections=80, rate=400.0)
    assert plain.params["epoll_ctl"] == 0 and plain.max_share >= 0.9
    assert k4.params["rotate_every"] == 4 and k4.max_share <= 0.6
    assert k4.params["epoll_ctl"] >= 2 * (80 // 4 - 4)


@linux_only
def test_oneshot_costs_one_epoll_ctl_per_connection_and_runs_one_accept_at_a_time(no_leaks):
    (r,) = oneshot_price(("epoll-oneshot",), workers=4, connections=300, rate=3000.0)
    assert r.lost == 0
    assert r.params["epoll_ctl_per_connection"] == pytest.approx(1.0, abs=0.02)
    assert r.params["max_concurrent_accepts"] == 1
    assert r.params["throughput"] > 0 and r.params["cpu_us_per_connection"] > 0


@linux_only
def test_trace_has_one_entry_per_accept_call_with_ordered_timestamps():
    trace: list = []
    r = accept("epoll-et", 3, 50, rate=1000, trace=trace)
    ok = [t for t in trace if t[1] is not None]
    assert len(ok) == r.accepted == 50
    assert len(trace) - len(ok) == r.eagain
    assert all(t[2] <= t[3] <= t[4] for t in trace)
    assert {t[0] for t in trace} <= {0, 1, 2}


def test_a_trace_that_is_not_a_list_is_refused_before_anything_starts(monkeypatch):
    def no_sockets(*a, **k):
        raise AssertionError("a socket was created before validation finished")

    monkeypatch.setattr(socket, "socket", no_sockets)
    monkeypatch.setattr(threading.Thread, "start", no_sockets)
    before = snapshot()
    with pytest.raises(ValueError, match="trace must be a list"):
        accept("blocking", 2, 10, trace=())
    with pytest.raises(ValueError, match="client must be a dict"):
        accept("blocking", 2, 10, client={"module": 3})
    with pytest.raises(ValueError, match="work_ms values must be numbers from 0 to 1000, not -1"):
        work_sweep("blocking", (-1,))
    assert_same_resources(before)


# -------------------------------------------------------------------------------------- refusals


@linux_only
def test_the_kernel_refuses_exclusive_with_oneshot_and_any_modify_of_an_exclusive_item(no_leaks):
    rec = refusals()
    got = {c["case"]: c["errno"] for c in rec.cases}
    assert got["EPOLLEXCLUSIVE | EPOLLONESHOT"] == "EINVAL"
    assert got["modify() of an exclusive registration"] == "EINVAL"
    assert got["modify() asking for EPOLLEXCLUSIVE"] == "EINVAL"
    assert got["EPOLLEXCLUSIVE on an epoll fd"] == "EINVAL"
    assert got["EPOLLEXCLUSIVE | EPOLLET (allowed)"] == "ok"
    assert got["unregister + register (the rotation's way)"] == "ok"
    assert from_dict(rec.to_dict()) == rec


@linux_only
def test_modify_of_an_exclusive_registration_raises_oserror_einval(no_leaks):
    r, w = os.pipe()
    try:
        with select.epoll() as ep:
            ep.register(r, select.EPOLLIN | select.EPOLLEXCLUSIVE)
            with pytest.raises(OSError) as info:
                ep.modify(r, select.EPOLLIN)
            assert info.value.errno == errno.EINVAL
    finally:
        os.close(r)
        os.close(w)


# -------------------------------------------------------------------------------------- no leaks


@linux_only
def test_a_sweep_with_work_and_trace_leaves_no_fd_thread_or_process_behind(no_leaks):
    rs = work_sweep("epoll-exclusive", (1.0,), workers=3, connections=30, rate=1000.0)
    assert rs[0].lost == 0


def test_plots_of_recorded_fixes_results_return_axes_without_running_anything(no_resources_created):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from epollkit import data, plots, sim

    recs = [r for r in data.find("accept_fixes") if r.experiment == "accept"]
    sweep = {s: [r for r in recs if r.params.get("sweep") == s] for s in ("order", "work", "rate", "rotate",
                                                                          "oneshot")}
    assert all(sweep.values()), {k: len(v) for k, v in sweep.items()}
    plots.accept_order_strip(sweep["order"] + [sim.accept("epoll-et", 3, 6)])
    plots.max_share_sweep(sweep["work"], x="work_ms")
    plots.max_share_sweep(sweep["rate"], x="rate")
    plots.rotate_cost(sweep["rotate"])
    plots.oneshot_price(sweep["oneshot"])
    for ax in (plots.rotate_cost(sweep["rotate"]),
               plots.accept_latency(data.find("accept_latency"), stat="p99")):
        assert ax.lines or ax.patches or ax.collections  # something was drawn from the records
    plt.close("all")


def test_the_model_lets_only_one_oneshot_worker_accept_at_a_time_over_every_interleaving():
    from epollkit.sim.bounds import model_max_accepting

    assert model_max_accepting("epoll-oneshot", 3, 2)["max_accepting"] == 1
    assert model_max_accepting("epoll-exclusive", 3, 2)["max_accepting"] >= 2
