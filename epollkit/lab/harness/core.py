"""Plumbing shared by every live experiment: platform gates, thread states from /proc, a worker-thread
group that always stops, and a client that runs in a process of its own.

Teardown follows one order everywhere (docs/architecture.md, "The lab's shared skeleton"): set the stop flag
-> make a wake-up fd readable in every epoll set -> ``shutdown()`` the listener(s) (this is what wakes a
thread blocked in ``accept()``, with ``EINVAL``; ``close()`` alone does not: ``inet_shutdown()`` ->
``inet_csk_listen_stop()``) -> join with a timeout -> close fds in reverse -> raise :class:`LeakError` if
anything is still alive.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ...data import ROOT
from ...errors import ExperimentTimeout, HelperProcessError, LeakError, UnsupportedPlatform
from ...system import epoll_hidden
from .interrupts import deferred_signals, uninterruptible
from .stop import REPOKE_S, StopSignal

JOIN_TIMEOUT_S = 5.0
JOIN_PER_THREAD_S = 0.002  # more time to join per thread: 16384 waiters get 5 + 33 s


def require_linux(*, epoll: bool = True, flag: str | None = None) -> None:
    """Raise UnsupportedPlatform unless live experiments can run here."""
    if not sys.platform.startswith("linux"):
        raise UnsupportedPlatform(
            f"live experiments need Linux; this is {sys.platform}. The model (epollkit.sim) and the "
            "recorded results (epollkit.data) work everywhere."
        )
    if epoll and (epoll_hidden() or not hasattr(select, "epoll")):
        why = "EPOLLKIT_NO_EPOLL is set" if epoll_hidden() else "select.epoll is missing"
        raise UnsupportedPlatform(
            f"no epoll here ({why}); the notebooks show the recorded reference results instead"
        )
    if flag and not hasattr(select, flag):
        raise UnsupportedPlatform(f"select.{flag} is missing: this kernel or Python lacks it")


# ------------------------------------------------------------------------------ threads in /proc


def _task(tid: int, leaf: str) -> Path:
    return Path(f"/proc/self/task/{tid}/{leaf}")


def thread_state(tid: int) -> str:
    """The scheduler state letter of a thread of this process ('R', 'S', 'D', ...; '?' if gone)."""
    try:
        stat = _task(tid, "stat").read_text()
    except OSError:
        return "?"
    return stat[stat.rindex(")") + 2]


def thread_wchan(tid: int) -> str:
    """Where a sleeping thread sleeps in the kernel (e.g. ``ep_poll``, ``futex_wait``), or ''."""
    try:
        return _task(tid, "wchan").read_text().strip()
    except OSError:
        return ""


def voluntary_switches(tid: int) -> int:
    """The thread's voluntary context switches: the same counter as
    ``getrusage(RUSAGE_THREAD).ru_nvcsw`` read by the thread itself (``task->nvcsw``)."""
    for line in _task(tid, "status").read_text().splitlines():
        if line.startswith("voluntary_ctxt_switches:"):
            return int(line.split()[1])
    raise RuntimeError(f"no voluntary_ctxt_switches for thread {tid}")


# Where a thread sleeps in the kernel (``/proc/self/task/<tid>/wchan``, without suffixes such as
# ``.constprop.0``) for each blocking wait; a thread on the GIL or a lock sleeps in ``futex_*`` instead.
WAIT_WCHANS = {
    "select": frozenset({"poll_schedule_timeout", "do_select", "core_sys_select"}),
    "poll": frozenset({"poll_schedule_timeout", "do_poll", "do_sys_poll"}),
    "epoll_wait": frozenset({"do_epoll_wait", "ep_poll", "do_epoll_pwait", "__x64_sys_epoll_wait"}),
    "accept": frozenset({"inet_csk_accept", "inet_csk_wait_for_connect"}),
    "io_uring_enter": frozenset({"io_cqring_wait", "io_cqring_wait_schedule", "__io_cqring_wait_schedule"}),
}


def sleeps_in(tid: int, wait: str) -> bool:
    """The thread is asleep (state S or D) in the kernel function of ``wait`` (a key of WAIT_WCHANS).
    Where the kernel hides wchan ('' or '0'), the state alone decides."""
    if thread_state(tid) not in "SD":
        return False
    w = thread_wchan(tid)
    return w in ("", "0") or w.split(".", 1)[0] in WAIT_WCHANS[wait]


def asleep_in_wait(tid: int) -> bool:
    """The thread sleeps (or has exited), and not on a futex (the GIL, a lock): see wait_until_blocked.
    For a known wait, :func:`sleeps_in` is the stricter check."""
    state = thread_state(tid)
    if state == "?":
        return True
    return state in "SD" and "futex" not in thread_wchan(tid)


def wait_until_blocked(
    tids: Sequence[int],
    *,
    timeout: float,
    settle: float = 0.02,
    ready: Callable[[], bool] | None = None,
) -> bool:
    """Wait until every thread in ``tids`` is asleep in its wait call and stays so for ``settle`` s.

    "Asleep in its wait call" is state 'S' (or 'D', or gone) **and** not asleep on a futex: a thread
    that waits for Python's GIL (or a lock) is 'S' too, but its next sleep would be its first in the
    real wait, and counting from there would add a wake-up that never happened. The kernel tells where a
    thread sleeps in ``/proc/self/task/<tid>/wchan`` (``do_epoll_wait``, ``poll_schedule_timeout``,
    ``inet_csk_accept`` for the waits here; ``futex_*`` for the GIL). Where wchan is hidden ('' or
    '0'), only the state is checked. ``ready`` (optional) must also be true (e.g. "every worker has
    entered its wait loop"). Returns False at ``timeout``.
    """
    return settled(lambda: (ready is None or ready()) and all(asleep_in_wait(t) for t in tids),
                   timeout=timeout, settle=settle)


def settled(check: Callable[[], bool], *, timeout: float, settle: float) -> bool:
    """Poll ``check`` every 2 ms until it has held for ``settle`` s without a break; False at ``timeout``."""
    deadline = time.monotonic() + timeout
    calm_since = None
    while time.monotonic() < deadline:
        ok = check()
        now = time.monotonic()
        if ok:
            calm_since = calm_since or now
            if now - calm_since >= settle:
                return True
        else:
            calm_since = None
        time.sleep(0.002)
    return False


# --------------------------------------------------------------------------------- worker threads


class WorkerGroup:
    """Start worker threads, remember their native ids, collect their exceptions, always join.

    ``target(index, group)`` runs in each thread; it must call ``group.mark_ready(index)`` just before
    its first blocking wait. ``stop_flag`` is set at teardown; the caller's wake-up mechanism (the
    ``stop`` signal in every wait set, ``shutdown()`` of the listener) must then make every blocked call
    return. With a ``stop`` signal, :meth:`join` writes it again each time a join waits
    ``REPOKE_S`` in vain (see :mod:`epollkit.lab.harness.stop`).
    """

    def __init__(self, count: int, target: Callable[[int, WorkerGroup], None], name: str = "worker",
                 stop: StopSignal | None = None):
        self.count = count
        self.stop = stop
        self.stop_flag = stop.flag if stop is not None else threading.Event()
        self.failed = threading.Event()
        self.errors: list[BaseException] = []
        self.tids: list[int] = [0] * count
        self._ready = [False] * count
        self._target = target
        self._running = 0  # started and not yet returned from target (under _lock)
        self._lock = threading.Lock()
        self._all_done = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(i,), name=f"epollkit-{name}-{i}", daemon=True)
            for i in range(count)
        ]

    def _run(self, index: int) -> None:
        self.tids[index] = threading.get_native_id()
        try:
            self._target(index, self)
        except BaseException as exc:  # reported to the main thread, which re-raises it
            self.fail(exc)
        finally:
            with self._lock:
                self._running -= 1
                if self._running == 0:
                    self._all_done.set()

    def fail(self, exc: BaseException) -> None:
        """Record a worker's exception (ignored once stopping: teardown errors are expected)."""
        if not self.stop_flag.is_set():
            self.errors.append(exc)
            self.failed.set()

    def mark_ready(self, index: int) -> None:
        self._ready[index] = True

    def all_ready(self) -> bool:
        return all(self._ready)

    def start(self, deadline: float | None = None) -> None:
        """Start every thread with a small stack (``WORKER_STACK``: 512 workers reserve 128 MiB, not
        the 4 GiB of the default 8 MiB stacks). ``threading.stack_size`` is process-wide: put back."""
        from .limits import WORKER_STACK

        old = threading.stack_size()
        if old == 0:  # the default: a caller (herd) may have chosen its own smaller size
            threading.stack_size(WORKER_STACK)
        try:
            for k, t in enumerate(self._threads):
                if deadline is not None and k % 64 == 0 and time.monotonic() >= deadline:
                    raise ExperimentTimeout(f"the deadline passed after starting {k} of {self.count} "
                                            "threads")
                with self._lock:
                    self._running += 1
                    self._all_done.clear()
                try:
                    t.start()
                except BaseException:
                    with self._lock:  # it never ran: it will not count itself out
                        self._running -= 1
                        if self._running == 0:
                            self._all_done.set()
                    raise
        finally:
            threading.stack_size(old)

    @property
    def started(self) -> int:
        """How many of the threads were started (all of them unless :meth:`start` stopped early)."""
        return sum(1 for t in self._threads if t.ident is not None)

    def wait_blocked(self, timeout: float, settle: float = 0.02) -> bool:
        return wait_until_blocked(self.tids, timeout=timeout, settle=settle, ready=self.all_ready)

    def join(self, timeout: float = JOIN_TIMEOUT_S) -> None:
        """Join every started thread, re-poking the stop signal (if any) every ``REPOKE_S`` while one is
        still alive; raise LeakError naming the ones still alive at ``timeout``."""
        # One wait for "every target returned" instead of a join() per thread: with thousands of
        # woken threads contending for the GIL, each join() waited for the GIL again (8192 waiters
        # took 159 s to tear down). The time allowed grows with the number of threads.
        deadline = time.monotonic() + timeout + JOIN_PER_THREAD_S * self.count
        if any(t.ident is not None for t in self._threads):
            while not self._all_done.wait(max(0.0, min(deadline - time.monotonic(),
                                                       REPOKE_S if self.stop is not None else 3600))):
                if time.monotonic() >= deadline:
                    break
                if self.stop is not None:
                    self.stop.poke()  # 5.5-5.12 without the cascade: one write wakes one sleeper
        grace = max(deadline, time.monotonic() + 1.0)  # a returned target still has to exit
        for t in self._threads:  # every target has returned: these joins only wait for the exits
            if t.ident is not None:
                t.join(max(0.0, grace - time.monotonic()))
        alive = [t.name for t in self._threads if t.is_alive()]
        if alive:
            raise LeakError(f"{len(alive)} worker thread(s) did not stop: {', '.join(alive[:5])}")

    def raise_first_error(self) -> None:
        if self.errors:
            raise self.errors[0]


