"""Threads: the calls they make, the programs that choose those calls, and one thread step.

A *program* is a pure object: ``start()`` gives its local state (a hashable tuple), ``call(local)`` the
next call (or None when it is done), ``after(local, call, result)`` the local state after a call
returned. Scenario files run a fixed list of calls (:class:`CallList`); the strategies of
``epollkit/strategies.py`` are loops (:mod:`epollkit.sim.programs`).

One step of a thread (:func:`thread_step`) is one decision of the kernel on its behalf: a call that
returns or goes to sleep, or -- for a woken thread -- the re-poll it does when it runs, which may
find nothing and sleep again (a wasted wake-up, counted apart from a visible ``EAGAIN``).
"""

from __future__ import annotations

from bisect import bisect_right
from typing import NamedTuple

from ..scenarios.calls import Accept, Ctl, Deliver, EpollWait, Poll, Read  # noqa: F401  (re-exported)
from . import fdtable, rules
from .state import EPOLLIN, Entry, ModelError, State, Thread, ThreadState, World, transition


class CallList:
    """A scenario thread: its calls, in order; the local state is the index of the next call."""

    records = True

    def __init__(self, calls):
        self.calls = tuple(calls)

    def start(self) -> tuple:
        return (0,)

    def call(self, local: tuple):
        return self.calls[local[0]] if local[0] < len(self.calls) else None

    def after(self, local: tuple, call, result) -> tuple:
        return (local[0] + 1,)


SLEEP = object()  # a call's "result" when the thread goes to sleep in it


class CallFacts(NamedTuple):
    """What one thread step did, as data (a :class:`epollkit.sim.Step` reads it from the step's log):
    the call, its result (``SLEEP`` when the thread went to sleep in it), whether the thread was
    woken and re-polled (``resumed``) and whether the step ended a wasted wake-up."""

    call: object
    result: object
    resumed: bool
    wasted: bool


# a module-level name is read faster than an Enum member (the explorer reads these millions of times)
_RUNNING, _WOKEN = ThreadState.RUNNING, ThreadState.WOKEN


def _flag(st: State, prop: str) -> None:
    if prop not in st.props:
        st.props = st.props | {prop}


def _flag_eagain(st: State, t: Thread) -> None:
    """An accept()/read() found nothing. "eagain" (docs/architecture.md): its wait had returned readiness --
    whether this is the first call after the wait or the one that ends a drain loop. "eagain-first":
    the FIRST call after the wait found nothing (the seed post's "confused" thread: another thread
    took what its wake-up announced)."""
    if t.waited:
        _flag(st, "eagain")
    if t.fresh:
        _flag(st, "eagain-first")


def fmt_events(events) -> str:
    return "[" + ", ".join(f"{fd} {'|'.join(bits)}" for fd, bits in events) + "]"


def _sleep_in(st: State, w: World, name: str, call, log: list | None) -> ThreadState:
    """Put the thread on the right wait queue and return the state it sleeps in."""
    if isinstance(call, EpollWait):
        # ep_poll(): __add_wait_queue_exclusive(&ep->wq) -- a head insert: LIFO.
        e = st.epolls[call.epoll]
        st.epolls[call.epoll] = e._replace(wq=rules.ep_wq_insert(e.wq, name))
        if log is not None:
            log.append(f"sleeps at the head of {call.epoll}'s ep->wq")
        return ThreadState.SLEEP_EPOLL
    if isinstance(call, Accept):
        # inet_csk_wait_for_connect(): prepare_to_wait_exclusive() -- a tail insert: FIFO.
        rules.add_waiter(st, call.fd, Entry("accept", name, True))
        if log is not None:
            log.append(f"sleeps at the tail of {call.fd}'s wait queue (exclusive)")
        return ThreadState.SLEEP_ACCEPT
    if isinstance(call, Poll):
        # do_select()/do_poll() -> poll_wait() -> add_wait_queue(): not exclusive.
        rules.add_waiter(st, call.fd, Entry("poll", name, False))
        if log is not None:
            log.append(f"sleeps on {call.fd}'s wait queue (not exclusive)")
        return ThreadState.SLEEP_POLL
    raise ModelError(f"{call!r} cannot sleep")


