"""Ctrl-C at any moment leaves nothing behind: every live experiment is interrupted by a signal timer
(SIGALRM raising KeyboardInterrupt, as a notebook's stop button or a terminal's Ctrl-C does) at moments
spread evenly over its own measured duration -- including during set-up and teardown -- and the
process must then have the same fds, threads and child processes (zombies included) as before.

``EPOLLKIT_INTERRUPT_MOMENTS`` moments per experiment (default 6, a few seconds each in ``make test``;
``make interrupts`` runs 40). A moment whose alarm fires after the experiment returned counts as a
clean run. The leak counts per experiment are printed (``pytest -s``) and must all be 0.
"""

from __future__ import annotations

import gc
import os
import signal
import threading
import time

import pytest

from .conftest import linux_only, snapshot

MOMENTS = int(os.environ.get("EPOLLKIT_INTERRUPT_MOMENTS", "6"))


def _experiments() -> dict:
    from epollkit import lab

    return {
        "accept epoll-lt": lambda: lab.accept("epoll-lt", 2, 30, rate=600, deadline=10),
        "accept epoll-exclusive burst": lambda: lab.accept("epoll-exclusive", 2, 30, burst=True, deadline=10),
        "accept blocking": lambda: lab.accept("blocking", 2, 20, rate=600, deadline=10),
        "accept reuseport": lambda: lab.accept("reuseport", 2, 20, rate=600, deadline=10),
        "read process sender": lambda: lab.read("lt", 2, 3000, deadline=10),
        "read thread sender": lambda: lab.read("oneshot", 2, 3000, sender="thread", deadline=10),
        "herd select": lambda: lab.herd_latency("select", [0, 4], 3, deadline=10, gap=0.005),
        "herd epoll-exclusive": lambda: lab.herd_latency("epoll-exclusive", [0, 4], 3, deadline=10,
                                                         gap=0.005),
        "reuseport_close": lambda: lab.reuseport_close(2, 50, deadline=10),
        "run_scenario": lambda: lab.run_scenario("lt-one-write-two-threads"),
        "run_scenario fork": lambda: lab.run_scenario("fork-child-deletes-registration"),
        "uring_accept processes": lambda: lab.uring_accept("multishot", 2, 20, rate=600, process=True,
                                                           deadline=10),
        "multiplex": lambda: lab.multiplex([1, 100, 500], ["select", "poll", "epoll"], calls=51, deadline=10),
        "accept_latency": lambda: lab.accept_latency("blocking", 2, 0.5, service_ms=1.0, connections=40),
        "serve": lambda: lab.serve("shared", 2, 0.5, requests=100, service_ms=1.0, connections=4),
    }


NAMES = list(_experiments()) if os.name == "posix" else []


class _Interrupt:
    """SIGALRM after ``delay`` s raises KeyboardInterrupt in the main thread (where Python runs
    signal handlers), wherever it is: in a syscall, in a ``finally``, in ``Popen``."""

    def __init__(self, delay: float):
        self.delay = delay
        self.fired = False

    def _handler(self, _sig, _frame):
        self.fired = True
        raise KeyboardInterrupt

    def __enter__(self):
        self.old = signal.signal(signal.SIGALRM, self._handler)
        signal.setitimer(signal.ITIMER_REAL, self.delay)
        return self

    def __exit__(self, *exc):
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.old)
        return False


def _left_behind(before, settle: float = 3.0) -> list[str]:
    """What is still there ``settle`` s after the interrupt (after gc), compared to ``before``."""
    deadline = time.monotonic() + settle
    while True:
        gc.collect()
        now = snapshot()
        if now == before or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    out = []
    if now.fds - before.fds:
        fds = sorted(now.fds - before.fds)
        kinds = []
        for fd in fds:
            try:
                kinds.append(os.readlink(f"/proc/self/fd/{fd}"))
            except OSError:
                kinds.append("?")
        out.append(f"fds {fds} ({', '.join(kinds)})")
    if now.threads - before.threads:
        new = now.threads - before.threads
        out.append(f"threads {[t.name for t in threading.enumerate() if t.ident in new]}")
    if now.children - before.children:
        kids = []
        for pid in sorted(now.children - before.children):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    stat = f.read()
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace")[-60:]
                kids.append(f"{pid} {stat[stat.rindex(')') + 2]} {cmd}")
            except OSError:
                kids.append(str(pid))
        out.append(f"children {kids}")
    return out


RESULTS: dict = {}


