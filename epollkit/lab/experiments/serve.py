"""One shared queue or a queue per worker? The live queueing experiment of notebook 06.

``connections`` client sockets (AF_UNIX stream pairs) carry requests; each request asks for a service
time drawn from a gamma distribution with mean ``service_ms`` and coefficient of variation ``cv``
(1 = exponential, 0 = fixed). A worker "serves" a request by sleeping for that long -- a sleep, not a
busy loop, so the GIL does not serialise the work and a 2-core machine can stand in for many cores.
``workers`` threads serve them in one of two ways:

- ``shared`` -- the post's "combined queue": ONE epoll set holds every connection, registered
  ``EPOLLIN | EPOLLET | EPOLLONESHOT``. A worker takes one readable connection, reads one request, serves
  it and re-arms the connection with ``EPOLL_CTL_MOD``. The ready list (``rdllist``) is the one line; any
  idle worker takes its head.
- ``sharded`` -- each worker owns a fixed share of the connections (connection j belongs to worker
  j mod workers) in its own epoll set, level-triggered: a queue per worker. A busy worker's requests wait
  even while another worker idles.

Arrivals are Poisson at rate utilization x workers / service_ms, each on a connection chosen uniformly at
random, sent on an absolute schedule (seeded: both strategies get the same requests) by a generator in a
PROCESS OF ITS OWN (``_serve_generator``): it holds the client ends of the connections, sends each request
on time and stamps the worker's 4-byte answer. So the latency clock -- answer received - request sent --
runs entirely outside the workers' process and never waits for their GIL. (The workers still need their
own GIL to run between wake-up and sleep: that is part of the server being measured.) wait = service
started (stamped by the worker) - request sent; both processes read CLOCK_MONOTONIC (``time.monotonic``).
The first 10% of requests (the queue filling from empty) are left out of the statistics.

The formulas beside each run (``model``) are evaluated at the NOMINAL arrival rate and mean service time
-- the system that was asked for: M/M/c for ``shared``, c x M/M/1 for ``sharded``
(``epollkit.analysis.queueing``).
``params`` records what was achieved beside it: the measured mean service time (a sleep overshoots), the
measured arrival rate and the utilisation they make. Two known departures from those models: the ready
list is FIFO by connection, not by request, and a second request on a connection that is being served
waits for the re-arm (shared) or for its turn on the worker's ready list (sharded).
"""

from __future__ import annotations

import random
import select
import struct
import threading
import time
from collections.abc import Sequence

from ... import strategies
from ...analysis import queueing
from ...analysis.queueing import model_prediction
from ...analysis.stats import latency_stats
from ...errors import ExperimentTimeout, HelperProcessError
from ...records import ServeResult
from ...system import kernel_release
from ...validate import check_int, check_number
from ..harness import (
    ClientProcess,
    StopSignal,
    Teardown,
    WorkerGroup,
    check_fd_budget,
    check_thread_room,
    own,
    require_linux,
    socket_pair,
)
from ..harness.experiment import start_workers

STRATEGIES = tuple(strategies.SERVE)
REQUEST = struct.Struct("<II")  # request id, service time in microseconds
ANSWER = struct.Struct("<I")  # request id, sent back when the service is done
WARMUP = 0.1
DEFAULT_DEADLINE = 120.0


