"""The live accept experiment: ``workers`` threads share one TCP listener on 127.0.0.1 (or, for
``reuseport``, one port) and a client in another process connects ``connections`` times.

Each worker records what it did (wait calls that returned, ``accept()`` calls that found nothing,
connections it accepted and in which order); ``results.summarize_accept`` turns that into the record.
``kernel_wakeups`` is each worker thread's count of voluntary context switches (``task->nvcsw``, the
counter ``getrusage(RUSAGE_THREAD).ru_nvcsw`` reads) between "every worker is asleep in its wait" and the
stop. A thread that sleeps and is woken switches out once, so this counts wake-ups -- including the ones
the kernel spends inside ``select``/``poll``/``epoll_wait`` on a thread that finds nothing and sleeps
again, which never show up as a return to Python. It is a proxy: a worker that sleeps on the GIL, on a
page fault or in a callback's ``sleep()`` is counted too.

Workers never wait with a timeout: a periodic timeout would add wake-ups and, on a shared epoll
instance, move the thread in ``ep->wq`` (``ep_poll()`` re-inserts at the head each time it sleeps).
"""

from __future__ import annotations

import dataclasses
import os
import select
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from ... import strategies
from ...analysis.summarize import summarize_accept
from ...records import AcceptResult, WorkerStats
from ...system import kernel_release
from ...validate import check_bool, check_callable, check_deadline, check_int, check_number
from ..harness import (
    ClientProcess,
    StopSignal,
    Teardown,
    WorkerGroup,
    check_fd_budget,
    check_select_fds,
    check_thread_room,
    close_pipe,
    own,
    require_linux,
    voluntary_switches,
)
from ..harness.experiment import start_workers
from ..harness.sockets import attach_cbpf
from ..harness.waits import wait_for

DEFAULT_RATE = 400.0  # connections/s: 300 connections take about a second with start-up
DEFAULT_DEADLINE = 30.0
MAX_WORKERS = 512
MAX_CONNECTIONS = 100_000
HOST = "127.0.0.1"
BACKLOG = 4096  # capped by net.core.somaxconn

SUPPORTED = (
    "blocking",
    "select",
    "poll",
    "epoll-lt",
    "epoll-et",
    "epoll-oneshot",
    "epoll-lt-private",
    "epoll-et-private",
    "epoll-exclusive",
    "reuseport",
    "epoll-et-once",
    "epoll-exclusive-rotate",
    "reuseport-cbpf-cpu",
    "reuseport-cbpf-random",
)


def validate(strategy, workers, connections, rate, deadline, rotate_every) -> strategies.Strategy:
    """Check every parameter before anything is created; ``ValueError`` names the bad one."""
    strat = strategies.get("accept", strategy, SUPPORTED)
    check_int("workers", workers, 1, MAX_WORKERS)
    check_int("connections", connections, 1, MAX_CONNECTIONS)
    if rate is not None:  # at least one connect per 1000 s: a slower pace overflows the client's clock
        check_number("rate", rate, 0.001, 1e7)
    check_deadline(deadline)
    check_int("rotate_every", rotate_every, 1, 1_000_000)
    return strat


def _check_trace(trace) -> None:
    if trace is not None and not isinstance(trace, list):
        raise ValueError(f"trace must be a list (filled with one tuple per accept() call) or None, "
                         f"not {type(trace).__name__}")


