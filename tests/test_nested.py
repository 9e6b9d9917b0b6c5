"""Nested epoll in the model, checked against the kernel's own selftests (epoll_wakeup_test.c).

The translated selftests live in data/scenarios/selftest-epollNN-*.json and run in the conformance suite
on both backends; here: that the translation is complete, that every outcome the model allows satisfies
the kernel's own assertion, and the rules one at a time (readiness of an epoll fd, the wake-up through
its poll_wait, ELOOP, EINVAL, poll() with timeout 0, the burst order).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from epollkit import sim
from epollkit.scenarios.format import selftest_count
from epollkit.sim import nested, rules
from epollkit.sim.state import Epoll, State, World

from .conftest import linux_only

DIR = Path(__file__).resolve().parents[1] / "data" / "scenarios"
SELFTESTS = sorted(DIR.glob("selftest-epoll*.json"))
W = World(kinds={}, boundaries={})


def _numbers() -> set:
    return {int(re.match(r"selftest-epoll(\d+)-", p.name).group(1)) for p in SELFTESTS}


def test_every_case_epoll1_to_epoll58_and_epoll64_is_translated_once():
    assert _numbers() == set(range(1, 59)) | {64}
    assert len(SELFTESTS) == len(_numbers())


@pytest.mark.parametrize("path", SELFTESTS, ids=lambda p: p.stem)
def test_every_model_outcome_satisfies_the_kernels_own_assertion(path):
    sc = sim.load(path)
    st = sc.raw["selftest"]
    assert st["test"] == f"epoll{int(path.name[len('selftest-epoll'):][:2])}"
    assert "epoll_wakeup_test.c" in st["source"]
    outcomes = sim.explore(sim.setup(sc, "newest")).outcome_set()
    if "count" in st:
        assert {selftest_count(st, o) for o in outcomes} <= set(st["allowed"])
    else:  # single-threaded: the per-call return values are the expect, one outcome
        assert len(outcomes) == 1 and outcomes == sc.expect


def _two_level(outer: frozenset, inner: frozenset) -> State:
    st = State()
    st.epolls = {"e0": Epoll(), "e1": Epoll()}
    st.streams = {"s0": (0, 0)}
    assert rules.epoll_ctl(W, st, "add", "e1", "s0", inner, None) == "ok"
    assert rules.epoll_ctl(W, st, "add", "e0", "e1", outer, None) == "ok"
    return st


LT = frozenset({"EPOLLIN"})
IN = ["EPOLLIN"]
ET = frozenset({"EPOLLIN", "EPOLLET"})


def test_a_write_queues_the_outer_item_through_the_inner_poll_wait():
    st = _two_level(LT, ET)
    assert [e.kind + ":" + e.who for e in st.queues["e1"]] == ["epoll:e0"]  # ep_ptable_queue_proc
    log: list = []
    rules.bytes_arrive(st, "s0", 1, log, 1)
    assert st.epolls["e1"].rdllist == ("s0",) and st.epolls["e0"].rdllist == ("e1",)
    assert any("ep_poll_safewake" in line for line in log)


def test_polling_an_epoll_fd_consumes_nothing_but_drops_stale_items():
    st = _two_level(LT, ET)
    rules.bytes_arrive(st, "s0", 1, None, 1)
    assert rules.eventpoll_poll(W, st, "e1", None) == {"EPOLLIN"}
    assert st.epolls["e1"].rdllist == ("s0",)  # an ET item stays queued: poll is not a harvest
    rules.take_bytes(st, "s0", 1)  # read it: s0 no longer readable
    assert rules.eventpoll_poll(W, st, "e0", None) == frozenset()  # e0 -> e1 -> s0: nothing ready
    assert st.epolls["e1"].rdllist == () and st.epolls["e0"].rdllist == ()  # both dropped


def test_outer_level_triggered_link_keeps_reporting_and_edge_triggered_reports_once():
    for name, second in (("selftest-epoll18-nested-lt-over-et", [["e1", ["EPOLLIN"]]]),
                         ("selftest-epoll20-nested-et-over-et", [])):
        ex = sim.explore(sim.setup(sim.load(name), "newest"))
        assert ex.outcome_set() == [{"t0": [[["e1", ["EPOLLIN"]]], second]}]


def test_poll_with_timeout_zero_returns_zero_when_nothing_is_ready():
    sc = sim.load({"name": "poll 0", "objects": {"e0": "epoll", "s0": "stream", "l0": "listener"},
                   "watch": [{"epoll": "e0", "fd": "s0", "events": ["EPOLLIN"]}],
                   "threads": {"A": [{"call": "poll", "fd": "e0", "timeout": 0},
                                     {"call": "poll", "fd": "s0", "timeout": 0},
                                     {"call": "poll", "fd": "l0", "timeout": 0},
                                     {"call": "poll", "fd": "s0"}]},
                   "kernel": [{"write": "s0", "bytes": 1}]})
    assert sim.explore(sim.setup(sc, "newest")).outcome_set() == [{"A": [0, 0, 0, 1]}]


@pytest.mark.parametrize("graph, ep, to, refused", [
    ({"e0": ["e1"]}, "e1", "e0", True),  # a loop
    ({"e0": ["e1"], "e1": ["e2"]}, "e2", "e0", True),  # a longer loop
    ({"e1": ["e2"], "e2": ["e3"], "e3": ["e4"]}, "e0", "e1", False),  # 4 links: the limit
    ({"e0": ["e1"], "e1": ["e2"], "e2": ["e3"], "e3": ["e4"]}, "e4", "e5", True),  # 5: ELOOP
    ({"e1": ["e2"], "e2": ["e3"], "e3": ["e4"], "e4": ["e5"]}, "e0", "e1", True),  # 5 below: ELOOP
    ({"e0": ["e1"]}, "e0", "e2", False),  # a second child
])
def test_ep_loop_check_refuses_loops_and_chains_longer_than_ep_max_nests(graph, ep, to, refused):
    assert nested.loop_refusal(graph, ep, to) is refused


def test_epoll_ctl_answers_einval_for_self_and_for_exclusive_on_an_epoll_and_eloop_for_a_loop():
    st = _two_level(LT, LT)
    assert rules.epoll_ctl(W, st, "add", "e0", "e0", LT, None) == "EINVAL"
    assert rules.epoll_ctl(W, st, "del", "e1", "e1", frozenset(), None) == "EINVAL"
    st.epolls["e2"] = Epoll()
    excl = frozenset({"EPOLLIN", "EPOLLEXCLUSIVE"})
    assert rules.epoll_ctl(W, st, "add", "e2", "e1", excl, None) == "EINVAL"
    assert rules.epoll_ctl(W, st, "add", "e1", "e0", LT, None) == "ELOOP"
    assert rules.epoll_ctl(W, st, "add", "e0", "e1", LT, None) == "EEXIST"  # no loop: the pair exists


@pytest.mark.parametrize("watch, message", [
    ([{"epoll": "e0", "fd": "e0", "events": IN}], "added to itself; the kernel would refuse it with EINVAL"),
    ([{"epoll": "e0", "fd": "e1", "events": IN}, {"epoll": "e1", "fd": "e0", "events": IN}],
     "a loop or a chain deeper than 4 epoll-in-epoll links; the kernel would refuse it with ELOOP"),
    ([{"epoll": "e0", "fd": "e1", "events": ["EPOLLIN", "EPOLLEXCLUSIVE"]}], "EPOLLEXCLUSIVE on an epoll fd"),
])
def test_loader_refuses_a_watch_list_the_kernel_would_refuse(watch, message):
    with pytest.raises(ValueError) as err:
        sim.load({"name": "x", "objects": {"e0": "epoll", "e1": "epoll"}, "watch": watch,
                  "threads": {"A": [{"call": "epoll_wait", "epoll": "e0", "timeout": 0}]}})
    assert message in str(err.value) and "\n" not in str(err.value)


def test_burst_order_lets_a_woken_thread_finish_its_wait_but_not_call_again():
    sc = sim.load("selftest-epoll16-et-two-sockets-two-threads-poll")
    assert sc.order == "burst"
    tr = sim.replay(sim.setup(sc, "newest"), ["t0", "t1", "Kernel"])  # both asleep; the first write
    assert set(tr.enabled) == {"Thread t0", "Thread t1", "Kernel"}  # both woken: may finish their wait
    tr = tr.then("t1")  # t1's poll() returns 1; its next call (epoll_wait) must wait for the burst
    assert tr.enabled == ("Thread t0", "Kernel")
    with pytest.raises(ValueError, match="back to back"):
        tr.then("t1")


def test_stuck_is_judged_through_nested_instances():
    sc = sim.load({"name": "stuck?", "objects": {"e0": "epoll", "e1": "epoll", "s0": "stream"},
                   "watch": [{"epoll": "e1", "fd": "s0", "events": ["EPOLLIN"]},
                             {"epoll": "e0", "fd": "e1", "events": ["EPOLLIN", "EPOLLET"]}],
                   "threads": {"A": [{"call": "epoll_wait", "epoll": "e0"}] * 2},
                   "kernel": [{"write": "s0", "bytes": 1}]})
    ex = sim.explore(sim.setup(sc, "newest"))
    # the outer ET link reported once; e1 is still readable, but no new wake-up will come
    assert ex.outcome_set() == [{"A": [[["e1", ["EPOLLIN"]]], "blocked"]}]
    assert "stuck" in ex.properties


@linux_only
def test_the_kernel_agrees_that_an_outer_et_link_reports_once():
    from epollkit.lab import run_scenario

    doc = run_scenario("selftest-epoll23-nested-et-over-lt-poll", repeat=2)
    assert [o["threads"] for o in doc["outcomes"]] == [{"t0": [1, [["e1", ["EPOLLIN"]]], 0, []]}]


def test_without_epoll_the_comparison_shows_the_recorded_kernel_outcomes_labelled_so(monkeypatch):
    from epollkit.view import scenario_compare

    monkeypatch.setenv("EPOLLKIT_NO_EPOLL", "1")
    for name in scenario_compare.RECORDED:
        c = scenario_compare.compare(name)
        assert c.backend == "recorded" and "data/reference/scenarios.json" in c.where
        assert c.kernel and c.in_model, f"{name}: the recorded kernel outcomes are outside the model"
    row = scenario_compare.compare("selftest-epoll19-nested-et-over-lt").row()
    assert row["model (schedules)"] == "t0: e1, 0 (1)" and row["kernel in model"] is True