def validate(strategy, workers, utilization, requests, service_ms, cv, connections, seed, deadline) -> None:
    """Check every parameter before anything is created; ``ValueError`` names the bad one."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown serve strategy {strategy!r}; valid: {', '.join(STRATEGIES)}")
    check_int("workers", workers, 1, 64)
    check_number("utilization", utilization, 0, 0.99, open_low=True)
    check_int("requests", requests, 10, 200_000)
    check_number("service_ms", service_ms, 0.1, 1000)
    check_number("cv", cv, 0, 4)
    check_int("connections", connections, workers, 1024)
    check_int("seed", seed, 0, 2**32 - 1)
    check_number("deadline", deadline, 0, 3600, open_low=True)


def schedule(workers: int, utilization: float, requests: int, service_ms: float, cv: float,
             connections: int, seed: int) -> list[tuple[float, int, int]]:
    """The requests, as ``(arrival time in s from the start, connection, service time in us)`` (pure:
    a seeded ``random.Random``). Service times are gamma distributed (shape 1/cv^2, mean service_ms);
    cv = 0 gives a fixed service time."""
    rng = random.Random(seed)
    rate = utilization * workers / (service_ms / 1e3)  # requests per second, all workers together
    out, t = [], 0.0
    for _ in range(requests):
        t += rng.expovariate(rate)
        conn = rng.randrange(connections)
        if cv == 0:
            service = service_ms
        else:
            shape = 1.0 / (cv * cv)
            service = rng.gammavariate(shape, service_ms / shape)
        out.append((t, conn, max(1, round(service * 1e3))))
    return out


def serve(
    strategy: str = "shared",
    workers: int = 4,
    utilization: float = 0.7,
    *,
    requests: int = 2_000,
    service_ms: float = 2.0,
    cv: float = 1.0,
    connections: int = 64,
    seed: int = 1,
    deadline: float = DEFAULT_DEADLINE,
) -> ServeResult:
    """Run one queueing experiment on this kernel and return its record (see the module docstring).

    strategy     ``"shared"`` (one epoll set, EPOLLONESHOT) or ``"sharded"`` (a share per worker)
    workers      1-64 worker threads
    utilization  target rho in (0, 0.99]: arrival rate / total service capacity
    requests     10-200 000 requests; a run lasts about requests x service_ms / (workers x rho)
    service_ms   mean service time, 0.1-1000 ms; ``cv`` its coefficient of variation, 0-4
    connections  client connections, from ``workers`` to 1024
    seed         the schedule's seed (same seed -> same requests for both strategies)
    """
    validate(strategy, workers, utilization, requests, service_ms, cv, connections, seed, deadline)
    require_linux()
    fd_budget = check_fd_budget(2 * connections + workers + 8, f"{connections} connections")
    check_thread_room(workers + 1, f"{workers} workers")
    plan = schedule(workers, utilization, requests, service_ms, cv, connections, seed)
    with fd_budget:
        return _ServeRun(strategy, workers, utilization, plan, service_ms, cv, connections, seed,
                         deadline).execute()


class _ServeRun:
    def __init__(self, strategy, workers, utilization, plan, service_ms, cv, connections, seed, deadline):
        self.strategy = strategy
        self.workers = workers
        self.utilization = utilization
        self.plan = plan
        self.service_ms = service_ms
        self.cv = cv
        self.connections = connections
        self.seed = seed
        self.deadline = deadline
        n = len(plan)
        self.start = [0.0] * n
        self.end = [0.0] * n
        self.served = [0] * workers
        self.busy = [0.0] * workers
        self.eagain = [0] * workers
        self.completed = 0
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.epolls: list = []
        self.strat = strategies.get("serve", strategy)
        self.flags = 0
        for name in self.strat.flags:
            self.flags |= getattr(select, name)

    def execute(self) -> ServeResult:
        with Teardown() as stack:
            self.stop = own(stack, StopSignal)
            self.clients, self.servers = [], {}
            for _ in range(self.connections):
                a, b = socket_pair(stack)
                b.setblocking(False)
                self.clients.append(a)
                self.servers[b.fileno()] = b
            for _ in range(self.strat.epolls(self.workers)):
                ep = stack.enter_context(select.epoll())
                self.stop.watch(ep)  # level-triggered, never read; re-poked until all joined
                self.epolls.append(ep)
            for j, fd in enumerate(self.servers):
                self.epolls[self.strat.epoll_of(j % self.workers)].register(fd, self.flags)

            fds = [c.fileno() for c in self.clients]  # the generator inherits the client ends
            gen = own(stack, lambda: ClientProcess(
                "epollkit.lab.children.serve_generator",
                [self.workers, self.utilization, len(self.plan), self.service_ms, self.cv,
                 self.connections, self.seed, ",".join(map(str, fds))], pass_fds=fds))
            for c in self.clients:  # the generator holds its own copies; ours would only keep them open
                c.close()
            gen.wait_ready()
            group = start_workers(stack, self.workers, self._worker, name=f"serve-{self.strategy}",
                                  stop=self.stop)
            t0 = time.monotonic()
            gen.go()
            finished = self._wait_done()
            if not finished:
                raise ExperimentTimeout(f"deadline of {self.deadline:g} s passed: {self.completed} of "
                                        f"{len(self.plan)} requests served ({self.strategy})")
            if group.failed.is_set():
                report = None  # re-raised below
            else:
                report = gen.result(timeout=5.0)  # the last answer is on its way: a moment
                if report.get("error"):
                    raise HelperProcessError(f"the request generator failed: {report['error']}")
            duration = time.monotonic() - t0
        group.raise_first_error()
        return self._summarize(duration, report)

    def _wait_done(self) -> bool:
        return self.done.wait(self.deadline)

    def _worker(self, index: int, group: WorkerGroup) -> None:
        try:
            self._loop(index, group)
        except BaseException:
            self.done.set()
            raise

    def _loop(self, index: int, group: WorkerGroup) -> None:
        ep = self.epolls[self.strat.epoll_of(index)]
        stop_fd, stop, shared = self.stop.fileno(), group.stop_flag, self.strat.rearm
        servers, flags, n = self.servers, self.flags, len(self.plan)
        group.mark_ready(index)
        while True:
            events = ep.poll(-1, 1)  # no timeout: a timeout would reorder ep->wq
            fd = events[0][0] if events else -1
            if stop.is_set() or fd == stop_fd:
                return
            try:
                data = servers[fd].recv(REQUEST.size)
            except BlockingIOError:
                self.eagain[index] += 1
                if shared:
                    ep.modify(fd, flags)
                continue
            if not data:
                # EOF: the generator closes its ends only once every answer is in (or it was stopped).
                # The last answer can reach it before its sender has counted it (below), so EOF may
                # come before `done` is set: leave quietly; the main thread judges completeness.
                return
            if len(data) != REQUEST.size:
                raise RuntimeError(f"short request: {len(data)} bytes")
            rid, service_us = REQUEST.unpack(data)
            start = time.monotonic()
            time.sleep(service_us / 1e6)
            end = time.monotonic()
            servers[fd].send(ANSWER.pack(rid))  # the generator stamps the answer: the latency clock
            self.start[rid], self.end[rid] = start, end
            self.served[index] += 1
            self.busy[index] += end - start
            if shared:
                # EPOLLONESHOT disarmed the connection when it was handed to us (ep_send_events);
                # ep_modify() re-arms it and, if another request is already queued on it, puts it back
                # on the shared ready list and wakes one idle worker.
                ep.modify(fd, flags)
            with self.lock:
                self.completed += 1
                if self.completed == n:
                    self.done.set()

    def _summarize(self, duration: float, report: dict) -> ServeResult:
        n = len(self.plan)
        skip = int(n * WARMUP)
        ids = range(skip, n)
        sent, answered = report["sent"], report["answered"]
        lat = [(answered[i] - sent[i]) * 1e3 for i in ids]
        wait = [(self.start[i] - sent[i]) * 1e3 for i in ids]
        service = [(self.end[i] - self.start[i]) * 1e3 for i in range(n)]
        span = sent[-1] - sent[0]
        rate = (n - 1) / span if span > 0 else 0.0
        mean_service = sum(service) / n
        nominal_rate = self.utilization * self.workers / (self.service_ms / 1e3)
        model = model_prediction(self.strategy, self.workers, nominal_rate, self.service_ms, self.cv)
        late = sorted(sent[i] - (report["t0"] + self.plan[i][0]) for i in range(n))
        # the same requests, at the times they were really sent, with the service times really slept,
        # through ideal FIFO queues: what is left between this and the measurement is the server's cost
        order = sorted(range(n), key=sent.__getitem__)
        shares = None if self.strat.epolls(self.workers) == 1 else [
            self.plan[i][1] % self.workers for i in order]
        ideal = queueing.fifo_replay([sent[i] for i in order], [self.end[i] - self.start[i] for i in order],
                                     self.workers, shares)
        replay = [0.0] * n
        for i, resp in zip(order, ideal, strict=True):
            replay[i] = resp * 1e3
        return ServeResult(
            experiment="serve",
            backend="real",
            strategy=self.strategy,
            workers=self.workers,
            connections=self.connections,
            requests=n,
            completed=self.completed,
            service_ms=self.service_ms,
            cv=self.cv,
            utilization=self.utilization,
            arrival_rate=round(rate, 2),
            latency_ms=latency_stats(lat),
            wait_ms=latency_stats(wait),
            per_worker=[{"worker": i, "served": self.served[i], "busy_s": round(self.busy[i], 4),
                         "eagain": self.eagain[i]} for i in range(self.workers)],
            model=model,
            params={"seed": self.seed, "measured_service_ms": round(mean_service, 4),
                    "measured_utilization": round(rate * mean_service / 1e3 / self.workers, 4),
                    "nominal_rate": round(nominal_rate, 2),
                    "fifo_replay_ms": latency_stats([replay[i] for i in ids]),
                    "send_late_ms": {"p50": round(late[n // 2] * 1e3, 4),
                                     "p99": round(late[min(n - 1, int(0.99 * n))] * 1e3, 4)},
                    "generator": "process", "warmup_skipped": skip},
            kernel=kernel_release(),
            duration_s=round(duration, 4),
        )


def serve_sweep(
    utilizations: Sequence[float] = (0.5, 0.7, 0.8, 0.9),
    workers: int = 4,
    strategies: Sequence[str] = STRATEGIES,
    **kw,
) -> list[ServeResult]:
    """Both strategies at each utilisation, with the same seed (the same requests)."""
    for u in utilizations:
        check_number("utilization", u, 0, 0.99, open_low=True)
    return [serve(s, workers, u, **kw) for u in utilizations for s in strategies]


def reference_runs() -> list[ServeResult]:
    """What ``epollkit record`` stores in ``data/reference/serve.json``: 4 workers at utilisations
    0.3-0.9 (exponential service), and at 0.8 the spread cv = 0 and 2 and 2 or 8 workers."""
    out = serve_sweep((0.3, 0.5, 0.7, 0.8, 0.9), 4, requests=3_000)
    out += serve_sweep((0.8,), 4, cv=0.0, requests=3_000)
    out += serve_sweep((0.8,), 4, cv=2.0, requests=3_000)
    out += serve_sweep((0.8,), 2, requests=3_000)
    out += serve_sweep((0.8,), 8, requests=3_000)
    return out


