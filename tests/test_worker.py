"""A reader's own worker: the model's verdict over every interleaving, the exercises it grades, the
built-in strategies written as workers, the one-line errors, and the same loop on the kernel."""

from __future__ import annotations

import functools
import itertools
import random
import time

import pytest

from epollkit.records import AcceptResult, ReadResult
from epollkit.scenarios import loops
from epollkit.scenarios.worker import (
    EAGAIN,
    BadCall,
    NoCall,
    Nondeterministic,
    NotAWorker,
    Spins,
    WorkerRaised,
    accept,
    deliver,
    epoll_ctl,
    epoll_wait,
    read,
)
from epollkit.sim.explore import StateBudgetExceeded
from epollkit.sim.worker import check, same_as_builtin, worker_setup
from epollkit.view import worker as view

from .conftest import assert_same_resources, linux_only, snapshot

# ------------------------------------------------------------------------------------ the model


def test_a_correct_loop_holds_over_every_schedule_and_lists_its_costs():
    v = check(loops.epoll_et, "accept", flags="EPOLLET", workers=2, events=3)
    assert v.holds and v.bad == ()
    assert v.schedules > 1000 and v.lost == 0
    assert "eagain" in v.properties  # the EAGAIN that ends each drain: a cost, not a bug
    assert f"holds: no split, reorder, stuck over {v.schedules} schedules" in v.text()


def test_a_small_setup_is_checked_within_a_second_or_two():
    # 2 workers x 3 events takes ~0.1 s alone; the bound is loose for a machine shared by several jobs
    t0 = time.monotonic()
    check(loops.et, "read", flags="EPOLLET", workers=2, events=3)
    check(loops.epoll_exclusive_rotate, "accept", flags="EPOLLEXCLUSIVE", topology="private", workers=2,
          events=3)
    assert time.monotonic() - t0 < 10.0


def split_reader():
    """Reads 64 bytes at a time from 100-byte messages, level-triggered: two readers can share one."""
    while True:
        yield epoll_wait()
        if (yield read(64)) != EAGAIN:
            yield deliver()


WRONG = [
    # (loop, kind, setup, the property it must show)
    (loops.epoll_et_once, "accept", {"flags": "EPOLLET", "events": 3}, "stuck"),
    (loops.et_once, "read", {"flags": "EPOLLET", "events": 3}, "stuck"),
    (loops.lt, "read", {"flags": "EPOLLIN"}, "reorder"),
    (loops.oneshot_early_rearm, "read", {"flags": "EPOLLET|EPOLLONESHOT", "events": 3}, "reorder"),
    (split_reader, "read", {"flags": "EPOLLIN"}, "split"),
]


@pytest.mark.parametrize("fn,kind,setup,prop", WRONG, ids=[f"{w[0].__name__}-{w[3]}" for w in WRONG])
def test_an_incorrect_loop_fails_with_the_shortest_witness_of_its_bug(fn, kind, setup, prop):
    v = check(fn, kind, workers=2, **setup)
    assert not v.holds and prop in v.bad
    tr = v.witnesses[prop]
    assert prop in tr.properties and tr.done  # a complete schedule that shows it
    assert f"FAILS: shows {prop} (shortest witness: {len(tr)} steps)" in v.text()


COSTS = [
    (loops.epoll_lt, {"flags": "EPOLLIN"}, "herd"),
    (loops.epoll_lt, {"flags": "EPOLLIN"}, "wasted-wakeup"),
    (loops.epoll_lt, {"flags": "EPOLLIN"}, "eagain"),
    (loops.epoll_lt, {"flags": "EPOLLEXCLUSIVE", "topology": "private"}, "starvation"),
]


@pytest.mark.parametrize("fn,setup,prop", COSTS, ids=[c[2] for c in COSTS])
def test_costs_are_reported_with_a_witness_but_do_not_fail_the_loop(fn, setup, prop):
    v = check(fn, "accept", workers=2, events=2, **setup)
    assert v.holds and prop in v.properties
    assert prop in v.witnesses[prop].properties


