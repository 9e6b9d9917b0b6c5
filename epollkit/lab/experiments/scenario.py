"""Scenario files on the real kernel: real threads, real ``select.epoll``, an AF_UNIX socketpair per
``stream`` and a TCP listener on 127.0.0.1 per ``listener`` (docs/architecture.md, "Scenario files").

How a run goes:

- objects are created and the ``watch`` registrations made in file order (order matters for
  ``EPOLLEXCLUSIVE``); every epoll instance also watches one *stop* eventfd, which stays silent until
  teardown (it is another source: it changes no wait queue of the scenario's fds);
- each thread runs its calls in order. A wait is ONE blocking call (``epoll_wait`` with the run's hard
  deadline as its timeout, or a truly blocking ``accept()``), never a loop of short waits:
  re-entering ``epoll_wait()`` would move the thread to the head of ``ep->wq`` and change who wakes;
- ``threads-block-first``: before each kernel event, every thread must be asleep in the kernel or
  done: its state in ``/proc/self/task/<tid>/stat`` is ``S``, its ``wchan`` is the wait of the call it
  announced (``do_epoll_wait``/``ep_poll``, ``inet_csk_accept``), and this holds for a settle period.
  ``free``: the same before the first event only; ``kernel-first``: all events before the threads start;
- ``"start": "in-order"``: the threads are let go one at a time in file order (each waits on its own
  gate, a ``threading.Event``, before its first call), and the next one only once the previous one is
  asleep in its wait (or done) -- so the order in which they first fall asleep is the file's order,
  and a single event shows the wake order (LIFO ``ep->wq``, FIFO ``accept()``);
- after the last event the run waits until every thread is done or asleep (settled), at most 1 s; a
  thread still asleep then is reported ``"blocked"`` for that call. Nothing can wake a thread that is
  asleep in the kernel once all others are asleep or done and no event is left, so waiting the full
  second would only add time, not change the outcome;
- teardown (docs/architecture.md, "The lab's shared skeleton"): stop flag -> poke the stop eventfd
  -> ``shutdown()`` the listeners (wakes a blocked ``accept()``) -> join, poking again while a thread
  is still asleep -> close everything in reverse.
"""

from __future__ import annotations

import errno
import json
import os
import platform
import select
import socket
import sys
import threading
import time
from collections import Counter
from contextlib import ExitStack

from ...errors import ExperimentTimeout
from ...scenarios.calls import Accept, Ctl, EpollWait, Poll, Read
from ...scenarios.format import Scenario, load
from ...scenarios.generation import Generation, generation
from ...system import this_release
from ..harness import (
    StopSignal,
    Teardown,
    WorkerGroup,
    check_fd_budget,
    check_thread_room,
    own,
    raised_fd_limit,
    require_linux,
    sleeps_in,
)
from ..harness.experiment import stop_workers
from ..harness.interrupts import uninterruptible

TAIL_S = 1.0  # a call still blocked this long after the last kernel event is reported "blocked"
SETTLE_S = 0.03  # how long every thread must stay asleep before "all blocked" is believed
BLOCK_TIMEOUT_S = 3.0  # how long a thread may take to block before the run is abandoned
_BITS = [(n, getattr(select, n)) for n in ("EPOLLIN", "EPOLLOUT", "EPOLLPRI", "EPOLLERR", "EPOLLHUP",
                                           "EPOLLRDHUP") if hasattr(select, n)]


def _mask(events) -> int:
    m = 0
    for f in events:
        m |= getattr(select, f)
    return m


def _flags(mask: int) -> list:
    return [n for n, b in _BITS if mask & b]


