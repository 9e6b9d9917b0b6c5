"""The shared vocabulary: strategy names -> (wait call, topology, flags, loop).

The lab (real kernel) and the sim (model) both take these names, so one notebook cell can run the same
experiment on both backends. The ten accept and four read strategies of DESIGN.md are a contract; the
ones marked ``variant`` exist to teach (a deliberately wrong loop, or a later remedy).
"""

from __future__ import annotations

from dataclasses import dataclass

# epoll_wait(maxevents) of every worker that waits in epoll: its own fd (listener or stream) and the stop
# signal. Shared by the lab harness and the model of its stop protocol (epollkit.sim.stop).
EVENTS_PER_WAIT = 2


@dataclass(frozen=True)
class Strategy:
    """How each worker waits and what it does when woken.

    name:      the contract name (``epoll-lt``, ``blocking``, ...)
    kind:      ``"accept"`` or ``"read"``
    wait:      the blocking call: ``"accept"``, ``"select"``, ``"poll"`` or ``"epoll_wait"``
    topology:  ``"shared"`` (one epoll instance for all workers), ``"private"`` (one per worker),
               ``"reuseport"`` (a listener and an epoll instance per worker) or ``"none"``
    flags:     epoll event flags used to register the listener / stream (names as in ``select``)
    drain:     after a wake-up, repeat ``accept()``/``read()`` until ``EAGAIN`` (else exactly one call)
    rearm:     re-arm with ``EPOLL_CTL_MOD`` after handling (``EPOLLONESHOT``)
    variant:   not in the DESIGN.md contract: a teaching variant or a later remedy
    summary:   one line for tables and help texts
    """

    name: str
    kind: str
    wait: str
    topology: str
    flags: tuple[str, ...]
    drain: bool
    rearm: bool
    summary: str
    variant: bool = False


def _s(name, kind, wait, topology, flags, drain, rearm, summary, variant=False):
    return Strategy(name, kind, wait, topology, tuple(flags), drain, rearm, summary, variant)


ACCEPT: dict[str, Strategy] = {
    s.name: s
    for s in (
        _s("blocking", "accept", "accept", "none", (), False, False,
           "every worker blocks in accept() on the shared listener (wake-one, FIFO)"),
        _s("select", "accept", "select", "none", (), False, False,
           "select() on the listener, then one non-blocking accept()"),
        _s("poll", "accept", "poll", "none", (), False, False,
           "poll() on the listener, then one non-blocking accept()"),
        _s("epoll-lt", "accept", "epoll_wait", "shared", ("EPOLLIN",), False, False,
           "one epoll instance shared by all workers, level-triggered, one accept() per event"),
        _s("epoll-et", "accept", "epoll_wait", "shared", ("EPOLLIN", "EPOLLET"), True, False,
           "shared instance, edge-triggered, accept() until EAGAIN"),
        _s("epoll-oneshot", "accept", "epoll_wait", "shared",
           ("EPOLLIN", "EPOLLET", "EPOLLONESHOT"), False, True,
           "shared instance, ET + ONESHOT, one accept(), then EPOLL_CTL_MOD re-arm"),
        _s("epoll-lt-private", "accept", "epoll_wait", "private", ("EPOLLIN",), False, False,
           "an epoll instance per worker, level-triggered, one accept() per event"),
        _s("epoll-et-private", "accept", "epoll_wait", "private", ("EPOLLIN", "EPOLLET"), True, False,
           "an epoll instance per worker, edge-triggered, accept() until EAGAIN"),
        _s("epoll-exclusive", "accept", "epoll_wait", "private", ("EPOLLIN", "EPOLLEXCLUSIVE"), False,
           False, "an epoll instance per worker, EPOLLEXCLUSIVE, one accept() per event"),
        _s("reuseport", "accept", "epoll_wait", "reuseport", ("EPOLLIN",), False, False,
           "a SO_REUSEPORT listener and an epoll instance per worker"),
        # --- variants (not in the DESIGN.md contract) ---
        _s("epoll-et-once", "accept", "epoll_wait", "shared", ("EPOLLIN", "EPOLLET"), False, False,
           "WRONG on purpose: shared ET with a single accept() per wake-up (can strand connections)",
           variant=True),
        _s("epoll-exclusive-rotate", "accept", "epoll_wait", "private",
           ("EPOLLIN", "EPOLLEXCLUSIVE"), False, False,
           "EPOLLEXCLUSIVE, and every K accepts the worker removes and re-adds the listener "
           "(nginx 1.21.6)", variant=True),
        _s("reuseport-cbpf-cpu", "accept", "epoll_wait", "reuseport", ("EPOLLIN",), False, False,
           "SO_REUSEPORT listeners; a classic BPF program picks the listener by CPU", variant=True),
        _s("reuseport-cbpf-random", "accept", "epoll_wait", "reuseport", ("EPOLLIN",), False, False,
           "SO_REUSEPORT listeners; a classic BPF program picks the listener at random", variant=True),
    )
}

READ: dict[str, Strategy] = {
    s.name: s
    for s in (
        _s("lt", "read", "epoll_wait", "shared", ("EPOLLIN",), False, False,
           "shared epoll, level-triggered, one read() per event"),
        _s("et", "read", "epoll_wait", "shared", ("EPOLLIN", "EPOLLET"), True, False,
           "shared epoll, edge-triggered, read() until EAGAIN"),
        _s("lt-exclusive", "read", "epoll_wait", "private", ("EPOLLIN", "EPOLLEXCLUSIVE"), False,
           False, "an epoll instance per reader, EPOLLEXCLUSIVE, one read() per event"),
        _s("oneshot", "read", "epoll_wait", "shared", ("EPOLLIN", "EPOLLET", "EPOLLONESHOT"), True,
           True, "shared epoll, ET + ONESHOT, read() until EAGAIN, deliver, then re-arm"),
        # --- variants ---
        _s("oneshot-early-rearm", "read", "epoll_wait", "shared",
           ("EPOLLIN", "EPOLLET", "EPOLLONESHOT"), True, True,
           "WRONG on purpose: ONESHOT that re-arms before delivering the data", variant=True),
        _s("et-once", "read", "epoll_wait", "shared", ("EPOLLIN", "EPOLLET"), False, False,
           "WRONG on purpose: shared ET with a single read() per wake-up (can strand bytes)",
           variant=True),
    )
}

CONTRACT_ACCEPT = tuple(n for n, s in ACCEPT.items() if not s.variant)
CONTRACT_READ = tuple(n for n, s in READ.items() if not s.variant)


def get(kind: str, name: str, allowed: tuple[str, ...] | None = None) -> Strategy:
    """Look up a strategy by name, or raise ``ValueError`` naming the valid ones.

    ``allowed`` restricts the names to those a backend supports.
    """
    table = {"accept": ACCEPT, "read": READ}.get(kind)
    if table is None:
        raise ValueError(f"kind must be 'accept' or 'read', not {kind!r}")
    valid = tuple(allowed) if allowed is not None else tuple(table)
    if not isinstance(name, str) or name not in valid:
        from .validate import shown

        raise ValueError(f"unknown {kind} strategy {shown(name)}; valid: {', '.join(valid)}")
    return table[name]
