"""The live read experiment: ``readers`` threads share ONE connected TCP socket on 127.0.0.1 and a
sender writes numbered messages into it. Do the bytes reach the application's stream in the order they
were sent?

Each reader waits in ``epoll_wait()`` (strategy table in docs/architecture.md), reads up to ``read_size``
bytes and "delivers" the chunk: appends it to the application's stream (a list, behind a lock -- the lock
orders the appends, it does not close the gap between a ``read()`` and its delivery, which is the whole
point).

Observe, then interpret: the run records only the chunks each reader read, in its own order, and the
order of the deliveries. Afterwards ``locate_chunks`` finds where each chunk sits in the sent stream (the
messages carry their numbers) and ``results.summarize_read`` -- the same pure function the model uses --
counts split messages and reordered deliveries.

Message format (``message_size`` bytes): ``mix(i)`` and ``i`` as two big-endian 32-bit words, then filler
bytes from a fixed pseudo-random table at an offset that depends on ``i``. A message of 8 bytes or more
checks itself (``mix(i)`` must match ``i``); shorter messages are prefixes of that header. Any chunk of a
few bytes therefore has one place in the stream; for a chunk so short that two places fit, the placement
that counts fewer reorderings is chosen (the count is a lower bound, never inflated).

Readers wait with no timeout (a timeout would add wake-ups and move the thread in ``ep->wq``): the stop is the
harness's eventfd (``harness/stop.py``), registered level-triggered in every epoll set, that teardown writes
until every reader has joined. The sender does NOT shut its side down after the last byte: the readers learn
the end from the byte count, so no EOF wake-up cascade runs while the wake-ups are being counted.

Wake-ups (``kernel_wakeups``) are the readers' voluntary context switches (``task->nvcsw``, read by the
main thread from ``/proc/self/task/<tid>/status``) between two readings: once every reader is asleep in
``epoll_wait()`` before the first byte is sent, and once every byte is delivered and the readers are asleep
again -- before the stop. Start-up, teardown and the stop's wake-up are outside the interval. Inside it
every sleep counts: sleeps in ``epoll_wait()`` that ended (including wake-ups that found nothing and slept
again inside the kernel), and sleeps on the GIL or the delivery lock (a futex). The ``think_us`` sleeps
(``clock_nanosleep``, one voluntary switch each) are subtracted; ``params["think_sleeps"]`` says how many.
The sender runs in a process of its own by default (``sender="process"``), so it takes no part in the
readers' GIL; ``sender="thread"`` keeps it in this process for comparison.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from dataclasses import dataclass

from ... import strategies
from ...analysis.messages import locate_chunks, stream
from ...analysis.summarize import summarize_read
from ...errors import ExperimentTimeout, LeakError
from ...records import ReaderStats, ReadResult
from ...system import kernel_release
from ...validate import check_int, check_number
from ..harness import (
    JOIN_TIMEOUT_S,
    ClientProcess,
    StopSignal,
    Teardown,
    WorkerGroup,
    accept_on,
    check_fd_budget,
    check_thread_room,
    own,
    require_linux,
    voluntary_switches,
)
from ..harness.experiment import start_workers
from ..harness.waits import EpollWait

HOST = "127.0.0.1"
MIB = 1 << 20
MAX_READERS = 64
MAX_MESSAGES = 1_000_000
MAX_SIZE = MIB
MAX_THINK_US = 100_000
MAX_STREAM = 256 * MIB  # messages x message_size: the sent and the delivered stream are both kept
DEFAULT_DEADLINE = 60.0

#: strategies the lab runs: the contract's four, plus the early re-arm variant. ``et-once`` (one read
#: per edge) strands bytes until the next write and would hang at the end; it is model-only.
SUPPORTED = ("lt", "et", "lt-exclusive", "oneshot", "oneshot-early-rearm")


# ------------------------------------------------------------------------------------ validation


def validate(strategy, readers, messages, message_size, read_size, think_us, per_send, pace_us,
             sender, deadline) -> strategies.Strategy:
    """Check every parameter before anything is created; ``ValueError`` names the bad one."""
    strat = strategies.get("read", strategy, SUPPORTED)
    check_int("readers", readers, 1, MAX_READERS)
    check_int("messages", messages, 1, MAX_MESSAGES)
    check_int("message_size", message_size, 1, MAX_SIZE)
    check_int("read_size", read_size, 1, MAX_SIZE)
    check_number("think_us", think_us, 0, MAX_THINK_US)
    check_int("per_send", per_send, 1, MAX_MESSAGES)
    check_number("pace_us", pace_us, 0, 1_000_000)
    if sender not in ("thread", "process"):
        raise ValueError(f"sender must be 'thread' or 'process', not {sender!r}")
    check_number("deadline", deadline, 0, 3600, open_low=True)
    if messages * message_size > MAX_STREAM:
        raise ValueError(f"messages x message_size must be at most {MAX_STREAM} bytes (256 MiB), not "
                         f"{messages} x {message_size} = {messages * message_size}")
    if per_send * message_size > 16 * MIB:
        raise ValueError(f"per_send x message_size must be at most 16 MiB per send(), not "
                         f"{per_send} x {message_size}")
    return strat


# ---------------------------------------------------------------------------------- the experiment


def read(
    strategy: str = "oneshot",
    readers: int = 2,
    messages: int = 20_000,
    *,
    message_size: int = 64,
    read_size: int = 2048,
    think_us: float = 0,
    per_send: int = 1,
    pace_us: float = 0,
    sender: str = "process",
    deadline: float = DEFAULT_DEADLINE,
) -> ReadResult:
    """Run one read experiment on this kernel and return its record.

    strategy      ``lt``, ``et``, ``lt-exclusive``, ``oneshot`` or ``oneshot-early-rearm``
    readers       reader threads, 1-64
    messages      numbered messages the sender writes, 1-1 000 000
    message_size  bytes per message, 1 B-1 MiB (default 64)
    read_size     bytes asked of each ``read()``, 1 B-1 MiB (default 2048, as in the post)
    think_us      microseconds a reader sleeps between its wake-up and its first ``read()``
                  (0-100 000). Notebook 07 measures what it does to the race (it
                  closes more than it widens: the readers fall into taking turns).
                  ``time.sleep`` cannot sleep less than ~50 us.
    per_send      messages written per ``send()`` (1 = paced by the syscall, 16 = bursts of 16)
    pace_us       microseconds the sender sleeps between ``send()`` calls (0 = as fast as it can)
    sender        ``"process"`` (default: its own process, outside the readers' GIL) or ``"thread"``
                  (shares this process and its GIL with the readers: for comparison)
    deadline      seconds before the run is stopped with ExperimentTimeout

    ``params`` of the record holds think_us, per_send, pace_us, sender, the number of ``epoll_ctl``
    re-arms, the think sleeps subtracted from the wake-ups, and messages/s and MB/s over ``duration_s``
    (the go to the sender to the last delivery). ``kernel_wakeups``: see the module docstring.
    """
    strat = validate(strategy, readers, messages, message_size, read_size, think_us, per_send, pace_us,
                     sender, deadline)
    require_linux(flag="EPOLLEXCLUSIVE" if "EPOLLEXCLUSIVE" in strat.flags else None)
    fd_budget = check_fd_budget(readers + 10, f"{readers} readers ({strategy})")
    check_thread_room(readers + 1, f"{readers} readers ({strategy})")  # + the sender
    run = _ReadRun(strat, readers, messages, message_size, read_size, float(think_us), per_send,
                   float(pace_us), sender, float(deadline))
    with fd_budget:
        return run.execute()


@dataclass(slots=True)
class ReadCounters:
    """What one reader counted (its own thread writes them; the main thread reads them after join)."""

    reads: int = 0  # read() calls that returned bytes
    returns: int = 0  # epoll_wait() returns that reported the stream
    eagain: int = 0  # read() calls that found nothing
    epoll_ctl: int = 0  # EPOLL_CTL_MOD re-arms
    think_sleeps: int = 0  # think_us sleeps: one voluntary switch each, subtracted from the wake-ups


class _ReadRun:
    """One run: the connection, epoll sets, readers and the sender, torn down in reverse, always."""

    def __init__(self, strat, readers, messages, message_size, read_size, think_us, per_send, pace_us,
                 sender, deadline):
        self.strat = strat
        self.readers = readers
        self.messages = messages
        self.message_size = message_size
        self.read_size = read_size
        self.think_s = think_us / 1e6
        self.think_us = think_us
        self.per_send = per_send
        self.pace_s = pace_us / 1e6
        self.pace_us = pace_us
        self.sender = sender
        self.deadline = deadline
        self.flags = 0
        for name in strat.flags:
            self.flags |= getattr(select, name)
        self.sent = stream(messages, message_size)
        self.total = len(self.sent)
        # observations
        self.chunks: list[list[bytes]] = [[] for _ in range(readers)]
        self.order: list[tuple[int, int]] = []
        self.delivered = 0
        # reads, returns, eagain, epoll_ctl, think sleeps
        self.stats = [ReadCounters() for _ in range(readers)]
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.send_stop = threading.Event()
        self.sender_error: BaseException | None = None
        self.sender_thread: threading.Thread | None = None
        self.epolls: list = []

    def execute(self) -> ReadResult:
        s = self.strat
        with Teardown() as stack:
            self.stop = own(stack, StopSignal)
            lsock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            lsock.bind((HOST, 0))
            lsock.listen(1)
            lsock.settimeout(10.0)  # the main thread's own accept, not a worker's wait
            port = lsock.getsockname()[1]

            client = None
            out = None
            if self.sender == "process":
                client = own(stack, lambda: ClientProcess(
                    "epollkit.lab.children.read_sender",
                    [HOST, port, self.messages, self.message_size, self.per_send, self.pace_us]))
                client.wait_ready()
            else:
                out = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
                out.connect((HOST, port))
            conn = accept_on(stack, lsock, 10.0)
            lsock.close()
            conn.setblocking(False)
            self.conn = conn
            cfd = conn.fileno()

            for _ in range(s.epolls(self.readers)):
                ep = stack.enter_context(select.epoll())
                # The stop eventfd: level-triggered, never read, written until every reader has
                # joined (harness/stop.py: on 5.5-5.12 one write wakes one sleeper of a shared set).
                self.stop.watch(ep)
                # EPOLLEXCLUSIVE entries wake in registration order (ep_ptable_queue_proc appends
                # them at the tail of the socket's wait queue; __wake_up_common scans from the head).
                ep.register(cfd, self.flags)
                self.epolls.append(ep)

            stack.callback(self._check_sender)  # runs after the readers' teardown below
            group = start_workers(stack, self.readers, self._reader, name=f"read-{s.name}",
                                  stop=self.stop, then=lambda: self._stop_sender(out), what="readers")
            base = [voluntary_switches(t) for t in group.tids]
            t0 = time.perf_counter()
            if client is not None:
                client.go()
            else:
                self.sender_thread = threading.Thread(target=self._send, args=(out,), daemon=True,
                                                      name="epollkit-read-sender")
                self.sender_thread.start()
            finished = self._wait_done()
            duration = time.perf_counter() - t0
            if not finished:
                raise ExperimentTimeout(
                    f"deadline of {self.deadline:g} s passed: {self.delivered} of {self.total} bytes "
                    f"delivered ({s.name}, {self.readers} readers)")
            if group.failed.is_set() or self.sender_error is not None:
                end = base  # re-raised below; the counters do not matter
            else:
                # every byte is delivered: let the last wake-ups finish (the readers drain to EAGAIN,
                # re-arm and sleep again), then read the counters -- before the stop wakes anyone
                group.wait_blocked(timeout=1.0, settle=0.05)
                end = [voluntary_switches(t) for t in group.tids]
                if client is not None:  # counted: now the sender may close (the EOF is teardown)
                    client.proc.stdin.write("stop\n")
                    client.proc.stdin.flush()
                    client.result(timeout=5.0)
        group.raise_first_error()
        if self.sender_error is not None:
            raise self.sender_error

        per_reader = [
            ReaderStats(reader=i, reads=st.reads, bytes=sum(len(c) for c in self.chunks[i]),
                        returns=st.returns, eagain=st.eagain,
                        kernel_wakeups=max(0, end[i] - base[i] - st.think_sleeps))
            for i, st in enumerate(self.stats)
        ]
        deliveries = locate_chunks(self.sent, self.chunks, self.order)
        params = {
            "think_us": self.think_us,
            "per_send": self.per_send,
            "pace_us": self.pace_us,
            "sender": self.sender,
            "epoll_ctl": sum(st.epoll_ctl for st in self.stats),
            "think_sleeps": sum(st.think_sleeps for st in self.stats),
            "chunks": len(self.order),
            "messages_per_s": round(self.messages / duration, 1),
            "mb_per_s": round(self.total / duration / 1e6, 3),
        }
        return summarize_read(
            backend="real",
            strategy=s.name,
            messages=self.messages,
            message_size=self.message_size,
            read_size=self.read_size,
            deliveries=deliveries,
            per_reader=per_reader,
            bytes_sent=self.total,
            params=params,
            kernel=kernel_release(),
            duration_s=duration,
        )

    def _wait_done(self) -> bool:
        """Block until every byte is delivered or a reader failed (True), or the deadline (False)."""
        return self.done.wait(self.deadline)

    def _stop_sender(self, out: socket.socket | None) -> None:
        """The read experiment's part of the teardown (harness.stop_workers runs it after the stop
        signal and before joining the readers): stop a sender thread. (A sender process is killed and
        reaped afterwards by its ``ClientProcess``.)"""
        self.send_stop.set()  # a pacing sender stops waiting
        if out is not None:
            try:
                out.shutdown(socket.SHUT_RDWR)  # a sender blocked in send() returns (EPIPE)
            except OSError:
                pass
        if self.sender_thread is not None:
            self.sender_thread.join(JOIN_TIMEOUT_S)

    def _check_sender(self) -> None:
        if self.sender_thread is not None and self.sender_thread.is_alive():
            raise LeakError("the sender thread did not stop")

    # -------------------------------------------------------------------------------------- sender

    def _send(self, out: socket.socket) -> None:
        view = memoryview(self.sent)
        step = self.per_send * self.message_size
        try:
            for off in range(0, self.total, step):
                out.sendall(view[off : off + step])
                # the sender is not a measured waiter: it may wait with a timeout (and stop at once)
                if self.pace_s and self.send_stop.wait(self.pace_s):
                    return
            # no shutdown(SHUT_WR) here: an EOF would wake the readers while their wake-ups are counted;
            # they know the end from the byte count, and the stop shuts the socket down
        except OSError as exc:
            if not self.done.is_set() and not isinstance(exc, (BrokenPipeError, ConnectionResetError)):
                self.sender_error = exc
                self.done.set()
        finally:
            view.release()

    # ------------------------------------------------------------------------------------- readers

    def _deliver(self, index: int, data: bytes) -> None:
        # The application's stream: the lock orders the appends; the race is before it.
        with self.lock:
            self.order.append((index, len(self.chunks[index])))
            self.chunks[index].append(data)
            self.delivered += len(data)
            if self.delivered >= self.total:
                self.done.set()

    def _reader(self, index: int, group: WorkerGroup) -> None:
        try:
            self._loop(index, group)
        except BaseException:
            self.done.set()  # wake the main thread; WorkerGroup records the error
            raise

    def _loop(self, index: int, group: WorkerGroup) -> None:
        s, st = self.strat, self.stats[index]
        ep = self.epolls[s.epoll_of(index)]
        conn, cfd, size = self.conn, self.conn.fileno(), self.read_size
        stop = group.stop_flag
        early = s.rearm and not s.deliver_before_rearm
        waiter = EpollWait(cfd, self.stop.fileno(), ep)  # no timeout (module docstring); stream + stop
        group.mark_ready(index)
        while True:
            ready = waiter.wait()
            if stop.is_set():
                return
            if not ready:
                continue
            st.returns += 1
            if self.think_s:
                st.think_sleeps += 1  # one voluntary switch (clock_nanosleep), not a wake-up
                time.sleep(self.think_s)
            eof = False
            pending = []
            while True:
                try:
                    data = conn.recv(size)
                except BlockingIOError:
                    st.eagain += 1
                    break
                if not data:
                    eof = True
                    break
                st.reads += 1
                if early:
                    pending.append(data)
                else:
                    self._deliver(index, data)
                if not s.drain:
                    break
            if s.rearm:
                if early:
                    # WRONG on purpose: the item is armed again while this reader still holds bytes
                    # it has not delivered; ep_modify() finds the socket readable, queues the item
                    # and wakes another reader, whose newer bytes can reach the stream first.
                    ep.modify(cfd, self.flags)
                    st.epoll_ctl += 1
                    for data in pending:
                        self._deliver(index, data)
                else:
                    # EPOLLONESHOT disarmed the item in ep_send_events(): no other reader could be
                    # woken for this socket while we read and delivered. ep_modify() re-arms it and,
                    # if bytes arrived meanwhile, queues it and wakes one sleeper (no lost wake-up).
                    ep.modify(cfd, self.flags)
                    st.epoll_ctl += 1
            if eof:
                return  # the sender's side is gone (stopped or failed): nothing more will come
