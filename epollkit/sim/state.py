"""The model's objects and its state: listeners, streams, epoll instances, wait queues, threads.

Everything here is an immutable value (named tuples, tuples, frozensets) held in one :class:`State`
whose ``copy()`` is a shallow dict copy, so the explorer can branch cheaply and de-duplicate states by
``key()``. The rules that change these objects live in :mod:`epollkit.sim.rules`; thread states change
only through :func:`transition`.

Objects (docs/kernel-rules.md §1):

- a **listener** keeps ``(arrived, accepted)``: connections that completed the handshake and the
  number taken by ``accept()``; the accept queue holds ``arrived - accepted`` (connection numbers
  ``accepted+1 .. arrived``, in order).
- a **stream** keeps ``(written, consumed)`` byte offsets; the bytes queued are ``written - consumed``.
  Which message each byte belongs to is static (the writes' end offsets, :class:`World`).
- an **epoll** instance keeps its interest list (``items``: one :class:`Item` per watched fd), its
  ready list ``rdllist`` (an item at most once) and ``wq``, the threads sleeping in ``epoll_wait()``
  with the one woken first at index 0 (``ep_poll()`` inserts at the head: LIFO).
- each source (listener or stream) has a wait queue of :class:`Entry` values, walked from index 0 by
  ``__wake_up_common()``: non-exclusive entries are inserted at the head (``add_wait_queue``),
  exclusive ones at the tail (``add_wait_queue_exclusive``, ``prepare_to_wait_exclusive``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

# epoll event flags the model knows (names as in Python's ``select`` module): the scenario vocabulary
from ..scenarios.calls import (  # noqa: E402,F401  (re-exported)
    EPOLLET,
    EPOLLEXCLUSIVE,
    EPOLLIN,
    EPOLLONESHOT,
    EPOLLOUT,
    EVENT_BITS,
    FLAGS,
)


class ModelError(RuntimeError):
    """The model broke one of its own invariants (a bug in the model, never a user error)."""


class ThreadState(str, Enum):
    """A thread's state; the value is the label shown in traces and plots. (A ``str`` mix-in: states
    are hashed for every explored state, and ``str.__hash__`` is much faster than ``Enum.__hash__``.)"""

    RUNNING = "running"
    SLEEP_EPOLL = "asleep in epoll_wait"
    SLEEP_ACCEPT = "asleep in accept"
    SLEEP_POLL = "asleep in select/poll"
    WOKEN = "woken, runnable"
    DONE = "done"

    @property
    def asleep(self) -> bool:
        return self in _ASLEEP


_ASLEEP = frozenset({ThreadState.SLEEP_EPOLL, ThreadState.SLEEP_ACCEPT, ThreadState.SLEEP_POLL})

# The only allowed changes of state. A woken thread first becomes runnable (WOKEN); when it runs it
# either returns from its call (RUNNING) or finds nothing and goes back to sleep in the same call.
_TRANSITIONS = {
    ThreadState.RUNNING: frozenset(_ASLEEP | {ThreadState.DONE}),
    ThreadState.SLEEP_EPOLL: frozenset({ThreadState.WOKEN}),
    ThreadState.SLEEP_ACCEPT: frozenset({ThreadState.WOKEN}),
    ThreadState.SLEEP_POLL: frozenset({ThreadState.WOKEN}),
    ThreadState.WOKEN: frozenset(_ASLEEP | {ThreadState.RUNNING}),
    ThreadState.DONE: frozenset(),
}


class Item(NamedTuple):
    """An epoll item (``struct epitem``): the watched fd, the requested flags, armed or not."""

    fd: str
    events: frozenset
    armed: bool = True  # False once EPOLLONESHOT fired, until EPOLL_CTL_MOD re-arms it
    data: object = None  # descriptor mode (fdtable.py): the number it was registered under

    @property
    def exclusive(self) -> bool:
        return EPOLLEXCLUSIVE in self.events


class Epoll(NamedTuple):
    """An epoll instance (``struct eventpoll``)."""

    items: tuple = ()  # Item, in EPOLL_CTL_ADD order
    rdllist: tuple = ()  # fd names, head first
    wq: tuple = ()  # thread names asleep in epoll_wait, the one woken first at index 0
    rdcause: tuple = ()  # parallel to rdllist: the kernel event (1, 2, ...) that queued each item,
    #                      or None when epoll_ctl queued it (ep_insert/ep_modify): the cause a later
    #                      ep_done_scan() wake-up inherits (see ``rules.wake_thread``, "herd")

    def item(self, fd: str) -> Item | None:
        for it in self.items:
            if it.fd == fd:
                return it
        return None


class Entry(NamedTuple):
    """A wait-queue entry on a source: ``kind`` is ``"epoll"`` (an epoll item; ``who`` = the instance),
    ``"accept"`` (a thread blocked in accept()) or ``"poll"`` (a thread in select()/poll())."""

    kind: str
    who: str
    exclusive: bool


class Thread(NamedTuple):
    """One thread: its state, its program's local state, what it did and what it counted."""

    name: str
    state: ThreadState
    local: tuple  # the program's own state (hashable)
    results: tuple = ()  # results of completed calls, in order (scenario programs)
    accepts: int = 0
    reads: int = 0
    nbytes: int = 0
    returns: int = 0  # wait calls that returned >= 1 event (or a blocking accept that returned)
    eagain: int = 0
    wakeups: int = 0  # times woken (try_to_wake_up on a sleeping thread)
    wasted: int = 0  # wake-ups after which the thread slept again having done no work
    cycle: int = 0  # 0: not woken since last sleep; 1: woken, no work yet; 2: woken and worked
    fresh: bool = False  # the wait just returned: the next accept()/read() is the first one
    waited: bool = False  # the last wait returned readiness (no new wait since): an EAGAIN now is "eagain"
    tried: bool = False  # made an accept()/read() since the last wake-up
    pending: tuple = ()  # byte ranges read but not yet delivered (read strategies)


