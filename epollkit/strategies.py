"""The shared vocabulary: strategy names -> (wait call, topology, flags, loop).

The lab (real kernel) and the sim (model) both take these names, so one notebook cell can run the same
experiment on both backends. The ten accept and four read strategies of docs/architecture.md ("Strategies")
are a contract; the ones marked ``variant`` exist to teach (a deliberately wrong loop, or a later remedy).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

# epoll_wait(maxevents) of every worker that waits in epoll: its own fd (listener or stream) and the stop
# signal. Shared by the lab harness and the model of its stop protocol (epollkit.sim.stop).
EVENTS_PER_WAIT = 2


class Topology(str, Enum):
    """How the workers' epoll instances and listeners are laid out (a ``str``: compares to its value)."""

    SHARED = "shared"  # one epoll instance for all workers
    PRIVATE = "private"  # one epoll instance per worker, one listener (or stream) for all
    REUSEPORT = "reuseport"  # a SO_REUSEPORT listener and an epoll instance per worker
    NONE = "none"  # no epoll instance: blocking accept(), select(), poll()


@dataclass(frozen=True)
class Strategy:
    """What each worker does: how it waits, and what it does when woken. Both backends read these
    fields and never the name, so a new strategy is a new row here.

    name:       the contract name (``epoll-lt``, ``blocking``, ...)
    kind:       ``"accept"``, ``"read"`` or ``"serve"``
    wait:       the blocking call: ``"accept"``, ``"select"``, ``"poll"`` or ``"epoll_wait"``
    topology:   a :class:`Topology`: who shares which epoll instance and which listener
    flags:      epoll event flags used to register the listener / stream (names as in ``select``)
    drain:      after a wake-up, repeat ``accept()``/``read()`` until ``EAGAIN`` (else exactly one call)
    rearm:      re-arm with ``EPOLL_CTL_MOD`` after handling (``EPOLLONESHOT``)
    deliver_before_rearm:  with ``rearm``: hand the data on first, then re-arm (False: the wrong order,
                a teaching variant -- another reader may be woken while this one still holds bytes)
    rotate:     every K accepts, remove and re-add the listener (``EPOLL_CTL_DEL`` + ``ADD``: back to the
                tail of the listener's exclusive wait queue; nginx 1.21.6)
    steer:      a classic BPF program picks the reuseport listener: ``"cpu"`` (the CPU handling the SYN)
                or ``"random"``; None: the kernel's own 4-tuple hash
    variant:    not in the contract (docs/architecture.md): a teaching variant or a later remedy
    summary:    one line for tables and help texts
    """

    name: str
    kind: str
    wait: str
    topology: Topology
    flags: tuple[str, ...]
    drain: bool
    rearm: bool
    summary: str
    variant: bool = False
    deliver_before_rearm: bool = True
    rotate: bool = False
    steer: str | None = None

    @property
    def strands_work(self) -> bool:
        """Edge-triggered, one call per wake-up and no re-arm: work that arrived with the edge can be
        left in the queue with nobody woken for it (the teaching variants ``*-et-once``)."""
        return "EPOLLET" in self.flags and not self.drain and not self.rearm

    def epolls(self, workers: int) -> int:
        """How many epoll instances ``workers`` workers use."""
        return {Topology.SHARED: 1, Topology.NONE: 0}.get(self.topology, workers)

    def epoll_of(self, worker: int) -> int:
        """The index of the epoll instance worker ``worker`` waits on."""
        return 0 if self.topology == Topology.SHARED else worker

    def listeners(self, workers: int) -> int:
        """How many listeners (or shared streams) ``workers`` workers use."""
        return workers if self.topology == Topology.REUSEPORT else 1

    def listener_of(self, worker: int) -> int:
        """The index of the listener worker ``worker`` accepts from."""
        return worker if self.topology == Topology.REUSEPORT else 0


def _s(name, kind, wait, topology, flags, *, drain=False, rearm=False, summary, variant=False, **behaviour):
    return Strategy(name, kind, wait, Topology(topology), tuple(flags), drain, rearm, summary, variant,
                    **behaviour)


