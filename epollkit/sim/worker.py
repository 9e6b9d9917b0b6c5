"""A reader's worker (:mod:`epollkit.scenarios.worker`) as a model program, explored over every
interleaving.

``check(fn, "accept", flags="EPOLLET", workers=2, events=2)`` builds the same setup the built-in
strategies run on (one listener ``l0`` or stream ``s0``, one shared epoll instance ``e0`` or one per
worker, the source registered with ``flags`` before the workers start, then ``events`` connections or
writes), gives every thread a :class:`WorkerProgram` running ``fn``, explores it, and returns a
:class:`Verdict`: the properties some schedule shows, the shortest witness of each, and the number of
schedules over which the others hold.

How a generator becomes a model program (``threads``: ``start()``, ``call(local)``,
``after(local, call, result)`` on hashable local states): the local state is a :class:`Local`, which
holds the calls and results so far and -- when it is the newest state of its run -- the live
generator. ``after`` sends the result into that generator; a state whose generator was already
advanced (the explorer branches: another schedule gave another result) is rebuilt by *replaying* the
worker from its start with the recorded results, which is why a worker must be a deterministic
function of its results (a replay that yields another call raises :class:`Nondeterministic`). Two
locals are equal when the generators stand at the same place with equal local variables (and the
same count of calls in a row that took nothing, see :data:`SPIN_LIMIT`), so the explorer merges
states the way it does for the built-in loops.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..scenarios.generation import generation
from ..scenarios.worker import (
    EAGAIN,
    AcceptCall,
    CtlCall,
    DeliverCall,
    Driver,
    Nondeterministic,
    ReadCall,
    Spins,
    WaitCall,
    check_kind,
    check_topology,
    check_worker,
    fmt_history,
    parse_flags,
)
from ..strategies import Topology
from . import rules
from .explore import StateBudgetExceeded, explore
from .machine import Setup
from .properties import NAMES
from .state import Epoll, State, Thread, ThreadState, World
from .threads import Accept, Ctl, Deliver, EpollWait, Read
from .trace import run

MAX_WORKERS = 4
MAX_EVENTS = 6  # explored: every interleaving
MAX_RECORD_EVENTS = 200  # one run (``record``)
DEFAULT_BUDGET = 150_000  # distinct states: a few seconds at most
#: what a worker's loop must never show, unless the caller says otherwise
BAD = ("stuck", "reorder", "split")
COSTS = ("herd", "wasted-wakeup", "eagain", "eagain-first", "starvation")


SPIN_LIMIT = 16  # calls in a row that take nothing, with no epoll_wait() between them: a busy loop


def progress(call, result) -> bool:
    """A wait, or an accept()/read() that took something: what resets the busy-loop count."""
    return isinstance(call, WaitCall) or (isinstance(call, (AcceptCall, ReadCall)) and result != EAGAIN)


class Local:
    """A worker thread's local state: the calls and results so far, the call it makes next, and the
    live generator while this is the newest state of its run. Hash and equality: ``key``."""

    __slots__ = ("history", "next", "driver", "since", "key", "_hash")

    def __init__(self, history: tuple, nxt, driver: Driver | None, since: int):
        self.history, self.next, self.driver, self.since = history, nxt, driver, since
        fk = driver.frame_key() if driver is not None else None
        self.key = (since, fk) if fk is not None else (since, ("history", history))
        self._hash = hash(self.key)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other) -> bool:
        return isinstance(other, Local) and self._hash == other._hash and self.key == other.key

    def __repr__(self) -> str:
        return f"Local({len(self.history)} calls, next {self.next})"


class WorkerProgram:
    """``fn`` as a thread program on epoll instance ``epoll`` and source ``fd`` (see the module doc)."""

    records = False

    def __init__(self, fn, kind: str, epoll: str, fd: str, flags: tuple, spin_limit: int, call_limit: int,
                 name: str):
        self.fn, self.kind, self.ep, self.fd, self.flags = fn, kind, epoll, fd, frozenset(flags)
        self.spin_limit, self.call_limit, self.name = spin_limit, call_limit, name

    def start(self) -> Local:
        d = Driver(self.fn, self.kind, name=self.name)
        return Local((), d.first(), d, 0)

    def call(self, local: Local):
        c = local.next
        if c is None:
            return None
        if isinstance(c, WaitCall):
            return EpollWait(self.ep, 1, -1)
        if isinstance(c, AcceptCall):
            return Accept(self.fd, blocking=False)
        if isinstance(c, ReadCall):
            return Read(self.fd, c.nbytes)
        if isinstance(c, DeliverCall):
            return Deliver()
        if isinstance(c, CtlCall):
            return Ctl(c.op, self.ep, self.fd, frozenset(c.flags) if c.flags is not None else self.flags)
        raise AssertionError(c)  # pragma: no cover - Driver refuses anything else

    def _driver_at(self, local: Local) -> Driver:
        """A generator standing where ``local`` stands: its own (taken: it is advanced now) or a replay."""
        d = local.driver
        if d is not None:
            local.driver = None
            return d
        d = Driver(self.fn, self.kind, name=self.name)
        got = d.first()
        for call, result in local.history:
            if type(got) is not type(call) or got != call:
                raise Nondeterministic(
                    f"worker {self.name!r} is not a deterministic function of its results: replayed after "
                    f"[{fmt_history(d.history)}] it yielded {got}, the first time {call} (no random, "
                    "clock or state kept between runs: the model replays a worker from its start)")
            got = d.send(result)
        if type(got) is not type(local.next) or got != local.next:
            raise Nondeterministic(
                f"worker {self.name!r} is not a deterministic function of its results: replayed after "
                f"[{fmt_history(d.history)}] it yielded {got}, the first time {local.next} (no random, "
                "clock or state kept between runs: the model replays a worker from its start)")
        return d

    def after(self, local: Local, call, result) -> Local:
        d = self._driver_at(local)
        nxt = d.send(result)
        since = 0 if progress(local.next, result) else local.since + 1
        if since > self.spin_limit:
            raise Spins(f"worker {self.name!r} made {since} calls in a row that took nothing (EAGAIN, "
                        "deliver(), epoll_ctl()) without an epoll_wait(): a loop that never waits, e.g. "
                        f"`while True: yield accept()` on EAGAIN (last: {fmt_history(d.history, 3)})")
        if len(d.history) > self.call_limit:
            raise Spins(f"worker {self.name!r} made {len(d.history)} calls, more than the {self.call_limit} "
                        "its events can need: a loop that never sleeps, e.g. one that returns to a "
                        "level-triggered epoll_wait() without taking the work "
                        f"(last: {fmt_history(d.history, 3)})")
        return Local(d.history, nxt, d, since)


# ---------------------------------------------------------------------------------------- setups


def _check(name: str, value, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer in {lo}..{hi}, not {value!r}")
    return value


def worker_setup(fn, kind: str = "accept", *, flags="EPOLLIN", topology: str = "shared", workers: int = 2,
                 events: int = 2, message_size: int = 100, kernel="newest",
                 _unchecked: bool = False) -> Setup:
    """The model of ``workers`` threads running ``fn`` (one :class:`WorkerProgram` each) against
    ``events`` connections (accept) or writes of ``message_size`` bytes (read), the listener/stream
    registered with ``flags`` on one shared instance (``topology="shared"``) or one per worker
    (``"private"``, in worker order: the order EPOLLEXCLUSIVE wakes them). Every argument is checked
    before anything runs."""
    name = check_worker(fn)
    check_kind(kind)
    flags = parse_flags(flags)
    check_topology(topology)
    _check("workers", workers, 1, MAX_WORKERS)
    _check("events", events, 1, MAX_RECORD_EVENTS if _unchecked else MAX_EVENTS)
    _check("message_size", message_size, 1, 4096)
    gen = generation(kernel)
    src = "l0" if kind == "accept" else "s0"
    bounds = {} if kind == "accept" else {"s0": tuple(message_size * (i + 1) for i in range(events))}
    world = World(kinds={}, boundaries=bounds, cascade=gen.cascade, kernel=gen.kernel, generation=gen)
    st = State()
    if kind == "accept":
        st.listeners["l0"] = (0, 0)
    else:
        st.streams["s0"] = (0, 0)
    names = "ABCDEFGH"[:workers]
    shared = Topology(topology) is Topology.SHARED
    epolls = ["e0"] if shared else [f"e{i}" for i in range(workers)]
    for ep in epolls:
        st.epolls[ep] = Epoll()
        rules.epoll_ctl(world, st, "add", ep, src, frozenset(flags), None)
    # a drain loop needs a call per event and one more; ctl, deliver and a rotation a few more
    spin_limit = SPIN_LIMIT
    # every event may wake every worker a few times; a read worker may read a byte at a time
    call_limit = 8 * events * workers + 16 + (0 if kind == "accept" else 2 * events * message_size)
    programs = {}
    for i, n in enumerate(names):
        programs[n] = WorkerProgram(fn, kind, epolls[0 if shared else i], src, flags,
                                    spin_limit, call_limit, name)
        st.threads[n] = Thread(n, ThreadState.RUNNING, programs[n].start())
    evs = tuple(("connect", "l0") if kind == "accept" else ("write", "s0", message_size)
                for _ in range(events))
    what = "connections" if kind == "accept" else f"writes of {message_size} B"
    params = {"worker": name, "kind": kind, "flags": list(flags), "topology": topology, "workers": workers,
              "events": events, "message_size": message_size, "kernel": gen.kernel, "rules": gen.describe()}
    return Setup(f"{name}: {kind} x{workers}, {events} {what}, {'|'.join(flags)} ({topology})", world, st,
                 programs, evs, "block-once", kind, params)


# --------------------------------------------------------------------------------------- verdict


@dataclass(frozen=True)
class Verdict:
    """What the model says about a worker over every interleaving of its setup.

    worker, params   the worker's name and the setup (``worker_setup`` arguments)
    schedules        complete interleavings explored; ``states``: distinct states
    properties       the properties some schedule shows (contract order); ``bad``: those the goal forbids
    witnesses        property -> the shortest complete :class:`~epollkit.sim.trace.Trace` showing it
    never            the properties the goal forbids (default ``BAD``: stuck, reorder, split)
    lost             the most connections/bytes any schedule leaves queued at the end
    paced            the canonical paced run (each event finds every worker asleep): its Trace
    """

    worker: str
    params: dict
    schedules: int
    states: int
    properties: tuple
    never: tuple
    lost: int
    witnesses: dict = field(repr=False)
    paced: object = field(repr=False, default=None)

    @property
    def bad(self) -> tuple:
        return tuple(p for p in self.properties if p in self.never)

    @property
    def holds(self) -> bool:
        return not self.bad

    def worst(self) -> str | None:
        """The property to draw first: the first forbidden one shown, else the first cost shown."""
        for p in (*self.never, *COSTS):
            if p in self.properties:
                return p
        return None

    def lines(self) -> list:
        """The verdict as short lines (deterministic: no timings)."""
        p = self.params
        head = (f"{self.worker}: {p['workers']} workers, {p['events']} "
                f"{'connections' if p['kind'] == 'accept' else 'writes'}, {'|'.join(p['flags'])} "
                f"({p['topology']}) -- {self.schedules} schedules, {self.states} states")
        out = [head]
        never = ", ".join(self.never) or "nothing"
        if self.holds:
            out.append(f"holds: no {never} over {self.schedules} schedules")
        for prop in self.bad:
            out.append(f"FAILS: shows {prop} (shortest witness: {len(self.witnesses[prop])} steps)")
        costs = [q for q in self.properties if q not in self.never]
        if costs:
            out.append("also shows (costs, not bugs): " + ", ".join(
                f"{q} ({len(self.witnesses[q])} steps)" for q in costs))
        if self.paced is not None:
            order = self.paced_order()
            out.append(f"paced run: {'accept order' if p['kind'] == 'accept' else 'deliveries by'} "
                       f"{' '.join(map(str, order)) or '(none)'}")
        return out

    def paced_order(self) -> list:
        """Who took each connection (accept) or delivered each chunk (read) in the paced run."""
        st = self.paced.state
        names = list(st.threads)
        if self.params["kind"] == "accept":
            return [names.index(n) for n in st.accept_order]
        return [names.index(who) for _a, _b, who in st.delivered]

    def text(self) -> str:
        return "\n".join(self.lines())

    def to_dict(self) -> dict:
        return {"worker": self.worker, "params": dict(self.params), "schedules": self.schedules,
                "states": self.states, "properties": list(self.properties), "never": list(self.never),
                "bad": list(self.bad), "holds": self.holds, "lost": self.lost,
                "witnesses": {k: t.to_list() for k, t in self.witnesses.items()},
                "paced_order": self.paced_order() if self.paced is not None else None}


def check_never(never) -> tuple:
    never = (never,) if isinstance(never, str) else tuple(never)
    for p in never:
        if p not in NAMES:
            raise ValueError(f"never: unknown property {p!r}; valid: {', '.join(NAMES)}")
    return tuple(p for p in NAMES if p in never)


def check(fn, kind: str = "accept", *, never=BAD, budget: int = DEFAULT_BUDGET, **setup_kw) -> Verdict:
    """Explore ``fn`` over every interleaving of ``worker_setup(fn, kind, **setup_kw)``.

    ``never``: the properties the goal forbids (default stuck, reorder, split). ``budget``: the most
    distinct states to visit (:class:`StateBudgetExceeded`, one line, past it). Worker errors
    (:class:`~epollkit.scenarios.worker.WorkerError`) are raised as they are found."""
    never = check_never(never)
    _check("budget", budget, 1, 10_000_000)
    setup = worker_setup(fn, kind, **setup_kw)
    try:
        ex = explore(setup, budget)
    except StateBudgetExceeded:
        raise StateBudgetExceeded(
            f"worker {setup.meta['worker']!r}: more than {budget} distinct states; use fewer workers or "
            "events, or a loop that sleeps (one that keeps returning from a level-triggered epoll_wait() "
            "without taking the work never ends)") from None
    paced = run(setup, policy="paced")
    lost = max(out[2] for out, _c in ex.outcomes) if ex.outcomes else 0
    return Verdict(worker=setup.meta["worker"], params=dict(setup.meta), schedules=ex.schedules,
                   states=ex.states, properties=ex.properties, never=never, lost=lost,
                   witnesses=dict(ex.witnesses), paced=paced)


def record(fn, kind: str = "accept", *, schedule: str = "paced", seed: int | None = None, **setup_kw):
    """One run of ``fn`` in the model as the lab's record (``AcceptResult`` / ``ReadResult``,
    ``backend="sim"``, ``strategy="worker:<name>"``): the paced run by default (every event finds
    every worker asleep, the woken run one at a time: what a paced client gives), or "canonical", or
    "random" with a ``seed``. ``setup_kw``: :func:`worker_setup` arguments (``events`` up to
    ``MAX_RECORD_EVENTS`` here: one run, no exploration)."""
    from ..analysis.summarize import summarize_accept, summarize_read
    from ..records import ReaderStats, WorkerStats

    events = setup_kw.pop("events", 20)
    _check("events", events, 1, MAX_RECORD_EVENTS)
    setup = worker_setup(fn, kind, events=1, **setup_kw)  # checks everything; rebuilt below
    setup = worker_setup(fn, kind, **{**_setup_args(setup.meta), "events": events}, _unchecked=True)
    tr = run(setup, seed, policy=schedule)
    st, names, p = tr.state, list(tr.state.threads), setup.meta
    calls = list(_histories(st))
    params = {**p, "schedule": schedule, "seed": seed,
              "epoll_ctl": sum(1 for c, _r in calls if isinstance(c, CtlCall))}
    if kind == "accept":
        per = [WorkerStats(i, t.accepts, t.returns, t.eagain, t.wakeups)
               for i, t in enumerate(st.threads.values())]
        return summarize_accept(backend="sim", strategy=f"worker:{p['worker']}", connections=events,
                                per_worker=per, accept_order=[names.index(n) for n in st.accept_order],
                                params=params, kernel=p["kernel"])
    per = [ReaderStats(i, t.reads, t.nbytes, t.returns, t.eagain, t.wakeups)
           for i, t in enumerate(st.threads.values())]
    deliveries = [(names.index(who), a, b - a) for a, b, who in st.delivered]
    sizes = [c.nbytes for c, _r in calls if isinstance(c, ReadCall)]
    return summarize_read(backend="sim", strategy=f"worker:{p['worker']}", messages=events,
                          message_size=p["message_size"], read_size=max(sizes, default=0),
                          deliveries=deliveries, per_reader=per, params=params, kernel=p["kernel"])


def _setup_args(meta: dict) -> dict:
    return {k: meta[k] for k in ("flags", "topology", "workers", "message_size")} | {"kernel": meta["kernel"]}


def _histories(st):
    for t in st.threads.values():
        yield from t.local.history


def outcome_keys(setup: Setup, budget: int = DEFAULT_BUDGET) -> list:
    """Every distinct final outcome of ``setup`` with its schedule count (``Exploration.outcomes``):
    what the built-in programs and their worker versions must share exactly. Sorted: the symmetry-reduced
    explorer may list outcomes with equal counts in another order than the full search."""
    return sorted(explore(setup, budget).outcomes, key=repr)


def same_as_builtin(kind: str, strategy: str, *, workers: int = 2, events: int = 2,
                    budget: int = DEFAULT_BUDGET) -> tuple:
    """The built-in model program of ``strategy`` against its worker version
    (:data:`epollkit.scenarios.loops.LOOPS`) on the same setup: ``(equal, schedules, outcomes)`` --
    equal when both give exactly the same outcomes, each with the same number of schedules."""
    from ..scenarios.loops import LOOPS
    from .programs import accept_setup, read_setup

    table = LOOPS[check_kind(kind)]
    if strategy not in table:
        raise ValueError(f"no worker version of {kind} strategy {strategy!r}; valid: {', '.join(table)}")
    fn, flags, topology = table[strategy]
    if kind == "accept":
        builtin = accept_setup(strategy, workers, events, rotate=1)
    else:
        builtin = read_setup(strategy, workers, events, 100, 100)
    mine = worker_setup(fn, kind, flags=flags, topology=topology, workers=workers, events=events)
    a, b = outcome_keys(builtin, budget), outcome_keys(mine, budget)
    return a == b, sum(c for _k, c in a), len(a)


__all__ = ["BAD", "EAGAIN", "Local", "Verdict", "WorkerProgram", "check", "outcome_keys", "record",
           "same_as_builtin", "worker_setup"]
