"""The explorer: every interleaving, with state de-duplication.

Breadth-first over the distinct states (a state's key includes the properties shown so far, so
"reached with herd" and "reached without" stay apart); the first time BFS meets a final state with
a property, its path is a shortest complete run showing it. Complete interleavings (``schedules``)
and the schedules per outcome are counted over the state graph (a DAG) in topological order.
"""

from __future__ import annotations

import gc
from collections import deque
from dataclasses import dataclass

from ..errors import EpollkitError
from ..validate import check_int
from .graph import paths_from_root
from .machine import Machine, Setup
from .properties import NAMES
from .symmetry import classes_of as symmetry_classes
from .symmetry import explore_reduced
from .trace import Trace, replay, to_json

DEFAULT_BUDGET = 1_000_000
# Memory an exploration may add to the process (its state index, parents and frontier grow with every
# state: 0.6-1.7 KB each for the accept model's documented maxima). 256 MiB keeps a notebook kernel on
# a 1-2 GB Binder pod alive; at about 40 000 states/s an exploration that cannot fit fails in seconds.
DEFAULT_MEMORY = 256 * 1024 * 1024
_CHECK_EVERY = 2048  # states between two memory checks
_EST_BYTES = 1024  # bytes per state assumed where the resident size cannot be read (no /proc)


class StateBudgetExceeded(EpollkitError):
    """An exploration would visit more distinct states than its budget allows."""


@dataclass(frozen=True)
class Exploration:
    """What ``explore()`` found.

    schedules   complete interleavings (paths from the start to a final state)
    states      distinct states visited
    outcomes    list of ``(outcome, count)``: each distinct final outcome (``Machine.outcome``) and
                the number of schedules that end in it, most frequent first (ties in one fixed order)
    witnesses   property name -> the shortest complete :class:`Trace` that shows it
    properties  the properties some schedule shows, in contract order
    """

    setup: Setup
    schedules: int
    states: int
    outcomes: list
    witnesses: dict
    properties: tuple

    def outcome_set(self) -> list:
        """Scenario explorations: the outcomes as ``{thread: [result, ...]}`` dicts."""
        return [{n: [to_json(r) for r in res] for n, res in key} for key, _count in self.outcomes]

    def scenario_outcomes(self) -> list:
        return [{"threads": {n: [to_json(r) for r in res] for n, res in key}, "count": c}
                for key, c in self.outcomes]

    def witness_lists(self) -> dict:
        return {p: t.to_list() for p, t in self.witnesses.items()}


def _resident() -> int | None:
    """This process's resident set in bytes (``/proc/self/statm``), or None where it cannot be read."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


try:
    import os as _os

    _PAGE = _os.sysconf("SC_PAGE_SIZE")
except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
    _PAGE = 4096


def explore(setup: Setup, budget: int = DEFAULT_BUDGET, *, max_memory: int = DEFAULT_MEMORY,
            symmetry: bool = True) -> Exploration:
    """Visit every reachable state of ``setup``; raise StateBudgetExceeded past ``budget`` states or
    once the exploration has grown the process by more than ``max_memory`` bytes (its resident size,
    read every few thousand states; where it cannot be read, 1 KiB per state is assumed).

    ``symmetry``: visit one state per set of states equal up to renaming threads that run the same
    program (:mod:`epollkit.sim.symmetry`); the schedules, states, outcome counts and witnesses are
    exactly those of the full search (``symmetry=False``), which is kept for checking that. With it,
    ``budget`` counts the states actually visited.

    The cyclic garbage collector is paused for the search (and restored after it, whatever happens):
    the search allocates hundreds of thousands of tuples that all stay alive in its index, none of them
    in a cycle, and each collection pass would walk them again -- about half of the time of a large
    exploration (benchmarks/bench_sim.py)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _explore(setup, budget, max_memory, symmetry)
    finally:
        if was_enabled:
            gc.enable()


