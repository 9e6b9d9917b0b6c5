"""The contract properties (DESIGN.md "Properties") and the metrics of a finished run.

Shown at the step where they happen (set by the rules while a step runs):

- ``herd``: one kernel event woke more than one thread (directly, or through the end-of-harvest
  wake-up it caused) -- every thread woken between two kernel events counts for the earlier one;
- ``wasted-wakeup``: a thread was woken and went back to sleep (inside the kernel, or after returning
  and failing to accept/read) having accepted/read nothing;
- ``eagain``: the first ``accept()``/``read()`` after a wait returned found nothing (the "confused"
  thread of the seed post; the ``EAGAIN`` that ends a drain loop is counted in the ``eagain`` metric,
  not shown as this property).

Judged on the final state:

- ``starvation``: one thread took all of >= 2 connections (or successful reads) while another took none;
- ``split``: a message's bytes were read by more than one thread;
- ``reorder``: a delivery arrived behind a later one;
- ``stuck``: the run is over with a thread asleep while a connection or bytes it waits for are still
  queued (a lost wake-up: nothing will ever wake it).
"""

from __future__ import annotations

from .state import State, ThreadState

NAMES = ("herd", "wasted-wakeup", "eagain", "starvation", "split", "reorder", "stuck")


def _waits_on(st: State, t) -> set:
    """The sources a sleeping thread is waiting for."""
    srcs = set()
    if t.state is ThreadState.SLEEP_EPOLL:
        for e in st.epolls.values():
            if t.name in e.wq:
                srcs.update(it.fd for it in e.items)
    else:
        for src, q in st.queues.items():
            if any(x.who == t.name and x.kind != "epoll" for x in q):
                srcs.add(src)
    return srcs


def split_count(machine, st: State) -> int:
    """Messages whose bytes were read by more than one thread (kept incrementally by the reads)."""
    return st.split + sum(1 for _m, who in st.heads.values() if len(who) > 1)


def reorder_count(st: State) -> int:
    """Deliveries that arrived behind a later one (their bytes come before bytes already delivered)."""
    return st.late


def _work(st: State, t) -> int:
    return t.accepts + t.reads


def terminal(machine, st: State) -> frozenset:
    """Properties judged on a final state."""
    out = set()
    for t in st.threads.values():
        if t.state.asleep and any(st.queued(src) for src in _waits_on(st, t)):
            out.add("stuck")
            break
    works = [_work(st, t) for t in st.threads.values()]
    if len(works) > 1 and sum(works) >= 2 and max(works) == sum(works) and min(works) == 0:
        out.add("starvation")
    if machine.world.boundaries and split_count(machine, st):
        out.add("split")
    if reorder_count(st):
        out.add("reorder")
    return frozenset(out)


def metrics_key(machine, st: State) -> tuple:
    """A hashable summary of a strategy run's final state (expanded by ``programs.outcome_dict``)."""
    per = tuple((t.accepts, t.reads, t.nbytes, t.returns, t.eagain, t.wakeups, t.wasted)
                for t in st.threads.values())
    lost = sum(st.queued(s) for s in (*st.listeners, *st.streams))
    return (per, st.accept_order, lost, split_count(machine, st) if machine.world.boundaries else 0,
            reorder_count(st), tuple(sorted(st.props)))
