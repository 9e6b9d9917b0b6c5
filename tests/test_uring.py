"""io_uring accept: the live lab (rings per worker, a shared ring), the model held to its orders, the
NOT LIVE paths (setup refused, sysctl, no multishot), leaks after runs, errors, deadlines and Ctrl-C,
the CLI and the recorded reference file.

Live bounds are loose on purpose (2 shared cores): a ring per worker wakes about one thread per
connection (< 1.5), a shared ring wakes every waiting thread (> half of them per connection).
"""

from __future__ import annotations

import errno
import json
import subprocess
import sys

import pytest

from epollkit import data
from epollkit.errors import UnsupportedPlatform
from epollkit.records import from_dict
from epollkit.records.uring import UringAcceptResult
from epollkit.sim.uring import full_rounds, predict, transitions_agreeing

from .conftest import assert_same_resources, snapshot

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def _why():
    if not sys.platform.startswith("linux"):
        return "needs Linux"
    from epollkit.lab.harness.uring_ring import unavailable_reason

    return unavailable_reason()


live = pytest.mark.skipif(_why() is not None, reason=f"io_uring accept unavailable: {_why()}")


def mappings():
    from epollkit.lab.harness.uring_ring import ring_mappings

    return ring_mappings()


# ------------------------------------------------------------------------------------ the model


def test_model_multishot_sends_every_connection_to_the_first_armed_ring():
    p = predict("multishot", 4, 50, arm_order=[2, 0, 3, 1])
    assert p.accept_order == [2] * 50 and p.max_share == 1.0


def test_model_multishot_stays_on_one_ring_even_when_it_is_busy():
    p = predict("multishot", 4, 40, rate=1000, work_ms=5.0)
    assert set(p.accept_order) == {0}


def test_model_multishot_loses_its_place_when_its_cq_is_full():
    light = predict("multishot", 4, 1000, rate=4000, work_ms=0.0)
    over = predict("multishot", 4, 1000, rate=4000, work_ms=2.0, cq_entries=128)
    assert light.rearms == 0 and light.max_share == 1.0
    assert over.rearms >= 2 and over.max_share < 0.6
    # the ring that fell behind keeps taking until 128 completions wait in its CQ (plus the terminal
    # one); then the next ring in arm order leads
    o = over.accept_order
    first_switch = next(i for i in range(1, len(o)) if o[i] != o[i - 1])
    assert first_switch > 128 and o[first_switch] == 1


def test_model_single_shot_rotates_in_arm_order():
    p = predict("single-shot", 3, 9, arm_order=[1, 2, 0])
    assert p.accept_order == [1, 2, 0] * 3


def test_model_single_shot_under_load_gives_a_queued_connection_to_the_worker_that_finishes_first():
    # 2 workers, arrivals every 1 ms, 3 ms of work: the third connection waits for worker 0 to finish
    p = predict("single-shot", 2, 4, rate=1000, work_ms=3.0)
    assert p.accept_order == [0, 1, 0, 1]


def test_full_rounds_counts_rounds_where_every_worker_took_one():
    assert full_rounds([0, 1, 2, 2, 0, 1, 0, 0, 1], 3) == 2 / 3


def test_hand_overs_survive_a_phase_shift_that_positions_do_not():
    assert transitions_agreeing([0, 1, 2, 0, 1, 2], [0, 1, 2, 0, 1, 2]) == 5
    assert transitions_agreeing([1, 2, 0, 1, 2, 0], [0, 1, 2, 0, 1, 2]) == 5
    assert transitions_agreeing([0, 0, 0], [0, 1, 2]) == 0


def test_model_shared_ring_wakes_every_thread_per_connection():
    assert predict("single-shot", 4, 10, shared_ring=True).wakeups_per_connection == 4.0


