"""Bad input at the edges: every refusal is ONE short line naming the value (and the file and field, for
scenario files), given before anything starts; run-time failures are exit 1, never "bad argument".
One test per finding of the December 2026 reliability campaign (F numbers in the docstrings)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from epollkit import sim
from epollkit.cli import main as cli

from .conftest import linux_only

ROOT = Path(__file__).resolve().parents[1]
BASE = json.loads((ROOT / "data/scenarios/lt-one-write-two-threads.json").read_text())


def doc(**changes) -> dict:
    d = json.loads(json.dumps(BASE))
    d.update(changes)
    return d


def write(tmp_path, name: str, content) -> str:
    p = tmp_path / name
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(p)


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = cli(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str, limit: int = 400) -> str:
    assert err.endswith("\n") and err.count("\n") == 1, f"not one line: {err[:300]!r}"
    assert len(err) <= limit + 40, f"{len(err)} characters"
    assert "Traceback" not in err
    return err


def cli_process(*argv, timeout: float = 30, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.update(kw.pop("env", {}))
    return subprocess.run([sys.executable, "-m", "epollkit", *argv], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT, **kw)


# ---------------------------------------------------------------------- scenario files (F4-F9, F26, F27)


def test_a_fifo_is_refused_at_once_instead_of_blocking_forever(tmp_path):  # F8
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    t0 = time.monotonic()
    with pytest.raises(ValueError, match=r"fifo\.json: is a FIFO"):
        sim.load(str(fifo))
    assert time.monotonic() - t0 < 1


def test_dev_zero_is_refused_without_reading_it():  # F8
    with pytest.raises(ValueError, match="is a device"):
        sim.load("/dev/zero")


def test_a_file_larger_than_the_cap_is_refused_before_parsing(tmp_path):  # F8, F6
    big = write(tmp_path, "big.json", "[" + "1," * 200_000 + "1]")
    with pytest.raises(ValueError, match="too large for a scenario file"):
        sim.load(big)


@pytest.mark.parametrize("name", ["", ".", "/", "x" * 5000, "a/" * 3000, "nul\x00here"])
def test_directories_empty_and_impossible_names_are_bad_arguments(capsys, name):  # F7
    code, _out, err = run_cli(capsys, "scenario", name)
    assert code == 2
    one_line_error(err)


def test_an_unreadable_proc_file_is_a_bad_argument_naming_it(capsys):  # F7
    code, _out, err = run_cli(capsys, "scenario", "/proc/self/mem")
    assert code == 2 and "mem: cannot read the scenario file" in one_line_error(err)


def test_a_name_with_a_newline_is_reported_on_one_line(capsys):  # F9
    code, _out, err = run_cli(capsys, "scenario", "lt-accept-two-threads\n")
    assert code == 2
    assert "\\n" in one_line_error(err) and ".json.json" not in err


def test_a_missing_json_path_does_not_double_the_extension():  # F9
    with pytest.raises(ValueError) as e:
        sim.load("nowhere.json")
    assert ".json.json" not in str(e.value)


WRONG_TYPES = [
    ({"watch": 5}, "watch: must be a list"),
    ({"watch": True}, "watch: must be a list"),
    ({"kernel": 5}, "kernel: must be a list"),
    ({"kernel": {"write": "s0"}}, "kernel: must be a list"),
    ({"expect": [{"A": 5, "B": 6}]}, "expect[0].A: must be a list"),
    ({"expect": [{"A": "abc", "B": "x"}]}, "expect[0].A: must be a list"),  # F27: not ['a', 'b', 'c']
    ({"watch": [{"epoll": "e0", "fd": ["s0"], "events": ["EPOLLIN"]}]}, "watch[0].fd: unknown object"),
    ({"watch": [{"epoll": "e0", "fd": {"x": 1}, "events": ["EPOLLIN"]}]}, "watch[0].fd: unknown object"),
    ({"kernel": [{"connect": ["l0"]}]}, "kernel[0].connect: unknown object"),
    ({"kernel": [{"write": {"s": 0}}]}, "kernel[0].write: unknown object"),
    ({"threads": {"A": [{"call": ["read"]}]}}, "threads.A[0].call: unknown call"),
    ({"order": ["free"]}, "order: unknown order"),
    ({"description": 5}, "description: must be a string"),
    ({"post": "step"}, "post: must be a list"),
]


@pytest.mark.parametrize(("change", "says"), WRONG_TYPES)
def test_structurally_wrong_types_are_one_line_naming_file_and_field(tmp_path, capsys, change, says):  # F4
    path = write(tmp_path, "wrong.json", doc(**change))
    with pytest.raises(ValueError) as e:
        sim.load(path)
    assert f"wrong.json: {says}" in str(e.value)
    code, _out, err = run_cli(capsys, "scenario", path)
    assert code == 2 and "wrong.json" in one_line_error(err)


@pytest.mark.parametrize("depth", [50, 2000, 100_000])
def test_excessive_nesting_is_refused_naming_the_file(tmp_path, depth):  # F5
    path = write(tmp_path, "deep.json", "[" * depth + "]" * depth)
    with pytest.raises(ValueError, match=r"deep\.json: nested more than"):
        sim.load(path)
    with pytest.raises(ValueError, match="nested more than"):
        sim.load({"name": "x", "objects": {"e0": "epoll"}, "threads": {}, "description": "",
                  "kernel": [[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]})


def test_huge_bad_values_are_echoed_truncated(tmp_path, capsys):  # F6
    for change in ({"objects": {"e0": "x" * 10_000_000}}, {"objects": {"x" * 1_000_000: "epoll"}},
                   {"kernel": [{"write": "s0", "bytes": "9" * 4000}]}):
        path = write(tmp_path, "huge.json", doc(**change))
        code, _out, err = run_cli(capsys, "scenario", path)
        assert code == 2
        one_line_error(err, limit=300)
    with pytest.raises(ValueError) as e:
        sim.load(doc(objects={"e0": "y" * 5000}))
    assert len(str(e.value)) < 300


@pytest.mark.parametrize(("content", "says"), [
    (b"\xff\xfe{\x00}\x00", "not UTF-8 text"),
    ('{"name": "caf\u00e9"}'.encode("latin-1"), "not UTF-8 text"),
    (b"\x00\x01\x02binary", "not UTF-8 text|not valid JSON"),
    (b'{"name": "a", "name": "b"}', "duplicate key 'name'"),
    (b'{"name": NaN}', "NaN is not a number"),
    (b'{"name": 1' + b"0" * 5000 + b"}", "an integer of 5001 digits"),
])
def test_encodings_duplicates_and_odd_numbers_are_refused_naming_the_file(tmp_path, content, says):  # F27
    path = write(tmp_path, "odd.json", content)
    with pytest.raises(ValueError, match=rf"odd\.json: ({says})"):
        sim.load(path)


def test_control_characters_in_names_are_refused_not_printed_raw(tmp_path, capsys):  # F27
    path = write(tmp_path, "ctl.json", doc(name="evil\x00\u202e\nname"))
    code, _out, err = run_cli(capsys, "scenario", path)
    assert code == 2 and "control character" in one_line_error(err)
    assert "\u202e" not in err and "\x00" not in err


@pytest.mark.parametrize(("change", "says"), [
    ({"threads": {f"T{i}": [{"call": "read", "fd": "s0", "bytes": 1}] for i in range(1000)}},
     "1000 threads is too many"),
    ({"threads": {"A": [{"call": "read", "fd": "s0", "bytes": 1}] * 1000}}, "1000 calls is too many"),
    ({"kernel": [{"write": "s0", "bytes": 1}] * 200}, "200 kernel events is too many"),
])
def test_threads_calls_and_events_are_capped(change, says):  # F26
    with pytest.raises(ValueError, match=says):
        sim.load(doc(**change))


def test_connects_beyond_the_backlog_are_refused_by_the_loader():  # F25
    d = doc(objects={"e0": "epoll", "l0": "listener"},
            watch=[{"epoll": "e0", "fd": "l0", "events": ["EPOLLIN"]}],
            threads={"A": [{"call": "epoll_wait", "epoll": "e0", "maxevents": 1, "timeout": 0}]},
            kernel=[{"connect": "l0"}] * 40, order="kernel-first")
    d.pop("expect", None)
    with pytest.raises(ValueError, match="more than 32 connects to l0"):
        sim.load(d)


@linux_only
def test_a_write_nobody_reads_times_out_instead_of_hanging(no_leaks):  # F25
    from epollkit.errors import ExperimentTimeout
    from epollkit.lab.experiments.scenario import BLOCK_TIMEOUT_S, run_scenario

    d = doc(threads={"A": [{"call": "epoll_wait", "epoll": "e0", "maxevents": 1, "timeout": 0}]},
            kernel=[{"write": "s0", "bytes": 32768}] * 60, order="kernel-first")
    d.pop("expect", None)
    t0 = time.monotonic()
    with pytest.raises(ExperimentTimeout, match="did not complete"):
        run_scenario(d)
    assert time.monotonic() - t0 < BLOCK_TIMEOUT_S + 3


# ---------------------------------------------------------------------- F2: the kernel's result is kept


@linux_only
def test_real_backend_reports_the_kernel_result_when_the_model_is_too_large(tmp_path, capsys):  # F2
    from epollkit import conformance as cmd

    # ten threads with ten different programs (each reads its own number of bytes), so the explorer's
    # symmetry reduction cannot fold them: the model's search is as large as it looks
    d = {"name": "ten blockers, one write", "objects": {"e0": "epoll", "s0": "stream"},
         "watch": [{"epoll": "e0", "fd": "s0", "events": ["EPOLLIN"]}],
         "threads": {f"T{i}": [{"call": "epoll_wait", "epoll": "e0", "maxevents": 1, "timeout": -1},
                               {"call": "read", "fd": "s0", "bytes": i + 1}] for i in range(10)},
         "kernel": [{"write": "s0", "bytes": 1}]}
    path = write(tmp_path, "blockers.json", d)
    old = cmd.JUDGE_BUDGET
    cmd.JUDGE_BUDGET = 2000  # the same bound, reached sooner: the test stays fast
    try:
        t0 = time.monotonic()
        code, out, err = run_cli(capsys, "scenario", path, "--backend", "real", "--json")
    finally:
        cmd.JUDGE_BUDGET = old
    assert code == 0, err
    got = json.loads(out)
    assert got["outcomes"] and sum(o["count"] for o in got["outcomes"]) == 1
    assert "the model was not compared" in got["model"]["skipped"]
    assert time.monotonic() - t0 < 20


# ---------------------------------------------------------------------- F17: the explorer is bounded


def test_the_explorer_stops_on_its_memory_budget_in_seconds():  # F17
    setup = sim.accept_setup("epoll-lt", 8, 64)  # the documented maxima of `sim accept --explore`
    t0 = time.monotonic()
    with pytest.raises(sim.StateBudgetExceeded, match="memory budget of 16 MiB") as e:
        sim.explore(setup, max_memory=16 << 20)
    assert time.monotonic() - t0 < 10
    assert "\n" not in str(e.value)


def test_the_default_memory_budget_fits_a_small_binder_pod():  # F17
    from epollkit.sim.explore import DEFAULT_MEMORY

    assert DEFAULT_MEMORY <= 512 << 20


@pytest.mark.slow
def test_the_documented_maxima_of_sim_explore_fail_in_seconds_with_one_line():  # F17
    from concurrent.futures import ThreadPoolExecutor

    def timed(argv):
        t0 = time.monotonic()
        return cli_process(*argv, "--explore", timeout=60), time.monotonic() - t0

    commands = (["sim", "accept", "--strategy", "epoll-lt", "--workers", "8", "--connections", "64"],
                ["sim", "read", "--strategy", "lt", "--readers", "8", "--messages", "64"])
    with ThreadPoolExecutor(len(commands)) as pool:  # one process per core: each alone takes ~10 s
        for p, seconds in pool.map(timed, commands):
            assert p.returncode == 1 and "memory budget" in one_line_error(p.stderr)
            assert seconds < 30


# ---------------------------------------------------------------------- the command line


def test_multiplex_calls_zero_is_refused_not_the_default(capsys):  # F10
    for v in ("0", "-0"):
        code, _out, err = run_cli(capsys, "multiplex", "--fds", "1", "--calls", v)
        assert code == 2 and "calls must be an integer from 5 to 100000" in one_line_error(err)


@pytest.mark.parametrize("only", ["", ",,", " , "])
def test_record_only_naming_nothing_is_refused(capsys, only):  # F11
    code, _out, err = run_cli(capsys, "record", "--only", only)
    assert code == 2 and "names no recording" in one_line_error(err)


@pytest.mark.parametrize("out", ["/dev/null/x", "/proc/version/y", ""])
def test_record_out_is_checked_before_any_experiment(capsys, out):  # F12
    t0 = time.monotonic()
    code, _out, err = run_cli(capsys, "record", "--only", "read", "--out", out)
    assert code == 2 and "--out" in one_line_error(err)
    assert time.monotonic() - t0 < 1


@linux_only
def test_an_output_encoding_error_after_the_run_is_a_runtime_failure():  # F18
    p = cli_process("multiplex", "--fds", "1", "--calls", "5", "--apis", "select",
                    env={"PYTHONIOENCODING": "ascii"})
    assert p.returncode == 1, p.stderr
    assert "cannot print the result" in one_line_error(p.stderr)


def test_a_value_error_after_something_started_is_exit_1(capsys, monkeypatch):  # F18
    import socket

    from epollkit.cli import info

    def boom(_args):
        socket.socket().close()  # something was created ...
        raise ValueError("late")  # ... so this is no bad argument

    monkeypatch.setattr(info, "run", boom)
    code, _out, err = run_cli(capsys, "info")
    assert code == 1 and "late" in one_line_error(err)


def test_a_closed_stdout_is_one_line():  # F28
    p = subprocess.run(f"{sys.executable} -m epollkit info >&-", shell=True, capture_output=True,
                       text=True, timeout=30, env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    assert p.returncode == 1 and "standard output is closed" in one_line_error(p.stderr)


@pytest.mark.parametrize("value", ["1.5", "٣", "1_0", "４", "0x10", "1e3", " ", "nan"])
def test_argparse_type_errors_name_the_value_and_the_range(capsys, value):  # F-CLI contract
    code, _out, err = run_cli(capsys, "accept", "--strategy", "epoll-lt", "--workers", value)
    assert code == 2
    assert "1-512" in one_line_error(err)


@pytest.mark.parametrize("value", ["nan", "inf", "1_0", "0x10", "--"])
def test_float_options_accept_only_plain_decimal_numbers(capsys, value):
    code, _out, err = run_cli(capsys, "accept", "--strategy", "epoll-lt", f"--deadline={value}")
    assert code == 2
    one_line_error(err)


def test_a_rate_that_cannot_be_scheduled_is_refused_naming_rate(capsys):  # F24
    code, _out, err = run_cli(capsys, "accept", "--strategy", "epoll-lt", "--rate", "1e-300")
    assert code == 2 and "rate must be a number >= 0.001" in one_line_error(err)


def test_a_10mb_argument_is_echoed_truncated(capsys):  # truncation of echoed values
    code, _out, err = run_cli(capsys, "accept", "--strategy", "x" * 1_000_000)
    assert code == 2
    one_line_error(err, limit=600)


# ---------------------------------------------------------------------- the Python API (F20-F22)


@pytest.mark.parametrize(("kw", "says"), [
    ({"work": 5}, "work must be a function"),
    ({"work": "x"}, "work must be a function"),
    ({"work": []}, "work must be a function"),
    ({"burst": "no"}, "burst must be True or False"),
    ({"burst": 1}, "burst must be True or False"),
    ({"rate": None}, "rate must be a number"),
    ({"rate": "fast"}, "rate must be a number"),
])
def test_accept_parameters_are_checked_before_anything_is_created(no_leaks, kw, says):  # F20
    from epollkit.lab import accept

    with pytest.raises(ValueError, match=says):
        accept("epoll-lt", 2, 5, **kw)


@pytest.mark.parametrize(("call", "says"), [
    (lambda f, r: f.oneshot_price(["epoll-lt", "bogus"]), "unknown accept strategy 'bogus'"),
    (lambda f, r: f.oneshot_price("epoll-lt"), "strategies must be a non-empty list"),
    (lambda f, r: f.rate_sweep("epoll-lt", [0]), "rate must be a number >= 0.001"),
    (lambda f, r: f.rate_sweep("epoll-lt", [200.0, -1]), "rate must be a number"),
    (lambda f, r: f.rotate_sweep([16, 0]), "rotate_every must be an integer"),
    (lambda f, r: f.work_sweep("epoll-lt", [0.0, "x"]), r"work_ms\[1\] must be a number"),
    (lambda f, r: r.race_sweep(["lt", "bogus"]), "unknown read strategy 'bogus'"),
    (lambda f, r: r.race_sweep(["lt"], readers=[2, 0]), r"readers\[1\] must be an integer"),
    (lambda f, r: r.race_sweep(["lt"], think_us=[0, -5]), r"think_us\[1\] must be a number"),
    (lambda f, r: r.race_sweep("lt"), "strategies_ must be a non-empty list"),
])
def test_sweeps_check_every_element_before_the_first_run(no_leaks, monkeypatch, call, says):  # F21
    from epollkit.lab.experiments import accept as accept_lab
    from epollkit.lab.experiments import read_runs as read_lab
    from epollkit.lab.experiments import sweeps as fixes_lab

    ran = []
    monkeypatch.setattr(fixes_lab, "accept", lambda *a, **k: ran.append(a))
    monkeypatch.setattr(read_lab, "read", lambda *a, **k: ran.append(a))
    assert accept_lab  # the real validation is used, only the runs are replaced
    with pytest.raises(ValueError, match=says):
        call(fixes_lab, read_lab)
    assert ran == [], "an experiment ran before the bad element was found"


@pytest.mark.parametrize(("call", "says"), [
    (lambda s: sim.run(s, None, 0), "max_steps must be an integer from 1"),
    (lambda s: sim.run(s, None, -1), "max_steps must be an integer"),
    (lambda s: sim.run(s, None, "x"), "max_steps must be an integer"),
    (lambda s: sim.replay(s, [5]), "a move is a name"),
    (lambda s: sim.replay(s, "AB"), "schedule must be a list of moves"),
    (lambda s: sim.replay(s, None), "schedule must be a list of moves"),
    (lambda s: sim.explore(s, True), "budget must be an integer"),
    (lambda s: sim.explore(s, 0), "budget must be an integer"),
    (lambda s: sim.explore(s, max_memory=-1), "max_memory must be an integer"),
    (lambda s: sim.explore("setup"), "setup must be a sim Setup"),
    (lambda s: sim.run(None), "setup must be a sim Setup"),
    (lambda s: sim.start(42), "setup must be a sim Setup"),
    (lambda s: sim.run(s, policy=["paced"]), "policy must be one of"),
])
def test_model_calls_refuse_bad_arguments_with_value_error(call, says):  # F22
    setup = sim.setup(sim.load("lt-one-write-two-threads"))
    with pytest.raises(ValueError, match=says):
        call(setup)


def test_a_dict_and_its_json_text_meet_the_same_depth_limit(tmp_path):  # found by test_contract_fuzz
    from epollkit.scenarios.reading import MAX_DEPTH

    nested: object = "ok"
    for _ in range(MAX_DEPTH - 1):
        nested = [nested]
    d = {"name": "x", "objects": {"e0": "epoll"}, "threads": {"A": [{"call": "epoll_wait", "epoll": "e0"}]},
         "post": nested}
    text = json.dumps(d)
    outcomes = []
    for source in (d, text, write(tmp_path, "d.json", text)):
        try:
            sim.load(source)
            outcomes.append("loaded")
        except ValueError as exc:
            outcomes.append("deep" if "nested" in str(exc) else "other")
    assert len(set(outcomes)) == 1, outcomes
