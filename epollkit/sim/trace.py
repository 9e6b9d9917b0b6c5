"""Traces: the steps of one run, each with who moved, what happened and the state after it.

A :class:`Trace` is immutable. ``trace.then("Thread A")`` is a new trace one step longer (refused with
``ValueError`` and a one-sentence reason when that actor cannot move); ``trace.undo()`` replays the
prefix. ``replay(setup, schedule)`` and ``run(setup, seed)`` build traces; the explorer builds its
witnesses with ``replay``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .machine import KERNEL, Machine, Setup
from .state import State


@dataclass(frozen=True)
class View:
    """The state after a step, as a reader (or a plot) wants it.

    threads   thread name -> state label (``ThreadState`` values: "asleep in epoll_wait", ...)
    queued    listener -> connections in its accept queue; stream -> bytes in its receive queue
    ready     epoll name -> fds on its ready list, head first
    sleepers  wait queue -> thread names in the order a wake-up would take them: an epoll
              instance's ``ep->wq`` (LIFO), a listener's blocked acceptors (FIFO), select/poll
              waiters of a source
    waiters   source -> every entry of its wait queue in walk order ("e0", "e1 (exclusive)",
              "Thread C (accept)", "Thread D (poll)")
    disarmed  "epoll/fd" of ONESHOT items that fired and wait for EPOLL_CTL_MOD
    """

    threads: dict
    queued: dict
    ready: dict
    sleepers: dict
    waiters: dict
    disarmed: tuple = ()

    @staticmethod
    def of(st: State) -> View:
        sleepers = {}
        for name, e in st.epolls.items():
            sleepers[name] = tuple(e.wq)
        waiters = {}
        for src, q in st.queues.items():
            direct = tuple(x.who for x in q if x.kind != "epoll")
            if direct:
                sleepers[src] = direct
            waiters[src] = tuple(
                (x.who + (" (exclusive)" if x.exclusive else "")) if x.kind == "epoll"
                else f"Thread {x.who} ({x.kind})" for x in q)
        queued = {n: st.queued(n) for n in (*st.listeners, *st.streams)}
        disarmed = tuple(f"{n}/{it.fd}" for n, e in st.epolls.items() for it in e.items if not it.armed)
        return View(
            threads={n: t.state.value for n, t in st.threads.items()},
            queued=queued,
            ready={n: tuple(e.rdllist) for n, e in st.epolls.items()},
            sleepers=sleepers,
            waiters=waiters,
            disarmed=disarmed,
        )

    def summary(self) -> str:
        """One line: queues, ready lists, sleepers."""
        parts = []
        for n, q in self.queued.items():
            parts.append(f"{n}: {q} queued")
        for n, r in self.ready.items():
            parts.append(f"{n} ready [{', '.join(r)}]")
        for n, s in self.sleepers.items():
            if s:
                parts.append(f"{n} sleepers [{', '.join(s)}]")
        return "; ".join(parts)

    def to_dict(self) -> dict:
        return {
            "threads": dict(self.threads), "queued": dict(self.queued),
            "ready": {k: list(v) for k, v in self.ready.items()},
            "sleepers": {k: list(v) for k, v in self.sleepers.items()},
            "waiters": {k: list(v) for k, v in self.waiters.items()},
            "disarmed": list(self.disarmed),
        }


@dataclass(frozen=True)
class Step:
    """One step: ``index`` (1-based), ``actor`` ("Kernel" or "Thread A"), ``move`` (the schedule
    entry, e.g. "Kernel/l1"), ``text``, ``view`` (the state after it) and ``shows`` (properties
    first shown at this step)."""

    index: int
    actor: str
    move: str
    text: str
    view: View
    shows: tuple = ()

    def line(self) -> str:
        mark = f"  ← {', '.join(self.shows)}" if self.shows else ""
        return f"{self.index}. **{self.actor}:** {self.text}{mark}"

    def to_dict(self) -> dict:
        return {"actor": self.actor, "text": self.text}


@dataclass(frozen=True)
class Trace:
    """A run so far. ``enabled``: the moves allowed next (buttons for a "be the scheduler" widget);
    ``done``: no move is left; ``outcome``: the thread results (scenarios) once done."""

    machine: Machine
    steps: tuple
    state: State = field(repr=False)

    # ------------------------------------------------------------------------------ building

    @classmethod
    def start(cls, setup: Setup) -> Trace:
        return cls(Machine(setup), (), setup.initial)

    def then(self, move: str) -> Trace:
        m = self.machine
        move = m.normalize(move)
        if move not in m.enabled(self.state):
            raise ValueError(f"step {len(self.steps) + 1}: {move} cannot move: {m.why_not(self.state, move)}")
        log: list = []
        after = m.apply(self.state, move, log)
        actor = KERNEL if move.startswith(KERNEL) else move
        text = "; ".join(log) if log else "has nothing more to do"
        text = text[0].upper() + text[1:] if actor == KERNEL else text
        new = tuple(p for p in sorted(after.props - self.state.props, key=_prop_order))
        step = Step(len(self.steps) + 1, actor, move, text, View.of(after), new)
        return Trace(m, self.steps + (step,), after)

    def undo(self, n: int = 1) -> Trace:
        """The trace without its last ``n`` steps (replays the prefix: the model is deterministic)."""
        return replay(self.machine.setup, list(self.schedule[: max(0, len(self.steps) - n)]))

    # -------------------------------------------------------------------------------- reading

    @property
    def schedule(self) -> tuple:
        return tuple(s.move for s in self.steps)

    @property
    def enabled(self) -> tuple:
        return tuple(self.machine.enabled(self.state))

    @property
    def done(self) -> bool:
        return not self.machine.enabled(self.state)

    @property
    def view(self) -> View:
        return View.of(self.state)

    @property
    def properties(self) -> tuple:
        return tuple(sorted(self.state.props, key=_prop_order))

    @property
    def outcome(self) -> dict | None:
        """Scenario runs: {thread: [result, ...]} once done (a thread still asleep ends "blocked")."""
        if not self.done:
            return None
        return {n: [to_json(r) for r in res] for n, res in self.machine.outcome(self.state)} \
            if self.machine.setup.kind == "scenario" else None

    def text(self) -> str:
        return "\n".join(s.line() for s in self.steps)

    def to_list(self) -> list:
        return [s.to_dict() for s in self.steps]

    def __len__(self) -> int:
        return len(self.steps)


def _prop_order(p: str) -> int:
    from .properties import NAMES

    return NAMES.index(p) if p in NAMES else len(NAMES)


def to_json(result):
    """A call result in the scenario JSON form: events as [[fd, [flags]], ...]."""
    if isinstance(result, tuple):
        return [[fd, list(bits)] for fd, bits in result]
    return result


def replay(setup: Setup, schedule) -> Trace:
    """Replay an explicit schedule (a list of moves: "Kernel", "Thread A" or just "A").
    Raises ValueError at the first move that is not enabled, saying why."""
    tr = Trace.start(setup)
    for move in schedule:
        tr = tr.then(move)
    return tr


def run(setup: Setup, seed: int | None = None, max_steps: int = 100_000) -> Trace:
    """Run to the end. ``seed``: each step picks uniformly among the enabled moves with
    ``random.Random(seed)``; ``None``: the canonical schedule (the first enabled move: threads in
    name order before the kernel)."""
    rng = random.Random(seed) if seed is not None else None
    tr = Trace.start(setup)
    for _ in range(max_steps):
        moves = tr.machine.enabled(tr.state)
        if not moves:
            return tr
        tr = tr.then(rng.choice(moves) if rng else moves[0])
    raise RuntimeError(f"run did not finish within {max_steps} steps")
