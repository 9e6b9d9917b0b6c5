"""The lab harness's stop protocol as a model program: does every worker get out of ``epoll_wait()``?

The harness (:class:`epollkit.lab.harness.StopSignal`) stops workers that sleep on ONE shared epoll
instance like this: an eventfd is registered level-triggered (``EPOLLIN``) in every epoll set before
the workers start, and it is never read; at teardown the main thread sets the stop flag, writes the
eventfd, and -- until every worker has joined -- writes it again each time a join times out. A worker
whose ``epoll_wait()`` returns sees the flag and leaves.

Why "again": ``eventfd_write()`` (fs/eventfd.c) runs ``wake_up_locked_poll()`` on EVERY write, so each
write runs ``ep_poll_callback()`` for the shared instance, which wakes ONE sleeper of ``ep->wq``
(exclusive waits, ``ep_poll()``). What wakes the others is the level-triggered re-queue in
``ep_send_events()`` plus the ``ep_done_scan()`` cascade -- which mainline 5.5-5.12 lacked until
7fab29e35630. There, one write wakes one worker and the rest sleep until someone writes again.

The model program: the eventfd is a ``stream`` named ``stop`` (in the model, as in the kernel, each
write to it runs the source's wake-up walk once), registered ``EPOLLIN`` in the shared instance ``e0``
beside the strategy's own fd (the listener or the shared stream, with the strategy's flags); each
worker is one ``epoll_wait(e0, maxevents=2)`` (the harness's ``EVENTS_PER_WAIT``: the worker's fd plus
the stop fd); the kernel events are the stop writes (``scenarios.calls.Write``).

- ``pokes="once"``: one write (the harness before this fix);
- ``pokes="until-joined"``: one write per worker, each made only when every worker still in the
  experiment is asleep (order ``threads-block-first``: a re-poke follows a join that timed out, so
  the workers it could have woken have run). A worker left asleep after the last write would be a
  worker the real loop pokes forever -- so "no outcome has a blocked worker" proves the loop ends.

:func:`stop_outcomes` explores it; tests/test_stop_protocol.py runs every shared-instance strategy,
2-4 workers, with and without the cascade.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import strategies
from ..scenarios.format import validate
from ..scenarios.generation import generation
from .build import setup as build_setup
from .explore import explore
from .machine import Setup

EVENTS_PER_WAIT = strategies.EVENTS_PER_WAIT  # the harness's maxevents: the worker's fd and the stop fd
POKES = ("once", "until-joined")
NAMES = "ABCDEFGH"


def stop_scenario(kind: str, strategy: str, workers: int, pokes: str = "until-joined") -> dict:
    """The stop protocol of a shared-instance strategy as a scenario document (the neutral format)."""
    s = strategies.get(kind, strategy)
    if s.topology != strategies.Topology.SHARED:
        raise ValueError(f"{strategy!r} does not share one epoll instance (topology {s.topology.value!r}); "
                         "the stop protocol is checked for shared instances")
    if not isinstance(workers, int) or isinstance(workers, bool) or not 1 <= workers <= len(NAMES):
        raise ValueError(f"workers must be an integer in 1..{len(NAMES)}, not {workers!r}")
    if pokes not in POKES:
        raise ValueError(f"pokes must be one of {', '.join(POKES)}, not {pokes!r}")
    own, own_kind = ("l0", "listener") if kind == "accept" else ("s0", "stream")
    writes = 1 if pokes == "once" else workers
    return {
        "name": f"stop {workers} {strategy} workers, poke {pokes}",
        "objects": {"e0": "epoll", own: own_kind, "stop": "stream"},
        "watch": [{"epoll": "e0", "fd": own, "events": list(s.flags)},
                  {"epoll": "e0", "fd": "stop", "events": ["EPOLLIN"]}],
        "threads": {n: [{"call": "epoll_wait", "epoll": "e0", "maxevents": EVENTS_PER_WAIT, "timeout": -1}]
                    for n in NAMES[:workers]},
        "kernel": [{"write": "stop", "bytes": 1}] * writes,
        "order": "threads-block-first",
    }


def stop_setup(kind: str, strategy: str, workers: int, pokes: str = "until-joined", *,
               kernel="newest") -> Setup:
    """The model of :func:`stop_scenario` under ``kernel``'s rules."""
    return build_setup(validate(stop_scenario(kind, strategy, workers, pokes), where="stop protocol"),
                       kernel)


@dataclass(frozen=True)
class StopCheck:
    """What the explorer found: ``left_asleep`` is the number of final states (outcomes) in which some
    worker never returned from ``epoll_wait()``; ``states`` / ``schedules`` the size of the search."""

    strategy: str
    workers: int
    pokes: str
    rules: str
    states: int
    schedules: int
    outcomes: int
    left_asleep: int
    example: dict | None  # one outcome with a worker left asleep, if any


def stop_outcomes(kind: str, strategy: str, workers: int, pokes: str = "until-joined", *,
                  kernel="newest") -> StopCheck:
    """Explore every interleaving of the stop protocol and count the outcomes that leave a worker asleep."""
    setup = stop_setup(kind, strategy, workers, pokes, kernel=kernel)
    ex = explore(setup)
    stuck = [o for o in ex.outcome_set() if any(r == ["blocked"] for r in o.values())]
    return StopCheck(strategy, workers, pokes, generation(kernel).describe(), ex.states, ex.schedules,
                     len(ex.outcomes), len(stuck), stuck[0] if stuck else None)
