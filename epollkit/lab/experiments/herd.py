"""The cost of a herd, measured as Majkowski did: N waiters blocked on one loopback listener, and a client
in a process of its own timing a non-blocking ``connect()``.

On loopback the handshake and the listener's wake-up run inside the client's ``connect()`` call (see
``_herd_client``): ``tcp_child_process()`` -> ``sock_def_readable()`` -> ``__wake_up_common()`` walks
the listener's wait queue and calls the wake function of every entry it has to wake. How many it has
to wake is the whole story (docs/kernel-rules.md §1):

- ``select`` / ``poll``: each waiter hung a non-exclusive entry (``__pollwait()``); every one is woken,
  so the connect() time grows linearly with N.
- ``epoll-lt-private``: each waiter's own epoll instance hung a non-exclusive entry
  (``ep_ptable_queue_proc()`` -> ``add_wait_queue()``); ``ep_poll_callback()`` runs for every instance and
  wakes its sleeper: linear too.
- ``epoll-exclusive``: the entries are exclusive (``add_wait_queue_exclusive()``); the walk stops at the
  first instance with a sleeper: flat.
- ``blocking``: waiters sleep in ``accept()`` (``inet_csk_wait_for_connect()``:
  ``prepare_to_wait_exclusive()``): wake-one, flat.

Waiters are threads with small stacks (``threading.stack_size``), each blocked with NO timeout (a
timeout would wake them on its own and change the queue). Between two connects the main thread waits
until the connection has been accepted (the listener's accept queue, read with ``TCP_INFO``, is
empty) and every waiter is asleep again in the wait it announced (its ``/proc`` state is ``S`` and its
``wchan`` is that wait's sleeping function, :data:`WAIT_WCHANS`; a thread asleep on a futex, i.e. on the
GIL, is not), so every connect meets the full herd asleep. The points of a sweep are measured in
increasing N, adding waiters to the ones already asleep; before each connect the machine is left quiet
for ``gap`` seconds, so that every connect starts from the same idle state.

What the kernel did, and what Python saw, are two counts per connect:

- ``kernel_wakeups_per_connect``: waiters the kernel woke. Each waiter's ``voluntary_ctxt_switches``
  (``/proc/self/task/<tid>/status``, ``task->nvcsw``) is read from the main thread with the herd asleep,
  before and after each connect. A thread asleep in its wait only runs again if something wakes it, so a
  counter that moved is a waiter the connect woke. ``voluntary_switches_per_connect`` is the raw sum:
  one per woken waiter (its next sleep in its wait) plus the sleeps a woken waiter took on the way there
  (for the GIL, or for the listener's lock in ``accept4()``).
- ``returns_per_connect``: woken waiters whose wait returned to Python saying the listener was
  readable (``eagain_per_connect`` of them then found nothing to accept). It can exceed 1: the listener
  stays readable until the first of them has run its ``accept4()``, and that thread first needs the GIL
  and a CPU, which it shares with every other woken waiter; each that re-checks the listener meanwhile
  (``do_select()``, ``ep_send_events()`` -> ``ep_item_poll()``) returns too. ``accepted_at_us``
  bounds that window: how long after ``connect()`` began the accepting waiter was back in Python with
  the connection (median; ``accept4()`` took it at or before that moment). It can be less than
  ``connect_us``: waiters woken early in the walk run on the other CPU while ``connect()`` still wakes
  the rest. The client reports when it called ``connect()`` on ``CLOCK_MONOTONIC``, the clock
  ``time.perf_counter_ns`` reads in both processes.
"""

from __future__ import annotations

import math
import os
import select
import socket
import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack

from ... import strategies
from ...analysis.orders import FD_SETSIZE
from ...analysis.stats import summarize_us
from ...errors import ExperimentTimeout, HelperProcessError, ResourceLimit
from ...records import HerdLatencyResult
from ...system import kernel_release
from ..children.herd_client import OK_ERRNOS
from ..harness import (
    WAIT_WCHANS,
    ClientProcess,
    StopSignal,
    Teardown,
    WorkerGroup,
    check_fd_room,
    own,
    raised_fd_limit,
    require_linux,
    sleeps_in,
    thread_room,
    thread_state,
    thread_wchan,
    vmrss_kib,
    voluntary_switches,
)
from ..harness.experiment import stop_workers
from ..harness.interrupts import uninterruptible
from ..harness.sockets import accept_queue_length
from ..harness.waits import wait_for