@pytest.mark.parametrize("kw", [{"mode": "zeroshot"}, {"workers": 0}, {"arm_order": [0, 0]}, {"work_ms": -1}])
def test_model_rejects_bad_parameters_in_one_line(kw):
    args = {"mode": "multishot", "workers": 2, "connections": 4, **kw}
    with pytest.raises(ValueError) as e:
        predict(args.pop("mode"), args.pop("workers"), args.pop("connections"), **args)
    assert "\n" not in str(e.value)


# ------------------------------------------------------------------------------------- live lab


@live
def test_multishot_sends_every_connection_to_the_first_armed_ring_without_a_herd():
    from epollkit.lab.experiments.uring_accept import uring_accept

    before, maps = snapshot(), mappings()
    r = uring_accept("multishot", 4, 120)
    assert r.lost == 0
    first = r.params["arm_order"][0]
    assert r.accept_order == predict("multishot", 4, 120, arm_order=r.params["arm_order"]).accept_order
    assert set(r.accept_order) == {first}
    assert 0.5 <= r.kernel_wakeups_per_connection < 1.5  # one wake-up per connection: no herd
    assert r.rearms == 0 and r.empty_cqes == 0
    assert_same_resources(before)
    assert mappings() == maps


@live
def test_an_overloaded_multishot_ring_whose_cq_fills_is_rearmed_at_the_tail_and_the_next_ring_leads():
    from epollkit.lab.experiments.uring_accept import uring_accept

    before, maps = snapshot(), mappings()
    r = uring_accept("multishot", 4, 600, rate=4000, work_ms=2.0)
    p = predict("multishot", 4, 600, rate=4000, work_ms=2.0, arm_order=r.params["arm_order"],
                cq_entries=r.params["cq_entries"])
    assert r.lost == 0 and r.params["cq_entries"] == 128
    assert r.rearms >= 1 and p.rearms >= 1  # CQEs without IORING_CQE_F_MORE: the request ended
    assert r.max_share < 0.9 and p.max_share < 0.9
    assert r.accept_order[0] == r.params["arm_order"][0]
    assert_same_resources(before)
    assert mappings() == maps


@live
def test_single_shot_rearmed_accepts_rotate_round_robin_like_the_model():
    from epollkit.lab.experiments.uring_accept import uring_accept

    r = uring_accept("single-shot", 4, 120)
    p = predict("single-shot", 4, 120, arm_order=r.params["arm_order"])
    assert r.lost == 0
    assert p.accept_order[:4] == r.params["arm_order"]
    assert sorted(r.accept_order[:4]) == [0, 1, 2, 3]
    # round robin, allowing a few swaps: a woken worker that runs late takes the next connection
    # (accept() hands out the oldest connection to whoever calls first)
    assert full_rounds(r.accept_order, 4) >= 0.6
    assert r.max_share <= 0.35
    assert r.kernel_wakeups_per_connection < 1.5


@live
@pytest.mark.parametrize("setup", ["plain", "single-issuer"])
def test_setup_flags_do_not_change_who_gets_the_connection(setup):
    from epollkit.lab.experiments.uring_accept import uring_accept

    m = uring_accept("multishot", 3, 60, setup=setup)
    s = uring_accept("single-shot", 3, 60, setup=setup)
    assert m.max_share == 1.0 and s.max_share <= 0.45


@live
def test_a_ring_shared_by_threads_wakes_every_waiting_thread_per_connection():
    from epollkit.lab.experiments.uring_accept import uring_accept

    before, maps = snapshot(), mappings()
    r = uring_accept("single-shot", 4, 100, setup="plain", shared_ring=True)
    assert r.lost == 0 and r.rings == 1
    assert r.kernel_wakeups_per_connection > 2.0  # io_cqring_wake: nr_exclusive 0
    assert_same_resources(before)
    assert mappings() == maps


@live
def test_comparison_puts_uring_and_epoll_side_by_side_at_the_same_load():
    from epollkit.analysis.uring import row
    from epollkit.lab.experiments.uring_accept import compare

    rs = compare(3, 60)
    names = [row(r)["strategy"] for r in rs]
    assert names == ["uring-multishot", "uring-single-shot", "epoll-lt-private", "epoll-exclusive"]
    lt = rs[2]
    assert lt.kernel_wakeups_per_connection > 1.5  # every private instance is woken: the herd
    assert rs[0].kernel_wakeups_per_connection < 1.5


