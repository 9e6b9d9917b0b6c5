"""A reader's worker (:mod:`epollkit.scenarios.worker`) on the real kernel: the accept and read
experiments of :mod:`.accept` and :mod:`.read`, with every worker thread running the reader's loop
instead of a built-in one.

Everything else is the built-in experiment's: the sockets on 127.0.0.1, the epoll instances (one
shared, or one per worker in worker order), the client or sender in a process of its own, the stop
signal (:class:`~epollkit.lab.harness.StopSignal`, an eventfd) in every instance, the worker skeleton
(:func:`~epollkit.lab.harness.experiment.start_workers`), the deadline, the per-worker counters
(``AcceptCounters`` / ``ReadCounters``: ``returns``, ``epoll_wait()`` calls that returned the source;
``eagain``; ``epoll_ctl``; ``kernel_wakeups``, voluntary context switches between "every worker
asleep" and the end) and the records (``AcceptResult`` / ``ReadResult``,
``strategy="worker:<name>"``). So a reader's loop is measured exactly like ``epoll-et`` or ``oneshot``.

Each call the worker yields becomes one syscall: ``epoll_wait()`` -> ``epoll.poll(-1,
EVENTS_PER_WAIT)`` (the harness's :class:`~epollkit.lab.harness.waits.EpollWait`; the stop signal
ends the worker at teardown), ``accept()`` -> ``accept4()`` on the non-blocking listener (the
connection is closed at once), ``read(n)`` -> ``recv(n)``, ``deliver()`` appends what was read to the
application's stream (behind its lock), ``epoll_ctl(op)`` -> ``epoll.modify`` / ``unregister`` /
``register`` (an ``OSError`` is returned as its errno name, as the model does). Results are the
model's: ``((fd, bits),)``, ``"ok"``, a byte count, ``EAGAIN``.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import select

from ... import strategies
from ...errors import ExperimentTimeout
from ...scenarios.worker import (
    EAGAIN,
    OK,
    AcceptCall,
    CtlCall,
    DeliverCall,
    Driver,
    ReadCall,
    Spins,
    WaitCall,
    check_kind,
    check_topology,
    check_worker,
    fmt_history,
    parse_flags,
)
from ...strategies import EVENTS_PER_WAIT
from ...validate import check_deadline, check_int, check_number
from ..harness import StopSignal, WorkerGroup, check_fd_budget, require_linux
from ..harness.waits import EpollWait
from .accept import _AcceptRun
from .read import _ReadRun

MAX_WORKERS = 64
DEFAULT_DEADLINE = 10.0
SPIN_LIMIT = 1000  # calls in a row that take nothing, without a wait: a busy loop (the model allows 16)


def strategy_for(name: str, kind: str, flags: tuple, topology: str) -> strategies.Strategy:
    """The record's strategy: ``worker:<name>``, waiting in epoll_wait with ``flags``."""
    return strategies.Strategy(f"worker:{name}", kind, "epoll_wait", strategies.Topology(topology),
                               tuple(flags), False, False,
                               f"the reader's worker {name}", variant=True)


def _bits(mask: int) -> tuple:
    return tuple(n for n in ("EPOLLIN", "EPOLLOUT") if mask & getattr(select, n))


def _flag_mask(flags) -> int:
    mask = 0
    for n in flags:
        mask |= getattr(select, n)
    return mask


class _EventsWait(EpollWait):
    """The harness's ``epoll_wait()`` (no timeout, ``maxevents=EVENTS_PER_WAIT``: the worker's fd and
    the stop signal) that also keeps what it returned: the reader's worker is told the events."""

    def __init__(self, fd: int, stop_fd: int, ep):
        super().__init__(fd, stop_fd, ep)
        self.events: list = []

    def wait(self) -> bool:
        self.events = self.ep.poll(-1, EVENTS_PER_WAIT)
        return any(fd == self.fd for fd, _ in self.events)


def _park(stop: StopSignal) -> None:
    """Sleep until the stop signal is written (it stays readable once written): a worker that ended
    early waits for the teardown asleep -- alive, so its counters stay readable and the wake-up
    count of the run is still taken from it. ``poll()``, not ``select()``: the fd may be 1024 or more."""
    poller = select.poll()
    poller.register(stop.fileno(), select.POLLIN)
    while not stop.is_set():
        poller.poll()  # no timeout; join() re-pokes the signal until every worker has joined


