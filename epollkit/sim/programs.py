"""The strategies of ``epollkit/strategies.py`` as thread programs, and ``accept()`` / ``read()``.

Each worker is a loop (its local state is ``(phase, count)``): wait (``epoll_wait``, ``select``/``poll``
or a blocking ``accept``), then ``accept()``/``read()`` once or until ``EAGAIN``, then -- for ONESHOT --
``EPOLL_CTL_MOD`` to re-arm. Read workers hand each chunk on ("deliver") as a step of its own, so
another reader can deliver in between: that is where reordering comes from.

``accept()`` and ``read()`` take the lab's parameters and return the lab's records
(``AcceptResult`` / ``ReadResult``, ``backend="sim"``). One run: the canonical schedule (``seed=None``:
threads in name order move before the kernel, so every kernel event finds all workers asleep), a
seeded random interleaving, or ``schedule="paced"`` (every kernel event finds all workers asleep; the
woken threads run one at a time in wake order, each until it sleeps again). ``explore=True`` adds
``schedules``, ``states``, ``outcomes`` (every distinct final outcome with its metrics and ``count``,
the number of schedules ending in it) and ``witnesses``
(the shortest trace showing each property).
"""

from __future__ import annotations

import string

from .. import strategies as vocab
from ..analysis.summarize import summarize_accept, summarize_read
from ..records import ReaderStats, WorkerStats
from ..scenarios.calls import Connect, ConnectAny, Write
from ..scenarios.format import MAX_WRITE
from ..scenarios.generation import generation
from . import rules
from .explore import DEFAULT_BUDGET, explore
from .machine import Setup
from .state import Epoll, State, Thread, ThreadState, World
from .threads import Accept, Ctl, Deliver, EpollWait, Poll, Read
from .trace import POLICIES, run

MAX_WORKERS = 8
MAX_EVENTS = 64
NAMES = string.ascii_uppercase


class AcceptLoop:
    """An accept worker of strategy ``s`` (see ``strategies.Strategy``)."""

    records = False

    def __init__(self, s: vocab.Strategy, epoll: str | None, listener: str, rotate: int):
        self.s, self.ep, self.l, self.rotate = s, epoll, listener, rotate
        self.flags = frozenset(s.flags)
        self._calls = self._make_calls()

    def start(self) -> tuple:
        return ("wait", 0)

    def call(self, local):
        try:
            return self._calls[local[0]]
        except KeyError:
            raise ValueError(local[0]) from None

    def _make_calls(self) -> dict:
        """The call of each phase (immutable values, built once: the explorer asks for them millions
        of times)."""
        if self.s.wait == "accept":
            wait = Accept(self.l, blocking=True)
        elif self.s.wait in ("select", "poll"):
            wait = Poll(self.l, self.s.wait)
        else:
            wait = EpollWait(self.ep, 1, -1)
        return {
            "wait": wait,
            "accept": Accept(self.l, blocking=False),
            "rearm": Ctl("mod", self.ep, self.l, self.flags),  # ep_modify(): re-arm the ONESHOT item
            "del": Ctl("del", self.ep, self.l),
            "add": Ctl("add", self.ep, self.l, self.flags),  # back at the tail of the exclusive list
        }

    def after(self, local, call, result):
        phase, count = local
        if phase == "wait":
            return ("wait", count) if self.s.wait == "accept" else ("accept", count)
        if phase == "accept":
            if result == "ok":
                count += 1
                if self.s.drain:
                    return ("accept", count)
            if self.s.rearm:
                return ("rearm", count)
            if self.s.rotate and count >= self.rotate:
                return ("del", 0)
            return ("wait", count)
        if phase == "del":
            return ("add", 0)
        return ("wait", count)