@linux_only
@pytest.mark.parametrize("name", NAMES)
def test_ctrl_c_at_any_moment_of_an_experiment_leaves_nothing(name):
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    if name.startswith("uring"):
        from epollkit.lab.harness.uring_ring import unavailable_reason

        if unavailable_reason() is not None:
            pytest.skip(f"io_uring unavailable: {unavailable_reason()}")
    run = _experiments()[name]
    before = snapshot()
    t0 = time.monotonic()
    run()  # once uninterrupted: its duration spaces the moments
    duration = time.monotonic() - t0
    assert not _left_behind(before), "the uninterrupted run left something behind"
    leaks, interrupted = [], 0
    for i in range(MOMENTS):
        at = max(1e-4, 1.2 * duration * (i + 0.5) / MOMENTS)  # 1.2: runs vary; teardown is covered
        before = snapshot()
        try:
            with _Interrupt(at) as alarm:
                try:
                    run()
                except KeyboardInterrupt:
                    raise
                except Exception:  # noqa: BLE001 - an interrupted run may fail otherwise; leaks matter
                    pass
        except KeyboardInterrupt:
            pass
        interrupted += alarm.fired
        left = _left_behind(before)
        if left:
            leaks.append(f"at {at:.3f} s: {'; '.join(left)}")
    RESULTS[name] = (MOMENTS, interrupted, len(leaks))
    print(f"\n{name}: {MOMENTS} moments over {duration:.2f} s, {interrupted} interrupted, "
          f"{len(leaks)} left something behind")
    assert not leaks, f"{name}: {len(leaks)} of {MOMENTS} interrupts left something behind: {leaks[:3]}"


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs signal.setitimer")
def test_a_signal_inside_a_deferred_window_is_delivered_when_it_closes():
    from epollkit.lab.harness import deferred_signals

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    steps = []
    old = signal.getsignal(signal.SIGALRM)
    with pytest.raises(KeyboardInterrupt), _Interrupt(0.01):
        with deferred_signals():
            time.sleep(0.1)  # the alarm fires in here ...
            steps.append("finished the window")  # ... and waits until the window is done
    assert steps == ["finished the window"]
    assert signal.getsignal(signal.SIGALRM) is old
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


class _SignalAfterAcquire:
    """Stands in for a Popen's ``_waitpid_lock``: the first ``acquire()`` that succeeds then runs the
    current SIGINT handler, as a Ctrl-C arriving just then would at the eval-breaker check after the
    call -- one bytecode before ``poll()``/``wait()`` enter the ``try:`` that releases the lock."""

    def __init__(self, lock):
        self.lock, self.fired = lock, False

    def acquire(self, *args, **kw):
        got = self.lock.acquire(*args, **kw)
        if got and not self.fired:
            self.fired = True
            signal.getsignal(signal.SIGINT)(signal.SIGINT, None)
        return got

    def release(self):
        self.lock.release()

    def locked(self):
        return self.lock.locked()

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()


@linux_only
def test_ctrl_c_just_after_popen_takes_its_waitpid_lock_still_reaps_the_client():
    """Found by the sweep in CI (a zombie left by `accept blocking`): a KeyboardInterrupt between
    ``_waitpid_lock.acquire()`` and its ``try:`` inside ``Popen.wait()`` kept the lock for good."""
    import socket

    from epollkit.lab.harness import ClientProcess

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    before = snapshot()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = ClientProcess("epollkit.lab.children.connect",
                               ["connect", "127.0.0.1", listener.getsockname()[1], 1, 0])
        try:
            client.wait_ready()
            lock = client.proc._waitpid_lock = _SignalAfterAcquire(client.proc._waitpid_lock)
            client.go()
            with pytest.raises(KeyboardInterrupt):
                client.result(timeout=5.0)  # the JSON line, then the wait for the child's exit
            assert lock.fired
        finally:
            client.close()  # a held lock: LeakError("did not exit") after 5 s, and a zombie
    assert not lock.locked()
    assert client.proc.returncode is not None
    assert not _left_behind(before, settle=1.0)


class _SignalAfterPop(list):
    """Stands in for an ExitStack's callback list: the first ``pop()`` runs the current SIGINT
    handler, as a Ctrl-C arriving just then would at the check after the call, two lines before
    ``ExitStack.__exit__`` enters the ``try:`` around the callback it popped."""

    fired = False

    def pop(self, *args):
        item = super().pop(*args)
        if not self.fired:
            self.fired = True
            signal.getsignal(signal.SIGINT)(signal.SIGINT, None)
        return item


@pytest.mark.parametrize("unwinding", ["ExitStack", "Teardown"])
def test_ctrl_c_in_the_middle_of_unwinding_still_closes_everything(unwinding):
    """ExitStack drops the popped callback and every one before it; the harness's Teardown does not."""
    import contextlib

    from epollkit.lab.harness import Teardown

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    closed = []
    stack_type = Teardown if unwinding == "Teardown" else contextlib.ExitStack
    with pytest.raises(KeyboardInterrupt):
        with stack_type() as stack:
            for name in ("pipe", "socket", "thread", "child"):
                stack.callback(closed.append, name)
            stack._exit_callbacks = _SignalAfterPop(stack._exit_callbacks)
    if unwinding == "ExitStack":
        assert closed == []  # the reason Teardown exists: all four left behind
    else:
        assert closed == ["child", "thread", "socket", "pipe"]
