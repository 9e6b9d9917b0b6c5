"""File descriptor vs file description: the model's tables, the scenario additions, the real backend's
second process, the chapter's live measurements -- and that nothing is left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from epollkit import sim
from epollkit.scenarios.calls import Close, Dup, Dup2, Open
from epollkit.sim import fdtable

from .conftest import linux_only

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted(p.stem for p in (ROOT / "data" / "scenarios").glob("*.json")
               if p.stem.startswith(("fd-", "fork-")))


def _run_calls(calls, objects=None, unopened=(), watch=("s0",)):
    """One thread's calls, run by the model; returns (results, final state)."""
    doc = {"name": "t", "objects": objects or {"e0": "epoll", "s0": "stream", "n0": "stream"},
           "unopened": list(unopened),
           "watch": [{"epoll": "e0", "fd": f, "events": ["EPOLLIN"]} for f in watch],
           "threads": {"A": calls}}
    setup = sim.setup(doc, "newest")
    tr = sim.run(setup, 0)
    return tr.outcome["A"], tr


# ------------------------------------------------------------------------------------ the model


def test_a_new_descriptor_takes_the_lowest_free_number():
    p = fdtable.Proc().bind("a", 3, "x").bind("b", 4, "y").bind("c", 5, "z")
    assert p.lowest_free() == 6
    assert p.drop(4).lowest_free() == 4
    assert p.drop(4).drop(3).lowest_free() == 3


def test_a_reused_number_keeps_the_label_of_its_first_name():
    p = fdtable.Proc().bind("s0", 3, "s0").drop(3).bind("n0", 3, "n0")
    assert p.label(3) == "s0" and p.num("n0") == 3 and p.desc(3) == "n0"


def test_fork_copies_the_table_and_adds_a_reference_to_every_description():
    fdt = fdtable.initial({"e0": "epoll", "s0": "stream"}, (), ("C",), ("A", "C"))
    assert fdt.refs("s0") == 1
    forked = fdtable.fork(fdt)
    assert forked.refs("s0") == 2 and forked.proc("child") == forked.proc("parent")
    assert forked.of("C") == "child" and forked.of("A") == "parent"


def test_close_of_the_last_reference_removes_the_registration_and_a_dup_keeps_it():
    res, _ = _run_calls([{"call": "close", "fd": "s0"}, {"call": "epoll_ctl", "op": "add", "epoll": "e0",
                                                          "fd": "s0", "events": ["EPOLLIN"]}])
    assert res == ["ok", "EBADF"]
    res, _ = _run_calls([{"call": "dup", "fd": "s0", "as": "d0"}, {"call": "close", "fd": "s0"},
                         {"call": "epoll_ctl", "op": "del", "epoll": "e0", "fd": "s0"}])
    assert res == ["d0", "ok", "EBADF"]  # the ghost: s0's number is closed, the pair is still there


def test_the_model_refuses_two_registrations_of_one_description_in_one_instance():
    with pytest.raises(sim.state.ModelError, match="not modelled"):
        _run_calls([{"call": "dup", "fd": "s0", "as": "d0"},
                    {"call": "epoll_ctl", "op": "add", "epoll": "e0", "fd": "d0", "events": ["EPOLLIN"]}])


def test_dup2_onto_a_registered_number_keeps_the_old_file_registered_through_a_dup():
    res, _ = _run_calls([{"call": "dup", "fd": "s0", "as": "d0"}, {"call": "open", "fd": "n0"},
                         {"call": "dup2", "fd": "n0", "to": "s0"},
                         {"call": "epoll_ctl", "op": "del", "epoll": "e0", "fd": "s0"}], unopened=("n0",))
    assert res == ["d0", "n0", "ok", "ENOENT"]


def test_the_tables_snapshot_names_processes_descriptions_and_the_interest_list():
    setup = sim.setup("fork-child-deletes-registration", "newest")
    snap = fdtable.snapshot(setup.initial)
    assert set(snap["processes"]) == {"parent", "child"}
    assert snap["descriptions"]["s0"] == 2
    assert snap["interest"]["e0"][0]["label"] == "s0"


def test_every_new_call_has_a_label_for_traces():
    assert [c.label() for c in (Dup("s0", "d0"), Dup2("n0", "s0"), Close("s0"), Open("n0"))] == [
        "d0 = dup(s0)", "dup2(n0, s0)", "close(s0)", "open n0"]


# ------------------------------------------------------------------------------------ the format


def test_old_scenarios_do_not_switch_to_descriptor_mode():
    assert not sim.load("ctl-eexist-enoent").descriptors
    assert sim.load("fd-ghost-event-after-dup-close").descriptors


