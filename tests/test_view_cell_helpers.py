"""The view helpers that keep notebook cells short: refusal text, accept tables, read-race lines.

Fake records (SimpleNamespace) stand in for result records: the helpers only read attributes.
"""

from __future__ import annotations

import errno
import os
import select
import sys
import time
from types import SimpleNamespace as NS

import pytest

from epollkit.view import accept_tables as at
from epollkit.view import read_text as rt
from epollkit.view import refusal_text as ref


def _raise(code):
    def call():
        raise OSError(code, os.strerror(code))
    return call


def test_attempt_names_the_errno_or_says_ok():
    assert ref.attempt(lambda: None) == "ok"
    assert ref.attempt(_raise(errno.EINVAL)) == "EINVAL"


def test_attempt_lets_non_oserror_exceptions_through():
    with pytest.raises(ZeroDivisionError):
        ref.attempt(lambda: 1 / 0)


def test_attempt_text_formats_the_exception_as_python_raised_it():
    assert ref.attempt_text(_raise(errno.EINVAL)) == "raised OSError: [Errno 22: EINVAL] Invalid argument"
    assert ref.attempt_text(lambda: None) == "was accepted: this kernel does not refuse it"


def test_pipe_closes_both_ends_even_when_the_block_raises():
    with pytest.raises(RuntimeError), ref.pipe() as (r, w):
        ends = (r, w)
        raise RuntimeError("inside")
    for fd in ends:
        with pytest.raises(OSError):
            os.fstat(fd)


@pytest.mark.skipif(not hasattr(select, "epoll"), reason="needs epoll")
def test_the_kernel_refuses_mod_of_an_exclusive_item_as_notebook_05_shows():
    with ref.pipe() as (r, _w), select.epoll() as ep:
        ep.register(r, select.EPOLLIN | select.EPOLLEXCLUSIVE)
        # do_epoll_ctl(), EPOLL_CTL_MOD: an item with EPOLLEXCLUSIVE is never passed to ep_modify(): EINVAL
        assert ref.attempt(lambda: ep.modify(r, select.EPOLLIN)) == "EINVAL"


def test_recorded_refusal_names_the_case_and_rejects_an_unknown_one():
    refused = NS(cases=[{"case": "a", "call": "epoll_ctl(MOD)", "errno": "EINVAL"}])
    assert ref.recorded_refusal(refused, "a", "recorded on X") == \
        "NOT LIVE: epoll_ctl(MOD) gave EINVAL in the run recorded on X"
    with pytest.raises(ValueError, match="'b'.*'a'"):
        ref.recorded_refusal(refused, "b", "run")


def test_witness_rows_give_the_shortest_witness_length_or_blank():
    ex = NS(schedules=3, states=5, witnesses={"herd": [1, 2, 3]})
    rows = at.witness_rows({"s": ex}, ("herd", "stuck"))
    assert rows == [{"strategy": "s", "schedules": 3, "states": 5, "herd": 3, "stuck": ""}]


def test_order_rows_compare_with_cloudflare_only_where_it_published():
    blocking = NS(strategy="blocking", accept_order=[0, 1, 2, 0, 1, 2])
    lt = NS(strategy="epoll-lt", accept_order=[2, 1, 2])
    rows = at.order_rows([blocking, lt], [blocking, lt])
    assert rows[0]["Cloudflare 2017"] and isinstance(rows[0]["kernel = published (up to worker names)"], bool)
    assert rows[1]["Cloudflare 2017"] == "" and rows[1]["kernel = published (up to worker names)"] == ""
    with pytest.raises(ValueError):
        at.order_rows([blocking], [])


def test_price_rows_show_a_dash_where_a_strategy_has_no_number():
    r = NS(strategy="blocking", params={"cpu_us_per_connection": 1.0, "throughput": 2.0,
                                        "max_concurrent_accepts": None}, kernel_wakeups_per_connection=1.0)
    (row,) = at.price_rows([r])
    assert len(row) == len(at.PRICE_COLUMNS)
    assert row == ("blocking", "—", 1.0, 2.0, "—", 1.0)


def _rec(s, **kw):
    return NS(strategy=s, **kw)