def accept(
    strategy: str = "epoll-exclusive",
    workers: int = 4,
    connections: int = 300,
    *,
    rate: float | None = DEFAULT_RATE,
    burst: bool = False,
    deadline: float = DEFAULT_DEADLINE,
    rotate_every: int = 16,
    work: Callable[[int, int], None] | None = None,
    trace: list | None = None,
    client: dict | None = None,
) -> AcceptResult:
    """Run one accept experiment on this kernel and return its record.

    strategy      an accept strategy name (``epollkit.strategies.ACCEPT``)
    workers       worker threads, 1-512
    connections   connections the client makes, 1-100 000
    rate          connections per second (paced); ``burst=True`` connects as fast as it can
    deadline      seconds before the run is stopped; connections not accepted by then are ``lost``
    rotate_every  ``epoll-exclusive-rotate``: re-add the listener every K accepts of a worker
    work          optional ``work(worker, n)`` called after the worker accepted the n-th connection
                  (per-connection work; an exception stops the run and is re-raised)
    trace         optional list; every accept() call appends ``(worker, peer_port, t_call, t_return,
                  t_done)`` (``time.monotonic()``; ``peer_port`` None for EAGAIN; ``t_done`` after
                  ``work``). For ``blocking``, ``t_call`` is when the worker entered its wait.
    client        optional other client: ``{"module": "epollkit.lab.x", "args": f}`` runs
                  ``python -m module *f(port)`` (same ready/go/one-JSON-line protocol as ``_client``);
                  its JSON result is stored back under ``client["result"]``
    """
    check_bool("burst", burst)
    if not burst and rate is None:
        raise ValueError("rate must be a number of connections per second (0.001 to 1e7) unless burst=True, "
                         "not None")
    strat = validate(strategy, workers, connections, None if burst else rate, deadline, rotate_every)
    check_callable("work", work)
    _check_trace(trace)
    if client is not None and not (isinstance(client, dict) and isinstance(client.get("module"), str)
                                   and callable(client.get("args"))):
        raise ValueError("client must be a dict {'module': str, 'args': callable(port) -> list} or None")
    require_linux(epoll=strat.wait == "epoll_wait",
                  flag="EPOLLEXCLUSIVE" if "EPOLLEXCLUSIVE" in strat.flags else None)
    per_worker_fds = 2 if strat.topology == strategies.Topology.REUSEPORT else 1  # + its own listener
    fd_budget = check_fd_budget(workers * per_worker_fds + 8, f"{workers} workers ({strategy})")
    check_thread_room(workers + 1, f"{workers} workers ({strategy})")  # + the client process

    run = _AcceptRun(strat, workers, connections, 0.0 if burst else float(rate), deadline,
                     rotate_every, work)
    run.trace = trace
    run.client_spec = client
    with fd_budget:
        return run.execute()


@dataclass(slots=True)
class AcceptCounters:
    """What one worker counted (its own thread writes them; the main thread reads them after join)."""

    accepts: int = 0  # connections it accepted
    returns: int = 0  # wait calls that returned for the listener (accept() itself for `blocking`)
    eagain: int = 0  # accept() calls that found the queue empty
    epoll_ctl: int = 0  # EPOLL_CTL_MOD re-arms, DEL + ADD rotations


