"""The calls a thread makes and the events the kernel injects: the vocabulary both backends share.

A scenario file (:mod:`epollkit.scenarios.format`) is read into these values; the model executes them
(:mod:`epollkit.sim.threads`), the real backend turns them into syscalls
(:mod:`epollkit.lab.experiments.scenario`). Nothing here measures or models anything.
"""

from __future__ import annotations

from typing import NamedTuple

# epoll event flags (names as in Python's ``select`` module)
EPOLLIN = "EPOLLIN"
EPOLLOUT = "EPOLLOUT"
EPOLLET = "EPOLLET"
EPOLLONESHOT = "EPOLLONESHOT"
EPOLLEXCLUSIVE = "EPOLLEXCLUSIVE"
FLAGS = (EPOLLIN, EPOLLOUT, EPOLLET, EPOLLONESHOT, EPOLLEXCLUSIVE)
EVENT_BITS = (EPOLLIN, EPOLLOUT)  # the bits a file's poll can report; the rest are EP_PRIVATE_BITS


class EpollWait(NamedTuple):
    epoll: str
    maxevents: int = 1
    timeout: int = -1

    def label(self) -> str:
        return f"epoll_wait({self.epoll})"


class Accept(NamedTuple):
    fd: str
    blocking: bool = False

    def label(self) -> str:
        return f"accept({self.fd}{', blocking' if self.blocking else ''})"


class Read(NamedTuple):
    fd: str
    nbytes: int

    def label(self) -> str:
        return f"read({self.fd}, {self.nbytes})"


class Ctl(NamedTuple):
    op: str  # add | mod | del
    epoll: str
    fd: str
    events: frozenset = frozenset()

    def label(self) -> str:
        return f"epoll_ctl({self.op.upper()}, {self.epoll}, {self.fd})"


class Poll(NamedTuple):
    fd: str
    api: str = "poll"  # select | poll

    def label(self) -> str:
        return f"{self.api}({self.fd})"


class Deliver(NamedTuple):
    def label(self) -> str:
        return "deliver"




# ---------------------------------------------------------------------------------- kernel events
#
# What the "kernel" side of a scenario or a strategy run does. Each is a tuple whose first field names
# its kind, so ``ev[0] == "write"`` and ``ev == ("write", "s0", 1)`` still hold; the fields name the rest.


class Connect(NamedTuple):
    """A connection completes its handshake on ``listener`` (``sk_data_ready()`` on the listener)."""

    kind: str  # "connect"
    listener: str

    @classmethod
    def to(cls, listener: str) -> Connect:
        return cls("connect", listener)


class Write(NamedTuple):
    """``nbytes`` arrive on ``stream`` in one write: one skb, one wake-up (``unix_stream_sendmsg()``)."""

    kind: str  # "write"
    stream: str
    nbytes: int

    @classmethod
    def to(cls, stream: str, nbytes: int) -> Write:
        return cls("write", stream, nbytes)


class ConnectAny(NamedTuple):
    """A connection to a reuseport group whose listener a CBPF program picks (the model lets the
    kernel move choose: one move per listener)."""

    kind: str  # "connect-any"
    listeners: tuple
    how: str

    @classmethod
    def to(cls, listeners: tuple, how: str) -> ConnectAny:
        return cls("connect-any", tuple(listeners), how)


EVENT_KINDS = ("connect", "write", "connect-any")