class ReadLoop:
    """A read worker of strategy ``s``: read ``read_size`` bytes once or until EAGAIN, deliver."""

    records = False

    def __init__(self, s: vocab.Strategy, epoll: str, stream: str, read_size: int):
        self.s, self.ep, self.fd, self.n = s, epoll, stream, read_size
        self.flags = frozenset(s.flags)
        self.collect = s.rearm  # ONESHOT readers hand the data on once, after the drain
        self._calls = {"wait": EpollWait(epoll, 1, -1), "read": Read(stream, read_size),
                       "deliver": Deliver(), "rearm": Ctl("mod", epoll, stream, self.flags)}

    def start(self) -> tuple:
        return ("wait", "")

    def call(self, local):
        try:
            return self._calls[local[0]]
        except KeyError:
            raise ValueError(local[0]) from None

    def after(self, local, call, result):
        phase, nxt = local
        s = self.s
        if phase == "wait":
            return ("read", "")
        if phase == "read":
            if result == "EAGAIN":
                if s.rearm and s.deliver_before_rearm:
                    return ("deliver", "rearm")  # hand on, then re-arm
                if s.rearm:
                    return ("rearm", "deliver")  # WRONG on purpose: re-arm first
                return ("wait", "")
            if self.collect:
                return ("read", "")
            return ("deliver", "read" if s.drain else "wait")
        if phase == "deliver":
            return (nxt or "wait", "")
        if phase == "rearm":
            return (nxt or "wait", "")
        raise ValueError(phase)


def _fmix32(k: int) -> int:
    """MurmurHash3's finalizer: a stand-in for ``inet_ehashfn()`` of a connection's 4-tuple."""
    h = k & 0xFFFFFFFF
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return h


def reuseport_pick(conn: int, listeners: int) -> int:
    """``reuseport_select_sock()``: ``reciprocal_scale(hash, n)`` picks a listener by the hash."""
    return (_fmix32(conn) * listeners) >> 32