# ---------------------------------------------------------------------- a client in its own process


def poll_child(proc: subprocess.Popen) -> int | None:
    """``proc.poll()`` in a deferred-signal window. ``Popen.poll()`` and ``wait()`` take the Popen's
    ``_waitpid_lock`` with ``acquire(False)`` and enter the ``try:`` that releases it one bytecode
    later: a KeyboardInterrupt raised in between (at the eval-breaker check after the call) keeps
    the lock for good, every later ``poll()`` answers None, and the child is killed but never reaped
    (a zombie, and a false "did not exit"). Seen once in CI, in ``accept``'s wait for its client."""
    with deferred_signals():
        return proc.poll()


def wait_child(proc: subprocess.Popen, timeout: float) -> bool:
    """Wait up to ``timeout`` s for ``proc`` to exit: ``Popen.wait(timeout)``'s back-off loop, with
    each poll in its own deferred window (:func:`poll_child`) and the sleeps interruptible."""
    end = time.monotonic() + timeout
    delay = 0.001
    while poll_child(proc) is None:
        left = end - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(delay, left))
        delay = min(2 * delay, 0.05)
    return True


def kill_child(proc: subprocess.Popen) -> None:
    """SIGKILL ``proc`` if it is still running (the poll and the kill in one deferred window)."""
    with deferred_signals():
        if proc.poll() is None:
            proc.kill()