def _explore(setup: Setup, budget: int, max_memory: int, symmetry: bool) -> Exploration:
    from .trace import check_setup

    check_setup(setup)
    check_int("budget", budget, 1, 100_000_000)
    check_int("max_memory", max_memory, 1 << 20, 1 << 40)
    base = _resident()
    next_check = _CHECK_EVERY

    def guard(j: int, waiting: int) -> None:
        """Past ``max_memory`` of growth (checked every ``_CHECK_EVERY`` new states): one line, at once."""
        nonlocal next_check
        if j < next_check:
            return
        next_check += _CHECK_EVERY
        now = _resident()
        grown = j * _EST_BYTES if now is None or base is None else now - base
        if grown > max_memory:
            raise StateBudgetExceeded(
                f"exploring {setup.name!r} passed the memory budget of {max_memory >> 20} MiB "
                f"after {j} states ({waiting} still to expand, about {grown // max(j, 1)} bytes each); "
                "use fewer threads or events, or raise max_memory")

    m = Machine(setup)
    classes = symmetry_classes(setup) if symmetry else ()
    if classes:
        def too_many():
            return StateBudgetExceeded(
                f"exploring {setup.name!r} passed the budget of {budget} states; "
                "use fewer threads or events, or raise the budget")

        schedules, states, outcomes, witnesses, shown = explore_reduced(
            setup, budget, classes, m, NAMES, replay, _path, too_many, guard)
        return Exploration(setup=setup, schedules=schedules, states=states, outcomes=outcomes,
                           witnesses=witnesses, properties=tuple(p for p in NAMES if p in shown))
    root = setup.initial
    index = {root.key(): 0}
    parent = [(-1, None)]
    depth = [0]
    children: list = []
    pending = {0: root}
    order = deque([0])
    finals = []  # (id, outcome, props)
    while order:
        i = order.popleft()
        st = pending.pop(i)
        moves = m.enabled(st)
        kids = []
        for move in moves:
            nxt = m.apply(st, move)
            k = nxt.key()
            j = index.get(k)
            if j is None:
                j = len(parent)
                if j >= budget:
                    raise StateBudgetExceeded(
                        f"exploring {setup.name!r} passed the budget of {budget} states; "
                        "use fewer threads or events, or raise the budget")
                guard(j, len(order))
                index[k] = j
                parent.append((i, move))
                depth.append(depth[i] + 1)
                pending[j] = nxt
                order.append(j)
            kids.append(j)
        children.append(kids)
        if not moves:
            finals.append((i, m.outcome(st), st.props))
    paths = paths_from_root(children, setup.name)  # schedules into each state
    counts: dict = {}
    for i, out, _props in finals:
        counts[out] = counts.get(out, 0) + paths[i]
    outcomes = sorted(counts.items(), key=lambda kv: (-kv[1], repr(kv[0])))  # ties: a fixed order
    witnesses = {}
    shown = set()
    for p in NAMES:
        best = None
        for i, _out, props in finals:
            if p in props and (best is None or depth[i] < depth[best]):
                best = i
        if best is not None:
            shown.add(p)
            witnesses[p] = replay(setup, _path(parent, best))
    return Exploration(
        setup=setup,
        schedules=sum(paths[i] for i, _o, _p in finals),
        states=len(parent),
        outcomes=outcomes,
        witnesses=witnesses,
        properties=tuple(p for p in NAMES if p in shown),
    )


def _path(parent: list, i: int) -> list:
    moves = []
    while parent[i][0] != -1:
        i, move = parent[i][0], parent[i][1]
        moves.append(move)
    return moves[::-1]


def trace_from(exploration: Exploration, prop: str) -> Trace:
    """The witness of ``prop``, or ValueError naming the properties this exploration shows."""
    try:
        return exploration.witnesses[prop]
    except KeyError:
        shown = ", ".join(exploration.properties) or "none"
        raise ValueError(f"no schedule shows {prop!r}; shown: {shown}") from None
