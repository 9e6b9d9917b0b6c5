"""The machine: who may move next, what a move does, and when a run is over.

A *move* is an actor name: ``"Kernel"`` (the next kernel event: a connection or bytes arrive and the
source's wake-up walk runs) or ``"Thread A"``, ``"Thread B"``, ... (one step of that thread). A kernel
event whose target the kernel picks (the ``reuseport-cbpf-*`` variants) offers one move per choice,
``"Kernel/l1"``. Which moves are enabled depends on the scenario's ``order``:

- ``threads-block-first``: a kernel event only when every thread is asleep or done;
- ``kernel-first``: every kernel event before any thread moves;
- ``free``: any interleaving;
- ``block-once`` (strategies): the first kernel event waits until every thread has gone to sleep,
  after that any interleaving -- the lab's workers block, then the client connects;
- ``burst`` (scenarios): the first kernel event waits until every thread is asleep or done, then the
  rest follow back to back: meanwhile a woken thread may finish the wait it was woken in (the kernel
  half of the call: its re-poll or harvest), but makes no new call until the last event -- the kernel
  selftests' emitter, which sleeps 100 ms and then writes twice from C, faster than a woken thread
  returns to user space and calls again (the real backend holds the GIL across the writes).

A scenario's ``start`` adds one constraint: ``in-order`` lets a thread make its first move only once
every thread before it (file order) has been asleep at least once or is done -- the threads fall
asleep for the first time in file order (the real backend starts them one at a time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..scenarios.format import ORDERS  # noqa: F401  (re-exported)
from . import properties, rules
from .state import State, ThreadState, World
from .threads import thread_step

KERNEL = "Kernel"
# a module-level name is read faster than an Enum member (the explorer reads these millions of times)
_RUNNING, _WOKEN = ThreadState.RUNNING, ThreadState.WOKEN
_RESTING = frozenset(s for s in ThreadState if s.asleep or s is ThreadState.DONE)


def actor_name(thread: str) -> str:
    return f"Thread {thread}"


@dataclass(frozen=True)
class Setup:
    """Everything a run needs: the world, the initial state, the programs, the kernel events."""

    name: str
    world: World
    initial: State
    programs: dict  # thread name -> program
    events: tuple  # kernel events: scenarios.calls.Connect | Write | ConnectAny (tuples, kind first)
    order: str = "threads-block-first"
    kind: str = "scenario"  # "scenario" | "accept" | "read"
    meta: Any = None  # the scenario or strategy parameters this setup came from
    start: str = "together"  # "in-order": threads first fall asleep in name order (scenario "start")


def _has_slept(t) -> bool:
    """The thread has been asleep at least once (it is asleep, or was woken since), or is done."""
    return t.state.asleep or t.state is ThreadState.DONE or t.wakeups > 0


class Machine:
    def __init__(self, setup: Setup):
        self.setup = setup
        self.world = setup.world
        self.events = setup.events
        self.order = setup.order
        self.programs = setup.programs
        self.thread_names = tuple(setup.programs)
        self.actor_of = {actor_name(n): n for n in self.thread_names}
        self.actor = {n: actor_name(n) for n in self.thread_names}
        self.in_order = setup.start == "in-order"
        self.n_events = len(setup.events)

    # ----------------------------------------------------------------------------------- moves

    def _kernel_moves(self, st: State) -> list:
        ev = self.events[st.kpc]
        if ev[0] == "connect-any":
            return [f"{KERNEL}/{lst}" for lst in ev[1]]
        return [KERNEL]

    def enabled(self, st: State) -> list:
        """The moves allowed now, threads first (A, B, ...), then the kernel."""
        if self.in_order:
            movable = []
            gate = True  # every thread so far has been asleep once (or is done)
            for n, t in st.threads.items():
                can = t.state is ThreadState.RUNNING or t.state is ThreadState.WOKEN
                if can and (gate or _has_slept(t)):
                    movable.append(actor_name(n))
                gate = gate and _has_slept(t)
        else:
            actor = self.actor
            movable = [actor[n] for n, t in st.threads.items()
                       if t.state is _RUNNING or t.state is _WOKEN]
        if st.kpc >= self.n_events:
            return movable
        if self.order == "kernel-first":
            return self._kernel_moves(st)
        if self.order == "burst":
            if st.kpc == 0:
                return movable or self._kernel_moves(st)
            woken = [mv for mv in movable if st.threads[self.actor_of[mv]].state is ThreadState.WOKEN]
            return woken + self._kernel_moves(st)
        if self.order == "threads-block-first" and movable:
            return movable
        if self.order == "block-once" and not st.started:
            return movable
        return movable + self._kernel_moves(st)

    def why_not(self, st: State, move: str) -> str:
        """One sentence: why ``move`` is not enabled now."""
        if move.startswith(KERNEL):
            if st.kpc >= len(self.events):
                return "the kernel has no events left"
            if move not in self._kernel_moves(st):
                choices = ", ".join(self._kernel_moves(st))
                return f"{move} is not a choice of the next kernel event ({choices})"
            waiting = [n for n, t in st.threads.items()
                       if not (t.state.asleep or t.state is ThreadState.DONE)]
            if self.order == "block-once":
                return "the kernel waits until every thread has gone to sleep once"
            if self.order == "burst":
                return "order burst: the first kernel event waits until every thread is asleep or done"
            return (f"order {self.order}: the kernel waits until every thread is asleep or done "
                    f"(Thread {', '.join(waiting)} is not)")
        name = self.actor_of.get(move)
        if (self.order == "burst" and name is not None and 0 < st.kpc < len(self.events)
                and st.threads[name].state is ThreadState.RUNNING):
            return ("order burst: the kernel's events come back to back; a thread makes its next call "
                    "after the last one")
        if name is None:
            valid = ", ".join([KERNEL, *self.actor_of])
            return f"unknown actor {move!r}; valid: {valid}"
        t = st.threads[name]
        if t.state.asleep:
            return f"{move} is {t.state.value}: only a wake-up can move it"
        if t.state is ThreadState.DONE:
            return f"{move} is done"
        if self.in_order and not _has_slept(t):
            first = next(n for n, u in st.threads.items() if not _has_slept(u))
            return (f"start in-order: Thread {name} starts only after Thread {first} has gone to sleep "
                    "or finished")
        return f"order {self.order}: threads wait until every kernel event has happened"

    def normalize(self, move: str) -> str:
        """Accept ``"A"`` for ``"Thread A"`` and ``"K"`` for ``"Kernel"``."""
        if move in ("K", "kernel"):
            return KERNEL
        if move in self.thread_names:
            return actor_name(move)
        return move

    def apply(self, st: State, move: str, log: list | None = None) -> State:
        """The state after ``move`` (a new State; ``st`` is unchanged). The caller checks enabled."""
        s = st.copy()
        if move.startswith(KERNEL):
            ev = self.events[s.kpc]
            s.kpc += 1
            cause = s.kpc  # wake-ups of this walk belong to kernel event number kpc ("herd")
            if ev[0] == "connect":
                rules.connection_arrives(s, ev[1], log, cause)
            elif ev[0] == "write":
                rules.bytes_arrive(s, ev[1], ev[2], log, cause)
            elif ev[0] == "connect-any":
                target = move.split("/", 1)[1]
                if log is not None:
                    log.append(f"the reuseport program picks {target} ({ev[2]})")
                rules.connection_arrives(s, target, log, cause)
        else:
            name = self.actor_of[move]
            thread_step(self.world, s, name, self.programs[name], log)
        if s.epoch:
            # forget wake-ups of events that can wake no one any more (keeps states merged)
            live = rules.live_causes(s)
            if any(c not in live for c, _n in s.epoch):
                s.epoch = frozenset(p for p in s.epoch if p[0] in live)
        if not s.started and all(t.state in _RESTING for t in s.threads.values()):
            s.started = True
        if s.kpc >= self.n_events and self.is_terminal(s):
            extra = properties.terminal(self, s)
            if extra - s.props:
                s.props = s.props | extra
        return s

    def is_terminal(self, st: State) -> bool:
        if st.kpc < self.n_events:
            return False
        for t in st.threads.values():
            if t.state is _RUNNING or t.state is _WOKEN:
                return False
        return True

    # --------------------------------------------------------------------------------- outcome

    def outcome(self, st: State):
        """A hashable summary of a terminal state (what the conformance suite compares)."""
        if self.setup.kind == "scenario":
            out = []
            for n, t in st.threads.items():
                res = t.results + (("blocked",) if t.state.asleep else ())
                out.append((n, res))
            return tuple(out)
        return properties.metrics_key(self, st)