def test_differences_list_only_pairs_beyond_the_tolerance_and_say_if_inside_the_span():
    real = [_rec("a", w=3.0, m=0.5), _rec("b", w=1.0, m=0.5)]
    model = [_rec("b", w=1.1, m=0.5), _rec("a", w=2.0, m=0.55)]  # paired by strategy, not by position
    ranges = {"a": {"w": (1.0, 2.0), "m": (0, 1)}, "b": {"w": (1.0, 2.0), "m": (0, 1)}}
    lines = at.differences(["a", "b"], real, model, ranges, ("w", "m"), tolerance=0.15)
    assert len(lines) == 1 and lines[0].startswith("a ") and "OUTSIDE" in lines[0]
    ranges["a"]["w"] = (1.0, 3.0)
    assert "inside" in at.differences(["a"], real, model, ranges, ("w",), tolerance=0.15)[0]


def test_leaning_finds_strategies_above_or_below_the_model():
    real = [_rec("a", w=3.0), _rec("b", w=1.0)]
    model = [_rec("a", w=2.0), _rec("b", w=2.0)]
    assert at.leaning(["a", "b"], real, model, "w", 1, margin=0.01) == ["a"]
    assert at.leaning(["a", "b"], real, model, "w", -1, margin=0.01) == ["b"]
    with pytest.raises(ValueError, match="sign"):
        at.leaning(["a"], real, model, "w", 0, margin=0.01)
    with pytest.raises(ValueError, match="'c'"):
        at.by_strategy(real, "c")


def test_read_numbers_average_percentages_and_count_sleeps_per_return():
    runs = [NS(strategy="lt", reordered=1, split_messages=2, params={"chunks": 10}, kernel_wakeups=3,
               returns=2),
            NS(strategy="oneshot", reordered=0, split_messages=1, params={"chunks": 20}, kernel_wakeups=1,
               returns=2)]
    assert rt.reordered_pct(runs) == pytest.approx(5.0)
    assert rt.reordered_pct([]) == 0
    assert rt.sleeps_per_return(runs) == pytest.approx(1.0)
    assert rt.sleeps_text(runs).startswith("1.00 sleeps per return (")
    assert rt.damaged("oneshot", runs, runs[:1]) == 1
    assert rt.damaged("lt", runs, runs[:1]) == 6


def test_read_lines_for_cost_and_rate_say_not_live_or_na():
    assert rt.ctl_cost_text(None).startswith("NOT LIVE")
    cost = {"us_per_call": {"median": 0.5, "min": 0.25}, "kernel": "6.18"}
    assert rt.ctl_cost_text(cost) == \
        "epoll_ctl(EPOLL_CTL_MOD): median 0.500 us per call (min 0.250) on Linux 6.18"
    assert rt.rate_text([]) == "n/a"
    one = NS(params={"messages_per_s": 12345.6, "mb_per_s": 1.23})
    assert rt.rate_text([one]) == "12,346 msg/s (1.2 MB/s)"




def test_prototype_findings_report_each_finding_with_this_runs_numbers():
    from epollkit.view.uring_text import prototype_findings

    m = NS(kernel_wakeups_per_connection=1.0, max_share=1.0, kernel="6.18", mode="multishot")
    s = NS(kernel_wakeups_per_connection=1.01, max_share=0.25, mode="single-shot")
    om = NS(rearms=3, max_share=0.4)
    loads = [NS(mode="multishot", max_share=0.9), NS(mode="single-shot", max_share=0.3),
             NS(mode="multishot", max_share=1.0)]
    shared = [NS(strategy="uring-single-shot-shared-ring", kernel_wakeups_per_connection=8.5)]
    lt = NS(kernel_wakeups_per_connection=4.0)
    text = prototype_findings(multishot=m, single=s, overflow=om, loads=loads, procs=[m, s], shared=shared,
                              private_lt=lt)
    lines = text.splitlines()
    assert len(lines) == 5 and all(line.startswith("- ") for line in lines)
    assert "90% to 100% under the 2 loads" in lines[1] and "3 re-arm(s)" in lines[1]
    assert lines[4].endswith("herds as well: 8.50.")
    with pytest.raises(ValueError, match="uring-single-shot-shared-ring"):
        prototype_findings(multishot=m, single=s, overflow=om, loads=loads, procs=[], shared=[],
                           private_lt=lt)


