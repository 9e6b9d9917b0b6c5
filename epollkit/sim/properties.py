"""The contract properties (docs/architecture.md, "Result records") and the metrics of a finished run.

Shown at the step where they happen (set by the rules while a step runs):

- ``herd``: one kernel event woke more than one thread. Each wake-up carries its cause
  (``rules.wake_thread``): the kernel event whose wake-up walk ran, and for an ``ep_done_scan()``
  wake-up the event that queued the item left on the ready list (so the level-triggered cascade
  counts for the event that started it). Wake-ups made by ``epoll_ctl()`` (``ep_insert()`` /
  ``ep_modify()`` of a ready fd, e.g. a ONESHOT re-arm) have no cause and never count;
- ``wasted-wakeup``: a thread was woken and went back to sleep (inside the kernel, or after returning
  and failing to accept/read) having accepted/read nothing;
- ``eagain``: a thread's ``accept()``/``read()`` returned ``EAGAIN`` after its wait returned --
  including the ``EAGAIN`` that ends a drain loop (edge-triggered strategies show it by design);
- ``eagain-first`` (not a contract name; an addition): the FIRST ``accept()``/``read()`` after a wait
  returned found nothing -- the seed post's "confused" thread, woken for work another thread took.

Judged on the final state:

- ``starvation``: one thread took all of >= 2 connections (or successful reads) while another took none;
- ``split``: a message's bytes were read by more than one thread;
- ``reorder``: a delivery arrived behind a later one;
- ``stuck``: the run is over, EVERY thread is asleep (none running, none done), and one of them
  sleeps on a source that still holds a connection or bytes: in ``accept()`` or ``select()/poll()``
  on it, or in ``epoll_wait()`` on an instance with an ARMED item asking for ``EPOLLIN`` on it. A lost
  wake-up: nothing will ever wake anyone. (Not counted: an ``EPOLLOUT``-only or disarmed ONESHOT item
  -- nothing was promised; a run where some thread finished -- a scenario thread that is done may be
  the one that was told, as in ``et-one-write-two-threads``.)
"""

from __future__ import annotations

from .state import EPOLLIN, State, ThreadState

CONTRACT = ("herd", "wasted-wakeup", "eagain", "starvation", "split", "reorder", "stuck")
EXTRA = ("eagain-first",)  # more properties the explorer reports, beyond the contract names
NAMES = CONTRACT + EXTRA


def _waits_on(st: State, t) -> set:
    """The sources whose readability would wake a sleeping thread: for ``epoll_wait()``, the fds of
    the instance's ARMED items that ask for EPOLLIN; for accept()/select()/poll(), the source it sleeps on."""
    srcs = set()
    if t.state is ThreadState.SLEEP_EPOLL:
        for e in st.epolls.values():
            if t.name in e.wq:
                srcs.update(it.fd for it in e.items if it.armed and EPOLLIN in it.events)
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
    if all(t.state.asleep for t in st.threads.values()):
        for t in st.threads.values():
            if any(st.queued(src) for src in _waits_on(st, t)):
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