def reap_child(proc: subprocess.Popen, what: str, *, grace: float = 0.0) -> None:
    """Give ``proc`` ``grace`` s to exit, kill it if it is still running, wait for it; LeakError if
    it still does not exit. Every step is a deferred window or an interruptible sleep."""
    if grace and wait_child(proc, grace):
        return
    kill_child(proc)
    if not wait_child(proc, JOIN_TIMEOUT_S):  # pragma: no cover - a kill that did not land
        raise LeakError(f"{what} {proc.pid} did not exit")


class ClientProcess:
    """A helper process (``python -m MODULE ARGS``) that prints ``ready``, waits for ``go`` on stdin,
    does its work and prints one JSON line. It runs in a process of its own so that the workers' GIL is
    never inside a measured interval. Always reaped: ``close()`` kills it if it is still running.
    """

    def __init__(self, module: str, args: Sequence[str], *, pass_fds: Sequence[int] = ()):
        env = dict(os.environ)
        root = str(ROOT)
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        with deferred_signals():  # never a forked child without its Popen object (a zombie)
            self.proc = subprocess.Popen(
                [sys.executable, "-m", module, *map(str, args)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                text=True,
                pass_fds=tuple(pass_fds),  # e.g. the client ends of the connections the child drives
            )

    def wait_ready(self, timeout: float = 10.0) -> None:
        line = self._readline(timeout)
        if line.strip() != "ready":
            err = self._stderr()
            raise HelperProcessError(f"client process failed to start: {line.strip() or err or 'no output'}")

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def result(self, timeout: float) -> dict:
        """The client's JSON line; ExperimentTimeout if it does not finish in ``timeout`` seconds."""
        line = self._readline(timeout)
        if not line:
            if poll_child(self.proc) is None:
                raise ExperimentTimeout(f"the client did not finish within {timeout:.1f} s")
            raise HelperProcessError(f"client process failed: {self._stderr() or 'no output'}")
        wait_child(self.proc, max(timeout, 1.0))
        return json.loads(line)

    def step(self, timeout: float) -> dict:
        """One more ``go`` -> one JSON line, the child still running (the herd client's protocol)."""
        self.go()
        line = self._readline(timeout)
        if not line:
            if poll_child(self.proc) is None:
                raise ExperimentTimeout(f"the client did not answer within {timeout:.1f} s")
            raise HelperProcessError(f"client process died: {self._stderr() or 'no output'}")
        return json.loads(line)

    def _readline(self, timeout: float) -> str:
        assert self.proc.stdout is not None
        poller = select.poll()  # not select(): the pipe's fd number may be 1024 or more
        poller.register(self.proc.stdout.fileno(), select.POLLIN)
        return self.proc.stdout.readline() if poller.poll(max(0.0, timeout) * 1000) else ""

    def _stderr(self) -> str:
        if poll_child(self.proc) is None or self.proc.stderr is None:
            return ""
        text = self.proc.stderr.read().strip()
        return text.splitlines()[-1] if text else ""

    @uninterruptible  # a Ctrl-C inside its waits would leave the child unreaped
    def close(self) -> None:
        grace = 0.0
        if poll_child(self.proc) is None and self.proc.stdin is not None:
            try:
                self.proc.stdin.close()  # end of input: a child in a command loop leaves it and exits
                grace = 0.2
            except OSError:  # e.g. a broken pipe flushing the buffer: reap_child() kills it
                pass
        reap_child(self.proc, "client process", grace=grace)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass

    def __enter__(self) -> ClientProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def vmrss_kib() -> int:
    """This process's resident set (``VmRSS`` in /proc/self/status), in KiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0