def test_reuseport_saw_counts_connections_on_their_own_cpus_listener():
    from epollkit.view.reuseport_text import reuseport_saw

    hashed = NS(mean_max_share=0.3, runs=5, balls_into_bins_mean_max_share=0.31)
    closed = NS(listeners=4, queued=100, reset=25, on_closed=25, tcp_migrate_req=0)
    steer_cpu = NS(rows=[{"incoming_cpu_set": True, "client_cpu": 1, "per_listener": [2, 8]},
                         {"incoming_cpu_set": False, "client_cpu": 0, "per_listener": [5, 5]}],
                   listener_cpu=[0, 1], connections=10, kernel="6.18")
    steered = [NS(steer="random", mean_max_share=0.4), NS(steer="cpu", counts=[[9, 1]], connections=10)]
    lines = reuseport_saw(hashed=hashed, closed=closed, resets=[25, 27], steer_cpu=steer_cpu,
                          steered=steered).splitlines()
    assert len(lines) == 4
    assert "reset 25 connections (all of the 25" in lines[1] and "mean was 26.0" in lines[1]
    assert lines[2].startswith("- With SO_INCOMING_CPU set, 8 of 10 connections")
    assert lines[3] == "- Steering by CPU put 9 of 10 connections on one listener."
    with pytest.raises(ValueError, match="resets"):
        reuseport_saw(hashed=hashed, closed=closed, resets=[], steer_cpu=steer_cpu, steered=steered)


def test_check_refusal_names_the_workererror_or_says_the_program_was_accepted(capsys):
    from epollkit.view.worker import accept, check_refusal, epoll_wait

    def forgot_parentheses():
        while True:
            yield epoll_wait

    def fine():
        while True:
            yield epoll_wait()
            yield accept()

    assert check_refusal(forgot_parentheses, "accept", flags="EPOLLET").startswith("BadCall: worker ")
    said = check_refusal(fine, "accept", flags="EPOLLIN", draw=False)
    assert said == "no WorkerError: check() accepted fine"


def test_recorded_seen_returns_the_recorded_replay_and_says_not_live(capsys):
    from epollkit import data
    from epollkit.view.trigger_text import recorded_seen

    seen = recorded_seen("epoll_primer")
    assert seen == data.load("epoll_primer")["results"][0]["seen"] and seen
    assert capsys.readouterr().out.startswith("NOT LIVE: recorded on Linux ")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fcntl F_DUPFD on Linux")
def test_fd_sets_give_low_high_and_many_fds_and_close_them_all():
    from epollkit.view.select_fds import fd_sets

    before = set(os.listdir("/proc/self/fd"))
    with pytest.raises(RuntimeError), fd_sets(pairs=3, high=900) as sets:
        assert len(sets["many"]) == 6 and sets["low"] == [min(sets["many"])] and sets["high"][0] >= 900
        assert os.fstat(sets["high"][0]).st_ino == os.fstat(sets["low"][0]).st_ino  # the same socket
        raise RuntimeError("inside")
    assert set(os.listdir("/proc/self/fd")) == before


def test_fd_sets_refuse_bad_sizes_before_opening_anything():
    from epollkit.view.select_fds import fd_sets

    with pytest.raises(ValueError, match="pairs must be 1..5000, got 0"), fd_sets(pairs=0):
        pass


def test_a_kernel_message_wait_that_misses_its_wake_up_looks_again_within_a_slice(monkeypatch):
    """notebook_client's waits: a get_msg that only sees a message when its own timeout ends (pyzmq's
    poll after a missed ZMQ_FD edge) still returns it within a slice, not at the cell's deadline."""
    import asyncio
    from queue import Empty

    from epollkit.view import notebook

    monkeypatch.setattr(notebook, "MESSAGE_SLICE_S", 0.05)
    arrives = time.monotonic() + 0.1

    async def deaf_get_msg(timeout=None):
        await asyncio.sleep(timeout)  # no wake-up comes: it looks only when its timeout ends
        if time.monotonic() >= arrives:
            return {"msg_type": "execute_reply"}
        raise Empty

    wait = notebook._sliced(deaf_get_msg)
    t0 = time.monotonic()
    assert asyncio.run(wait(timeout=30))["msg_type"] == "execute_reply"
    assert time.monotonic() - t0 < 5  # the plain wait returns at 30 s
    arrives = time.monotonic() + 60
    t0 = time.monotonic()
    with pytest.raises(Empty):
        asyncio.run(wait(timeout=0.2))  # and the deadline is still a deadline
    assert 0.2 <= time.monotonic() - t0 < 5
