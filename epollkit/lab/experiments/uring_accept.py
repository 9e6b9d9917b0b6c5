"""The live io_uring accept experiment: worker threads accept from one TCP listener on 127.0.0.1 through
io_uring, while a client process connects ``connections`` times (the same client, the same counters and
the same teardown discipline as ``lab.experiments.accept``).

Modes
- ``multishot``: each ring holds one ``IORING_OP_ACCEPT`` with ``IORING_ACCEPT_MULTISHOT``. It is armed
  once; every connection it takes posts a CQE with ``IORING_CQE_F_MORE`` and the request stays armed.
- ``single-shot``: each ring holds one plain ``IORING_OP_ACCEPT``; after its CQE the worker submits a new
  one in the same ``io_uring_enter`` call that waits for the next completion.

Topologies: one ring per worker thread (the supported way), or ``shared_ring=True``: one ring, every
worker thread waits on it (``io_uring_enter`` from several threads; discouraged upstream), one accept per
worker in flight (single-shot) or one multishot accept for the ring.

What the kernel does (Linux 6.18 sources):
- ``io_issue_defs[IORING_OP_ACCEPT]`` (io_uring/opdef.c) has ``.poll_exclusive = 1``: when the first,
  non-blocking ``io_accept()`` finds the queue empty, ``io_arm_poll_handler()`` (io_uring/poll.c) adds
  ``EPOLLEXCLUSIVE`` -- and ``EPOLLONESHOT`` unless the request is multishot -- and ``__io_queue_proc()``
  puts the entry on the listener's wait queue with ``add_wait_queue_exclusive()`` (at the tail).
- A new connection wakes the listener's queue with ``nr_exclusive = 1`` (``sock_def_readable``);
  ``__wake_up_common()`` scans from the head, and ``io_poll_wake()`` returns 1 for a matching entry, so
  the first armed accept is the only one woken. For a single-shot (ONESHOT) entry ``io_poll_wake()``
  unlinks it (``list_del_init``); a multishot entry stays where it is.
- The woken request's task_work (``io_apoll_task_func`` -> ``io_poll_issue`` -> ``io_accept``) runs in
  the ring owner's task; multishot ``io_accept()`` loops (``goto retry``) until the queue is empty, then
  stays armed. The worker sleeps in ``io_cqring_wait()`` (io_uring/wait.c): on ``ctx->cq_wait``, or with
  ``DEFER_TASKRUN`` on no queue at all (``io_req_local_work_add`` wakes it when ``cq_wait_nr`` is met).
"""

from __future__ import annotations

import errno
import os
import socket
import threading
import time

from ...analysis.uring import summarize_uring
from ...errors import ExperimentTimeout, UnsupportedPlatform
from ...records.uring import UringAcceptResult
from ...system import kernel_release
from ...validate import check_deadline, check_int, check_number
from ..harness import ClientProcess, Teardown, WorkerGroup, check_fd_budget, voluntary_switches

MODES = ("multishot", "single-shot")
SETUPS = ("plain", "single-issuer", "defer-taskrun")
DEFAULT_RATE = 400.0
DEFAULT_DEADLINE = 30.0
MAX_WORKERS = 64
MAX_CONNECTIONS = 100_000
HOST = "127.0.0.1"
BACKLOG = 4096
STOP, ACCEPT = 1 << 40, 1 << 41  # user_data tags; the low bits carry the worker index