def _quick_replace(cls) -> None:
    """Give the named tuple ``cls`` a faster ``_replace`` (the same result): ``collections.namedtuple``'s
    pops every field name from the keyword dict, while a step of the model changes two or three fields
    of a sixteen-field record -- and the explorer makes hundreds of thousands of steps."""
    index = {f: i for i, f in enumerate(cls._fields)}
    new = tuple.__new__

    def _replace(self, /, **changes):
        values = list(self)
        for name, value in changes.items():
            i = index.get(name)
            if i is None:
                raise ValueError(f"Got unexpected field names: {[name]!r}")
            values[i] = value
        return new(cls, values)

    _replace.__doc__ = f"A new {cls.__name__} with the given fields changed."
    cls._replace = _replace


for _cls in (Item, Epoll, Entry, Thread):
    _quick_replace(_cls)


def transition(t: Thread, to: ThreadState, **changes) -> Thread:
    """The one place a thread's state changes; refuses a change the model does not allow.
    ``changes``: other fields to set in the same step (one copy of the record instead of two)."""
    if to not in _TRANSITIONS[t.state]:
        raise ModelError(f"thread {t.name}: {t.state.value} -> {to.value} is not a valid transition")
    changes["state"] = to  # (``changes`` is this call's own dict)
    return t._replace(**changes)


@dataclass(frozen=True)
class World:
    """What never changes during a run: object kinds, the writes' message boundaries, options."""

    kinds: dict  # object name -> "epoll" | "stream" | "listener"
    boundaries: dict  # stream name -> tuple of write end offsets (message i ends at boundaries[i])
    cascade: bool = True  # ep_done_scan wakes one more sleeper (False: kernels 5.5-5.12)
    kernel: str = "newest"
    generation: object = None  # the scenario.Generation these rules come from (what was imitated, why)


class State:
    """The whole model state. Values are immutable; ``copy()`` is cheap; ``key()`` is hashable."""

    __slots__ = (
        "listeners", "streams", "epolls", "queues", "threads", "kpc", "accept_order",
        "delivered", "epoch", "props", "started", "split", "heads", "late", "furthest", "woken",
        "fdt",
    )

    def __init__(self):
        self.listeners: dict = {}  # name -> (arrived, accepted)
        self.streams: dict = {}  # name -> (written, consumed)
        self.epolls: dict = {}  # name -> Epoll
        self.queues: dict = {}  # source name -> tuple of Entry (walk order)
        self.threads: dict = {}  # name -> Thread (insertion order = A, B, C ...)
        self.kpc = 0  # kernel events done
        self.accept_order: tuple = ()  # thread name per accepted connection, in accept order
        self.delivered: tuple = ()  # (start, end, thread) byte ranges, in delivery order
        # (cause, thread) of wake-ups whose cause -- a kernel event number -- can still wake someone
        # (it is carried by an item on a ready list); two threads with one cause show "herd"
        self.epoch: frozenset = frozenset()
        self.props: frozenset = frozenset()  # properties shown so far
        self.started = False  # every thread has been asleep or done at least once
        # Split and reorder, kept incrementally so that the explorer's key need not hold the whole
        # delivery history (which would make every delivery order a different state):
        self.split = 0  # messages read by more than one thread, among those read completely
        self.heads: dict = {}  # stream -> (message index, frozenset of readers) of a partly read message
        self.late = 0  # deliveries that arrived behind a later one
        self.furthest = 0  # the furthest byte offset delivered so far
        # Threads woken by the step that made this state, in wake order (``Step.woken``). Not part of
        # the state proper: ``copy()`` starts it afresh and ``key()`` leaves it out.
        self.woken: tuple = ()
        self.fdt = None  # descriptor mode: the processes' descriptor tables (fdtable.FdTables)

    def copy(self) -> State:
        s = State.__new__(State)
        s.listeners = dict(self.listeners)
        s.streams = dict(self.streams)
        s.epolls = dict(self.epolls)
        s.queues = dict(self.queues)
        s.threads = dict(self.threads)
        s.kpc = self.kpc
        s.accept_order = self.accept_order
        s.delivered = self.delivered
        s.epoch = self.epoch
        s.props = self.props
        s.started = self.started
        s.split = self.split
        s.heads = self.heads
        s.late = self.late
        s.furthest = self.furthest
        s.woken = ()
        s.fdt = self.fdt
        return s

    def key(self) -> tuple:
        """What the future and the outcome depend on. ``delivered`` is left out on purpose: only
        ``late``/``furthest`` (reordering) and ``split``/``heads`` matter from here on. Its twin for speed,
        ``symmetry.renamed_key()``, must list the same fields (tests/test_explore_symmetry.py holds them
        equal)."""
        return (
            tuple(self.listeners.values()), tuple(self.streams.values()), tuple(self.epolls.values()),
            tuple(self.queues.values()), tuple(self.threads.values()), self.kpc, self.accept_order,
            self.epoch, self.props, self.started, self.split, tuple(self.heads.items()), self.late,
            self.furthest, self.fdt,
        )

    def queued(self, name: str) -> int:
        """Connections in a listener's accept queue, or bytes in a stream's receive queue."""
        if name in self.listeners:
            arrived, accepted = self.listeners[name]
            return arrived - accepted
        written, consumed = self.streams[name]
        return written - consumed