def _execute(w: World, st: State, t: Thread, call, resumed: bool, log: list | None):
    """Run ``call`` for thread ``t`` (resumed: it was woken and now re-polls). Returns
    ``(changes, result)``: the fields of ``t`` to change (a dict, or None), and the call's result --
    SLEEP when the thread must sleep. (The caller makes the new record once, with its own changes.)"""
    name = t.name
    if st.fdt is not None:  # descriptor mode: numbers resolve through the process's table
        done, res = fdtable.execute(w, st, t, call, log)
        if done is not fdtable.NOT_MINE:
            return (None if done is t else done._asdict()), res
        if res is not None:  # a read: through the number, to its description
            call = Read(res, call.nbytes)
    if isinstance(call, EpollWait):
        evs = ()
        if resumed or rules.ep_events_available(st, call.epoll):
            evs = rules.ep_send_events(w, st, call.epoll, call.maxevents, log)
            if st.fdt is not None:
                evs = fdtable.label_events(st, name, evs)
        if evs:
            return dict(returns=t.returns + 1, fresh=True, waited=True), evs
        if call.timeout == 0:
            return dict(waited=False), ()
        return None, SLEEP
    if isinstance(call, Poll):
        # do_poll() -> vfs_poll(): for an epoll fd, __ep_eventpoll_poll() (epollkit.sim.nested)
        if EPOLLIN in rules.poll_mask(st, call.fd, w, log):
            return dict(returns=t.returns + 1, fresh=True, waited=True), 1
        if call.timeout == 0:
            return dict(waited=False), 0
        return None, SLEEP
    if isinstance(call, Accept):
        conn = rules.take_connection(st, call.fd)
        if conn is not None:
            st.accept_order = st.accept_order + (name,)
            if log is not None:
                log.append(f"gets connection {conn}")
            return dict(accepts=t.accepts + 1, fresh=False, tried=True, cycle=2 if t.cycle else 0,
                        returns=t.returns + (1 if call.blocking else 0)), "ok"
        if call.blocking:
            if log is not None and resumed:
                log.append(f"{call.fd}'s accept queue is empty")
            return None, SLEEP
        _flag_eagain(st, t)
        return dict(eagain=t.eagain + 1, fresh=False, tried=True), "EAGAIN"
    if isinstance(call, Read):
        got = rules.take_bytes(st, call.fd, call.nbytes)
        if got is not None:
            n = got[1] - got[0]
            _note_split(w, st, call.fd, got, name)
            return dict(reads=t.reads + 1, nbytes=t.nbytes + n, fresh=False, tried=True,
                        cycle=2 if t.cycle else 0, pending=t.pending + (got,)), n
        _flag_eagain(st, t)
        return dict(eagain=t.eagain + 1, fresh=False, tried=True), "EAGAIN"
    if isinstance(call, Ctl):
        return None, rules.epoll_ctl(w, st, call.op, call.epoll, call.fd, call.events, log)
    if isinstance(call, Deliver):
        st.delivered = st.delivered + tuple((a, b, name) for a, b in t.pending)
        for a, b in t.pending:
            if a < st.furthest:
                st.late += 1
            st.furthest = max(st.furthest, b)
        if log is not None:
            n = sum(b - a for a, b in t.pending)
            log.append(f"hands {n} byte{'s' if n != 1 else ''} on to the application")
        return dict(pending=()), None
    raise ModelError(f"unknown call {call!r}")


def _note_split(w: World, st: State, stream: str, got: tuple, name: str) -> None:
    """Who read which message: a message read by more than one thread is split. Reads take bytes
    from the head of the stream, so only the message at the head can be partly read."""
    bounds = w.boundaries.get(stream)
    if not bounds:
        return
    a, b = got
    first = bisect_right(bounds, a)
    last = bisect_right(bounds, b - 1)
    head = st.heads.get(stream)
    for m in range(first, last + 1):
        readers = (head[1] | {name}) if head is not None and head[0] == m else frozenset({name})
        if b >= bounds[m]:  # message m is now read completely
            if len(readers) > 1:
                st.split += 1
            head = None
        else:
            head = (m, readers)
    heads = dict(st.heads)
    if head is None:
        heads.pop(stream, None)
    else:
        heads[stream] = head
    st.heads = heads


def describe_result(call, result) -> str:
    if isinstance(call, fdtable.CALLS) or result == "EBADF":
        return fdtable.describe(call, result)
    if isinstance(call, EpollWait):
        return f"returns {fmt_events(result)}" if result else "returns 0 events"
    if isinstance(call, Poll):
        return "returns: readable" if result else "returns 0: nothing ready"
    if isinstance(call, Accept):
        return "succeeds" if result == "ok" else "fails with EAGAIN"
    if isinstance(call, Read):
        return f"returns {result} byte{'s' if result != 1 else ''}" if result != "EAGAIN" \
            else "fails with EAGAIN"
    if isinstance(call, Ctl):
        return "succeeds" if result == "ok" else f"fails with {result}"
    return "done"


def thread_step(w: World, st: State, name: str, program, log: list | None) -> None:
    """One step of thread ``name`` (RUNNING: its next call; WOKEN: re-poll the call it slept in)."""
    t = st.threads[name]
    resumed = t.state is _WOKEN
    if t.state is not _RUNNING and not resumed:
        raise ModelError(f"Thread {name} cannot move: it is {t.state.value}")
    call = program.call(t.local)
    if call is None:  # only reachable for a RUNNING thread whose program just ended
        st.threads[name] = transition(t, ThreadState.DONE)
        return
    inner: list | None = [] if log is not None else None
    changes, result = _execute(w, st, t, call, resumed, inner)
    if result is SLEEP:
        # woken, and asleep again having accepted/read nothing: a wasted wake-up
        wasted = t.cycle == 1 and (resumed or t.tried)
        if wasted:
            _flag(st, "wasted-wakeup")
        state = _sleep_in(st, w, name, call, inner)
        st.threads[name] = transition(t, state, cycle=0, tried=False, fresh=False, waited=False,
                                      wasted=t.wasted + 1 if wasted else t.wasted)
        if log is not None:
            head = (f"re-polls in {call.label()}: nothing for it" if resumed
                    else f"calls {call.label()}: nothing ready")
            tail = "; a wasted wake-up" if wasted else ""
            log.append("; ".join([head] + inner) + tail)
            log.append(CallFacts(call, SLEEP, resumed, wasted))
        return
    if changes is None:
        changes = {}
    changes["local"] = program.after(t.local, call, result)
    if program.records:
        changes["results"] = t.results + (result,)
    t = transition(t, _RUNNING, **changes) if resumed else t._replace(**changes)
    if log is not None:
        verb = "finishes" if resumed else "calls"
        log.append("; ".join([f"{verb} {call.label()}: {describe_result(call, result)}"] + inner))
        log.append(CallFacts(call, result, resumed, False))
    if program.call(t.local) is None:
        if t.cycle == 1 and t.tried:
            t = t._replace(wasted=t.wasted + 1)
            _flag(st, "wasted-wakeup")
        t = transition(t, ThreadState.DONE)
    st.threads[name] = t