def validate(mode, workers, connections, rate, work_ms, setup, shared_ring, deadline,
             process: bool = False) -> None:
    """Check every parameter before anything is created; ``ValueError`` names the bad one."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    check_int("workers", workers, 1, MAX_WORKERS)
    check_int("connections", connections, 1, MAX_CONNECTIONS)
    if rate is not None:
        check_number("rate", rate, 0, 1e7, open_low=True)
    check_number("work_ms", work_ms, 0, 1000)
    if setup not in SETUPS:
        raise ValueError(f"setup must be one of {', '.join(SETUPS)}, not {setup!r}")
    if not isinstance(shared_ring, bool):
        raise ValueError(f"shared_ring must be True or False, not {shared_ring!r}")
    if not isinstance(process, bool):
        raise ValueError(f"process must be True or False, not {process!r}")
    if process and shared_ring:
        raise ValueError("process=True gives every worker process its own ring; it cannot share one "
                         "(shared_ring=True)")
    if shared_ring and setup != "plain":
        raise ValueError(f"a ring shared by several threads needs setup='plain' (SINGLE_ISSUER lets only "
                         f"the creating thread submit), not {setup!r}")
    check_deadline(deadline)


def require_uring() -> None:
    """Raise UnsupportedPlatform (one line saying which case) unless io_uring accept can run here."""
    from ..harness.uring_ring import unavailable_reason

    why = unavailable_reason()
    if why:
        raise UnsupportedPlatform(why)


def uring_accept(mode: str = "multishot", workers: int = 4, connections: int = 300, *,
                 rate: float | None = DEFAULT_RATE, burst: bool = False, work_ms: float = 0.0,
                 setup: str = "defer-taskrun", shared_ring: bool = False, process: bool = False,
                 deadline: float = DEFAULT_DEADLINE) -> UringAcceptResult:
    """Run one io_uring accept experiment on this kernel and return its record.

    mode         ``multishot`` or ``single-shot``
    workers      worker threads, 1-64, each with its own ring (or all on one, ``shared_ring=True``)
    connections  connections the client makes, 1-100 000, paced at ``rate``/s (``burst`` = flat out)
    work_ms      per-connection work (a sleep) after each accept, 0-1000 ms
    setup        ``plain``, ``single-issuer`` or ``defer-taskrun`` (= SINGLE_ISSUER | DEFER_TASKRUN)
    process      a worker *process* per ring instead of a thread (``lab.children.uring_worker``); they
                 are started and armed one after another, so the arm order is 0, 1, 2, ...
    deadline     seconds before the run is stopped; connections not accepted by then are ``lost``
    """
    validate(mode, workers, connections, None if burst else rate, work_ms, setup, shared_ring, deadline,
             process)
    require_uring()
    check_fd_budget(workers * 4 + 12, f"{workers} io_uring workers")
    if process:
        from .uring_procs import ProcRun

        return ProcRun(mode, workers, connections, 0.0 if burst else float(rate), work_ms / 1000.0, setup,
                       deadline).execute()
    run = _Run(mode, workers, connections, 0.0 if burst else float(rate), work_ms / 1000.0, setup,
               shared_ring, deadline)
    return run.execute()


def _cpu_ns(tid: int) -> int | None:
    """Time the thread has run on a CPU (``/proc/self/task/<tid>/schedstat``, first field), or None."""
    try:
        with open(f"/proc/self/task/{tid}/schedstat", encoding="ascii") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


class _Run:
    """One run: listener, stop pipe, rings, workers and the client, torn down in reverse, always."""

    def __init__(self, mode, workers, connections, rate, work_s, setup, shared_ring, deadline):
        self.mode, self.workers, self.connections = mode, workers, connections
        self.rate, self.work_s, self.setup, self.shared = rate, work_s, setup, shared_ring
        self.deadline = deadline
        self.multishot = mode == "multishot"
        self.order: list[int] = []
        self.stats = [{"worker": i, "ring": 0 if shared_ring else i, "accepts": 0, "enters": 0, "cqes": 0,
                       "empty_cqes": 0, "kernel_wakeups": 0} for i in range(workers)]
        self.rearms = 0
        self.arm_order: list[int] = []  # worker index in the order their first accept was submitted
        self.cq_entries = 0
        self.book = threading.Lock()
        self.ring_lock = threading.Lock()
        self.shared_ring_obj = None

    def execute(self) -> UringAcceptResult:
        from ..harness.uring_ring import Ring

        with Teardown() as stack:
            self.stop_r, self.stop_w = os.pipe()
            stack.callback(os.close, self.stop_r)
            stack.callback(os.close, self.stop_w)
            self.done_r, self.done_w = os.pipe()
            stack.callback(os.close, self.done_r)
            stack.callback(os.close, self.done_w)
            lsock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            lsock.bind((HOST, 0))
            lsock.listen(BACKLOG)
            lsock.setblocking(False)  # io_accept() tries non-blocking first either way
            self.lsock = lsock
            port = lsock.getsockname()[1]
            if self.shared:
                ring = self.shared_ring_obj = stack.enter_context(Ring(max(64, 4 * self.workers), "plain"))
                stack.callback(lambda: _close_accepted(ring.reap()))  # after the workers have stopped

            client = stack.enter_context(ClientProcess(
                "epollkit.lab.children.connect", ["connect", HOST, port, self.connections, self.rate]))
            client.wait_ready()
            group = WorkerGroup(self.workers, self._worker, name=f"uring-{self.mode}")
            stack.callback(self._stop, group)
            group.start()
            limit = time.monotonic() + 10.0
            while not group.wait_blocked(timeout=0.2):
                group.raise_first_error()  # e.g. a ring that could not be set up: fail at once
                if time.monotonic() > limit:
                    raise ExperimentTimeout("io_uring workers did not all reach their wait within 10 s")
            base = [voluntary_switches(t) for t in group.tids]
            cpu0 = [_cpu_ns(t) for t in group.tids]

            t0 = time.monotonic()
            client.go()
            self._wait_done(client, t0)
            duration = time.monotonic() - t0
            if group.failed.is_set():
                end, cpu1 = base, cpu0
            else:
                group.wait_blocked(timeout=1.0)
                end = [voluntary_switches(t) for t in group.tids]
                cpu1 = [_cpu_ns(t) for t in group.tids]
        group.raise_first_error()
        for i, st in enumerate(self.stats):
            st["kernel_wakeups"] = end[i] - base[i]
        cpu = None if None in cpu0 + cpu1 else sum(b - a for a, b in zip(cpu0, cpu1, strict=True))
        params = {"rate": self.rate or None, "burst": self.rate == 0, "work_ms": self.work_s * 1000,
                  "deadline": self.deadline, "shared_ring": self.shared, "process": False,
                  "arm_order": list(self.arm_order), "cq_entries": self.cq_entries}
        return summarize_uring(backend="real", mode=self.mode, rings=1 if self.shared else self.workers,
                               setup=self.setup, connections=self.connections, per_worker=self.stats,
                               accept_order=self.order, rearms=self.rearms, cpu_ns=cpu, params=params,
                               kernel=kernel_release(), duration_s=duration)

    def _wait_done(self, client: ClientProcess, t0: float) -> None:
        """Block until every connection is booked, a worker fails, or the deadline (client gets a grace)."""
        import select

        client_fd = client.proc.stdout.fileno()
        watching, grace_until = [self.done_r, client_fd], None
        while True:
            now = time.monotonic()
            limit = t0 + self.deadline if grace_until is None else min(grace_until, t0 + self.deadline)
            if now >= limit:
                return
            poller = select.poll()
            for fd in watching:
                poller.register(fd, select.POLLIN)
            ready = [fd for fd, _ in poller.poll((limit - now) * 1000)]
            if self.done_r in ready:
                return
            if client_fd in ready:
                client.result(timeout=1.0)
                watching, grace_until = [self.done_r], time.monotonic() + 2.0

    def _stop(self, group: WorkerGroup) -> None:
        group.stop_flag.set()
        os.write(self.stop_w, b"x")  # completes every ring's POLL_ADD on the stop pipe
        try:
            self.lsock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        if self.shared_ring_obj is not None:
            # a thread of a shared ring may have reaped another thread's stop CQE: prod with NOPs
            limit = time.monotonic() + 5.0
            while group_alive(group) and time.monotonic() < limit:
                with self.ring_lock:
                    for i in range(self.workers):
                        self.shared_ring_obj.prep_nop(user_data=STOP | i)
                    self.shared_ring_obj.submit()
                time.sleep(0.01)
        group.join()

    # ------------------------------------------------------------------------------------ workers

    def _booked(self, index: int) -> None:
        st = self.stats[index]
        with self.book:
            st["accepts"] += 1
            self.order.append(index)
            n = len(self.order)
        if self.work_s:
            time.sleep(self.work_s)  # a sleep: one more voluntary switch, the GIL released
        if n == self.connections:
            os.write(self.done_w, b"d")

    def _worker(self, index: int, group: WorkerGroup) -> None:
        try:
            if self.shared:
                self._loop_shared(index, group)
            else:
                self._loop_own(index, group)
        except BaseException as exc:
            group.fail(exc)
            if group.failed.is_set():
                os.write(self.done_w, b"e")

    def _handle(self, index: int, cqe, first: list) -> str:
        """One accept CQE: 'ok', 'rearm' (submit a new accept) or 'empty'."""
        _ud, res, flags = cqe
        st = self.stats[index]
        st["cqes"] += 1
        from ..harness.uring_ring import CQE_F_MORE

        if res >= 0:
            first[0] = False
            self._booked(index)
            return "rearm" if not (self.multishot and flags & CQE_F_MORE) else "ok"
        st["empty_cqes"] += 1
        if first[0] and self.multishot and res == -errno.EINVAL:
            raise UnsupportedPlatform("this kernel has io_uring but no multishot accept (EINVAL on the "
                                      "first CQE; needs Linux 5.19+)")
        if res in (-errno.EAGAIN, -errno.EINTR, -errno.ECANCELED):
            return "rearm"
        raise OSError(-res, f"io_uring accept: {os.strerror(-res)}")

    def _loop_own(self, index: int, group: WorkerGroup) -> None:
        from ..harness.uring_ring import Ring

        # Created in the worker thread: with SINGLE_ISSUER the creating task is the only submitter.
        with Ring(64, self.setup) as ring:
            try:
                self._serve_own(index, group, ring)
            finally:
                _close_accepted(ring.reap())  # connections accepted after the stop: close them too

    def _serve_own(self, index: int, group: WorkerGroup, ring) -> None:
        self.cq_entries = ring.cq_entries
        lfd, st, first = self.lsock.fileno(), self.stats[index], [True]
        ring.prep_poll(self.stop_r, user_data=STOP | index)
        ring.prep_accept(lfd, multishot=self.multishot, user_data=ACCEPT | index)
        with self.book:  # held across the submit: arm_order is the order the entries were queued
            ring.submit()  # io_accept() finds nothing and arms (io_arm_poll_handler) in this call
            self.arm_order.append(index)
        group.mark_ready(index)
        while True:
            ring.submit(wait=1)  # submits any new accept and sleeps for the next completion
            st["enters"] += 1
            for cqe in _close_accepted(ring.reap()):
                if cqe[0] & STOP or group.stop_flag.is_set():
                    return
                if self._handle(index, cqe, first) == "rearm":
                    if self.multishot:
                        with self.book:
                            self.rearms += 1
                    ring.prep_accept(lfd, multishot=self.multishot, user_data=ACCEPT | index)

    def _loop_shared(self, index: int, group: WorkerGroup) -> None:
        ring, lock, lfd, st, first = self.shared_ring_obj, self.ring_lock, self.lsock.fileno(), \
            self.stats[index], [True]
        self.cq_entries = ring.cq_entries
        from ..harness.uring_ring import ENTER_GETEVENTS, io_uring_enter

        with lock:
            ring.prep_poll(self.stop_r, user_data=STOP | index)
            if not self.multishot or index == 0:
                ring.prep_accept(lfd, multishot=self.multishot, user_data=ACCEPT | index)
            ring.submit()
            self.arm_order.append(index)
        group.mark_ready(index)
        while not group.stop_flag.is_set():
            io_uring_enter(ring.fd, 0, 1, ENTER_GETEVENTS)
            st["enters"] += 1
            with lock:
                cqes = _close_accepted(ring.reap())
            for cqe in cqes:
                if cqe[0] & STOP or group.stop_flag.is_set():
                    return
                if self._handle(index, cqe, first) == "rearm":
                    with lock:  # this thread took the connection; it puts an accept back
                        ring.prep_accept(lfd, multishot=self.multishot, user_data=ACCEPT | index)
                        ring.submit()


def _close_accepted(cqes: list) -> list:
    """Close the fd of every accept CQE that carries one, at once (the loop owns the fds' lifetime, so
    an error or the stop can never leave an accepted connection open); return the CQEs."""
    for ud, res, _fl in cqes:
        if ud & ACCEPT and res >= 0:
            os.close(res)
    return cqes


def group_alive(group: WorkerGroup) -> bool:
    return any(t.is_alive() for t in group._threads)


# ----------------------------------------------------------------------------------- comparisons

EPOLL_STRATEGIES = ("epoll-lt-private", "epoll-exclusive")


def compare(workers: int = 4, connections: int = 200, *, rate: float = DEFAULT_RATE, work_ms: float = 0.0,
            modes=MODES, epoll=EPOLL_STRATEGIES, setup: str = "defer-taskrun") -> list:
    """The io_uring modes and the epoll strategies, one after another at the same load: a list of
    records (``UringAcceptResult`` and ``AcceptResult``); ``analysis.uring.row`` makes one table of both."""
    from .accept import accept

    for m in modes:
        validate(m, workers, connections, rate, work_ms, setup, False, DEFAULT_DEADLINE)
    out = [uring_accept(m, workers, connections, rate=rate, work_ms=work_ms, setup=setup) for m in modes]
    work = None
    if work_ms:
        def work(_w, _n, s=work_ms / 1000.0):
            time.sleep(s)
    for s in epoll:
        r = accept(s, workers, connections, rate=rate, work=work)
        out.append(r)
    return out


def sweep(rates=(200.0, 1000.0, 4000.0), work_ms=(0.0, 2.0), *, workers: int = 4, connections: int = 200,
          modes=MODES, epoll=("epoll-exclusive",)) -> list:
    """``compare`` at every (rate, work_ms): the load sweep of the chapter and the benchmark."""
    out = []
    for rt in rates:
        for w in work_ms:
            out += compare(workers, connections, rate=rt, work_ms=w, modes=modes, epoll=epoll)
    return out


def reference_runs(connections: int = 200) -> list:
    """What ``epollkit record`` stores in ``data/reference/uring_accept.json``: both modes at 1, 2, 4 and
    8 workers paced at the default rate; both setups' extremes; a shared ring; worker processes; a small
    load sweep."""
    out = []
    for n in (1, 2, 4, 8):
        for m in MODES:
            out.append(uring_accept(m, n, connections))
    for m in MODES:
        out.append(uring_accept(m, 4, connections, setup="plain"))
        out.append(uring_accept(m, 4, connections, setup="plain", shared_ring=True))
        out.append(uring_accept(m, 4, connections, process=True))
        out.append(uring_accept(m, 4, connections, rate=1000.0, work_ms=2.0, process=True))
    for rt in (1000.0, 4000.0):
        for w in (0.0, 2.0):
            for m in MODES:
                out.append(uring_accept(m, 4, connections, rate=rt, work_ms=w))
    for m in MODES:  # overload: more connections queue behind the multishot ring than its CQ holds
        out.append(uring_accept(m, 4, 1000, rate=4000.0, work_ms=2.0))
    return out