SUPPORTED = ("select", "poll", "epoll-lt-private", "epoll-exclusive", "blocking")
DEFAULT_STRATEGIES = ("select", "epoll-lt-private", "epoll-exclusive")  # the benchmark's three
DEFAULT_WAITERS = (0, 16, 64, 256, 512, 1024)
DEFAULT_REPEATS = 9
DEFAULT_DEADLINE = 60.0
MAX_WAITERS = 16_384  # Majkowski's largest point
MAX_REPEATS = 1000
STACK_SIZE = 128 * 1024  # per waiter; CPython 3.11+ keeps frames on the heap, so this is plenty
HOST = "127.0.0.1"
DEFAULT_GAP = 0.02  # s of quiet after the herd is asleep again, before the next connect()
BACKLOG = 4096  # capped by net.core.somaxconn
WAVE = 512  # waiters per WorkerGroup and (but for `blocking`) per stop eventfd: woken a wave at a time


# --------------------------------------------------------------------------------------- limits


# ----------------------------------------------------------------------------------- validation


def validate(strategy, waiters, repeats, deadline, gap=DEFAULT_GAP) -> tuple[strategies.Strategy, list[int]]:
    """Check every parameter before anything is created (``ValueError`` names the bad one); return the
    strategy and the waiter counts, sorted and de-duplicated."""
    strat = strategies.get("accept", strategy, SUPPORTED)
    if isinstance(waiters, (int, str)) or not isinstance(waiters, Sequence) or not waiters:
        raise ValueError(f"waiters must be a non-empty list of integers from 0 to {MAX_WAITERS}, "
                         f"not {waiters!r}")
    for n in waiters:
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_WAITERS:
            raise ValueError(f"waiters must be integers from 0 to {MAX_WAITERS}, not {n!r}")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or not 1 <= repeats <= MAX_REPEATS:
        raise ValueError(f"repeats must be an integer from 1 to {MAX_REPEATS}, not {repeats!r}")
    if isinstance(deadline, bool) or not isinstance(deadline, (int, float)) or not math.isfinite(deadline) \
            or not 0 < deadline <= 3600:
        raise ValueError(f"deadline must be a number of seconds > 0 and <= 3600, not {deadline!r}")
    if isinstance(gap, bool) or not isinstance(gap, (int, float)) or not 0 <= gap <= 10:
        raise ValueError(f"gap must be a number of seconds from 0 to 10, not {gap!r}")
    return strat, sorted(set(waiters))


def check_limits(strat: strategies.Strategy, most: int) -> None:
    """Raise ResourceLimit, naming the limit, if ``most`` waiters cannot have their threads (and, for
    epoll, their fds) on this machine."""
    room, desc = thread_room()
    if most > room:
        raise ResourceLimit(f"{most} waiters need {most} threads, but only {room} more are allowed here: "
                            f"{desc}")
    check_fd_room(_fds_needed(strat, most), f"{most} {strat.name} waiters")