class _AcceptRun:
    """One run: sockets, epoll sets, workers and the client, torn down in reverse, always."""

    def __init__(self, strat, workers, connections, rate, deadline, rotate_every, work):
        self.strat = strat
        self.workers = workers
        self.connections = connections
        self.rate = rate
        self.deadline = deadline
        self.rotate_every = rotate_every
        self.work = work
        self.flags = 0
        for name in strat.flags:
            self.flags |= getattr(select, name)
        self.order: list[int] = []
        self.stats = [AcceptCounters() for _ in range(workers)]
        self.listeners: list[socket.socket] = []
        self.epolls: list = []
        self.trace: list | None = None
        self.client_spec: dict | None = None
        self.client_result: dict | None = None

    # ------------------------------------------------------------------------- setup and teardown

    def execute(self) -> AcceptResult:
        s = self.strat
        with Teardown() as stack:
            self.stop = own(stack, StopSignal)
            self.done_r, self.done_w = own(stack, os.pipe, close_pipe)  # no fd between two bytecodes

            n_listeners = s.listeners(self.workers)
            port = 0
            for _ in range(n_listeners):
                sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
                if n_listeners > 1:  # a reuseport group
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                sock.bind((HOST, port))
                port = sock.getsockname()[1]
                sock.listen(BACKLOG)
                # `blocking` must make a real blocking accept4(): with a Python timeout set, CPython
                # would poll() first (sock_call_ex), which is a different wait queue discipline.
                sock.setblocking(s.wait == "accept")
                self.listeners.append(sock)
            if s.wait == "select":  # fd numbers come from the lowest free: 1024 and up if 1024 are open
                check_select_fds([*(x.fileno() for x in self.listeners), self.stop.fileno()],
                                 f"{self.workers} workers (select)")
            if s.steer is not None:
                # the group's program picks socks[A % n]; socks[] is in listen() order = worker index
                attach_cbpf(self.listeners[0], s.steer, n_listeners)

            if s.wait == "epoll_wait":
                for _ in range(s.epolls(self.workers)):
                    ep = stack.enter_context(select.epoll())
                    # The stop eventfd: level-triggered, never read, written until every worker
                    # has joined (harness/stop.py: one write may wake one sleeper of a shared set).
                    self.stop.watch(ep)
                    self.epolls.append(ep)
                # Registration order matters for EPOLLEXCLUSIVE: ep_ptable_queue_proc() appends
                # exclusive entries at the tail, and __wake_up_common() scans from the head, so
                # worker 0 (registered first) wins whenever it is idle.
                for i, ep in enumerate(self.epolls):
                    lsock = self.listeners[s.listener_of(i)]
                    ep.register(lsock.fileno(), self.flags)

            if self.client_spec is None:
                module = "epollkit.lab.children.connect"
                args = ["connect", HOST, port, self.connections, self.rate]
            else:
                module, args = self.client_spec["module"], list(self.client_spec["args"](port))
            client = own(stack, lambda: ClientProcess(module, args))
            client.wait_ready()

            group = start_workers(stack, self.workers, self._worker, name=f"accept-{s.name}",
                                  stop=self.stop, listeners=self.listeners)
            self.group = group
            base = [voluntary_switches(t) for t in group.tids]

            t0 = time.monotonic()
            client.go()
            self._wait_done(client, t0)
            duration = time.monotonic() - t0
            # the deadline is a deadline: what is accepted after it (teardown, settling) is lost
            frozen = ([dataclasses.replace(st) for st in self.stats] if duration >= self.deadline
                      else None)
            order_len = len(self.order)
            if self.client_spec is not None:
                if self.client_result is None:  # all accepted before the client printed its line
                    self.client_result = client.result(timeout=5.0)
                self.client_spec["result"] = self.client_result
            if group.failed.is_set():
                end = base  # a worker died: its counters are gone; the error is re-raised below
            else:
                group.wait_blocked(timeout=1.0)  # let cascades and wasted wake-ups finish
                end = [voluntary_switches(t) for t in group.tids]
        # the with-block has stopped the workers and closed everything; now report
        group.raise_first_error()
        if frozen is not None:
            self.stats, self.order = frozen, self.order[:order_len]
        per_worker = [
            WorkerStats(worker=i, accepts=c.accepts, returns=c.returns, eagain=c.eagain,
                        kernel_wakeups=end[i] - base[i])
            for i, c in enumerate(self.stats)
        ]
        params = {"rate": self.rate or None, "burst": self.rate == 0, "deadline": self.deadline}
        if s.rotate:
            params["rotate_every"] = self.rotate_every
        if s.steer is not None:
            params["cbpf"] = s.steer
        if s.wait == "epoll_wait":
            params["epoll_ctl"] = sum(st.epoll_ctl for st in self.stats)
        return summarize_accept(
            backend="real",
            strategy=s.name,
            connections=self.connections,
            per_worker=per_worker,
            accept_order=self.order,
            params=params,
            kernel=kernel_release(),
            duration_s=duration,
        )

    def _wait_done(self, client: ClientProcess, t0: float) -> None:
        """Block (no polling) until every connection is accepted, a worker fails, or the deadline."""
        client_fd = client.proc.stdout.fileno()
        watching = [self.done_r, client_fd]
        grace_until = None
        while True:
            now = time.monotonic()
            limit = t0 + self.deadline if grace_until is None else min(grace_until, t0 + self.deadline)
            if now >= limit:
                return  # deadline: the record reports `lost`
            poller = select.poll()  # not select(): fd numbers may be 1024 or more here
            for fd in watching:
                poller.register(fd, select.POLLIN)
            ready = [fd for fd, _ev in poller.poll((limit - now) * 1000)]
            if self.done_r in ready:
                return
            if client_fd in ready:
                # the client finished; in-flight accepts get a grace
                self.client_result = client.result(timeout=1.0)
                watching = [self.done_r]
                grace_until = time.monotonic() + 2.0

    # ------------------------------------------------------------------------------------ workers

    def _accept_one(self, index: int, lsock: socket.socket) -> bool:
        st = self.stats[index]
        t_call = time.monotonic()
        try:
            fd, addr = lsock._accept()
        except BlockingIOError:
            st.eagain += 1
            if self.trace is not None:
                t = time.monotonic()
                self.trace.append((index, None, t_call, t, t))
            return False
        self._accepted(index, fd, addr, t_call)
        return True

    def _accepted(self, index: int, fd: int, addr, t_call: float) -> None:
        """Book one accepted connection: close it, record who took it, run ``work``, maybe finish."""
        t_return = time.monotonic()
        os.close(fd)
        self.stats[index].accepts += 1
        self.order.append(index)
        n = len(self.order)
        if self.work is not None:
            self.work(index, n - 1)
        if self.trace is not None:
            self.trace.append((index, addr[1], t_call, t_return, time.monotonic()))
        if n == self.connections:
            os.write(self.done_w, b"d")

    def _worker(self, index: int, group: WorkerGroup) -> None:
        try:
            self._loop(index, group)
        except BaseException as exc:
            group.fail(exc)
            if group.failed.is_set():
                os.write(self.done_w, b"e")  # wake the main thread: a worker failed

    def _loop(self, index: int, group: WorkerGroup) -> None:
        s, st, stop = self.strat, self.stats[index], group.stop_flag
        lsock = self.listeners[s.listener_of(index)]
        lfd = lsock.fileno()
        group.mark_ready(index)

        if s.wait == "accept":
            while True:
                t_call = time.monotonic()
                try:
                    fd, addr = lsock._accept()  # a real blocking accept4(): wake-one, FIFO
                except OSError:
                    if stop.is_set():
                        return
                    raise
                st.returns += 1  # for `blocking` the wait call is accept() itself
                self._accepted(index, fd, addr, t_call)

        ep = self.epolls[s.epoll_of(index)] if self.epolls else None
        waiter = wait_for(s.wait, lfd, self.stop.fileno(), ep)
        own_accepts = 0
        while True:
            ready = waiter.wait()
            if stop.is_set():
                return
            if not ready:
                continue
            st.returns += 1
            if s.drain:
                while self._accept_one(index, lsock):
                    pass
            elif self._accept_one(index, lsock):
                own_accepts += 1
            if s.rearm:
                # EPOLLONESHOT disarmed the item in ep_send_events(); ep_modify() re-arms it and, if
                # the listener is still readable, queues it and wakes one sleeper.
                ep.modify(lfd, self.flags)
                st.epoll_ctl += 1
            if s.rotate and own_accepts and own_accepts % self.rotate_every == 0:
                # EPOLL_CTL_MOD of an EPOLLEXCLUSIVE item is EINVAL (ep_modify path in
                # do_epoll_ctl), so rotate by DEL + ADD: the re-added entry goes to the tail of the
                # listener's wait queue (ep_ptable_queue_proc -> add_wait_queue_exclusive).
                ep.unregister(lfd)
                ep.register(lfd, self.flags)
                st.epoll_ctl += 2
                own_accepts = 0


REFERENCE_WORKERS = (1, 2, 4, 8, 16)
REFERENCE_STRATEGIES = tuple(s for s in SUPPORTED if not strategies.ACCEPT[s].strands_work)


def reference_runs(connections: int = 200) -> list[AcceptResult]:
    """What ``epollkit record`` stores in ``data/reference/accept.json``: every strategy (but the one
    that strands connections on purpose) at 1, 2, 4, 8 and 16 workers, paced at the default rate."""
    return [accept(s, n, connections) for s in REFERENCE_STRATEGIES for n in REFERENCE_WORKERS]