@live
@pytest.mark.parametrize("mode", ["multishot", "single-shot"])
def test_worker_processes_armed_in_order_get_the_connections_the_model_gives_them(mode):
    from epollkit.lab.experiments.uring_accept import uring_accept

    before, maps = snapshot(), mappings()
    r = uring_accept(mode, 3, 60, process=True)
    p = predict(mode, 3, 60, arm_order=[0, 1, 2])
    assert r.lost == 0 and r.params["process"] and r.strategy.endswith("-procs")
    if mode == "multishot":
        assert r.accept_order == p.accept_order  # all to process 0, the first armed
    else:
        # round robin: every round of 3 connections goes to the 3 processes. Which process takes which
        # connection of a round can swap when a woken process runs late (2 busy cores): the wake goes
        # to the head entry, but accept() takes the oldest connection, whoever calls it first.
        assert full_rounds(r.accept_order, 3) >= 0.6
        assert r.max_share <= 0.45
    assert 0.5 <= r.kernel_wakeups_per_connection < 1.5
    assert_same_resources(before)
    assert mappings() == maps


@live
def test_a_passed_deadline_in_a_process_run_reports_lost_connections_and_reaps_every_process():
    from epollkit.lab.experiments.uring_accept import uring_accept

    before = snapshot()
    r = uring_accept("single-shot", 2, 2000, rate=400, deadline=0.3, process=True)
    assert r.lost > 0 and r.accepted == len(r.accept_order)
    assert_same_resources(before)


@live
def test_ctrl_c_during_a_process_run_reaps_every_worker_process(monkeypatch):
    from epollkit.lab.experiments import uring_procs

    def interrupted(pids, timeout, settle=0.02):
        raise KeyboardInterrupt

    monkeypatch.setattr(uring_procs, "_all_asleep", interrupted)
    before = snapshot()
    from epollkit.lab.experiments.uring_accept import uring_accept

    with pytest.raises(KeyboardInterrupt):
        uring_accept("multishot", 2, 20, process=True)
    assert_same_resources(before)


# ---------------------------------------------------------------------------------- leaks, errors


@live
def test_a_worker_error_is_reraised_and_leaves_nothing_behind(monkeypatch):
    from epollkit.lab.experiments import uring_accept as ua

    def boom(self, index, cqe, first):
        raise RuntimeError("boom in a worker")

    monkeypatch.setattr(ua._Run, "_handle", boom)
    before, maps = snapshot(), mappings()
    with pytest.raises(RuntimeError, match="boom"):
        ua.uring_accept("multishot", 2, 20)
    assert_same_resources(before)
    assert mappings() == maps


@live
def test_a_ring_that_cannot_be_set_up_in_a_worker_fails_the_run_at_once_and_leaves_nothing(monkeypatch):
    import time

    from epollkit.lab.experiments import uring_accept as ua
    from epollkit.lab.harness import uring_ring

    def no_more_rings(entries, params):
        raise OSError(errno.EMFILE, "io_uring_setup: Too many open files")

    monkeypatch.setattr(ua, "require_uring", lambda: None)  # past the probe, as if the limit hit later
    monkeypatch.setattr(uring_ring, "io_uring_setup", no_more_rings)
    before, maps = snapshot(), mappings()
    t0 = time.monotonic()
    with pytest.raises(OSError, match="Too many open files"):
        ua.uring_accept("single-shot", 3, 30)
    assert time.monotonic() - t0 < 5.0
    assert_same_resources(before)
    assert mappings() == maps