def test_the_goal_can_forbid_a_cost():
    v = check(loops.epoll_lt, "accept", flags="EPOLLIN", never=("herd",))
    assert v.bad == ("herd",)


@pytest.mark.parametrize("kind,strategy", [(k, s) for k, t in loops.LOOPS.items() for s in t])
def test_a_builtin_strategy_written_as_a_worker_has_exactly_the_builtin_outcomes(kind, strategy):
    equal, schedules, outcomes = same_as_builtin(kind, strategy, workers=2, events=2)
    assert equal and schedules > 0 and outcomes > 0


@pytest.mark.parametrize("kind,strategy", [("accept", "epoll-et"), ("accept", "epoll-exclusive-rotate"),
                                           ("read", "oneshot"), ("read", "lt-exclusive")])
def test_builtin_and_worker_outcomes_agree_with_three_events_too(kind, strategy):
    assert same_as_builtin(kind, strategy, workers=2, events=3)[0]


def test_a_worker_that_differs_from_the_builtin_gives_other_outcomes():
    # the comparison can fail: epoll-et's setup with epoll-et-once's loop is not epoll-et
    from epollkit.sim.programs import accept_setup
    from epollkit.sim.worker import outcome_keys

    mine = worker_setup(loops.epoll_et_once, "accept", flags="EPOLLET", workers=2, events=2)
    assert outcome_keys(accept_setup("epoll-et", 2, 2)) != outcome_keys(mine)


PACED = [("accept", "epoll-lt"), ("accept", "epoll-oneshot"), ("accept", "epoll-exclusive"), ("read", "et"),
         ("read", "oneshot")]


@pytest.mark.parametrize("kind,strategy", PACED)
def test_the_paced_record_of_a_worker_equals_the_builtin_paced_record(kind, strategy):
    from epollkit import sim
    from epollkit.sim.worker import record

    fn, flags, topology = loops.LOOPS[kind][strategy]
    mine = record(fn, kind, flags=flags, topology=topology, workers=3, events=12)
    if kind == "accept":
        ref = sim.accept(strategy, 3, 12, schedule="paced")
        assert mine.accept_order == ref.accept_order and mine.per_worker == ref.per_worker
    else:
        ref = sim.read(strategy, 3, 12, 100, 100, schedule="paced")
        assert mine.per_reader == ref.per_reader and mine.reordered == ref.reordered
    assert mine.backend == "sim" and mine.strategy == f"worker:{fn.__name__}"


# ------------------------------------------------------------------------------------ exercises


@pytest.mark.parametrize("name", list(view.EXERCISES))
def test_each_exercise_passes_its_reference_answer(name):
    ex = view.EXERCISES[name]
    fn, answer = ex.reference
    g = ex.grade(fn, **answer)
    assert g.passed and g.lines[-1] == "PASSED"


STARTERS = [
    ("et-once", loops.epoll_et_once, {}, "no stuck"),
    ("no-reorder", loops.lt, {"flags": "EPOLLIN"}, "no reorder"),
    ("no-reorder", loops.et, {"flags": "EPOLLET"}, "no reorder"),
    ("nginx", loops.epoll_lt, {}, "paced run spreads"),
    ("find-the-bug", view.find_the_bug_given, {}, "no reorder"),
]


@pytest.mark.parametrize("name,fn,answer,goal", STARTERS, ids=[f"{s[0]}-{s[1].__name__}" for s in STARTERS])
def test_each_exercise_fails_a_wrong_answer_naming_the_goal_it_breaks(name, fn, answer, goal):
    g = view.EXERCISES[name].grade(fn, **answer)
    assert not g.passed and g.lines[-1] == "NOT YET"
    assert any(line.strip().startswith(f"FAIL  {goal}") for line in g.lines)


def test_a_reader_that_never_delivers_does_not_pass_the_read_exercise():
    def hoards():
        while True:
            yield epoll_wait()
            while (yield read(100)) != EAGAIN:
                pass
            yield epoll_ctl("mod")

    g = view.EXERCISES["no-reorder"].grade(hoards, flags="EPOLLET|EPOLLONESHOT")
    assert not g.passed and any("delivers every byte: 0 of 300" in line for line in g.lines)