@pytest.mark.parametrize(("change", "message"), [
    ({"threads": {"A": [{"call": "open", "fd": "s0"}]}}, "'s0' is not listed in unopened"),
    ({"unopened": ["e0"]}, "'e0' is not a stream object; valid: s0, n0"),
    ({"unopened": ["n0"], "watch": [{"epoll": "e0", "fd": "n0", "events": ["EPOLLIN"]}]}, "is unopened"),
    ({"unopened": ["n0"]}, "n0 is never opened"),
    ({"threads": {"A": [{"call": "dup", "fd": "s0", "as": "s0"}]}}, "'as' 's0' is already a name"),
    ({"threads": {"A": [{"call": "close", "fd": "e0"}]}}, "'e0' is an epoll instance"),
    ({"threads": {"A": [{"call": "close", "fd": "zz"}]}}, "unknown object 'zz'; valid: s0, n0"),
    ({"child": ["B"]}, "'B'\\] is not a list of thread names; valid: A"),
    ({"child": ["A"]}, "at least one thread must stay in the parent"),
    ({"threads": {"A": [{"call": "dup", "fd": "s0"}]}}, "'as' None is not a descriptor name"),
])
def test_a_bad_descriptor_field_is_one_line_naming_it(change, message):
    doc = {"name": "bad", "objects": {"e0": "epoll", "s0": "stream", "n0": "stream"},
           "threads": {"A": [{"call": "close", "fd": "s0"}]}, **change}
    with pytest.raises(ValueError, match=message) as exc:
        sim.load(doc)
    assert "\n" not in str(exc.value)


def test_the_new_scenarios_cover_the_chapter_and_are_at_least_twelve():
    assert len(FILES) >= 12
    for must in ("fd-ghost-event-after-dup-close", "fd-del-closed-number-ebadf", "fd-del-through-dup-enoent",
                 "fd-same-number-twice-after-reuse", "fork-parent-close-keeps-registration",
                 "fork-child-deletes-registration", "fd-safe-del-before-close"):
        assert must in FILES


# ------------------------------------------------------------------------------------ the kernel


@linux_only
def test_a_fork_scenario_on_the_kernel_matches_and_leaves_no_fd_or_process_behind(no_leaks):
    from epollkit.lab import run_scenario

    sc = sim.load("fork-child-deletes-registration")
    doc = run_scenario(sc, repeat=2)
    assert [o["threads"] for o in doc["outcomes"]] == sc.expect


@linux_only
@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()], ids=["error", "ctrl-c"])
def test_an_error_or_ctrl_c_mid_run_closes_every_dup_and_reaps_the_second_process(monkeypatch, exc, no_leaks):
    from epollkit.lab import run_scenario
    from epollkit.lab.experiments import fd_scenario

    def fire(self, ev):
        assert self.child is not None and self.child.poll() is None  # the helper is alive right now
        raise exc

    monkeypatch.setattr(fd_scenario.FdRun, "fire", fire)
    with pytest.raises(type(exc)):
        run_scenario("fork-parent-close-keeps-registration")


@linux_only
def test_a_second_process_that_dies_at_start_is_one_helper_error_and_leaves_nothing(monkeypatch, no_leaks):
    from epollkit.errors import HelperProcessError
    from epollkit.lab import run_scenario

    monkeypatch.setattr("sys.executable", "/bin/false")  # the helper exits before its hello
    with pytest.raises(HelperProcessError, match="did not say hello"):
        run_scenario("fork-parent-close-keeps-registration")


@linux_only
def test_an_error_after_a_dup_closes_it(monkeypatch, no_leaks):
    from epollkit.lab import run_scenario
    from epollkit.lab.experiments import fd_scenario

    def fire(self, ev):
        assert self.parent.owned and self.parent.names["d0"] in self.parent.owned  # A's dup is open
        raise RuntimeError("x")

    monkeypatch.setattr(fd_scenario.FdRun, "fire", fire)
    with pytest.raises(RuntimeError, match="x"):
        run_scenario("fd-ghost-event-after-dup-close")  # A dups, closes s0, sleeps; then the write fails


@linux_only
def test_selectors_keeps_reporting_a_socket_closed_behind_its_back(no_leaks):
    from epollkit.lab.experiments.descriptors import measure_selectors

    s = measure_selectors()
    assert len(s["ghost_events"]) == 1 and s["ghost_events"][0]["same_number"]
    assert "already registered" in s["register_new_socket_same_number"]
    # a select(0.02) that waits can run at most ~5 times in 0.1 s; the ghost makes it return at once.
    # Loose: a loaded 2-core machine still manages hundreds of calls in 0.1 s.
    assert s["after_last_close"]["select_calls"] <= 6
    assert s["after_unregister"]["select_calls"] >= 20 * s["after_last_close"]["select_calls"]


