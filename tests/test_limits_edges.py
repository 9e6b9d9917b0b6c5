"""Limits checked before anything starts, deadlines that are deadlines, teardown that is fast and
honest (findings F3, F13-F16, F23, F24 of the December 2026 reliability campaign)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from epollkit.errors import ResourceLimit

from .conftest import linux_only

ROOT = Path(__file__).resolve().parents[1]


def under_limits(argv: list[str], *, nofile=None, address_space=None, timeout: float = 120):
    """Run the CLI in a child whose limits were lowered first (``prlimit`` without the tool)."""
    setup = ["import resource, sys"]
    if nofile is not None:
        setup.append(f"resource.setrlimit(resource.RLIMIT_NOFILE, {nofile!r})")
    if address_space is not None:
        setup.append(f"resource.setrlimit(resource.RLIMIT_AS, ({address_space}, {address_space}))")
    setup.append(f"from epollkit.cli import main; sys.exit(main({argv!r}))")
    return subprocess.run([sys.executable, "-c", "; ".join(setup)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})


def hard_nofile() -> int:
    import resource

    return resource.getrlimit(resource.RLIMIT_NOFILE)[1]


@linux_only
def test_a_low_soft_fd_limit_is_raised_to_the_hard_one_as_herd_and_multiplex_do():  # F14
    if hard_nofile() < 400:
        pytest.skip("the hard RLIMIT_NOFILE is too low here")
    p = under_limits(["accept", "--strategy", "epoll-exclusive", "--workers", "64", "--connections", "64",
                      "--burst", "--json"], nofile=(64, hard_nofile()))
    assert p.returncode == 0, p.stderr
    p = under_limits(["scenario", "lt-one-write-two-threads", "--backend", "real", "--json"],
                     nofile=(24, hard_nofile()))
    assert p.returncode == 0, p.stderr


@linux_only
def test_refusals_name_the_hard_limit_early():  # F14
    t0 = time.monotonic()
    p = under_limits(["accept", "--strategy", "epoll-exclusive", "--workers", "64"], nofile=(64, 64))
    assert p.returncode == 1 and "hard RLIMIT_NOFILE is 64" in p.stderr and p.stderr.count("\n") == 1
    assert time.monotonic() - t0 < 10


@linux_only
def test_multiplex_table_survives_a_hard_limit_too_low_for_the_fd_setsize_wall():  # F13
    p = under_limits(["multiplex", "--fds", "10", "--calls", "5"], nofile=(1024, 1024))
    assert p.returncode == 0, p.stderr
    assert "median" in p.stdout
    assert "FD_SETSIZE wall not shown" in p.stderr and p.stderr.count("\n") == 1


@linux_only
def test_512_workers_fit_in_2_gib_of_address_space():  # F16
    p = under_limits(["accept", "--strategy", "epoll-exclusive", "--workers", "512", "--connections", "600",
                      "--burst", "--json"], address_space=2 << 30)
    assert p.returncode == 0, p.stderr


@linux_only
def test_too_little_address_space_for_the_stacks_is_refused_before_starting(no_leaks, monkeypatch):  # F16
    from epollkit.lab import accept
    from epollkit.lab.harness import limits

    monkeypatch.setattr(limits, "_address_space_left", lambda: (32 << 20, 1 << 30))
    with pytest.raises(ResourceLimit, match="RLIMIT_AS leaves 32 MiB"):
        accept("epoll-lt", 64, 10, burst=True)


@linux_only
@pytest.mark.parametrize("call", [
    lambda lab: lab.accept("epoll-lt", 8, 10, burst=True),
    lambda lab: lab.read("lt", 8, 100),
    lambda lab: lab.run_scenario("lt-one-write-two-threads"),
    lambda lab: lab.serve("shared", 8, 0.5, requests=10),
])
def test_thread_limits_are_checked_before_anything_starts(no_leaks, monkeypatch, call):  # F15
    from epollkit import lab
    from epollkit.cli import _started
    from epollkit.lab.harness import limits

    monkeypatch.setattr(limits, "thread_room", lambda: (1, "RLIMIT_NPROC leaves 1"))
    before = _started[0]
    with pytest.raises(ResourceLimit, match="only 1 more are allowed here: RLIMIT_NPROC"):
        call(lab)
    assert _started[0] == before  # no socket, no process (the CLI's audit hook counts them)


@linux_only
def test_rlimit_nproc_counts_this_users_tasks_not_the_machines():  # F15
    from epollkit.lab.harness import limits

    mine = limits._user_tasks(os.getuid())
    machine = limits._tasks_now()
    assert mine is not None and 1 <= mine <= machine
    import threading

    assert mine >= threading.active_count()


@linux_only
def test_select_with_fds_above_1024_already_open_is_refused_naming_the_fd(no_leaks):  # F23
    import resource

    from epollkit.lab import accept

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 1300:
        pytest.skip("needs a hard RLIMIT_NOFILE of 1300")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1300), hard))
    held = []
    try:
        while len(os.listdir("/proc/self/fd")) < 1100:
            held.append(os.open(os.devnull, os.O_RDONLY))
        with pytest.raises(ResourceLimit, match="select\\(\\) cannot watch fd 1"):
            accept("select", 2, 5, burst=True)
        r = accept("poll", 2, 5, burst=True)  # poll() has no such wall
        assert r.accepted == 5
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@linux_only
def test_the_accept_deadline_is_enforced(no_leaks):  # F24
    from epollkit.lab import accept

    r = accept("epoll-exclusive", 2, 20, burst=True, deadline=1e-9)
    assert r.lost > 0, "accepts after the deadline were counted"


@linux_only
def test_teardown_of_thousands_of_waiters_is_fast_and_no_false_leak(no_leaks):  # F3
    from epollkit.lab import herd_latency

    t0 = time.monotonic()
    r = herd_latency("epoll-exclusive", [2048], 1, deadline=30)
    took = time.monotonic() - t0
    assert r.points[0]["waiters"] == 2048
    assert took < 30, f"{took:.1f} s"


@linux_only
def test_join_waits_for_every_worker_in_one_wait_and_scales_with_their_number():  # F3
    import threading

    from epollkit.lab.harness import JOIN_TIMEOUT_S, WorkerGroup
    from epollkit.lab.harness.core import JOIN_PER_THREAD_S

    release = threading.Event()
    g = WorkerGroup(200, lambda i, grp: release.wait(), name="join-test")
    g.start()
    threading.Timer(0.3, release.set).start()
    t0 = time.monotonic()
    g.join()  # no LeakError: they all stop within the scaled allowance
    assert time.monotonic() - t0 < JOIN_TIMEOUT_S + 200 * JOIN_PER_THREAD_S
    assert not any(t.is_alive() for t in g._threads)


@linux_only
def test_starting_thousands_of_threads_stops_at_the_deadline(no_leaks):  # F3
    import threading

    from epollkit.errors import ExperimentTimeout
    from epollkit.lab.harness import WorkerGroup

    release = threading.Event()
    g = WorkerGroup(500, lambda i, grp: release.wait(), name="start-deadline")
    with pytest.raises(ExperimentTimeout, match="after starting 0 of 500 threads"):
        g.start(deadline=time.monotonic() - 1)
    release.set()
    g.join()