class _Calls:
    """The syscalls behind one worker thread's calls (shared by the accept and read runs)."""

    def __init__(self, run, index: int, group: WorkerGroup, kind: str, ep, fd: int, src: str,
                 spin_limit: int):
        self.run, self.index, self.group, self.kind = run, index, group, kind
        self.ep, self.fd, self.src, self.spin_limit = ep, fd, src, spin_limit
        self.st = run.stats[index]  # the run's AcceptCounters / ReadCounters of this worker
        self.waiter = _EventsWait(fd, run.stop.fileno(), ep)
        self.driver = Driver(run.fn, kind, name=run.wname)

    def wait(self):
        """``epoll_wait()`` until this worker's source is ready; None when the stop signal fired."""
        stop = self.group.stop_flag
        while True:
            ready = self.waiter.wait()
            if stop.is_set():
                return None
            if ready:
                self.st.returns += 1
                return tuple((self.src, _bits(m)) for fd, m in self.waiter.events if fd == self.fd)

    def ctl(self, call: CtlCall) -> str:
        mask = _flag_mask(call.flags) if call.flags is not None else self.run.flags
        try:
            if call.op == "mod":
                self.ep.modify(self.fd, mask)
            elif call.op == "del":
                self.ep.unregister(self.fd)
            else:
                self.ep.register(self.fd, mask)
        except OSError as exc:
            return errno.errorcode.get(exc.errno, str(exc.errno))
        finally:
            self.st.epoll_ctl += 1
        return OK

    def loop(self, step) -> None:
        """Drive the worker; an error is recorded, the main thread told, and the thread parks on the
        stop signal -- asleep, alive until teardown (so its counters stay readable and the run ends at
        once, not at a timeout)."""
        try:
            returned = self._drive(step)
        except BaseException as exc:
            if self.group.stop_flag.is_set():
                return
            self.group.fail(exc)
            self.run.worker_failed()
            self.group.mark_ready(self.index)
            _park(self.run.stop)
            return
        if returned and not self.group.stop_flag.is_set():
            # the worker's function returned: the thread waits for the teardown (as a finished model
            # thread is "done"), so its counters stay readable
            self.group.mark_ready(self.index)
            _park(self.run.stop)

    def _drive(self, step) -> bool:
        """``step(call)`` does one call and returns its result (``_STOP``: end). True when the worker
        returned, False when the run stopped it."""
        call = self.driver.first()
        self.group.mark_ready(self.index)
        since = 0
        while call is not None:
            if self.group.stop_flag.is_set():
                return False
            if isinstance(call, WaitCall):
                since = 0
                result = self.wait()
                if result is None:
                    return False
            else:
                result = self.ctl(call) if isinstance(call, CtlCall) else step(call)
                if result is _STOP:
                    return False
                took = isinstance(call, (AcceptCall, ReadCall)) and result != EAGAIN
                since = 0 if took else since + 1
                if since > self.spin_limit:
                    raise Spins(f"worker {self.run.wname!r} made {since} calls in a row that took nothing "
                                "without an epoll_wait(): a loop that never waits "
                                f"(last: {fmt_history(self.driver.history, 3)})")
            call = self.driver.send(result)
        return True


_STOP = object()


class _WorkerAcceptRun(_AcceptRun):
    def __init__(self, fn, wname, strat, workers, connections, rate, deadline):
        super().__init__(strat, workers, connections, rate, deadline, 1, None)
        self.fn, self.wname = fn, wname

    def worker_failed(self) -> None:
        os.write(self.done_w, b"e")  # wakes the main thread's _wait_done

    def _loop(self, index: int, group: WorkerGroup) -> None:
        s = self.strat
        lsock = self.listeners[s.listener_of(index)]
        ep = self.epolls[s.epoll_of(index)]
        calls = _Calls(self, index, group, "accept", ep, lsock.fileno(), "l0", SPIN_LIMIT)

        def step(call):
            if isinstance(call, AcceptCall):
                return OK if self._accept_one(index, lsock) else EAGAIN
            raise AssertionError(call)  # pragma: no cover - Driver refuses other calls

        calls.loop(step)