class _Run:
    """One execution of a scenario on the kernel."""

    def __init__(self, sc: Scenario, stack: ExitStack):
        self.sc = sc
        self.stack = stack
        self.fds: dict = {}  # object name -> the object (epoll, our stream end, listener)
        self.peers: dict = {}  # stream name -> the peer end the "kernel" writes into
        self.addr: dict = {}
        self.names: dict = {}  # fileno -> object name
        self.clients: list = []
        self.accepted: list = []
        self.lock = threading.Lock()
        self.stop = own(stack, StopSignal)  # re-poked until every thread has joined
        self.stopfd = self.stop.fileno()
        self.thread_names = list(sc.threads)
        self.phase = [None] * len(self.thread_names)  # (call index, kind) announced before each call
        self.done = [False] * len(self.thread_names)
        self.results = [[] for _ in self.thread_names]
        self.hard_deadline = 0.0
        # "start": "in-order": each thread waits at its gate until the previous one is asleep
        self.gates = [threading.Event() for _ in self.thread_names]
        if sc.start != "in-order":
            for g in self.gates:
                g.set()

    # ------------------------------------------------------------------------------ objects
    def build(self) -> None:
        blocking = {c.fd for calls in self.sc.threads.values() for c in calls
                    if isinstance(c, Accept) and c.blocking}
        for name, kind in self.sc.objects.items():
            if kind == "epoll":
                ep = select.epoll()
                self.stack.callback(ep.close)
                self.stop.watch(ep)
                self.fds[name] = ep
                self.names[ep.fileno()] = name  # an epoll fd can be watched (nested) and reported
            elif kind == "stream":
                ours, peer = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
                self.stack.callback(peer.close)
                self.stack.callback(ours.close)
                ours.setblocking(False)
                self.fds[name], self.peers[name] = ours, peer
                self.names[ours.fileno()] = name
            else:
                lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                self.stack.callback(lst.close)
                lst.bind(("127.0.0.1", 0))
                lst.listen(64)
                # O_NONBLOCK belongs to the file description: one mode per listener (the loader checks)
                lst.setblocking(name in blocking)
                self.fds[name], self.addr[name] = lst, lst.getsockname()
                self.names[lst.fileno()] = name
        for ep, fd, events in self.sc.watch:
            self.fds[ep].register(self.fds[fd].fileno(), _mask(events))

    # ------------------------------------------------------------------------------ threads
    def worker(self, index: int, group: WorkerGroup) -> None:
        name = self.thread_names[index]
        out = self.results[index]
        try:
            self.gates[index].wait()  # set at once, or ("in-order") when the threads before are asleep
            for k, call in enumerate(self.sc.threads[name]):
                if self.stop.is_set():
                    out.append("blocked")
                    return
                kind = type(call).__name__
                self.phase[index] = (k, kind)
                group.mark_ready(index)
                res = self.call(call)
                if res is _BLOCKED_MAYBE:
                    out.append("blocked")
                    return
                out.append(res)
        finally:
            self.done[index] = True
            group.mark_ready(index)

    def call(self, c):
        if isinstance(c, EpollWait):
            ep = self.fds[c.epoll]
            timeout = 0 if c.timeout == 0 else max(0.0, self.hard_deadline - time.monotonic())
            evs = ep.poll(timeout, c.maxevents)  # ONE blocking call: ep_poll()
            if any(fd == self.stopfd for fd, _ in evs) or self.stop.is_set():
                return _BLOCKED_MAYBE
            if not evs and c.timeout != 0:
                return _BLOCKED_MAYBE  # the hard deadline passed
            return [[self.names[fd], _flags(m)] for fd, m in evs]
        if isinstance(c, Poll):
            # ONE poll() call on the fd and the stop eventfd (do_poll(): poll_wait() on both; the stop
            # fd stays silent until teardown). An epoll fd's poll is __ep_eventpoll_poll().
            p = select.poll()
            target = self.fds[c.fd].fileno()
            p.register(target, select.POLLIN)
            p.register(self.stopfd, select.POLLIN)
            ms = 0 if c.timeout == 0 else max(0, int((self.hard_deadline - time.monotonic()) * 1000))
            got = dict(p.poll(ms))
            if got.get(self.stopfd) or self.stop.is_set():
                return _BLOCKED_MAYBE
            if got.get(target, 0) & select.POLLIN:
                return 1
            return 0 if c.timeout == 0 else _BLOCKED_MAYBE  # timeout 0: nothing; else the deadline
        if isinstance(c, Accept):
            lst = self.fds[c.fd]
            try:
                conn, _ = lst.accept()  # blocking: inet_csk_wait_for_connect(), no timeout
            except BlockingIOError:
                return "EAGAIN"
            except OSError as exc:
                if exc.errno == errno.EINVAL and self.stop.is_set():
                    return _BLOCKED_MAYBE  # woken by shutdown() at teardown
                raise
            with self.lock:
                self.accepted.append(conn)
            return "ok"
        if isinstance(c, Read):
            try:
                return len(self.fds[c.fd].recv(c.nbytes))
            except BlockingIOError:
                return "EAGAIN"
        if isinstance(c, Ctl):
            ep, fd = self.fds[c.epoll], self.fds[c.fd].fileno()
            try:
                if c.op == "add":
                    ep.register(fd, _mask(c.events))
                elif c.op == "mod":
                    ep.modify(fd, _mask(c.events))
                elif c.events:
                    _ctl_del_with_event(ep.fileno(), fd, _mask(c.events))
                else:
                    ep.unregister(fd)
            except OSError as exc:
                return errno.errorcode.get(exc.errno, str(exc.errno))
            return "ok"
        raise ValueError(f"unknown call {c!r}")

    # ------------------------------------------------------------------------------ "blocked"
    def _asleep(self, group: WorkerGroup, i: int) -> bool:
        if self.done[i]:
            return True
        ph = self.phase[i]
        tid = group.tids[i]
        if ph is None or not tid:
            return False
        wait = {"EpollWait": "epoll_wait", "Accept": "accept", "Poll": "poll"}.get(ph[1])
        if wait is None:
            return False  # non-blocking calls never sleep in the kernel
        return sleeps_in(tid, wait)

    def wait_quiet(self, group: WorkerGroup, timeout: float, upto: int | None = None) -> bool:
        """Every thread (the first ``upto`` of them) done or asleep in its announced wait, unchanged
        for SETTLE_S."""
        deadline = time.monotonic() + timeout
        calm_since = None
        seen = None
        count = len(self.thread_names) if upto is None else upto
        while time.monotonic() < deadline:
            if group.failed.is_set():
                group.raise_first_error()
            snap = (tuple(self.phase), tuple(self.done))
            ok = all(self._asleep(group, i) for i in range(count))
            now = time.monotonic()
            if ok and snap == seen:
                calm_since = calm_since or now
                if now - calm_since >= SETTLE_S:
                    return True
            else:
                calm_since = None
            seen = snap if ok else None
            time.sleep(0.002)
        return False

    def fire(self, ev) -> None:
        """One kernel event, itself bounded in time: a connect() into a full accept queue (the SYN is
        dropped while ``sk_acceptq_is_full()``) or a write into a full stream would block for good."""
        try:
            if ev[0] == "connect":
                c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                self.clients.append(c)
                c.settimeout(BLOCK_TIMEOUT_S)
                c.connect(self.addr[ev[1]])  # the handshake completes: sk_data_ready() on the listener
            else:
                peer = self.peers[ev[1]]
                peer.settimeout(BLOCK_TIMEOUT_S)
                peer.sendall(b"x" * ev[2])  # unix_stream_sendmsg(): one wake-up
        except TimeoutError:  # socket.timeout
            what = f"connect() to {ev[1]}" if ev[0] == "connect" else f"a write of {ev[2]} bytes to {ev[1]}"
            raise ExperimentTimeout(f"{self.sc.name}: {what} did not complete within {BLOCK_TIMEOUT_S} s "
                                    "(nobody takes what the scenario sends)") from None

    def fire_burst(self, events) -> None:
        """``"order": "burst"``: every write back to back, as the kernel selftests' C emitter does
        (``write(sfd[1]); write(sfd[3])``). Through ``ctypes.PyDLL``, which keeps the GIL across the
        calls, so no woken Python thread runs in between; a woken thread's kernel half (its harvest in
        ``ep_send_events()``) can, exactly as in the selftest -- that race is the kernel's own."""
        import ctypes

        libc = ctypes.PyDLL(None, use_errno=True)
        plan = [(self.peers[ev[1]].fileno(), ctypes.create_string_buffer(b"x" * ev[2], ev[2]), ev[2])
                for ev in events]
        for fd, buf, n in plan:
            if libc.write(fd, buf, n) != n:  # one skb, one sk_data_ready() (the loader caps n)
                err = ctypes.get_errno()
                raise OSError(err, f"write of {n} bytes in a burst: {os.strerror(err)}")

    @uninterruptible
    def teardown(self, group: WorkerGroup) -> None:
        listeners = [self.fds[n] for n, kind in self.sc.objects.items() if kind == "listener"]
        # a thread still at its start gate sees the stop flag and leaves
        stop_workers(self.stop, group, listeners=listeners, then=lambda: [g.set() for g in self.gates])
        for c in self.accepted + self.clients:
            c.close()

    def execute(self) -> dict:
        sc = self.sc
        self.build()
        n_ev = len(sc.kernel)
        self.hard_deadline = time.monotonic() + BLOCK_TIMEOUT_S * (n_ev + 2) + TAIL_S
        group = WorkerGroup(len(self.thread_names), self.worker, name="scenario", stop=self.stop)
        if sc.order == "kernel-first":
            for ev in sc.kernel:
                self.fire(ev)
        try:
            group.start()
            if sc.start == "in-order":
                for i, name in enumerate(self.thread_names):
                    self.gates[i].set()
                    if not self.wait_quiet(group, BLOCK_TIMEOUT_S, upto=i + 1):
                        raise ExperimentTimeout(
                            f"{sc.name}: Thread {name} did not block within {BLOCK_TIMEOUT_S} s after it "
                            "was started (start: in-order)")
            if sc.order != "kernel-first":
                for k, ev in enumerate(sc.kernel):
                    # "free" and "burst": quiet before the first event only, then back to back
                    if (sc.order == "threads-block-first" or k == 0) and \
                            not self.wait_quiet(group, BLOCK_TIMEOUT_S):
                        raise ExperimentTimeout(
                            f"{sc.name}: the threads did not all block within {BLOCK_TIMEOUT_S} s "
                            f"before kernel event {k + 1}")
                    if sc.order == "burst" and all(e[0] == "write" for e in sc.kernel):
                        self.fire_burst(sc.kernel)
                        break
                    self.fire(ev)
            self.wait_quiet(group, TAIL_S)
        finally:
            self.teardown(group)
        group.raise_first_error()
        return {n: list(r) for n, r in zip(self.thread_names, self.results, strict=True)}


