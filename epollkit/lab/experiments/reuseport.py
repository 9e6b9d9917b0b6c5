"""``SO_REUSEPORT`` on the running kernel: how the group spreads connections, what closing one listener
does to the connections queued on it, ``SO_INCOMING_CPU``, and a classic BPF program that picks the
listener (``SO_ATTACH_REUSEPORT_CBPF``), built with ``ctypes``.

Some facts about a reuseport group, from the kernel sources (net/core/sock_reuseport.c,
net/ipv4/inet_hashtables.c, net/ipv4/inet_connection_sock.c):

- Every TCP socket bound to the same address and port with ``SO_REUSEPORT`` (same user) joins one
  group when it starts listening (``inet_csk_listen_start`` -> ``inet_hash`` -> ``reuseport_add_sock``);
  the group keeps its listeners in an array, ``reuse->socks[]``, in ``listen()`` order.
- A SYN picks one listener of the group: ``reuseport_select_sock()`` runs the group's BPF program if one
  is attached (its return value is an index into ``socks[]``; an index past the end falls back to the
  hash), else ``reciprocal_scale(hash, num_socks)`` of the 4-tuple hash (``inet_ehashfn``). Each
  listener has its own accept queue: this is the "queue per worker" design.
- Since Linux 6.1 (b261eda84ec1), when some listener of the group has ``SO_INCOMING_CPU`` set,
  ``reuseport_select_sock_by_hash()`` prefers a listener whose ``sk_incoming_cpu`` equals the CPU
  that is processing the SYN; before, the option only added one point to ``compute_score()``.
- Closing a listener (``tcp_close`` -> ``inet_csk_listen_stop``) disconnects every connection still in
  its accept queue: ``inet_child_forget`` -> ``tcp_disconnect`` sends a RST, so the client sees
  ``ECONNRESET`` for a connection it believed established. Since 5.14 ``net.ipv4.tcp_migrate_req = 1``
  lets ``inet_csk_listen_stop`` move them to a sibling (``reuseport_migrate_sock``) instead. It is off by
  default; this module only reads it.

Nothing here runs worker threads: the main thread connects, reads each listener's accept-queue length
(``TCP_INFO``'s ``tcpi_unacked`` is ``sk_ack_backlog`` for a listener, ``tcp_get_info``) and accepts.
The threaded accept experiment with a reuseport group is ``epollkit.lab.accept("reuseport", ...)``
(and ``"reuseport-cbpf-cpu"`` / ``"reuseport-cbpf-random"``, which use :func:`attach_cbpf`).
"""

from __future__ import annotations

import os
import select
import socket
import struct
import threading
import time
from contextlib import ExitStack

from ...analysis.orders import balls_into_bins
from ...errors import ExperimentTimeout
from ...records import IncomingCpuResult, ReuseportCloseResult, ReuseportDistributionResult
from ...system import kernel_release, somaxconn, tcp_migrate_req  # noqa: F401  (tcp_migrate_req: notebook 05)
from ...validate import check_deadline, check_int
from ..harness import Teardown, check_fd_budget, deferred_signals, raised_fd_limit, require_linux
from ..harness.sockets import (  # noqa: F401  (re-exported: notebook 05 and tests name them here)
    SO_ATTACH_REUSEPORT_CBPF,
    SO_INCOMING_CPU,
    SockFilter,
    SockFprog,
    accept_queue_length,
    attach_cbpf,
    cbpf_program,
)

HOST = "127.0.0.1"
MAX_LISTENERS = 64
MAX_QUEUED = 2000
MAX_CONNECTIONS = 5000
MAX_RUNS = 200
STEERING = (None, "cpu", "random")


# ----------------------------------------------------------------------------- validation helpers


def _check_steer(steer) -> None:
    if steer not in STEERING:
        raise ValueError(f"steer must be one of None, 'cpu', 'random', not {steer!r}")




def _group(stack: ExitStack, n: int, backlog: int, steer: str | None = None,
           incoming_cpus: list[int] | None = None) -> tuple[list[socket.socket], int]:
    """``n`` SO_REUSEPORT listeners on one fresh loopback port, in listen() order."""
    listeners: list[socket.socket] = []
    port = 0
    for i in range(n):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        stack.callback(sock.close)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if incoming_cpus is not None:
            sock.setsockopt(socket.SOL_SOCKET, SO_INCOMING_CPU, incoming_cpus[i])
        sock.bind((HOST, port))
        port = sock.getsockname()[1]
        sock.listen(backlog)
        sock.setblocking(False)
        listeners.append(sock)
    if steer is not None:
        attach_cbpf(listeners[0], steer, n)
    return listeners, port


