"""The live accept experiment: validation, no leaks, and the wake-up physics with loose bounds."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from epollkit import strategies
from epollkit.lab import accept
from epollkit.lab.experiments.accept import SUPPORTED

from .conftest import assert_same_resources, linux_only, snapshot

CONTRACT_KEYS = {
    "experiment", "backend", "strategy", "workers", "connections", "kernel", "duration_s", "accepted",
    "lost", "returns", "eagain", "kernel_wakeups", "returns_per_connection", "eagain_per_connection",
    "kernel_wakeups_per_connection", "accept_order", "max_share", "per_worker",
}
WORKER_KEYS = {"worker", "accepts", "returns", "eagain", "kernel_wakeups"}


# ------------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        ({"strategy": "epoll-magic"}, "unknown accept strategy 'epoll-magic'; valid: blocking"),
        ({"workers": 0}, "workers must be an integer from 1 to 512, not 0"),
        ({"workers": 513}, "workers must be an integer from 1 to 512, not 513"),
        ({"workers": 2.5}, "workers must be an integer"),
        ({"connections": 0}, "connections must be an integer from 1 to 100000"),
        ({"connections": 100_001}, "connections must be an integer from 1 to 100000"),
        ({"rate": 0}, "rate must be a number > 0"),
        ({"rate": -5.0}, "rate must be a number > 0"),
        ({"rate": float("nan")}, "rate must be a number > 0"),
        ({"deadline": 0}, "deadline must be a number > 0"),
        ({"rotate_every": 0}, "rotate_every must be an integer from 1"),
    ],
)
def test_bad_parameter_raises_value_error_naming_it_before_anything_starts(kwargs, needle, monkeypatch):
    def no_sockets(*a, **k):
        raise AssertionError("a socket was created before validation finished")

    monkeypatch.setattr(socket, "socket", no_sockets)
    monkeypatch.setattr(threading.Thread, "start", no_sockets)
    args = {"strategy": "blocking", "workers": 2, "connections": 10, **kwargs}
    before = snapshot()
    with pytest.raises(ValueError) as info:
        accept(args.pop("strategy"), args.pop("workers"), args.pop("connections"), **args)
    assert needle in str(info.value)
    assert "\n" not in str(info.value)
    assert_same_resources(before)


def test_every_contract_strategy_is_supported_by_the_lab():
    assert set(strategies.CONTRACT_ACCEPT) <= set(SUPPORTED)


# -------------------------------------------------------------------------------------- no leaks


@linux_only
@pytest.mark.parametrize("strategy", ["blocking", "select", "epoll-lt", "epoll-exclusive", "reuseport"])
def test_a_normal_run_leaves_no_fd_thread_or_process_behind(strategy, no_leaks):
    r = accept(strategy, 3, 30, rate=2000)
    assert r.lost == 0


@linux_only
def test_a_worker_raising_mid_run_is_reraised_and_leaves_nothing_behind(no_leaks):
    def boom(worker, n):
        if n == 5:
            raise RuntimeError("worker failed on purpose")

    with pytest.raises(RuntimeError, match="worker failed on purpose"):
        accept("epoll-lt-private", 3, 50, rate=1000, work=boom)


@linux_only
def test_a_run_past_its_deadline_reports_lost_and_leaves_nothing_behind(no_leaks):
    def slow(worker, n):
        time.sleep(1.0)  # every worker busy: the queue cannot drain before the deadline

    t0 = time.monotonic()
    r = accept("blocking", 2, 40, rate=2000, deadline=0.5, work=slow)
    assert r.lost > 0
    assert r.accepted + r.lost == 40
    assert time.monotonic() - t0 < 5


@linux_only
@pytest.mark.parametrize("strategy", ["blocking", "epoll-et"])
def test_ctrl_c_mid_run_stops_everything(strategy, no_leaks):
    main = threading.main_thread().ident
    timer = threading.Timer(0.4, signal.pthread_kill, args=(main, signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            accept(strategy, 3, 300, rate=100)  # 3 s of connections: interrupted at 0.4 s
    finally:
        timer.join()


# --------------------------------------------------------------------------------------- physics


@linux_only
@pytest.mark.parametrize("strategy", strategies.CONTRACT_ACCEPT)
def test_no_connection_is_lost_and_the_record_has_every_contract_key(strategy):
    r = accept(strategy, 4, 120, rate=800)
    d = r.to_dict()
    assert r.lost == 0 and r.accepted == 120
    assert CONTRACT_KEYS <= set(d)
    assert all(set(w) == WORKER_KEYS for w in d["per_worker"])
    assert len(d["accept_order"]) == 120 and set(d["accept_order"]) <= {0, 1, 2, 3}
    assert d["backend"] == "real" and d["kernel"]
    json.dumps(d)


# ----------------------------------------------------------------------------------- import cost


def test_import_epollkit_loads_no_matplotlib_ipywidgets_or_pandas():
    code = ("import sys, epollkit, epollkit.lab, epollkit.records, epollkit.strategies;"
            "print([m for m in ('matplotlib', 'ipywidgets', 'pandas') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_to_frame_gives_one_row_per_worker():
    from epollkit.analysis.summarize import summarize_accept
    from epollkit.records import WorkerStats

    r = summarize_accept(backend="sim", strategy="blocking", connections=3,
                         per_worker=[WorkerStats(0, 2, 2, 0, 2), WorkerStats(1, 1, 1, 0, 1)],
                         accept_order=[0, 1, 0])
    frame = r.to_frame()
    assert list(frame["accepts"]) == [2, 1]
    assert r.max_share == pytest.approx(2 / 3, abs=1e-3)
    assert "kernel" not in r.to_dict()


# ----------------------------------------------------------------------------------------- CLI


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "epollkit", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=60)


@pytest.mark.parametrize(
    "args",
    [
        ("accept", "--strategy", "bogus"),
        ("accept", "--strategy", "blocking", "--workers", "0"),
        ("accept", "--strategy", "blocking", "--workers", "many"),
        ("accept", "--strategy", "blocking", "--rate", "-1"),
        ("accept", "--strategy", "blocking", "--rate", "10", "--burst"),
        ("no-such-command",),
    ],
)
def test_cli_bad_arguments_exit_2_with_one_line_and_no_traceback(args):
    p = cli(*args)
    assert p.returncode == 2
    assert p.stdout == ""
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "Traceback" not in p.stderr


@linux_only
def test_cli_json_prints_exactly_one_document():
    p = cli("accept", "--strategy", "epoll-exclusive", "--workers", "2", "--connections", "20", "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert CONTRACT_KEYS <= set(doc) and doc["lost"] == 0


@linux_only
def test_cli_without_epoll_exits_1_with_one_clear_line():
    p = cli("accept", "--strategy", "epoll-lt", "--workers", "2", "--connections", "5",
            env={"EPOLLKIT_NO_EPOLL": "1"})
    assert p.returncode == 1
    assert len(p.stderr.strip().splitlines()) == 1 and "no epoll here" in p.stderr


@linux_only
def test_cli_table_names_strategy_and_workers():
    p = cli("accept", "--strategy", "blocking", "--workers", "2", "--connections", "10")
    assert p.returncode == 0, p.stderr
    assert "strategy=blocking" in p.stdout and "worker" in p.stdout