@live
@pytest.mark.parametrize("setup", ["plain", "defer-taskrun"])
def test_a_thread_waiting_for_completions_sleeps_in_io_cqring_wait(setup):
    import os
    import threading
    import time

    from epollkit.lab.harness import sleeps_in
    from epollkit.lab.harness.uring_ring import Ring

    tid, rd, wr = [], *os.pipe()

    def wait():
        tid.append(threading.get_native_id())
        with Ring(8, setup) as ring:
            ring.prep_poll(rd, user_data=1)
            ring.submit(wait=1)  # sleeps until the pipe is written

    t = threading.Thread(target=wait)
    t.start()
    try:
        deadline = time.monotonic() + 5
        while not (tid and sleeps_in(tid[0], "io_uring_enter")) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert tid and sleeps_in(tid[0], "io_uring_enter")
    finally:
        os.write(wr, b"x")
        t.join(5)
        os.close(rd)
        os.close(wr)


@live
def test_single_issuer_refuses_a_submission_from_another_thread():
    import threading

    from epollkit.lab.harness.uring_ring import Ring

    seen = []
    with Ring(8, "single-issuer") as ring, Ring(8, "plain") as plain:
        def other():
            for r in (ring, plain):
                r.prep_nop(user_data=7)
                try:
                    r.submit(wait=1)
                    seen.append(r.reap())
                except OSError as exc:
                    seen.append(exc.errno)
        t = threading.Thread(target=other)
        t.start()
        t.join(5)
    assert seen == [errno.EEXIST, [(7, 0, 0)]]  # io_uring_enter: the submitter_task check


@live
def test_ctrl_c_during_a_run_leaves_nothing_behind(monkeypatch):
    from epollkit.lab.experiments import uring_accept as ua

    def interrupted(self, client, t0):
        raise KeyboardInterrupt

    monkeypatch.setattr(ua._Run, "_wait_done", interrupted)
    before, maps = snapshot(), mappings()
    with pytest.raises(KeyboardInterrupt):
        ua.uring_accept("single-shot", 3, 50)
    assert_same_resources(before)
    assert mappings() == maps


@live
def test_a_passed_deadline_reports_lost_connections_and_leaves_nothing_behind():
    from epollkit.lab.experiments.uring_accept import uring_accept

    before, maps = snapshot(), mappings()
    r = uring_accept("multishot", 2, 2000, rate=400, deadline=0.3)
    assert r.lost > 0
    assert_same_resources(before)
    assert mappings() == maps


@pytest.mark.parametrize("kw, word", [
    ({"mode": "triple"}, "mode"), ({"workers": 65}, "workers"), ({"connections": 0}, "connections"),
    ({"rate": -1}, "rate"), ({"work_ms": 5000}, "work_ms"), ({"setup": "sqpoll"}, "setup"),
    ({"shared_ring": True}, "shared"), ({"deadline": 0}, "deadline"),
    ({"process": True, "shared_ring": True, "setup": "plain"}, "process"), ({"process": 1}, "process"),
])
def test_bad_parameters_fail_in_one_line_before_anything_starts(kw, word):
    from epollkit.lab.experiments.uring_accept import uring_accept

    before = snapshot()
    with pytest.raises(ValueError) as e:
        uring_accept(**kw)
    assert word in str(e.value) and "\n" not in str(e.value)
    assert snapshot() == before


# ------------------------------------------------------------------------------- availability


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the probe runs on Linux")
@pytest.mark.parametrize("err, words", [(errno.EPERM, "refused (EPERM)"), (errno.ENOSYS, "ENOSYS")])
def test_a_refused_setup_says_which_and_the_chapter_shows_recorded_results(monkeypatch, capsys, err, words):
    from epollkit.lab.experiments import uring_accept as ua
    from epollkit.lab.harness import uring_ring
    from epollkit.view import uring as uring_view

    def refuse(entries, params):
        raise OSError(err, "refused by test")

    monkeypatch.setattr(uring_ring, "io_uring_setup", refuse)
    why = uring_ring.unavailable_reason()
    assert words in why and "\n" not in why
    with pytest.raises(UnsupportedPlatform, match="io_uring_setup"):
        ua.uring_accept("multishot", 2, 10)
    r = uring_view.run_or_recorded("multishot", 4)
    out = capsys.readouterr().out
    assert out.startswith("NOT LIVE (") and words in out and "data/reference/uring_accept.json" in out
    assert isinstance(r, UringAcceptResult) and r.backend == "real" and r.max_share == 1.0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the probe runs on Linux")
