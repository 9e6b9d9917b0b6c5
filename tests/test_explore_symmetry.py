"""The symmetry-reduced explorer gives exactly what the full search gives.

Threads running the same program are interchangeable; the reduced search visits one state per orbit
(``epollkit.sim.symmetry``). Schedules, distinct states, the count of every outcome, the properties and
the shortest witness of each property must be those of ``explore(..., symmetry=False)`` -- checked on
every conformance scenario and on small strategy explorations. (Larger explorations: benchmarks.)
"""

from __future__ import annotations

import math
from collections import deque
from pathlib import Path

import pytest

from epollkit import sim
from epollkit.sim import symmetry

FILES = sorted((Path(__file__).resolve().parents[1] / "data" / "scenarios").glob("*.json"))


def _same(setup) -> None:
    full = sim.explore(setup, symmetry=False)
    fast = sim.explore(setup)
    assert fast.schedules == full.schedules
    assert fast.states == full.states
    assert dict(fast.outcomes) == dict(full.outcomes)
    assert sorted(c for _o, c in fast.outcomes) == sorted(c for _o, c in full.outcomes)
    assert fast.properties == full.properties
    assert {p: w.schedule for p, w in fast.witnesses.items()} == \
        {p: w.schedule for p, w in full.witnesses.items()}
    assert {p: w.text() for p, w in fast.witnesses.items()} == \
        {p: w.text() for p, w in full.witnesses.items()}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_reduced_exploration_of_every_conformance_scenario_equals_the_full_search(path):
    _same(sim.setup(sim.load(path), "newest"))


@pytest.mark.parametrize("kind, strategy, threads, events", [
    ("accept", "epoll-lt", 3, 1), ("accept", "epoll-et", 3, 2), ("accept", "blocking", 3, 2),
    ("accept", "epoll-exclusive", 3, 1), ("accept", "epoll-oneshot", 2, 2), ("accept", "poll", 3, 1),
    ("read", "lt", 2, 2), ("read", "et", 3, 1), ("read", "oneshot", 2, 2),
])
def test_reduced_exploration_of_small_strategy_runs_equals_the_full_search(kind, strategy, threads, events):
    setup = (sim.accept_setup(strategy, threads, events, kernel="newest") if kind == "accept"
             else sim.read_setup(strategy, threads, events, 64, 48, kernel="newest"))
    _same(setup)