class _WorkerReadRun(_ReadRun):
    def __init__(self, fn, wname, strat, readers, messages, message_size, pace_us, deadline):
        super().__init__(strat, readers, messages, message_size, 1, 0.0, 1, pace_us, "process", deadline)
        self.fn, self.wname = fn, wname

    def worker_failed(self) -> None:
        self.done.set()  # wakes the main thread's _wait_done

    def _loop(self, index: int, group: WorkerGroup) -> None:
        self.group = group  # run() re-raises a worker's error that ended in the deadline
        s = self.strat
        ep = self.epolls[s.epoll_of(index)]
        conn = self.conn
        pending: list = []
        st = self.stats[index]
        calls = _Calls(self, index, group, "read", ep, conn.fileno(), "s0", SPIN_LIMIT)

        def step(call):
            if isinstance(call, ReadCall):
                self.read_size = max(self.read_size, call.nbytes)  # the record's read_size: the largest asked
                try:
                    data = conn.recv(call.nbytes)
                except BlockingIOError:
                    st.eagain += 1
                    return EAGAIN
                if not data:
                    return _STOP  # the sender's side is gone (stopped or failed)
                st.reads += 1
                pending.append(data)
                return len(data)
            if isinstance(call, DeliverCall):
                for data in pending:
                    self._deliver(index, data)
                pending.clear()
                return None
            raise AssertionError(call)  # pragma: no cover

        calls.loop(step)


def run(fn, kind: str = "accept", *, flags="EPOLLIN", topology: str = "shared", workers: int = 2,
        connections: int = 200, rate: float | None = 400.0, messages: int = 500, message_size: int = 100,
        pace_us: float = 500.0, deadline: float = DEFAULT_DEADLINE):
    """Run the reader's worker ``fn`` on this kernel: ``workers`` threads, ``connections`` paced at
    ``rate`` per second (None: a burst) for ``kind="accept"``, or ``messages`` writes of
    ``message_size`` bytes for ``kind="read"``, one per ``send()``, ``pace_us`` microseconds apart
    (0: as fast as the sender can). Returns the experiment's record (``AcceptResult`` /
    ``ReadResult``) with ``params["worker"]``, ``["flags"]``, ``["topology"]``.

    Every argument (and that ``fn`` is a worker) is checked before any socket or thread exists. A
    worker error (:class:`~epollkit.scenarios.worker.WorkerError`) raised in a worker thread is
    raised here after the teardown; connections a loop strands are ``lost`` at the deadline (accept),
    bytes it strands end the run with ``ExperimentTimeout`` (read)."""
    name = check_worker(fn)
    check_kind(kind)
    flags = parse_flags(flags)
    check_topology(topology)
    check_int("workers", workers, 1, MAX_WORKERS)
    check_deadline(deadline)
    strat = strategy_for(name, kind, flags, topology)
    require_linux(flag="EPOLLEXCLUSIVE" if "EPOLLEXCLUSIVE" in flags else None)
    if kind == "accept":
        check_int("connections", connections, 1, 100_000)
        if rate is not None:
            check_number("rate", rate, 0, 1e7, open_low=True)
        check_fd_budget(workers + 8, f"{workers} workers ({name})")
        r = _WorkerAcceptRun(fn, name, strat, workers, connections, 0.0 if rate is None else float(rate),
                             float(deadline))
    else:
        check_int("messages", messages, 1, 1_000_000)
        check_int("message_size", message_size, 1, 1 << 20)
        check_number("pace_us", pace_us, 0, 1_000_000)
        check_fd_budget(workers + 10, f"{workers} readers ({name})")
        r = _WorkerReadRun(fn, name, strat, workers, messages, message_size, float(pace_us),
                           float(deadline))
    try:
        record = r.execute()
    except ExperimentTimeout:
        group = getattr(r, "group", None)
        if group is not None:
            group.raise_first_error()  # the worker's own error explains the timeout
        raise
    params = dict(record.params or {}, worker=name, flags=list(flags), topology=topology)
    return dataclasses.replace(record, params=params)


def reference_runs() -> list:
    """What ``epollkit record`` stores in ``data/reference/worker.json``: the built-in strategies
    written as workers (:mod:`epollkit.scenarios.loops`) and the notebook's reference answers, run
    the way notebook 07b runs them live."""
    from ...scenarios import loops

    out = []
    for name in ("epoll-lt", "epoll-et", "epoll-oneshot", "epoll-exclusive-rotate"):
        fn, flags, topology = loops.ACCEPT_LOOPS[name]
        out.append(run(fn, "accept", flags=flags, topology=topology))
    for name in ("oneshot", "et"):
        fn, flags, topology = loops.READ_LOOPS[name]
        out.append(run(fn, "read", flags=flags, topology=topology))
    return out


__all__ = ["DEFAULT_DEADLINE", "run", "strategy_for"]