def test_the_io_uring_disabled_sysctl_is_named(monkeypatch):
    from epollkit.lab.harness import uring_ring

    monkeypatch.setattr(uring_ring, "_sysctl_disabled", lambda: 2)
    assert "kernel.io_uring_disabled = 2" in uring_ring.unavailable_reason()


@live
def test_a_kernel_without_multishot_accept_is_named(monkeypatch):
    from epollkit.lab.harness import uring_ring

    real_reap = uring_ring.Ring.reap

    def einval(self):  # what a kernel < 5.19 posts: io_accept_prep rejects IORING_ACCEPT_MULTISHOT
        for _ud, res, _fl in real_reap(self):
            if res >= 0:
                import os

                os.close(res)
        return [(1, -errno.EINVAL, 0)]

    before, maps = snapshot(), mappings()
    monkeypatch.setattr(uring_ring.Ring, "reap", einval)
    why = uring_ring.unavailable_reason()
    assert "no multishot accept" in why and "5.19" in why
    assert_same_resources(before)
    assert mappings() == maps


def test_no_epoll_run_hides_io_uring_too(monkeypatch):
    from epollkit.view import uring as uring_view

    monkeypatch.setenv("EPOLLKIT_NO_EPOLL", "1")
    assert uring_view.unavailable() is not None


def test_importing_the_record_the_model_and_the_view_loads_no_ctypes_binding():
    code = ("import sys, epollkit, epollkit.records.uring, epollkit.analysis.uring, epollkit.sim.uring, "
            "epollkit.view.uring, epollkit.view.plots, epollkit.view.widgets;"
            "print('epollkit.lab.harness.uring_ring' in sys.modules, 'ctypes' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, check=True).stdout
    assert out.split()[0] == "False"


# ------------------------------------------------------------------------------ record and CLI


def test_recorded_results_load_as_records_and_show_the_finding():
    rs = data.find("uring_accept")
    assert rs and all(isinstance(r, UringAcceptResult) for r in rs)
    assert from_dict(rs[0].to_dict()) == rs[0]
    multishot = [r for r in rs if r.strategy == "uring-multishot"]
    below_a_cq = [r for r in multishot if r.rearms == 0]
    overflowed = [r for r in multishot if r.connections > r.params["cq_entries"] * 2]
    assert below_a_cq and all(r.max_share == 1.0 for r in below_a_cq)
    assert overflowed and all(r.rearms >= 1 and r.max_share < 1.0 for r in overflowed)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "epollkit", "uring-accept", *args], capture_output=True,
                          text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                          timeout=120)


@pytest.mark.parametrize("args", [["--workers", "0"], ["--mode", "x"], ["--shared-ring"],
                                  ["--work-ms", "nan"]])
def test_cli_bad_arguments_exit_2_with_one_line(args):
    p = _cli(*args)
    assert p.returncode == 2 and p.stdout == "" and len(p.stderr.strip().splitlines()) == 1


@live
def test_cli_json_prints_one_document():
    p = _cli("--mode", "single-shot", "--workers", "2", "--connections", "20", "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["experiment"] == "uring-accept" and doc["accepted"] == 20


def test_cli_run_time_failure_exits_1_with_one_line():
    p = subprocess.run([sys.executable, "-m", "epollkit", "uring-accept", "--connections", "5"],
                       capture_output=True, text=True, cwd=ROOT, timeout=60,
                       env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "EPOLLKIT_NO_URING": "1"})
    assert p.returncode == 1 and len(p.stderr.strip().splitlines()) == 1 and "NO_URING" in p.stderr
