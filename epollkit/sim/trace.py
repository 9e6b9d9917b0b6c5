"""Traces: the steps of one run, each with who moved, what happened and the state after it.

A :class:`Trace` is immutable. ``trace.then("Thread A")`` is a new trace one step longer (refused with
``ValueError`` and a one-sentence reason when that actor cannot move); ``trace.undo()`` replays the
prefix. ``replay(setup, schedule)`` and ``run(setup, seed, policy=...)`` build traces; the explorer
builds its witnesses with ``replay``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .machine import KERNEL, Machine, Setup, actor_name
from .state import State
from .threads import SLEEP, Accept, CallFacts, Deliver


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
    first shown at this step).

    ``woken``: the threads this step woke, in wake order (names: ``("B", "A")``) -- the kernel
    event's wake-up walk, an ``ep_done_scan()`` cascade, or an ``epoll_ctl()`` of a ready fd.
    ``exhibits``: the properties this step shows *each time* they happen, not only the first time
    in the run: ``shows`` plus the moving thread's own ``eagain``, ``eagain-first`` and
    ``wasted-wakeup`` (e.g. Thread B's ``EAGAIN`` after Thread A's).

    The same facts as data, so that plots and widgets never parse ``text``:

    - ``event`` (kernel steps): ``{"kind": "connect", "target": listener, "number": n}`` (the n-th
      connection to arrive there) or ``{"kind": "write", "target": stream, "bytes": n}``
    - ``call`` (thread steps): the call (``EpollWait``, ``Accept``, ``Read``, ``Ctl``, ``Poll``,
      ``Deliver``; ``.label()`` names it), or None when the thread had nothing more to do
    - ``result``: what the call returned, in the scenario JSON form (``[[fd, [flags]], ...]``,
      ``"ok"``, ``"EAGAIN"``, a byte count, an errno name), or ``"sleeps"``
    - ``resumed``: the thread had been woken and re-polled its call; ``wasted``: the step ended a
      wasted wake-up (woken, then asleep again having done nothing)
    - ``detail``: ``{"connection": n}`` for an accepted connection, ``{"delivered": n}`` for bytes
      handed on, else None
    """

    index: int
    actor: str
    move: str
    text: str
    view: View
    shows: tuple = ()
    woken: tuple = ()
    exhibits: tuple = ()
    event: dict | None = None
    call: object = None
    result: object = None
    resumed: bool = False
    wasted: bool = False
    detail: dict | None = None

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
        facts = [x for x in log if isinstance(x, CallFacts)]
        log = [x for x in log if not isinstance(x, CallFacts)]
        text = "; ".join(log) if log else "has nothing more to do"
        text = text[0].upper() + text[1:] if actor == KERNEL else text
        new = tuple(p for p in sorted(after.props - self.state.props, key=_prop_order))
        seen = set(new)
        if actor != KERNEL:
            seen |= _thread_props(self.state.threads[m.actor_of[move]], after.threads[m.actor_of[move]])
        step = Step(len(self.steps) + 1, actor, move, text, View.of(after), new, after.woken,
                    tuple(sorted(seen, key=_prop_order)),
                    **_facts(m, self.state, after, move, facts[-1] if facts else None))
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


def _facts(m: Machine, before: State, after: State, move: str, facts) -> dict:
    """A step's structured fields (see :class:`Step`)."""
    if move.startswith(KERNEL):
        ev = m.events[before.kpc]
        target = move.split("/", 1)[1] if ev[0] == "connect-any" else ev[1]
        if ev[0] == "write":
            return {"event": {"kind": "write", "target": target, "bytes": ev[2]}}
        return {"event": {"kind": "connect", "target": target, "number": after.listeners[target][0]}}
    if facts is None:
        return {}
    call, result = facts.call, facts.result
    detail = None
    if isinstance(call, Accept) and result == "ok":
        detail = {"connection": after.listeners[call.fd][1]}  # connections are taken in arrival order
    elif isinstance(call, Deliver):
        t = before.threads[m.actor_of[move]]
        detail = {"delivered": sum(b - a for a, b in t.pending)}
    return {"call": call, "result": "sleeps" if result is SLEEP else to_json(result),
            "resumed": facts.resumed, "wasted": facts.wasted, "detail": detail}


def _thread_props(before, after) -> set:
    """The properties one thread's step showed for that thread (``threads._flag_eagain``, the
    wasted-wakeup count of ``threads.thread_step``), whether or not the run had shown them before."""
    out = set()
    if after.eagain > before.eagain:
        if before.waited:
            out.add("eagain")
        if before.fresh:
            out.add("eagain-first")
    if after.wasted > before.wasted:
        out.add("wasted-wakeup")
    return out


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


POLICIES = ("canonical", "random", "paced")


def run(setup: Setup, seed: int | None = None, max_steps: int = 100_000, *,
        policy: str | None = None) -> Trace:
    """Run to the end under a scheduling ``policy``:

    ``"canonical"`` (the default without ``seed``): the first enabled move each time -- threads in
    name order before the kernel.
    ``"random"`` (the default with ``seed``): each step picks uniformly among the enabled moves with
    ``random.Random(seed)``.
    ``"paced"``: the schedule a slow, paced client gives on one CPU. A kernel event happens only when
    no thread can move (every worker asleep); the threads it woke (``Step.woken``) then run one at a
    time, in the order they were woken, each until it sleeps again (no preemption); a thread woken
    while another runs waits its turn. Threads that have not slept yet start in name order. A kernel
    event that offers a choice (the ``reuseport-cbpf-*`` variants) takes its first choice.
    """
    if policy is None:
        policy = "canonical" if seed is None else "random"
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {', '.join(POLICIES)}, not {policy!r}")
    if policy == "random" and (seed is None or isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValueError(f"policy 'random' needs an integer seed, not {seed!r}")
    if policy != "random" and seed is not None:
        raise ValueError(f"seed goes with policy 'random' only, not with {policy!r}")
    if policy == "paced":
        return _paced(setup, max_steps)
    rng = random.Random(seed) if policy == "random" else None
    tr = Trace.start(setup)
    for _ in range(max_steps):
        moves = tr.machine.enabled(tr.state)
        if not moves:
            return tr
        tr = tr.then(rng.choice(moves) if rng else moves[0])
    raise RuntimeError(f"run did not finish within {max_steps} steps")


def _paced(setup: Setup, max_steps: int) -> Trace:
    tr = Trace.start(setup)
    turn: list = []  # moves of woken threads waiting for the CPU, first woken first
    last = None  # the thread on the CPU: it keeps it until it sleeps
    for _ in range(max_steps):
        moves = tr.machine.enabled(tr.state)
        if not moves:
            return tr
        threads = [mv for mv in moves if not mv.startswith(KERNEL)]
        if last in threads:
            move = last
        else:
            waiting = [mv for mv in turn if mv in threads]
            move = waiting[0] if waiting else (threads[0] if threads else moves[0])
        tr = tr.then(move)
        if move in turn:
            turn.remove(move)
        turn.extend(mv for mv in map(actor_name, tr.steps[-1].woken) if mv not in turn)
        last = move if not move.startswith(KERNEL) else None
    raise RuntimeError(f"paced run did not finish within {max_steps} steps")