def _check(name: str, value, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer in {lo}..{hi}, not {value!r}")
    return value


def accept_setup(strategy: str, workers: int, connections: int, *, kernel="newest",
                 rotate: int = 16) -> Setup:
    """The model of an accept experiment: ``workers`` looping threads and ``connections`` arrivals.
    ``kernel``: the release whose rules to imitate (default "newest"; ``system.this_release()`` for
    this machine's)."""
    s = vocab.get("accept", strategy)
    _check("workers", workers, 1, MAX_WORKERS)
    _check("connections", connections, 1, MAX_EVENTS)
    _check("rotate", rotate, 1, 1 << 20)
    gen = generation(kernel)
    label, cascade = gen.kernel, gen.cascade
    st = State()
    world = World(kinds={}, boundaries={}, cascade=cascade, kernel=label, generation=gen)
    names = NAMES[:workers]
    flags = frozenset(s.flags)
    programs = {}
    listeners = [f"l{i}" for i in range(s.listeners(workers))]
    for lst in listeners:
        st.listeners[lst] = (0, 0)
    # registration order is the order of the listener's exclusive wait queue (EPOLLEXCLUSIVE)
    for e in range(s.epolls(workers)):
        st.epolls[f"e{e}"] = Epoll()
        rules.epoll_ctl(world, st, "add", f"e{e}", listeners[s.listener_of(e)], flags, None)
    for i, n in enumerate(names):
        ep = f"e{s.epoll_of(i)}" if s.epolls(workers) else None
        programs[n] = AcceptLoop(s, ep, listeners[s.listener_of(i)], rotate)
        st.threads[n] = Thread(n, ThreadState.RUNNING, programs[n].start())
    if s.steer is not None:  # a CBPF program picks the listener: the model lets the kernel move choose
        how = "by the CPU that handles it" if s.steer == "cpu" else "at random"
        events = tuple(ConnectAny.to(tuple(listeners), how) for _ in range(connections))
    elif len(listeners) > 1:  # the kernel's 4-tuple hash (a stand-in: reuseport_pick)
        events = tuple(Connect.to(listeners[reuseport_pick(k, workers)]) for k in range(1, connections + 1))
    else:
        events = tuple(Connect.to("l0") for _ in range(connections))
    params = {"strategy": strategy, "workers": workers, "connections": connections, "kernel": label,
              "rules": gen.describe()}
    if s.rotate:
        params["rotate"] = rotate
    return Setup(f"accept {strategy} x{workers}, {connections} connections", world, st, programs,
                 events, "block-once", "accept", params)


def read_setup(strategy: str, readers: int, messages: int, message_size: int = 100,
               read_size: int = 100, *, kernel="newest") -> Setup:
    """The model of a read experiment: ``readers`` threads share one stream; ``messages`` writes of
    ``message_size`` bytes, each ONE wake-up -- so at most ``MAX_WRITE`` bytes (a larger write is
    several skbs, several ``sk_data_ready()`` calls in ``unix_stream_sendmsg()``)."""
    s = vocab.get("read", strategy)
    _check("readers", readers, 1, MAX_WORKERS)
    _check("messages", messages, 1, MAX_EVENTS)
    if not isinstance(message_size, bool) and isinstance(message_size, int) and message_size > MAX_WRITE:
        raise ValueError(f"message_size must be an integer in 1..{MAX_WRITE}, not {message_size!r}: a larger "
                         "write is several skbs, so several wake-ups (unix_stream_sendmsg())")
    _check("message_size", message_size, 1, MAX_WRITE)
    _check("read_size", read_size, 1, 1 << 20)
    gen = generation(kernel)
    label, cascade = gen.kernel, gen.cascade
    bounds = tuple(message_size * (i + 1) for i in range(messages))
    world = World(kinds={}, boundaries={"s0": bounds}, cascade=cascade, kernel=label, generation=gen)
    st = State()
    st.streams["s0"] = (0, 0)
    flags = frozenset(s.flags)
    names = NAMES[:readers]
    programs = {}
    for e in range(s.epolls(readers)):
        st.epolls[f"e{e}"] = Epoll()
        rules.epoll_ctl(world, st, "add", f"e{e}", "s0", flags, None)
    for i, n in enumerate(names):
        programs[n] = ReadLoop(s, f"e{s.epoll_of(i)}", "s0", read_size)
        st.threads[n] = Thread(n, ThreadState.RUNNING, programs[n].start())
    events = tuple(Write.to("s0", message_size) for _ in range(messages))
    params = {"strategy": strategy, "readers": readers, "messages": messages,
              "message_size": message_size, "read_size": read_size, "kernel": label, "rules": gen.describe()}
    return Setup(f"read {strategy} x{readers}, {messages} messages", world, st, programs, events,
                 "block-once", "read", params)


# ------------------------------------------------------------------------------------- records


def _accept_record(setup: Setup, st: State, extra: dict):
    names = list(st.threads)
    per = [WorkerStats(i, t.accepts, t.returns, t.eagain, t.wakeups)
           for i, t in enumerate(st.threads.values())]
    p = setup.meta
    return summarize_accept(
        backend="sim", strategy=p["strategy"], connections=p["connections"], per_worker=per,
        accept_order=[names.index(n) for n in st.accept_order], params=extra.pop("params"), **extra)


def _read_record(setup: Setup, st: State, extra: dict):
    p = setup.meta
    names = list(st.threads)
    per = [ReaderStats(i, t.reads, t.nbytes, t.returns, t.eagain, t.wakeups)
           for i, t in enumerate(st.threads.values())]
    deliveries = [(names.index(who), a, b - a) for a, b, who in st.delivered]
    return summarize_read(
        backend="sim", strategy=p["strategy"], messages=p["messages"], message_size=p["message_size"],
        read_size=p["read_size"], deliveries=deliveries, per_reader=per, params=extra.pop("params"),
        **extra)


def outcome_dict(setup: Setup, key: tuple, count: int) -> dict:
    """An exploration outcome (``properties.metrics_key``) as a JSON-ready dict."""
    per, order, lost, split, late, props = key
    names = list(setup.programs)
    n_events = len(setup.events)
    if setup.kind == "accept":
        accepted = sum(w[0] for w in per)
        rows = [{"worker": i, "accepts": w[0], "returns": w[3], "eagain": w[4], "kernel_wakeups": w[5],
                 "wasted_wakeups": w[6]} for i, w in enumerate(per)]
        out = {"accept_order": [names.index(n) for n in order], "accepted": accepted, "lost": lost,
               "max_share": round(max(w[0] for w in per) / accepted, 4) if accepted else 0.0,
               "per_worker": rows}
    else:
        rows = [{"reader": i, "reads": w[1], "bytes": w[2], "returns": w[3], "eagain": w[4],
                 "kernel_wakeups": w[5], "wasted_wakeups": w[6]} for i, w in enumerate(per)]
        out = {"lost_bytes": lost, "split_messages": split, "reordered": late, "per_reader": rows}
    out.update({
        "returns": sum(w[3] for w in per), "eagain": sum(w[4] for w in per),
        "kernel_wakeups": sum(w[5] for w in per), "wasted_wakeups": sum(w[6] for w in per),
        "kernel_wakeups_per_event": round(sum(w[5] for w in per) / n_events, 4),
        "properties": list(props), "count": count,
    })
    return out


def _schedule(seed, schedule: str | None) -> str:
    """Check ``seed`` and ``schedule`` (one of ``trace.POLICIES``; None: random with a seed, else
    canonical) before building anything."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValueError(f"seed must be an integer or None, not {seed!r}")
    if schedule is None:
        return "canonical" if seed is None else "random"
    if schedule not in POLICIES:
        raise ValueError(f"schedule must be one of {', '.join(POLICIES)}, not {schedule!r}")
    if (schedule == "random") != (seed is not None):
        raise ValueError(f"schedule {schedule!r} " + ("needs a seed" if schedule == "random"
                                                      else f"takes no seed (seed={seed!r})"))
    return schedule


def _finish(setup: Setup, seed, schedule: str, explore_all: bool, budget: int, build):
    tr = run(setup, seed, policy=schedule)
    extra = {"params": dict(setup.meta, seed=seed, schedule=schedule)}
    if explore_all:
        ex = explore(setup, budget)
        extra.update(schedules=ex.schedules, states=ex.states,
                     outcomes=[outcome_dict(setup, k, c) for k, c in ex.outcomes],
                     witnesses=ex.witness_lists())
    return build(setup, tr.state, extra)


def accept(strategy: str, workers: int, connections: int, *, seed: int | None = None,
           explore: bool = False, kernel="newest", rotate: int = 16,
           budget: int = DEFAULT_BUDGET, schedule: str | None = None):
    """The accept experiment on the model (same parameters and record as ``epollkit.lab.accept``).

    ``kernel``: the release to imitate (default "newest"; ``system.this_release()`` for this machine's); the
    record's ``params["kernel"]`` and ``params["rules"]`` say which rules were used.
    ``rotate``: K for ``epoll-exclusive-rotate`` (remove and re-add the listener every K accepts).
    ``schedule``: the run's scheduling policy (``sim.run``): "canonical" (the default), "random" (the
    default with a ``seed``) or "paced" -- each connection finds every worker asleep, the woken threads
    run one at a time in wake order, each until it sleeps again (what a slow, paced client gives on
    one CPU). The record's ``params["schedule"]`` names it.
    """
    schedule = _schedule(seed, schedule)
    setup = accept_setup(strategy, workers, connections, kernel=kernel, rotate=rotate)
    return _finish(setup, seed, schedule, explore, budget, _accept_record)


def read(strategy: str, readers: int, messages: int, message_size: int = 100, read_size: int = 100, *,
         seed: int | None = None, explore: bool = False, kernel="newest",
         budget: int = DEFAULT_BUDGET, schedule: str | None = None):
    """The read experiment on the model (same parameters and record as ``epollkit.lab.read``);
    ``schedule`` as for :func:`accept` ("paced": each write finds every reader asleep)."""
    schedule = _schedule(seed, schedule)
    setup = read_setup(strategy, readers, messages, message_size, read_size, kernel=kernel)
    return _finish(setup, seed, schedule, explore, budget, _read_record)