def test_an_exercise_refuses_to_let_the_answer_change_its_fixed_setup():
    with pytest.raises(ValueError, match="'workers' is fixed"):
        view.EXERCISES["et-once"].grade(loops.epoll_et, workers=1)


# ------------------------------------------------------------------------------- bad programs


def not_a_generator():
    return epoll_wait()


def takes_arguments(x):
    yield epoll_wait()


def yields_a_number():
    yield 3


def yields_the_function():
    yield epoll_wait


def reads_in_an_accept_worker():
    yield epoll_wait()
    yield read(10)


def loops_without_a_call():
    yield epoll_wait()
    while True:
        pass


def raises():
    yield epoll_wait()
    raise KeyError("boom")


def coin():
    while True:
        yield epoll_wait()
        yield accept() if random.random() < 0.5 else epoll_ctl("mod")


_counter = itertools.count()


def counts_its_runs():
    extra = next(_counter)
    while True:
        yield epoll_wait()
        for _ in range(1 + extra % 2):
            yield accept()


def never_waits():
    while True:
        yield accept()


def never_takes_the_work():
    while True:
        yield epoll_wait()


BAD = [
    (not_a_generator, NotAWorker, "is not a generator function"),
    (takes_arguments, NotAWorker, "must be callable with no arguments"),
    (yields_a_number, BadCall, "yielded 3, not a call"),
    (yields_the_function, BadCall, "did you yield the function itself"),
    (reads_in_an_accept_worker, BadCall, "which an accept worker cannot make"),
    (loops_without_a_call, NoCall, "without yielding a call"),
    (raises, WorkerRaised, "raised KeyError"),
    (coin, Nondeterministic, "not a deterministic function of its results"),
    (counts_its_runs, Nondeterministic, "not a deterministic function of its results"),
    (never_waits, Spins, "calls in a row that took nothing"),
    (never_takes_the_work, Spins, "a loop that never sleeps"),
]


@pytest.mark.parametrize("fn,error,text", BAD, ids=[b[0].__name__ for b in BAD])
def test_a_bad_program_gets_one_clear_line_not_a_hang(fn, error, text):
    t0 = time.monotonic()
    with pytest.raises(error) as info:
        check(fn, "accept", flags="EPOLLIN")
    msg = str(info.value)
    assert text in msg and "\n" not in msg
    assert time.monotonic() - t0 < 15.0  # the guards fire in well under a second alone


def test_a_reader_of_small_chunks_is_not_taken_for_a_busy_loop():
    def small_reads():
        while True:
            yield epoll_wait()
            while (yield read(10)) != EAGAIN:
                yield deliver()

    v = check(small_reads, "read", flags="EPOLLET", workers=1, events=2)
    assert v.schedules > 0 and "stuck" not in v.properties


def test_passing_a_started_generator_instead_of_the_function_is_one_clear_line():
    with pytest.raises(NotAWorker, match=r"pass the function itself \(epoll_et, without the parentheses\)"):
        check(loops.epoll_et(), "accept")


def test_a_worker_past_the_state_budget_gets_one_line():
    with pytest.raises(StateBudgetExceeded, match="more than 10 distinct states") as info:
        check(loops.epoll_lt, "accept", budget=10)
    assert "\n" not in str(info.value)


def test_partial_binds_a_workers_parameters():
    v = check(functools.partial(loops.epoll_exclusive_rotate, 2), "accept", flags="EPOLLEXCLUSIVE",
              topology="private", workers=2, events=3)
    assert v.worker == "epoll_exclusive_rotate" and v.holds


@pytest.mark.parametrize("kw,text", [
    ({"flags": "EPOLLFOO"}, "unknown flag"),
    ({"workers": 9}, "workers must be an integer in 1..4"),
    ({"events": 0}, "events must be an integer in 1..6"),
    ({"topology": "ring"}, "topology must be one of shared, private"),
    ({"never": ("bugs",)}, "unknown property 'bugs'"),
])
def test_bad_setup_arguments_are_refused_before_anything_runs(kw, text):
    with pytest.raises(ValueError, match=text):
        check(loops.epoll_et, "accept", **kw)


