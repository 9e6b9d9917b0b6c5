"""The explorer's state graph: how many schedules reach each state (the full and the reduced search)."""

from __future__ import annotations

from collections import deque


def paths_from_root(children: list, name: str) -> list[int]:
    """For a DAG given as ``children[i]`` (the successors of state ``i``, state 0 the root), the number of
    paths from the root to each state, counted in topological order (Kahn). Every schedule of the model is
    one such path; a cycle would be a model bug (the model's clock, events done, only moves forward)."""
    n = len(children)
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
        raise RuntimeError(f"the state graph of {name!r} has a cycle")
    return paths