def _fds_needed(strat: strategies.Strategy, most: int) -> int:
    """An epoll instance per epoll waiter, a stop eventfd per wave (but for `blocking`), and a few."""
    per_waiter_fds = 1 if strat.wait == "epoll_wait" else 0
    waves = 0 if strat.wait == "accept" else -(-most // WAVE)
    return most * per_waiter_fds + waves + 8


# ---------------------------------------------------------------------------------- measurement


def herd_latency(
    strategy: str = "select",
    waiters: Sequence[int] = DEFAULT_WAITERS,
    repeats: int = DEFAULT_REPEATS,
    *,
    deadline: float = DEFAULT_DEADLINE,
    gap: float = DEFAULT_GAP,
) -> HerdLatencyResult:
    """Time a non-blocking ``connect()`` to a loopback listener with N waiters blocked on it, for each N
    in ``waiters`` (0 to 16 384; checked against this machine's thread and fd limits before anything
    starts), ``repeats`` connects per N. Returns the median, p90, min (and mean) µs per N, how many
    waiters the kernel woke per connect (``kernel_wakeups_per_connect``, from their voluntary context
    switches), how many of those returned to Python (``returns_per_connect``) and found nothing
    (``eagain_per_connect``), and the resident set size with the waiters asleep.

    strategy   how each waiter waits: ``select``, ``poll``, ``epoll-lt-private``, ``epoll-exclusive``
               or ``blocking`` (names of ``epollkit.strategies``)
    deadline   seconds for the whole sweep; past it, everything is torn down and ExperimentTimeout raised.
               Teardown comes on top: about a second for 16 384 waiters (they are woken a wave of
               ``WAVE`` at a time, so that the woken threads do not all queue for the GIL at once)
    gap        seconds of quiet between "every waiter is asleep again" and the next connect(), so that
               every connect starts from the same idle machine (Majkowski waited 1 s). On a virtual
               machine, waking a thread on an idle virtual CPU costs tens of µs, and a CPU that was busy
               a moment ago does not: without a fixed gap the figure would depend on how long the
               previous step took, not on N.
    """
    strat, counts = validate(strategy, waiters, repeats, deadline, gap)
    require_linux(epoll=strat.wait == "epoll_wait",
                  flag="EPOLLEXCLUSIVE" if "EPOLLEXCLUSIVE" in strat.flags else None)
    check_limits(strat, counts[-1])
    return _HerdRun(strat, counts, repeats, float(deadline), float(gap)).execute()


class _HerdRun:
    """One sweep: a listener, a stop signal, the waiters (grown point by point) and the client."""

    def __init__(self, strat: strategies.Strategy, counts: list[int], repeats: int, deadline: float,
                 gap: float = DEFAULT_GAP):
        self.gap = gap
        self.strat = strat
        self.counts = counts
        self.repeats = repeats
        self.deadline = deadline
        self.stop: StopSignal | None = None  # made in execute(), closed by its ExitStack
        self.groups: list[WorkerGroup] = []
        self.epolls: list = []
        self.waiting: list[bool] = []
        self.tids: list[int] = []
        # per waiter: wait calls that returned for the listener, accepted, found nothing (EAGAIN)
        self.returns: list[int] = []
        self.accepts: list[int] = []
        self.eagain: list[int] = []
        self.accepted_ns = 0  # perf_counter_ns() when a waiter last accepted (CLOCK_MONOTONIC)
        self.flags = 0
        for name in strat.flags:
            self.flags |= getattr(select, name)

    # ---------------------------------------------------------------------------- the sweep

    def execute(self) -> HerdLatencyResult:
        t0 = time.monotonic()
        self.end = t0 + self.deadline
        points: list[dict] = []
        with Teardown() as stack:
            stack.enter_context(raised_fd_limit(_fds_needed(self.strat, self.counts[-1])))
            self.stop = own(stack, StopSignal)
            self.stop_r = self.stop.fileno()
            self.listener = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            self.listener.bind((HOST, 0))
            self.listener.listen(BACKLOG)
            # `blocking` needs a real blocking accept4() (a Python timeout would poll() first); the
            # others need a non-blocking one, so that a woken waiter that lost the race gets EAGAIN.
            self.listener.setblocking(self.strat.wait == "accept")
            self.lfd = self.listener.fileno()
            if self.strat.wait == "select" and max(self.lfd, self.stop_r) >= FD_SETSIZE:
                raise ResourceLimit(f"select() cannot watch fd {max(self.lfd, self.stop_r)}: this process "
                                    f"already uses fd numbers up to FD_SETSIZE ({FD_SETSIZE})")
            port = self.listener.getsockname()[1]

            client = own(stack, lambda: ClientProcess("epollkit.lab.children.herd_client", [HOST, port]))
            client.wait_ready(timeout=self._left("the client to start"))
            self.signals = stack.enter_context(ExitStack())  # the waves' stop eventfds: closed after
            stack.callback(self._teardown)  # runs first: stop and join the waiters

            for n in self.counts:
                self._grow(n)
                self._settle(n, "the waiters to block")
                rss = vmrss_kib()
                r0, a0, e0 = sum(self.returns), sum(self.accepts), sum(self.eagain)
                samples, at_us, woken, switches = [], [], 0, 0
                before = self._switches(n)
                for _ in range(self.repeats):
                    time.sleep(self.gap)  # quiet machine, herd asleep, counters read
                    self.accepted_ns = 0
                    reply = client.step(self._left("the client's connect()"))
                    if reply.get("errno") not in OK_ERRNOS:
                        raise HelperProcessError(f"connect() to the listener failed: {reply}")
                    samples.append(reply["us"])
                    if n == 0:
                        self._drain()
                    self._settle(n, "the herd to go back to sleep")
                    if self.accepted_ns and "start_ns" in reply:
                        at_us.append((self.accepted_ns - reply["start_ns"]) / 1000)
                    after = self._switches(n)
                    deltas = [a - b for a, b in zip(after, before, strict=True)]
                    woken += sum(1 for d in deltas if d)
                    switches += sum(deltas)
                    before = after
                summary = summarize_us(samples)
                summary["mean"] = round(sum(samples) / len(samples), 3)
                points.append({
                    "waiters": n,
                    "connect_us": summary,
                    "samples_us": [round(s, 3) for s in samples],
                    "kernel_wakeups_per_connect": round(woken / self.repeats, 3),
                    "voluntary_switches_per_connect": round(switches / self.repeats, 3),
                    "returns_per_connect": round((sum(self.returns) - r0) / self.repeats, 3),
                    "eagain_per_connect": round((sum(self.eagain) - e0) / self.repeats, 3),
                    "accepted_at_us": summarize_us(at_us)["median"] if at_us else None,
                    "accepted": sum(self.accepts) - a0,
                    "rss_kib": rss,
                })
        self._raise_worker_error()
        return HerdLatencyResult(
            experiment="herd-latency",
            backend="real",
            strategy=self.strat.name,
            repeats=self.repeats,
            points=points,
            params={"stack_kib": STACK_SIZE // 1024, "client": "separate process, non-blocking connect()",
                    "deadline": self.deadline, "gap_s": self.gap},
            kernel=kernel_release(),
            duration_s=round(time.monotonic() - t0, 4),
            peak_rss_kib=max(p["rss_kib"] for p in points),
        )

    def _left(self, what: str) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise ExperimentTimeout(f"herd_latency passed its deadline of {self.deadline:g} s waiting for "
                                    f"{what}")
        return left

    def _raise_worker_error(self) -> None:
        for g in self.groups:
            g.raise_first_error()

    def _drain(self) -> None:
        """With no waiters, the main thread takes the connection off the queue itself."""
        ready, _, _ = select.select([self.lfd], [], [], min(1.0, self._left("the connection")))
        if ready:
            fd, _addr = self.listener._accept()
            os.close(fd)

    def _awake(self, n: int) -> str:
        """'' if all ``n`` waiters have announced their wait and sleep in it: state ``S`` and a
        ``wchan`` of :data:`WAIT_WCHANS` for that wait (not ``futex_*``, the GIL); else what the first
        one that does not is doing. Where the kernel hides wchan ('' or '0'), the state alone decides,
        as in ``_harness.asleep_in_wait``."""
        for i, ready in enumerate(self.waiting[:n]):
            if not ready:
                return f"waiter {i} has not reached its {self.strat.wait}() yet"
        wait = self.strat.wait
        for i, tid in enumerate(self.tids[:n]):
            if i % 256 == 255 and time.monotonic() >= self.end:  # 16 384 waiters take a second to read
                return f"the deadline came with {i + 1} of {n} waiters checked"
            if not sleeps_in(tid, wait):
                state, w = thread_state(tid), thread_wchan(tid)
                if state not in "SD":
                    return f"waiter {i} is in state {state}"
                return f"waiter {i} sleeps in {w}, not in {' or '.join(sorted(WAIT_WCHANS[wait]))}"
        return ""

    def _switches(self, n: int) -> list[int]:
        """The first ``n`` waiters' voluntary context switches, read with the herd asleep."""
        return [voluntary_switches(t) for t in self.tids[:n]]

    def _settle(self, n: int, what: str) -> None:
        """Return when the accept queue is empty and all ``n`` waiters are asleep in their wait call."""
        while True:
            if any(g.failed.is_set() for g in self.groups):
                self._raise_worker_error()
            queued = accept_queue_length(self.listener)
            why = f"{queued} connection(s) still queued" if queued else self._awake(n)
            if not why:
                return
            self._left(f"{what} ({why})")
            time.sleep(0.0005)

    # ----------------------------------------------------------------------------- the waiters

    def _grow(self, n: int) -> None:
        """Add waiters up to ``n``, a wave of at most ``WAVE`` at a time: each wave is a WorkerGroup
        and (but for `blocking`, whose waiters only ``shutdown()`` wakes) has a stop eventfd of its own."""
        while len(self.tids) < n:
            try:
                self._grow_wave(min(WAVE, n - len(self.tids)))
            except ExperimentTimeout:  # name the sweep point, not the wave
                started = sum(g.started for g in self.groups)
                raise ExperimentTimeout(f"the deadline passed after starting {started} of {n} waiter "
                                        "threads") from None

    def _grow_wave(self, k: int) -> None:
        start = len(self.tids)
        stop = self.stop if self.strat.wait == "accept" else own(self.signals, StopSignal)
        if self.strat.wait == "select" and stop.fileno() >= FD_SETSIZE:
            raise ResourceLimit(f"select() cannot watch fd {stop.fileno()}: this process already uses fd "
                                f"numbers up to FD_SETSIZE ({FD_SETSIZE})")
        if self.strat.wait == "epoll_wait":
            for _ in range(k):
                ep = select.epoll()
                self.epolls.append(ep)
                # The wave's stop eventfd, without EPOLLEXCLUSIVE: one write wakes every (private)
                # instance of the wave.
                stop.watch(ep)
                # Registration order is wake order for EPOLLEXCLUSIVE: ep_ptable_queue_proc() adds
                # exclusive entries at the tail, __wake_up_common() scans from the head.
                ep.register(self.lfd, self.flags)
        self.waiting.extend([False] * k)
        self.tids.extend([0] * k)
        for counter in (self.returns, self.accepts, self.eagain):
            counter.extend([0] * k)
        group = WorkerGroup(k, lambda i, g, base=start: self._waiter(base + i, i, g), name=f"herd-{start}",
                            stop=stop)
        self.groups.append(group)
        old = threading.stack_size(STACK_SIZE)  # process-wide: applies to threads started meanwhile
        try:
            group.start(deadline=self.end)  # thousands of starts take seconds: the deadline holds
        finally:
            threading.stack_size(old)

    @uninterruptible
    def _teardown(self) -> None:
        """Stop the waiters. `blocking`: one ``shutdown()`` wakes them all. The others: a wave at a
        time (its own stop eventfd, then its joins), so that at most ``WAVE`` woken threads queue for
        the GIL at once; 16 384 woken together took from 15 s to minutes to hand it round (see
        :mod:`epollkit.lab.harness.gil`). Every wave is stopped even if one leaks; the first error is
        raised after."""
        try:
            if self.strat.wait == "accept":
                stop_workers(self.stop, *self.groups, listeners=[self.listener])
                return
            first: BaseException | None = None
            for group in self.groups:
                try:
                    stop_workers(group.stop, group)
                except BaseException as exc:  # noqa: BLE001 - re-raised once every wave is stopped
                    first = first or exc
            if first is not None:
                raise first
        finally:
            for ep in reversed(self.epolls):
                ep.close()

    def _try_accept(self, i: int) -> None:
        try:
            fd, _addr = self.listener._accept()
        except BlockingIOError:
            self.eagain[i] += 1  # another waiter got there first
            return
        self.accepted_ns = time.perf_counter_ns()
        os.close(fd)
        self.accepts[i] += 1

    def _waiter(self, i: int, local: int, group: WorkerGroup) -> None:
        self.tids[i] = threading.get_native_id()
        stop = group.stop  # the wave's stop signal
        wait, lfd, stop_r = self.strat.wait, self.lfd, stop.fileno()
        waiting, returns = self.waiting, self.returns
        group.mark_ready(local)
        if wait == "accept":
            while True:
                waiting[i] = True
                try:
                    fd, _addr = self.listener._accept()  # a real blocking accept4(): wake-one, FIFO
                except OSError:
                    waiting[i] = False
                    if stop.is_set():
                        return
                    raise
                self.accepted_ns = time.perf_counter_ns()
                waiting[i] = False
                returns[i] += 1
                os.close(fd)
                self.accepts[i] += 1
        waiter = wait_for(wait, lfd, stop_r, self.epolls[i] if wait == "epoll_wait" else None)
        while True:
            waiting[i] = True
            ready = waiter.wait()  # no timeout
            waiting[i] = False
            if stop.is_set():
                return
            if ready:
                returns[i] += 1
                self._try_accept(i)

def reference_runs() -> list[HerdLatencyResult]:
    """The records ``epollkit record`` stores in ``data/reference/herd_latency.json``: the default sweep
    for every supported strategy."""
    return [herd_latency(s) for s in SUPPORTED]