@linux_only
def test_asyncio_spins_on_a_ghost_and_is_deaf_to_a_new_socket_on_the_same_number(no_leaks):
    from epollkit.lab.experiments.descriptors import measure_asyncio

    a = measure_asyncio()
    assert a["ghost_callbacks_in_window"] >= 10  # level-triggered, nobody reads: it fires every turn
    assert a["after_last_close"]["selector_calls"] <= 4
    assert a["after_remove_reader"]["selector_calls"] >= 10 * a["after_last_close"]["selector_calls"]
    assert a["new_socket_callbacks_in_window"] == 0 and a["new_socket_callbacks_after_re_add"] == 1


@linux_only
def test_kcmp_says_the_registration_is_the_dups_file_or_why_not(no_leaks):
    from epollkit.lab.experiments.descriptors import measure_kcmp

    k = measure_kcmp()
    if not k["live"]:
        assert k["why"]
        return
    assert k["registered_vs_itself"] == 0 and k["dup_vs_registered_after_close"] == 0
    assert k["other_file_vs_registered"] in (1, 2)


# ------------------------------------------------------------------------------------ the CLI


def _cli(*args, env=None):
    e = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "epollkit", *args], capture_output=True, text=True,
                          env=e, timeout=120)


@linux_only
def test_cli_descriptors_json_is_one_document_where_every_demo_agrees():
    p = _cli("descriptors", "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["experiment"] == "descriptors" and all(d["agree"] for d in doc["demos"])


def test_cli_descriptors_bad_repeat_is_exit_2_and_no_epoll_is_exit_1():
    p = _cli("descriptors", "--repeat", "0")
    assert p.returncode == 2 and "repeat" in p.stderr and "Traceback" not in p.stderr
    p = _cli("descriptors", env={"EPOLLKIT_NO_EPOLL": "1"})
    assert p.returncode == 1 and "no epoll" in p.stderr and "Traceback" not in p.stderr


def test_cli_scenario_runs_a_descriptor_file_on_the_model():
    p = _cli("scenario", "fd-same-number-twice-after-reuse", "--explore", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)["outcomes"]
    assert out[0]["threads"]["A"][-1] == [["s0", ["EPOLLIN"]], ["s0", ["EPOLLIN"]]]


# ------------------------------------------------------------------------------------ the view


def test_the_playground_shows_the_ghost_and_the_same_number_twice():
    from epollkit.view.descriptors import playground_script

    pg = playground_script(["dup s0", "close s0", "write", "wait", "open", "add n0", "write n0", "wait"])
    assert pg.log[3].endswith("[['s0', ['EPOLLIN']]]")
    assert pg.log[-1].endswith("[['s0', ['EPOLLIN']], ['s0', ['EPOLLIN']]]")
    ghost = [it for it in pg.tables()["interest"]["e0"] if it["description"] == "s0"]
    assert ghost and ghost[0]["label"] == "s0"


def test_the_playground_child_can_delete_what_the_parent_cannot():
    from epollkit.view.descriptors import playground_script

    pg = playground_script(["dup s0", "close s0", "del s0", "del d0", "fork", "wait"])
    assert [line.rsplit("-> ", 1)[1] for line in pg.log[2:4]] == ["EBADF", "ENOENT"]
    assert pg.ctl("del", "s0", "child") == "EBADF"  # the child copied the table after s0's close
    assert pg.ctl("del", "d0", "child") == "ENOENT"


def test_the_playground_widget_builds_and_every_button_runs():
    pytest.importorskip("ipywidgets")
    import matplotlib

    matplotlib.use("Agg")
    from epollkit.view.widgets import playground_widget

    box = playground_widget()
    buttons = [b for row in box.children[1:3] for b in row.children]
    for b in buttons:
        b.click()
    assert len(buttons) == 10


def test_every_model_replay_ends_in_the_files_expected_outcome():
    from epollkit.view.descriptors import model_steps

    for name in FILES:
        steps = model_steps(name)
        assert steps[-1]["outcome"] in sim.load(name).expect, name
        assert all("processes" in s["tables"] for s in steps)


@linux_only
def test_the_playground_check_replays_its_calls_on_real_descriptors_and_closes_them(no_leaks):
    from epollkit.view.descriptors import playground_script

    pg = playground_script(["dup s0", "close s0", "write", "wait", "open", "add n0", "write n0", "wait",
                            "del s0", "del d0", "fork", "close s0", "wait"])
    rows = pg.check_on_kernel()
    assert len(rows) == 10  # up to the fork
    assert all(model == kernel for _call, model, kernel in rows), rows
    assert rows[7][2] == [["s0", ["EPOLLIN"]], ["s0", ["EPOLLIN"]]]