def test_reduction_visits_fewer_states_than_it_reports():
    setup = sim.read_setup("lt", 3, 2, 64, 2048, kernel="newest")
    full_states = sim.explore(setup, symmetry=False).states
    # the full search cannot stay within a third of its state count; the reduced one can (3! orbits)
    with pytest.raises(sim.StateBudgetExceeded):
        sim.explore(setup, budget=full_states // 3, symmetry=False)
    assert sim.explore(setup, budget=full_states // 3).states == full_states


def test_only_threads_with_the_same_program_are_interchangeable():
    sc = sim.load("nested-four-threads-inner-and-outer-et")  # A, B on e1; C, D on e0
    assert symmetry.classes_of(sim.setup(sc, "newest")) == (("A", "B"), ("C", "D"))
    epoll33 = sim.load("selftest-epoll33-nested-lt-over-lt-inner-and-outer")
    assert symmetry.classes_of(sim.setup(epoll33)) == ()
    private = sim.accept_setup("epoll-lt-private", 3, 1, kernel="newest")  # one instance each: distinct
    assert symmetry.classes_of(private) == ()


def test_start_in_order_breaks_the_symmetry():
    sc = sim.load("epoll-wakes-last-sleeper-in-order")
    assert sc.start == "in-order" and symmetry.classes_of(sim.setup(sc)) == ()


def test_orbit_size_counts_the_distinct_renamings():
    setup = sim.accept_setup("epoll-lt", 3, 1, kernel="newest")
    classes = symmetry.classes_of(setup)
    assert classes == (("A", "B", "C"),)
    _key, size = symmetry.canonical(setup.initial, classes)
    assert size == 1  # every thread the same: one state
    m = sim.Machine(setup)
    one = m.apply(setup.initial, "Thread B")  # B asleep, A and C still running
    key_b, size = symmetry.canonical(one, classes)
    assert size == 3
    assert key_b == symmetry.canonical(m.apply(setup.initial, "Thread C"), classes)[0]
    assert len(symmetry.members(one, classes)) == 3


def test_the_outcome_listing_is_the_same_whatever_the_hash_seed():
    # Notebook cells print outcome_set() under NBVAL_CHECK_OUTPUT: ties in count must come out in one
    # fixed order in every process, not in an order that follows string hashing.
    import os
    import subprocess
    import sys

    code = ("from epollkit import sim\n"
            "for n in ('lt-one-write-two-threads', 'lt-one-write-three-threads'):\n"
            "    for k in ('6.18', '5.10.20'):\n"
            "        print(sim.explore(sim.setup(n, kernel=k)).outcome_set())\n")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in "1234"}
    assert len(outs) == 1, outs


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_the_fast_renamed_key_is_the_key_of_the_renamed_state(path):
    # symmetry.renamed_key() spells out State.key()'s fields for speed; a field added to State.key() and not
    # there (as the descriptor tables once were) would silently merge different states. Walk the first
    # states of every scenario and compare the fast key with rename(st, m).key() for every renaming.
    setup = sim.setup(sim.load(path), "newest")
    classes = symmetry.classes_of(setup) or (tuple(setup.initial.threads),)
    m = sim.machine.Machine(setup)
    frontier, seen = [setup.initial], 0
    while frontier and seen < 200:
        st = frontier.pop()
        seen += 1
        for cls in classes:
            for perm in symmetry.permutations(cls):
                mapping = {a: b for a, b in zip(cls, perm, strict=True) if a != b}
                assert symmetry.renamed_key(st, mapping) == symmetry.rename(st, mapping).key()
        frontier.extend(m.apply(st, mv) for mv in m.enabled(st))


def _orbit_partitions_agree(setup, limit: int) -> int:
    """Walk up to ``limit`` states; the search's OrbitKeys and the reference canonical() must split them
    into the same orbits with the same sizes. Returns how many states were compared, and how many of them
    had tied threads (equal records: OrbitKeys' slower way)."""
    classes = symmetry.classes_of(setup)
    if not classes:
        return 0, 0
    keys = symmetry.OrbitKeys(classes, setup.programs)  # as the search makes them
    m = sim.machine.Machine(setup)
    ref_to_fast, fast_to_ref = {}, {}
    seen = {setup.initial.key()}
    frontier = deque([(setup.initial, None, None)])
    compared = tied = 0
    full = math.prod(math.factorial(len(c)) for c in classes)
    while frontier and compared < limit:
        st, parent, parent_ids = frontier.popleft()
        fast, size, ids = keys.key(st, parent, parent_ids)
        ref, ref_size = symmetry.canonical(st, classes)
        assert size == ref_size
        assert ref_to_fast.setdefault(ref, fast) == fast, "one orbit got two keys"
        assert fast_to_ref.setdefault(fast, ref) == ref, "two orbits got one key"
        compared += 1
        tied += size < full
        for mv in m.enabled(st):
            nxt = m.apply(st, mv)
            if nxt.key() not in seen:
                seen.add(nxt.key())
                frontier.append((nxt, st, ids))
    return compared, tied


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_the_search_orbit_keys_split_states_as_the_reference_canonical_key_does(path):
    # symmetry.OrbitKeys (record numbers, a faster sort) must merge exactly the states canonical() merges
    _orbit_partitions_agree(sim.setup(sim.load(path), "newest"), 400)


def test_the_search_orbit_keys_agree_on_strategy_runs_with_ties_and_partial_reads():
    for setup, states in ((sim.read_setup("lt", 3, 2, 100, 64, kernel="newest"), 1000),
                          (sim.accept_setup("epoll-lt", 4, 2, kernel="newest"), 1000),
                          (sim.accept_setup("blocking", 4, 2, kernel="newest"), 437),  # all of them
                          (sim.accept_setup("poll", 3, 2, kernel="newest"), 1000)):  # names on a listener
        compared, tied = _orbit_partitions_agree(setup, 1000)
        assert compared == states and tied > 0, (setup.name, compared, tied)