def _abort(sock: socket.socket) -> None:
    """Close with SO_LINGER {on, 0}: a RST instead of a FIN, so no TIME_WAIT is left on the machine."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def _connect_many(stack: ExitStack, port: int, count: int, until: float) -> list[socket.socket]:
    """``count`` blocking connects from this thread (loopback completes the handshake inside connect)."""
    clients = []
    for _ in range(count):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        stack.callback(_abort, c)
        left = until - time.monotonic()
        if left <= 0:
            raise ExperimentTimeout(f"deadline passed after {len(clients)} of {count} connects")
        c.settimeout(left)  # a SYN dropped by a full queue would otherwise retry for minutes
        c.connect((HOST, port))
        c.settimeout(None)  # back to plain blocking: MSG_DONTWAIT probes must not poll() first
        clients.append(c)
    return clients


def _wait_queued(listeners: list[socket.socket], total: int, until: float) -> list[int]:
    """Each listener's accept-queue length, once they add up to ``total`` (the final ACK of a loopback
    handshake may be processed just after connect() returns)."""
    while True:
        counts = [accept_queue_length(s) for s in listeners]
        if sum(counts) >= total or time.monotonic() >= until:
            return counts
        time.sleep(0.001)


def _drain(sock: socket.socket, stack: ExitStack) -> int:
    """Accept every queued connection of a non-blocking listener; returns how many."""
    n = 0
    while True:
        with deferred_signals():  # an accepted fd is registered before Ctrl-C can strike
            try:
                conn, _ = sock.accept()
            except BlockingIOError:
                return n
            stack.callback(conn.close)
        n += 1


# ------------------------------------------------------------------------------- reset on close


def reuseport_close(listeners: int = 2, queued: int = 50, *, close: int = 0,
                    deadline: float = 10.0) -> ReuseportCloseResult:
    """Queue ``queued`` connections on a group of ``listeners``, close listener ``close``, and count the
    connections the client sees reset (``ECONNRESET``) and the ones the other listeners still accept.

    Nobody accepts before the close, so every connection is established and waiting in some listener's
    accept queue (the hash picked which). With ``tcp_migrate_req = 0`` the closing listener's queue is
    reset (``inet_csk_listen_stop``); ``reset`` should equal ``on_closed``.
    """
    check_int("listeners", listeners, 2, MAX_LISTENERS)
    check_int("queued", queued, 1, min(MAX_QUEUED, somaxconn()))
    check_int("close", close, 0, listeners - 1)
    check_deadline(deadline)
    require_linux(epoll=False)
    need = 2 * queued + listeners + 8
    check_fd_budget(need, f"{queued} queued connections")

    t0 = time.monotonic()
    until = t0 + deadline
    with Teardown() as stack:
        stack.enter_context(raised_fd_limit(need))  # as check_fd_budget allowed
        group, port = _group(stack, listeners, queued)
        clients = _connect_many(stack, port, queued, until)
        per_listener = _wait_queued(group, queued, until)
        group[close].close()  # tcp_close -> inet_csk_listen_stop: RST to every queued child
        survivors = sum(_drain(s, stack) for i, s in enumerate(group) if i != close)
        reset, eof = _count_resets(clients, queued - survivors, until)
        duration = time.monotonic() - t0
    return ReuseportCloseResult(
        experiment="reuseport-close",
        backend="real",
        listeners=listeners,
        queued=queued,
        closed_listener=close,
        per_listener=per_listener,
        on_closed=per_listener[close],
        reset=reset,
        accepted=survivors,
        lost=queued - reset - survivors - eof,
        tcp_migrate_req=tcp_migrate_req(),
        kernel=kernel_release(),
        duration_s=round(duration, 4),
    )


def _count_resets(clients: list[socket.socket], expect: int, until: float) -> tuple[int, int]:
    """Client sockets that got ECONNRESET, and ones that saw a clean EOF instead. Waits (poll, main
    thread) for up to 0.5 s for ``expect`` of them to report, since the RST travels through loopback."""
    poller = select.poll()
    for c in clients:
        poller.register(c.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
    stop = min(until, time.monotonic() + 0.5)
    while True:
        ready = len(poller.poll(0))
        if ready >= expect or time.monotonic() >= stop:
            break
        time.sleep(0.002)
    reset = eof = 0
    for c in clients:
        try:
            if c.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK) == b"":
                eof += 1
        except ConnectionResetError:
            reset += 1
        except BlockingIOError:
            pass
    return reset, eof


# ----------------------------------------------------------------------------------- distribution


def distribution(listeners: int = 4, connections: int = 400, runs: int = 10, *,
                 steer: str | None = None, deadline: float = 30.0) -> ReuseportDistributionResult:
    """Connect ``connections`` times to a fresh group of ``listeners``, ``runs`` times, and count how many
    connections each listener's accept queue received. ``steer`` attaches a CBPF program (``"cpu"`` or
    ``"random"``); None leaves the choice to the 4-tuple hash.

    Also returns the balls-into-bins expectation for the same numbers (seeded, pure).
    """
    check_int("listeners", listeners, 1, MAX_LISTENERS)
    check_int("connections", connections, 1, min(MAX_CONNECTIONS, somaxconn()))
    check_int("runs", runs, 1, MAX_RUNS)
    _check_steer(steer)
    check_deadline(deadline)
    require_linux(epoll=False)
    need = 2 * connections + listeners + 8
    check_fd_budget(need, f"{connections} connections")

    t0 = time.monotonic()
    until = t0 + deadline
    counts = []
    cpus = set()
    for _ in range(runs):
        with Teardown() as stack:
            stack.enter_context(raised_fd_limit(need))  # as check_fd_budget allowed
            group, port = _group(stack, listeners, connections, steer)
            cpus.add(_current_cpu())
            _connect_many(stack, port, connections, until)
            counts.append(_wait_queued(group, connections, until))
    shares = [max(c) / connections for c in counts]
    return ReuseportDistributionResult(
        experiment="reuseport-distribution",
        backend="real",
        listeners=listeners,
        connections=connections,
        runs=runs,
        steer=steer or "hash",
        counts=counts,
        max_share=[round(s, 4) for s in shares],
        mean_max_share=round(sum(shares) / runs, 4),
        balls_into_bins_mean_max_share=round(
            sum(balls_into_bins(listeners, connections, 2000, seed=1)) / 2000, 4),
        client_cpus=sorted(cpus),
        kernel=kernel_release(),
        duration_s=round(time.monotonic() - t0, 4),
    )


def _current_cpu() -> int:
    """The CPU this thread is running on now (``sched_getcpu`` via /proc/thread-self/stat, field 39)."""
    try:
        with open("/proc/thread-self/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[36])
    except (OSError, ValueError, IndexError):
        return -1


# ------------------------------------------------------------------------------- SO_INCOMING_CPU


def incoming_cpu(listeners: int | None = None, connections: int = 100, *,
                 deadline: float = 30.0) -> IncomingCpuResult:
    """Does ``SO_INCOMING_CPU`` steer connections to the listener of the CPU that handles them?

    Two groups of ``listeners`` (default: one per CPU this process may use) on fresh ports: one plain,
    one with ``SO_INCOMING_CPU = cpus[i % ncpus]`` on listener i. For each group and each allowed CPU, a
    helper thread pinned to that CPU (``sched_setaffinity`` of the thread only) makes ``connections``
    connects; on loopback the SYN is processed in softirq on the connecting CPU. Then each listener's
    accept queue is counted. ``counts[group][cpu]`` = connections per listener.
    """
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]
    n = len(cpus) if listeners is None else listeners
    check_int("listeners", n, 1, MAX_LISTENERS)
    check_int("connections", connections, 1, min(MAX_CONNECTIONS, somaxconn()) // max(1, len(cpus)))
    check_deadline(deadline)
    require_linux(epoll=False)
    need = 4 * connections * len(cpus) + 2 * n + 8
    check_fd_budget(need, f"{connections} connections per CPU")

    t0 = time.monotonic()
    until = t0 + deadline
    listener_cpu = [cpus[i % len(cpus)] for i in range(n)]
    rows = []
    for option in (False, True):
        with Teardown() as stack:
            stack.enter_context(raised_fd_limit(need))  # as check_fd_budget allowed
            group, port = _group(stack, n, connections * len(cpus),
                                 incoming_cpus=listener_cpu if option else None)
            total = 0
            for cpu in cpus:
                before = [accept_queue_length(s) for s in group]
                ran_on = _pinned_connects(stack, port, connections, cpu, until)
                total += connections
                after = _wait_queued(group, total, until)
                rows.append({"incoming_cpu_set": option, "client_cpu": cpu, "ran_on": ran_on,
                             "per_listener": [a - b for a, b in zip(after, before, strict=True)]})
    return IncomingCpuResult(
        experiment="reuseport-incoming-cpu",
        backend="real",
        listeners=n,
        connections=connections,
        cpus=cpus,
        listener_cpu=listener_cpu,
        rows=rows,
        kernel=kernel_release(),
        duration_s=round(time.monotonic() - t0, 4),
    )


def _pinned_connects(stack: ExitStack, port: int, count: int, cpu: int, until: float) -> list[int]:
    """Connect ``count`` times from a short-lived thread pinned to ``cpu``; returns the CPUs it saw."""
    out: dict = {}

    def body():
        try:
            os.sched_setaffinity(0, {cpu})  # pid 0 = this thread only
            seen = {_current_cpu()}
            # each connect's sockets are closed by `stack` (registered in _connect_many)
            _connect_many(stack, port, count, until)
            seen.add(_current_cpu())
            out["cpus"] = sorted(seen)
        except BaseException as exc:  # re-raised in the caller's thread
            out["error"] = exc

    t = threading.Thread(target=body, name=f"epollkit-pinned-{cpu}", daemon=True)
    t.start()
    t.join(max(0.1, until - time.monotonic()))
    if t.is_alive():
        raise ExperimentTimeout(f"the connecting thread pinned to CPU {cpu} passed the deadline")
    if "error" in out:
        raise out["error"]
    return out["cpus"]


# ------------------------------------------------------------------------------------ recordings


def reference_runs() -> list:
    """What ``epollkit record`` stores in ``data/reference/reuseport.json``."""
    return [
        *(reuseport_close(2, 50) for _ in range(10)),
        reuseport_close(3, 90),
        reuseport_close(4, 100),
        distribution(4, 400, 20),
        distribution(4, 400, 20, steer="random"),
        distribution(4, 400, 5, steer="cpu"),
        incoming_cpu(),
        incoming_cpu(4),
    ]