_BLOCKED_MAYBE = object()
_EPOLL_CTL_DEL = 2


def _ctl_del_with_event(epfd: int, fd: int, mask: int) -> None:
    """``epoll_ctl(EPOLL_CTL_DEL)`` WITH an event carrying ``mask`` (``select.epoll.unregister()``
    sends no flags), so a scenario can show that ``do_epoll_ctl()`` ignores them for DEL. The buffer
    is 16 bytes, large enough for ``struct epoll_event`` packed (x86-64, 12) or not (16)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(mask.to_bytes(4, sys.byteorder) + bytes(12), 16)
    if libc.epoll_ctl(epfd, _EPOLL_CTL_DEL, fd, buf) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _needs(sc: Scenario) -> int:
    n = 1
    for kind in sc.objects.values():
        n += 1 if kind == "epoll" else 2
    return n + 2 * sum(1 for ev in sc.kernel if ev[0] == "connect")


# Run classes for files _Run does not run: "descriptors" (dup, close, a second process) is
# fd_scenario.FdRun, which registers itself here (lab/experiments/__init__.py imports it).
RUNNERS: dict = {}


def _runner(sc: Scenario):
    """The run class of a scenario file."""
    return RUNNERS["descriptors"] if sc.descriptors else _Run


def run_scenario(scenario, *, repeat: int = 1) -> dict:
    """Run a scenario (a Scenario, a path, a name in data/scenarios, JSON text or a dict) ``repeat``
    times on this kernel. Returns ``{"scenario", "backend": "real", "kernel", "repeat", "outcomes":
    [{"threads": {...}, "count": n}, ...], "duration_s"}``."""
    if isinstance(repeat, bool) or not isinstance(repeat, int) or not 1 <= repeat <= 1000:
        raise ValueError(f"repeat must be an integer in 1..1000, not {repeat!r}")
    sc = scenario if isinstance(scenario, Scenario) else load(scenario)
    exclusive = any("EPOLLEXCLUSIVE" in ev for _e, _f, ev in sc.watch) or any(
        isinstance(c, Ctl) and "EPOLLEXCLUSIVE" in c.events for calls in sc.threads.values() for c in calls)
    require_linux(epoll=True, flag="EPOLLEXCLUSIVE" if exclusive else None)
    check_fd_budget(_needs(sc), f"scenario {sc.name!r}")
    check_thread_room(len(sc.threads), f"scenario {sc.name!r}")
    t0 = time.monotonic()
    counts: Counter = Counter()
    order = []
    for _ in range(repeat):
        with Teardown() as stack:
            stack.enter_context(raised_fd_limit(_needs(sc)))  # as check_fd_budget allowed
            out = _runner(sc)(sc, stack).execute()
        key = repr(sorted(out.items()))
        if key not in counts:
            order.append((key, out))
        counts[key] += 1
    outcomes = [{"threads": out, "count": counts[key]} for key, out in order]
    outcomes.sort(key=lambda o: -o["count"])
    return {"scenario": sc.name, "backend": "real", "kernel": platform.release(), "repeat": repeat,
            "outcomes": outcomes, "duration_s": round(time.monotonic() - t0, 4)}


CASCADE_PROBE = "lt-one-write-two-threads"


def cascade_verdict(outcomes) -> bool | None:
    """What ``lt-one-write-two-threads`` outcomes say about the level-triggered cascade: True when both
    threads always returned (``ep_done_scan()`` woke the second), False when exactly one always did,
    None when the runs disagree."""
    returned = {sum(1 for res in o["threads"].values() if res and res[0] != "blocked") for o in outcomes}
    if returned == {2}:
        return True
    if returned == {1}:
        return False
    return None


def detect_cascade(*, repeat: int = 3) -> dict:
    """Measure whether this kernel has the level-triggered cascade (the measurement wins over the
    release string: vendor kernels carry backports their version does not show). Runs the
    ``lt-one-write-two-threads`` scenario ``repeat`` times; returns its document plus ``cascade``
    (True / False / None when the runs disagree)."""
    doc = run_scenario(CASCADE_PROBE, repeat=repeat)
    doc["cascade"] = cascade_verdict(doc["outcomes"])
    return doc


def detect_generation(*, repeat: int = 3) -> Generation:
    """The rules of THIS kernel, measured: runs the ``lt-one-write-two-threads`` scenario on the real
    kernel ``repeat`` times (both threads return: the cascade; one: none). NOT pure -- the one function
    of ``epollkit.sim`` that starts threads and opens sockets (through ``epollkit.lab``), a few tenths
    of a second. Without epoll (another OS, ``EPOLLKIT_NO_EPOLL=1``) it returns the release-based
    :func:`generation` and says it was not measured. Pass the result as ``kernel=`` to any setup."""
    from dataclasses import replace

    from ...system import has_epoll

    guess = generation(None)
    if not has_epoll():
        return replace(guess, certain=False, why=f"not measured (no epoll here); {guess.why}")
    doc = detect_cascade(repeat=repeat)
    seen = "; ".join(f"{o['count']}x {json.dumps(o['threads'])}" for o in doc["outcomes"])
    if doc["cascade"] is None:
        return replace(guess, certain=False,
                       why=f"{CASCADE_PROBE} on this kernel disagreed between runs: {seen}")
    agrees = "as its release says" if doc["cascade"] == guess.cascade else \
        f"UNLIKE its release string ({guess.why})"
    return Generation(this_release(), doc["cascade"], True,
                      f"measured, {agrees}: {doc['repeat']} runs of {CASCADE_PROBE}: {seen}", "measured")