ACCEPT: dict[str, Strategy] = {
    s.name: s
    for s in (
        _s("blocking", "accept", "accept", "none", (),
           summary="every worker blocks in accept() on the shared listener (wake-one, FIFO)"),
        _s("select", "accept", "select", "none", (),
           summary="select() on the listener, then one non-blocking accept()"),
        _s("poll", "accept", "poll", "none", (),
           summary="poll() on the listener, then one non-blocking accept()"),
        _s("epoll-lt", "accept", "epoll_wait", "shared", ("EPOLLIN",),
           summary="one epoll instance shared by all workers, level-triggered, one accept() per event"),
        _s("epoll-et", "accept", "epoll_wait", "shared", ("EPOLLIN", "EPOLLET"), drain=True,
           summary="shared instance, edge-triggered, accept() until EAGAIN"),
        _s("epoll-oneshot", "accept", "epoll_wait", "shared", ("EPOLLIN", "EPOLLET", "EPOLLONESHOT"),
           rearm=True, summary="shared instance, ET + ONESHOT, one accept(), then EPOLL_CTL_MOD re-arm"),
        _s("epoll-lt-private", "accept", "epoll_wait", "private", ("EPOLLIN",),
           summary="an epoll instance per worker, level-triggered, one accept() per event"),
        _s("epoll-et-private", "accept", "epoll_wait", "private", ("EPOLLIN", "EPOLLET"), drain=True,
           summary="an epoll instance per worker, edge-triggered, accept() until EAGAIN"),
        _s("epoll-exclusive", "accept", "epoll_wait", "private", ("EPOLLIN", "EPOLLEXCLUSIVE"),
           summary="an epoll instance per worker, EPOLLEXCLUSIVE, one accept() per event"),
        _s("reuseport", "accept", "epoll_wait", "reuseport", ("EPOLLIN",),
           summary="a SO_REUSEPORT listener and an epoll instance per worker"),
        # --- variants (not in the contract) ---
        _s("epoll-et-once", "accept", "epoll_wait", "shared", ("EPOLLIN", "EPOLLET"), variant=True,
           summary="WRONG on purpose: shared ET with a single accept() per wake-up (can strand "
                   "connections)"),
        _s("epoll-exclusive-rotate", "accept", "epoll_wait", "private", ("EPOLLIN", "EPOLLEXCLUSIVE"),
           rotate=True, variant=True,
           summary="EPOLLEXCLUSIVE, and every K accepts the worker removes and re-adds the listener "
                   "(nginx 1.21.6)"),
        _s("reuseport-cbpf-cpu", "accept", "epoll_wait", "reuseport", ("EPOLLIN",), steer="cpu",
           variant=True, summary="SO_REUSEPORT listeners; a classic BPF program picks the listener by CPU"),
        _s("reuseport-cbpf-random", "accept", "epoll_wait", "reuseport", ("EPOLLIN",), steer="random",
           variant=True,
           summary="SO_REUSEPORT listeners; a classic BPF program picks the listener at random"),
    )
}

READ: dict[str, Strategy] = {
    s.name: s
    for s in (
        _s("lt", "read", "epoll_wait", "shared", ("EPOLLIN",),
           summary="shared epoll, level-triggered, one read() per event"),
        _s("et", "read", "epoll_wait", "shared", ("EPOLLIN", "EPOLLET"), drain=True,
           summary="shared epoll, edge-triggered, read() until EAGAIN"),
        _s("lt-exclusive", "read", "epoll_wait", "private", ("EPOLLIN", "EPOLLEXCLUSIVE"),
           summary="an epoll instance per reader, EPOLLEXCLUSIVE, one read() per event"),
        _s("oneshot", "read", "epoll_wait", "shared", ("EPOLLIN", "EPOLLET", "EPOLLONESHOT"), drain=True,
           rearm=True, summary="shared epoll, ET + ONESHOT, read() until EAGAIN, deliver, then re-arm"),
        # --- variants ---
        _s("oneshot-early-rearm", "read", "epoll_wait", "shared", ("EPOLLIN", "EPOLLET", "EPOLLONESHOT"),
           drain=True, rearm=True, deliver_before_rearm=False, variant=True,
           summary="WRONG on purpose: ONESHOT that re-arms before delivering the data"),
        _s("et-once", "read", "epoll_wait", "shared", ("EPOLLIN", "EPOLLET"), variant=True,
           summary="WRONG on purpose: shared ET with a single read() per wake-up (can strand bytes)"),
    )
}

# The queueing experiment (lab.serve): one queue for all workers, or a queue per worker.
SERVE: dict[str, Strategy] = {
    s.name: s
    for s in (
        _s("shared", "serve", "epoll_wait", "shared", ("EPOLLIN", "EPOLLET", "EPOLLONESHOT"), rearm=True,
           summary="one epoll set with every connection, EPOLLONESHOT: one queue for all workers"),
        _s("sharded", "serve", "epoll_wait", "private", ("EPOLLIN",),
           summary="each worker owns a fixed share of the connections: a queue per worker"),
    )
}

CONTRACT_ACCEPT = tuple(n for n, s in ACCEPT.items() if not s.variant)
CONTRACT_READ = tuple(n for n, s in READ.items() if not s.variant)


def get(kind: str, name: str, allowed: tuple[str, ...] | None = None) -> Strategy:
    """Look up a strategy by name, or raise ``ValueError`` naming the valid ones.

    ``allowed`` restricts the names to those a backend supports.
    """
    table = {"accept": ACCEPT, "read": READ, "serve": SERVE}.get(kind)
    if table is None:
        raise ValueError(f"kind must be 'accept', 'read' or 'serve', not {kind!r}")
    valid = tuple(allowed) if allowed is not None else tuple(table)
    if name not in valid:
        raise ValueError(f"unknown {kind} strategy {name!r}; valid: {', '.join(valid)}")
    return table[name]
