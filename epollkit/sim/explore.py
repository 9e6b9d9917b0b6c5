"""The explorer: every interleaving, with state de-duplication.

Breadth-first over the distinct states (a state's key includes the properties shown so far, so
"reached with herd" and "reached without" stay apart); the first time BFS meets a final state with
a property, its path is a shortest complete run showing it. Complete interleavings (``schedules``)
and the schedules per outcome are counted over the state graph (a DAG) in topological order.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from ..errors import EpollkitError
from .machine import Machine, Setup
from .properties import NAMES
from .symmetry import classes_of as symmetry_classes
from .symmetry import explore_reduced
from .trace import Trace, replay, to_json

DEFAULT_BUDGET = 1_000_000


class StateBudgetExceeded(EpollkitError):
    """An exploration would visit more distinct states than its budget allows."""


@dataclass(frozen=True)
class Exploration:
    """What ``explore()`` found.

    schedules   complete interleavings (paths from the start to a final state)
    states      distinct states visited
    outcomes    list of ``(outcome, count)``: each distinct final outcome (``Machine.outcome``) and
                the number of schedules that end in it, most frequent first
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


def explore(setup: Setup, budget: int = DEFAULT_BUDGET, *, symmetry: bool = True) -> Exploration:
    """Visit every reachable state of ``setup``; raise StateBudgetExceeded past ``budget`` states.

    ``symmetry``: visit one state per set of states equal up to renaming threads that run the same
    program (:mod:`epollkit.sim.symmetry`); the schedules, states, outcome counts and witnesses are
    exactly those of the full search (``symmetry=False``), which is kept for checking that. With it,
    ``budget`` counts the states actually visited."""
    if not isinstance(budget, int) or budget < 1:
        raise ValueError(f"budget must be a positive integer, not {budget!r}")
    m = Machine(setup)
    classes = symmetry_classes(setup) if symmetry else ()
    if classes:
        def too_many():
            return StateBudgetExceeded(
                f"exploring {setup.name!r} passed the budget of {budget} states; "
                "use fewer threads or events, or raise the budget")

        schedules, states, outcomes, witnesses, shown = explore_reduced(
            setup, budget, classes, m, NAMES, replay, _path, too_many)
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
                index[k] = j
                parent.append((i, move))
                depth.append(depth[i] + 1)
                pending[j] = nxt
                order.append(j)
            kids.append(j)
        children.append(kids)
        if not moves:
            finals.append((i, m.outcome(st), st.props))
    # count schedules: paths from the root, in topological order (Kahn)
    n = len(parent)
    indeg = [0] * n
    for kids in children:
        for j in kids:
            indeg[j] += 1
    paths = [0] * n
    paths[0] = 1
    ready = deque([0])
    seen = 0
    while ready:
        i = ready.popleft()
        seen += 1
        for j in children[i]:
            paths[j] += paths[i]
            indeg[j] -= 1
            if indeg[j] == 0:
                ready.append(j)
    if seen != n:  # pragma: no cover - a cycle would be a model bug
        raise RuntimeError(f"the state graph of {setup.name!r} has a cycle")
    counts: dict = {}
    first_seen: dict = {}
    for i, out, _props in finals:
        counts[out] = counts.get(out, 0) + paths[i]
        first_seen.setdefault(out, i)
    outcomes = sorted(counts.items(), key=lambda kv: (-kv[1], first_seen[kv[0]]))
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
        states=n,
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
