"""The lab harness's stop protocol, checked with the model on both kernel generations.

Every strategy whose workers share ONE epoll instance is stopped by an eventfd registered in that
instance (level-triggered, never read) and written until every worker has joined
(:class:`epollkit.lab.harness.StopSignal`). The model explores every interleaving of that protocol
(:mod:`epollkit.sim.stop`) with and without the ``ep_done_scan()`` cascade: no interleaving may leave
a worker asleep. Writing the stop fd ONCE -- the protocol before -- is shown to strand workers on a
kernel without the cascade (mainline 5.5-5.12 before 7fab29e35630), so the check can fail.
"""

from __future__ import annotations

import time

import pytest

from epollkit import strategies
from epollkit.scenarios.format import validate
from epollkit.sim import stop
from epollkit.sim.build import setup
from epollkit.sim.explore import explore

from .conftest import linux_only

SHARED = [(kind, name) for kind, table in (("accept", strategies.ACCEPT), ("read", strategies.READ))
          for name, s in table.items() if s.topology == "shared"]
WORKERS = (2, 3, 4)
RULES = ("cascade", "no-cascade")


def test_every_shared_instance_strategy_is_checked():
    names = {n for _, n in SHARED}
    assert {"epoll-lt", "epoll-et", "epoll-oneshot", "lt", "et", "oneshot"} <= names
    assert not names & {"epoll-exclusive", "epoll-lt-private", "lt-exclusive", "blocking"}


@pytest.mark.parametrize("rules", RULES)
@pytest.mark.parametrize("workers", WORKERS)
@pytest.mark.parametrize("kind, strategy", SHARED, ids=[n for _, n in SHARED])
def test_poking_the_stop_eventfd_until_all_joined_wakes_every_worker(kind, strategy, workers, rules):
    check = stop.stop_outcomes(kind, strategy, workers, "until-joined", kernel=rules)
    assert check.states > workers and check.schedules >= 2
    assert check.left_asleep == 0, check.example


@pytest.mark.parametrize("rules", RULES)
@pytest.mark.parametrize("workers", WORKERS)
def test_the_pokes_may_land_at_any_moment_even_before_the_workers_sleep(workers, rules):
    """The same protocol with the writes free to land at any point (order ``free``)."""
    doc = stop.stop_scenario("accept", "epoll-lt", workers, "until-joined")
    doc["order"] = "free"
    ex = explore(setup(validate(doc), rules))
    assert ex.schedules > workers
    assert not [o for o in ex.outcome_set() if ["blocked"] in o.values()]


@pytest.mark.parametrize("workers", WORKERS)
@pytest.mark.parametrize("kind, strategy", SHARED, ids=[n for _, n in SHARED])
def test_one_stop_write_strands_workers_without_the_cascade_and_not_with_it(kind, strategy, workers):
    without = stop.stop_outcomes(kind, strategy, workers, "once", kernel="no-cascade")
    assert without.left_asleep == without.outcomes > 0  # every interleaving strands someone
    assert sum(r == ["blocked"] for r in without.example.values()) == workers - 1  # all but one
    assert stop.stop_outcomes(kind, strategy, workers, "once", kernel="cascade").left_asleep == 0


def test_the_stop_protocol_refuses_private_instances_and_bad_numbers():
    with pytest.raises(ValueError, match="'epoll-exclusive' does not share one epoll instance"):
        stop.stop_scenario("accept", "epoll-exclusive", 2)
    with pytest.raises(ValueError, match="workers must be an integer in 1..8, not 0"):
        stop.stop_scenario("accept", "epoll-lt", 0)
    with pytest.raises(ValueError, match="pokes must be one of once, until-joined, not 'twice'"):
        stop.stop_scenario("accept", "epoll-lt", 2, "twice")


def test_the_model_and_the_harness_use_the_same_events_per_wait():
    from epollkit.lab.harness import EVENTS_PER_WAIT

    assert stop.EVENTS_PER_WAIT == EVENTS_PER_WAIT == 2


@linux_only
def test_the_harness_writes_the_stop_eventfd_again_until_every_worker_has_joined(no_leaks):
    """Workers that leave only after the third write (as if the first two woke nobody else): the
    join must poke again, and every worker ends without a LeakError."""
    import select

    from epollkit.lab.harness import StopSignal, WorkerGroup

    with StopSignal() as stop, select.epoll() as ep:
        stop.watch(ep)

        def worker(i, group):
            group.mark_ready(i)
            while True:
                ep.poll(-1, 2)
                if stop.pokes >= 3:
                    return
                time.sleep(0.005)

        group = WorkerGroup(3, worker, name="stop-test", stop=stop)
        group.start()
        assert group.wait_blocked(timeout=5.0)
        stop.set()
        group.join(timeout=5.0)
    assert stop.pokes >= 3