def test_call_constructors_check_their_arguments():
    with pytest.raises(ValueError, match="n must be an integer in 1..1048576"):
        read(0)
    with pytest.raises(ValueError, match="op must be one of mod, del, add"):
        epoll_ctl("modify")
    assert epoll_wait() != accept()  # distinct calls never compare equal (the replay check relies on it)


# ----------------------------------------------------------------------------------- the kernel


@linux_only
def test_a_worker_runs_on_the_kernel_and_reports_the_accept_record():
    from epollkit.lab.experiments.worker import run

    before = snapshot()
    r = run(loops.epoll_oneshot, "accept", flags="EPOLLET|EPOLLONESHOT", workers=2, connections=60,
            rate=600.0)
    assert_same_resources(before)
    assert isinstance(r, AcceptResult) and r.backend == "real" and r.strategy == "worker:epoll_oneshot"
    assert r.accepted == 60 and r.lost == 0
    assert r.params["epoll_ctl"] == r.returns  # one re-arm per wake-up that returned, as the loop says
    assert r.params["flags"] == ["EPOLLIN", "EPOLLET", "EPOLLONESHOT"] and r.params["topology"] == "shared"


@linux_only
def test_an_edge_triggered_drain_ends_every_wake_up_with_one_eagain_on_the_kernel():
    from epollkit.lab.experiments.worker import run

    r = run(loops.epoll_et, "accept", flags="EPOLLET", workers=2, connections=60, rate=600.0)
    assert r.accepted == 60 and r.eagain == r.returns


@linux_only
def test_a_oneshot_reader_never_reorders_on_the_kernel():
    from epollkit.lab.experiments.worker import run

    before = snapshot()
    r = run(loops.oneshot, "read", flags="EPOLLET|EPOLLONESHOT", workers=2, messages=300, pace_us=200)
    assert_same_resources(before)
    assert isinstance(r, ReadResult) and r.strategy == "worker:oneshot" and r.read_size == 100
    assert r.bytes_delivered == r.bytes_sent == 300 * 100
    assert r.reordered == 0 and r.split_messages == 0


@linux_only
@pytest.mark.parametrize("fn,error", [(never_waits, Spins), (loops_without_a_call, NoCall),
                                      (raises, WorkerRaised), (not_a_generator, NotAWorker)],
                         ids=["spins", "no-call", "raises", "not-a-worker"])
def test_a_bad_worker_on_the_kernel_is_one_line_and_leaves_nothing_behind(fn, error):
    from epollkit.lab.experiments.worker import run

    before = snapshot()
    t0 = time.monotonic()
    with pytest.raises(error) as info:
        run(fn, "accept", connections=20)
    assert "\n" not in str(info.value)
    assert time.monotonic() - t0 < 8.0  # not the 10 s start-up timeout: the error ends the run
    assert_same_resources(before)


@linux_only
def test_a_worker_that_returns_on_the_kernel_ends_its_thread_cleanly():
    from epollkit.lab.experiments.worker import run

    def accepts_once():
        yield epoll_wait()
        yield accept()

    before = snapshot()
    r = run(accepts_once, "accept", flags="EPOLLET", workers=2, connections=2, rate=None, deadline=2.0)
    assert_same_resources(before)
    assert 1 <= r.accepted <= 2 and r.accepted + r.lost == 2


def test_without_epoll_measure_shows_the_recorded_run_and_says_not_live(monkeypatch, capsys):
    monkeypatch.setenv("EPOLLKIT_NO_EPOLL", "1")
    r = view.measure(loops.epoll_et, "accept", flags="EPOLLET")
    out = capsys.readouterr().out
    assert out.startswith("NOT LIVE") and "data/reference/worker.json" in out
    assert r is not None and r.strategy == "worker:epoll_et" and r.backend == "real"
    assert view.measure(split_reader, "read") is None
    assert "no recorded run of 'split_reader'" in capsys.readouterr().out
