"""The model (epollkit.sim): rules, traces, the explorer, the strategies as programs."""

from __future__ import annotations

import json

import pytest

from epollkit import sim
from epollkit.cli import main as cli
from epollkit.sim.state import ModelError, Thread, ThreadState, transition
from epollkit.strategies import ACCEPT, READ

# ------------------------------------------------------------------------------- thread states


def test_thread_state_changes_only_through_allowed_transitions():
    t = Thread("A", ThreadState.RUNNING, (0,))
    t = transition(t, ThreadState.SLEEP_EPOLL)
    with pytest.raises(ModelError, match="asleep in epoll_wait -> running"):
        transition(t, ThreadState.RUNNING)  # a sleeper must be woken first
    t = transition(transition(t, ThreadState.WOKEN), ThreadState.RUNNING)
    assert transition(t, ThreadState.DONE).state is ThreadState.DONE


# ------------------------------------------------------------------------------------ traces


def lt_two_threads():
    return sim.setup(sim.load("lt-one-write-two-threads"))


def test_replay_refuses_a_move_that_is_not_enabled_and_says_why():
    with pytest.raises(ValueError, match="Thread A is asleep in epoll_wait: only a wake-up can move it"):
        sim.replay(lt_two_threads(), ["A", "A"])
    with pytest.raises(ValueError, match="the kernel waits until every thread is asleep or done"):
        sim.replay(lt_two_threads(), ["A", "Kernel"])


def test_epoll_wakes_the_last_sleeper_first_lifo():
    tr = sim.replay(lt_two_threads(), ["A", "B", "Kernel"])
    assert tr.steps[-1].view.threads == {"A": "asleep in epoll_wait", "B": "woken, runnable"}
    assert tr.steps[1].view.sleepers["e0"] == ("B", "A")


def test_level_triggered_harvest_wakes_the_next_sleeper_and_shows_herd():
    tr = sim.replay(lt_two_threads(), ["A", "B", "Kernel", "B"])
    last = tr.steps[-1]
    assert "ep_done_scan" in last.text and last.shows == ("herd",)
    assert last.view.ready == {"e0": ("s0",)} and last.view.queued == {"s0": 1}
    assert tr.enabled == ("Thread A",)  # B is done: its program was one epoll_wait


def test_kernel_5_10_has_no_lt_cascade():
    ex = sim.explore(sim.setup(sim.load("lt-one-write-two-threads"), "5.10"))
    assert sorted(json.dumps(o) for o in ex.outcome_set()) == sorted(
        json.dumps(o) for o in [{"A": [[["s0", ["EPOLLIN"]]]], "B": ["blocked"]},
                                {"A": ["blocked"], "B": [[["s0", ["EPOLLIN"]]]]}])


def test_undo_replays_the_prefix():
    tr = sim.replay(lt_two_threads(), ["A", "B", "Kernel", "B"])
    back = tr.undo()
    assert back.schedule == ("Thread A", "Thread B", "Kernel")
    assert back.to_list() == tr.to_list()[:3]
    assert back.then("B").to_list() == tr.to_list()


def test_trace_renders_numbered_actor_lines():
    tr = sim.replay(lt_two_threads(), ["A", "B", "Kernel"])
    lines = tr.text().splitlines()
    assert lines[0].startswith("1. **Thread A:** calls epoll_wait(e0)")
    assert lines[2].startswith("3. **Kernel:** 1 byte arrives on s0")
    assert tr.to_list()[2]["actor"] == "Kernel"


# ------------------------------------------------------------------------ wake order, start order


def test_in_order_start_lets_b_move_only_after_a_has_gone_to_sleep():
    setup = sim.setup(sim.load("epoll-wakes-last-sleeper-in-order"))
    assert sim.start(setup).enabled == ("Thread A",)
    with pytest.raises(ValueError, match="start in-order: Thread B starts only after Thread A has gone to"):
        sim.replay(setup, ["B"])
    tr = sim.replay(setup, ["A", "B", "Kernel"])
    assert tr.steps[1].view.sleepers["e0"] == ("B", "A") and tr.view.threads["B"] == "woken, runnable"


def test_epoll_ctl_del_ignores_the_flags_it_is_given():
    from epollkit.sim.rules import ctl_error

    setup = sim.setup(sim.load("ctl-del-ignores-exclusive-flags"))
    st, w = setup.initial, setup.world
    flags = frozenset({"EPOLLIN", "EPOLLEXCLUSIVE", "EPOLLONESHOT"})
    assert ctl_error(st, w, "del", "e0", "s0", flags) is None
    assert ctl_error(st, w, "mod", "e0", "s0", frozenset({"EPOLLIN", "EPOLLEXCLUSIVE"})) == "EINVAL"


# ---------------------------------------------------------------------------- kernel generations


@pytest.mark.parametrize("release, cascade, certain", [
    ("newest", True, True), ("no-cascade", False, True), ("6.18.44-fc-v657", True, True),
    ("5.4.0", True, True), ("5.9.16", False, True), ("5.10", False, False), ("5.10.35", False, True),
    ("5.10.36", True, True), ("5.11.19", False, True), ("5.11.20", True, True), ("5.12.2", False, True),
    ("5.12.3", True, True), ("5.13.0", True, True),
    ("5.10.0-21-amd64", True, False),  # a vendor string hides the stable patch level
    ("5.8.0-63-generic", False, False),
])
def test_kernel_generation_follows_the_backports_of_7fab29e35630(release, cascade, certain):
    g = sim.generation(release)
    assert (g.kernel, g.cascade, g.certain) == (release, cascade, certain)


def test_the_pure_model_defaults_to_the_newest_rules_whatever_the_host():
    newest = sim.generation()
    assert (newest.kernel, newest.cascade, newest.source) == ("newest", True, "asked")
    assert sim.setup(sim.load("lt-one-write-two-threads")).world.kernel == "newest"
    assert sim.accept_setup("epoll-lt", 2, 1).world.kernel == "newest"
    assert sim.read_setup("lt", 2, 1).world.kernel == "newest"
    r = sim.accept("epoll-lt", 2, 1)
    assert r.params["kernel"] == "newest" and r.params["rules"] == newest.describe()
    assert sim.read("lt", 2, 1).params["rules"] == newest.describe()


def test_this_machines_rules_are_asked_for_explicitly_and_said_so():
    from epollkit.system import this_release

    here = sim.generation(this_release())
    assert here.source == "this machine" and sim.generation(None) == here
    assert sim.accept("epoll-lt", 2, 1, kernel=this_release()).params["rules"] == here.describe()


def test_a_generation_object_can_be_passed_as_kernel():
    g = sim.Generation("5.10.20", False, True, "measured", "measured")
    tr = sim.replay(sim.setup(sim.load("lt-one-write-two-threads"), g), ["A", "B", "Kernel", "B"])
    assert "wakes no one at the end of the harvest" in tr.steps[-1].text


def test_writes_larger_than_one_skb_are_refused_because_they_are_several_wakeups():
    with pytest.raises(ValueError, match=r"message_size must be an integer in 1..32768, not 65536: a larger "
                                         r"write is several skbs"):
        sim.read_setup("lt", 2, 1, 65536)
    assert sim.read_setup("lt", 2, 1, 32768).events == (("write", "s0", 32768),)


# ----------------------------------------------------------------------------- the post's traces

LT_POST = [
    ("Thread B", "calls epoll_wait(e0): nothing ready; sleeps at the head of e0's ep->wq"),
    ("Thread A", "calls epoll_wait(e0): nothing ready; sleeps at the head of e0's ep->wq"),
    ("Kernel", "Connection 1 arrives on l0 (accept queue: 1); queues l0 on e0's ready list; "
               "wakes Thread A (head of e0's ep->wq)"),
    ("Thread A", "finishes epoll_wait(e0): returns [l0 EPOLLIN]; level-triggered: l0 goes back on e0's "
                 "ready list; wakes Thread B (ep_done_scan: the ready list is not empty)"),
    ("Thread B", "finishes epoll_wait(e0): returns [l0 EPOLLIN]; level-triggered: l0 goes back on e0's "
                 "ready list"),
    ("Thread A", "calls accept(l0): succeeds; gets connection 1"),
    ("Thread B", "calls accept(l0): fails with EAGAIN"),
]


def test_post_lt_accept_trace_replays_exactly():
    r = sim.post_replay("lt-accept-wasted-wakeup")
    assert r.stopped_at is None
    assert [(s["actor"], s["text"]) for s in r.trace.to_list()] == LT_POST
    shows = {s.index: s.shows for s in r.trace.steps if s.shows}
    assert shows == {4: ("herd",), 7: ("wasted-wakeup", "eagain", "eagain-first")}


@pytest.mark.parametrize("name", ["et-accept-wasted-wakeup", "lt-exclusive-read-race", "et-read-race"])
def test_post_traces_that_a_kernel_can_do_replay_to_the_end(name):
    r = sim.post_replay(name)
    assert r.stopped_at is None and all(s.ok for s in r.steps)


def test_post_et_read_race_ends_with_eagain_for_a_and_one_byte_for_b():
    r = sim.post_replay("et-read-race")
    assert r.trace.outcome == {"A": [[["s0", ["EPOLLIN"]]], 2048, "EAGAIN"], "B": [[["s0", ["EPOLLIN"]]], 1]}


def test_post_lt_exclusive_read_race_splits_the_message():
    r = sim.post_replay("lt-exclusive-read-race")
    assert r.trace.steps[-1].shows == ("split",)


@pytest.mark.parametrize("name", ["et-accept-starvation", "et-oneshot-accept"])
def test_post_two_connections_wake_both_threads_so_the_replay_stops(name):
    r = sim.post_replay(name)
    assert r.stopped_at == 2 and "wakes B too" in r.reason
    assert r.trace.steps[-1].view.threads == {"A": "woken, runnable", "B": "woken, runnable"}
    assert len(r.instead_steps) > 3


def test_post_et_starvation_instead_shows_the_third_connection_waking_b():
    r = sim.post_replay("et-accept-starvation")
    third = [s for s in r.instead_steps if s.actor == "Kernel" and "Connection 3" in s.text]
    assert third and "wakes Thread B" in third[0].text


def test_post_oneshot_instead_shows_the_rearm_waking_b():
    r = sim.post_replay("et-oneshot-accept")
    assert any("ep_modify" in s.text and "wakes Thread B" in s.text for s in r.instead_steps)
    assert r.instead.outcome == {"A": [[["l0", ["EPOLLIN"]]], "ok", "ok"], "B": [[["l0", ["EPOLLIN"]]], "ok"]}


def test_post_lt_trace_on_5_10_stops_where_b_is_never_woken():
    r = sim.post_replay("lt-accept-wasted-wakeup", kernel="5.10")
    assert r.stopped_at == 4 and "Thread B is asleep in epoll_wait" in r.reason


# ------------------------------------------------------------------------------- the explorer


def props(strategy, workers, connections):
    return set(sim.explore(sim.accept_setup(strategy, workers, connections, kernel="newest")).properties)


def test_eagain_first_is_the_confused_thread_not_the_end_of_a_drain():
    lt = sim.post_replay("lt-accept-wasted-wakeup", kernel="newest").trace
    assert lt.steps[-1].shows == ("wasted-wakeup", "eagain", "eagain-first")  # B's only accept() fails
    et = sim.load("et-read-drains-to-eagain")
    assert sim.explore(sim.setup(et, "newest")).properties == ("eagain",)


def test_step_exhibits_a_threads_eagain_each_time_not_only_the_first():
    # epoll-lt, 2 workers, 2 connections: A's single accept() fails first, later B's does too
    setup = sim.accept_setup("epoll-lt", 2, 2, kernel="newest")
    tr = sim.replay(setup, ["A", "B", "Kernel", "B", "A", "B", "A", "B", "A", "Kernel", "A", "B", "A", "B"])
    eagains = [(s.actor, s.shows, s.exhibits) for s in tr.steps if "fails with EAGAIN" in s.text]
    assert [a for a, _sh, _ex in eagains] == ["Thread A", "Thread B"]
    assert "eagain" in eagains[0][1] and "eagain" not in eagains[1][1]  # shown once, for the run
    assert all({"eagain", "eagain-first"} <= set(ex) for _a, _sh, ex in eagains)  # exhibited by both


def test_step_exhibits_the_end_of_a_drain_as_eagain_but_not_eagain_first():
    tr = sim.run(sim.accept_setup("epoll-et", 2, 3, kernel="newest"), policy="paced")
    ends = [s for s in tr.steps if "fails with EAGAIN" in s.text]
    assert len(ends) == 3 and all(s.exhibits == ("eagain",) for s in ends)


# ------------------------------------------------------------------------------- who a step woke


def test_step_woken_names_every_thread_a_select_wakeup_takes_in_walk_order():
    tr = sim.replay(sim.accept_setup("select", 3, 1), ["A", "B", "C", "Kernel"])
    assert tr.steps[-1].woken == ("C", "B", "A")  # add_wait_queue() inserts at the head
    assert all(s.woken == () for s in tr.steps[:-1])


def test_step_woken_is_the_head_of_ep_wq_then_the_cascade_wakes_the_next():
    tr = sim.replay(sim.accept_setup("epoll-lt", 2, 1, kernel="newest"), ["A", "B", "Kernel", "B"])
    assert tr.steps[2].woken == ("B",) and tr.steps[3].woken == ("A",)
    assert sim.replay(sim.accept_setup("epoll-lt", 2, 1, kernel="5.10"),
                      ["A", "B", "Kernel", "B"]).steps[3].woken == ()


def test_step_woken_includes_a_wakeup_by_epoll_ctl_rearm():
    tr = sim.replay(sim.accept_setup("epoll-oneshot", 2, 2, kernel="newest"),
                    ["A", "B", "Kernel", "B", "Kernel", "B", "B"])
    assert tr.steps[-1].actor == "Thread B" and tr.steps[-1].woken == ("A",)


# -------------------------------------------------------------------------------- paced schedule


def test_paced_run_lets_each_kernel_event_find_every_thread_asleep():
    tr = sim.run(sim.accept_setup("epoll-lt", 3, 4, kernel="newest"), policy="paced")
    views = [sim.start(tr.machine.setup).view] + [s.view for s in tr.steps]
    for i, s in enumerate(tr.steps):
        if s.actor == "Kernel":
            assert all(v.startswith("asleep") for v in views[i].threads.values())


def test_paced_run_runs_woken_threads_in_wake_order_each_until_it_sleeps():
    tr = sim.run(sim.accept_setup("select", 3, 1), policy="paced")
    after = list(tr.steps[4:])  # A, B, C sleep; the connection wakes C, B, A
    assert tr.steps[3].woken == ("C", "B", "A")
    movers = [s.actor[-1] for s in after]
    assert movers == sorted(movers, key="CBA".index)  # C until it sleeps, then B, then A
    assert "C" in movers and "A" in movers


def test_paced_run_keeps_a_thread_on_the_cpu_until_it_sleeps_before_the_thread_it_woke():
    tr = sim.run(sim.accept_setup("epoll-lt", 2, 1, kernel="newest"), policy="paced")
    k = next(i for i, s in enumerate(tr.steps) if s.actor != "Kernel" and s.woken)  # the LT cascade
    me = tr.steps[k].actor
    rest = [s.actor for s in tr.steps[k + 1:]]
    assert rest[0] == me and "calls accept(l0): succeeds" in tr.steps[k + 1].text
    assert rest.index(f"Thread {tr.steps[k].woken[0]}") > rest.index(me)
    assert "asleep" in tr.steps[k + rest.index(f"Thread {tr.steps[k].woken[0]}")].view.threads[me[-1]]


def test_sim_accept_paced_gives_a_record_that_says_so():
    r = sim.accept("blocking", 4, 8, schedule="paced")
    assert r.backend == "sim" and r.params["schedule"] == "paced" and r.accepted == 8
    assert r.accept_order == [0, 1, 2, 3, 0, 1, 2, 3]  # FIFO: round robin
    lt = sim.accept("epoll-lt", 4, 5, schedule="paced", kernel="newest")
    assert (lt.kernel_wakeups_per_connection, lt.returns_per_connection, lt.eagain) == (2, 1, 0)
    assert sim.accept("epoll-lt", 4, 5, schedule="paced", kernel="5.10").kernel_wakeups_per_connection == 1
    assert sim.accept("select", 4, 3, schedule="paced").kernel_wakeups_per_connection == 4
    assert sim.read("oneshot", 2, 3, schedule="paced").params["schedule"] == "paced"


def test_sim_accept_paced_matches_sim_run_with_the_paced_policy():
    setup = sim.accept_setup("epoll-et-private", 3, 5)
    tr = sim.run(setup, policy="paced")
    r = sim.accept("epoll-et-private", 3, 5, schedule="paced")
    assert r.accept_order == [list(setup.programs).index(n) for n in tr.state.accept_order]


def test_schedule_and_policy_are_checked():
    with pytest.raises(ValueError, match="schedule must be one of canonical, random, paced, not 'fast'"):
        sim.accept("epoll-lt", 2, 1, schedule="fast")
    with pytest.raises(ValueError, match="takes no seed"):
        sim.accept("epoll-lt", 2, 1, schedule="paced", seed=1)
    with pytest.raises(ValueError, match="needs a seed"):
        sim.read("lt", 2, 1, schedule="random")
    with pytest.raises(ValueError, match="policy must be one of"):
        sim.run(sim.accept_setup("epoll-lt", 2, 1), policy="fair")
    assert sim.accept("epoll-lt", 2, 1, seed=3).params["schedule"] == "random"
    assert sim.accept("epoll-lt", 2, 1).params["schedule"] == "canonical"


# ------------------------------------------------------------------------------------ herd's cause


def test_an_epoll_ctl_rearm_that_wakes_a_second_thread_is_not_herd():
    # the reviewer's schedule: conn 1 wakes B, B disarms the ONESHOT item, conn 2 queues nothing,
    # A is... asleep; B accepts and re-arms with EPOLL_CTL_MOD: ep_modify() finds l0 ready and wakes A
    setup = sim.accept_setup("epoll-oneshot", 2, 2, kernel="newest")
    tr = sim.replay(setup, ["A", "B", "Kernel", "B", "Kernel", "B", "B"])
    assert "ep_modify" in tr.steps[-1].text and "wakes Thread A" in tr.steps[-1].text
    assert "herd" not in tr.properties
    assert "herd" not in sim.explore(setup).properties


def test_herd_follows_the_cascade_to_the_event_that_queued_the_item():
    tr = sim.replay(sim.setup(sim.load("lt-one-write-three-threads"), "newest"),
                    ["A", "B", "C", "Kernel", "C"])
    assert "ep_done_scan" in tr.steps[-1].text and tr.steps[-1].shows == ("herd",)


def test_two_events_that_wake_one_thread_each_are_not_herd():
    assert sim.explore(sim.setup(sim.load("blocking-accept-rewait-fifo-one-each"))).properties == ()


# ------------------------------------------------------------------------------------------ stuck


def test_stuck_needs_every_thread_asleep_so_a_thread_that_was_told_and_finished_is_not_a_lost_wakeup():
    for name in ("et-one-write-two-threads", "private-instances-exclusive-first-wins",
                 "listener-et-two-threads"):
        assert "stuck" not in sim.explore(sim.setup(sim.load(name))).properties, name


def test_a_thread_asleep_on_an_epollout_only_item_is_not_stuck_when_bytes_are_queued():
    out_only = {
        "name": "EPOLLOUT only", "objects": {"e0": "epoll", "s0": "stream"},
        "watch": [{"epoll": "e0", "fd": "s0", "events": ["EPOLLOUT", "EPOLLET"]}],
        "threads": {"A": [{"call": "epoll_wait", "epoll": "e0"}, {"call": "epoll_wait", "epoll": "e0"}]},
        "kernel": [{"write": "s0", "bytes": 1}]}
    ex = sim.explore(sim.setup(sim.load(out_only)))
    assert ex.outcome_set() == [{"A": [[["s0", ["EPOLLOUT"]]], "blocked"]}] and "stuck" not in ex.properties
    asks_in = json.loads(json.dumps(out_only))
    asks_in["watch"][0]["events"] = ["EPOLLIN", "EPOLLOUT", "EPOLLET"]
    asks_in["threads"]["A"].insert(0, {"call": "epoll_wait", "epoll": "e0"})
    assert "stuck" in sim.explore(sim.setup(sim.load(asks_in))).properties  # the write's edge was taken


def test_single_accept_edge_triggered_variant_strands_a_connection():
    ex = sim.explore(sim.accept_setup("epoll-et-once", 2, 2))
    assert "stuck" in ex.properties
    w = ex.witnesses["stuck"]
    assert w.steps[-1].view.queued == {"l0": 1} and w.steps[-1].shows[-1] == "stuck"


@pytest.mark.parametrize("strategy", ["epoll-et", "epoll-oneshot", "epoll-exclusive", "blocking", "epoll-lt"])
def test_correct_accept_strategies_never_get_stuck(strategy):
    assert "stuck" not in props(strategy, 2, 2)


def _shortest_by_enumeration(setup) -> dict:
    """Independently of the explorer: walk EVERY complete schedule (no state merging) and keep, per
    property, the length of the shortest one that shows it."""
    m = sim.Machine(setup)
    best: dict = {}
    stack = [(setup.initial, 0)]
    while stack:
        st, n = stack.pop()
        moves = m.enabled(st)
        if not moves:
            for p in st.props:
                best[p] = min(best.get(p, n), n)
        stack.extend((m.apply(st, mv), n + 1) for mv in moves)
    return best


@pytest.mark.parametrize("setup", [
    sim.accept_setup("epoll-lt", 2, 1, kernel="newest"),
    sim.accept_setup("epoll-et", 2, 2, kernel="newest"),
    sim.read_setup("et", 2, 2, 4, 2, kernel="newest"),
], ids=["epoll-lt-2x1", "epoll-et-2x2", "read-et-2x2"])
def test_witnesses_are_the_shortest_complete_schedules_showing_each_property(setup):
    ex = sim.explore(setup)
    want = _shortest_by_enumeration(setup)
    assert set(ex.witnesses) == set(want)
    assert {p: len(w) for p, w in ex.witnesses.items()} == want
    assert all(p in w.properties for p, w in ex.witnesses.items())


def test_exploration_stops_at_the_state_budget():
    with pytest.raises(sim.StateBudgetExceeded, match="budget of 50 states"):
        sim.explore(sim.accept_setup("epoll-lt", 3, 2), budget=50)


# ------------------------------------------------------------------------------ accept / read


def test_sim_accept_gives_the_lab_record_with_backend_sim():
    r = sim.accept("epoll-exclusive", 3, 2, kernel="newest")
    assert r.backend == "sim" and r.experiment == "accept" and r.lost == 0
    assert r.accept_order == [0, 0]  # the first-registered idle worker wins every time
    assert r.max_share == 1.0


def test_sim_accept_explore_adds_schedules_states_outcomes_witnesses():
    r = sim.accept("epoll-lt", 2, 1, explore=True, kernel="newest")
    d = r.to_dict()
    assert d["schedules"] == sum(o["count"] for o in d["outcomes"])
    assert set(d["witnesses"]) == {"herd", "wasted-wakeup", "eagain", "eagain-first"}
    assert d["witnesses"]["herd"][0] == {"actor": "Thread A",
                                         "text": "calls epoll_wait(e0): nothing ready; sleeps at the head "
                                                 "of e0's ep->wq"}


def test_reuseport_spreads_by_hash_of_the_connection_number():
    r = sim.accept("reuseport", 2, 8, kernel="newest")
    assert r.lost == 0 and r.eagain == 0
    assert r.accept_order == [sim.programs.reuseport_pick(k, 2) for k in range(1, 9)]


def test_rotate_moves_the_worker_to_the_end_of_the_exclusive_list():
    plain = sim.accept("epoll-exclusive", 2, 4, kernel="newest")
    rot = sim.accept("epoll-exclusive-rotate", 2, 4, kernel="newest", rotate=1)
    assert plain.accept_order == [0, 0, 0, 0] and rot.accept_order == [0, 1, 0, 1]


@pytest.mark.parametrize("strategy", [s for s in ACCEPT if s != "epoll-et-once"])  # wrong on purpose
def test_every_accept_strategy_accepts_every_connection_on_the_canonical_schedule(strategy):
    r = sim.accept(strategy, 2, 3, kernel="newest")
    assert r.lost == 0 and len(r.accept_order) == 3


@pytest.mark.parametrize("strategy", list(READ))
def test_every_read_strategy_hands_on_every_byte_it_reads(strategy):
    r = sim.read(strategy, 2, 2, 4, 4, seed=1, kernel="newest")
    assert r.backend == "sim"
    # bytes counted by the readers' read() calls == bytes in the delivered stream (two separate books)
    assert sum(p.bytes for p in r.per_reader) == r.bytes_delivered
    if strategy != "et-once":
        assert r.bytes_delivered == 8


def test_same_seed_gives_byte_identical_json():
    a = sim.accept("epoll-lt", 3, 3, seed=7, kernel="newest").to_json()
    b = sim.accept("epoll-lt", 3, 3, seed=7, kernel="newest").to_json()
    assert a == b
    assert any(sim.accept("epoll-lt", 3, 3, seed=s, kernel="newest").to_json() != a for s in range(8))


def test_bad_parameters_raise_one_line_value_errors():
    with pytest.raises(ValueError, match=r"workers must be an integer in 1..8, not 0"):
        sim.accept("epoll-lt", 0, 1)
    with pytest.raises(ValueError, match="unknown accept strategy 'nope'; valid: blocking"):
        sim.accept("nope", 1, 1)
    with pytest.raises(ValueError, match="kernel release 'x' is not like"):
        sim.accept("epoll-lt", 1, 1, kernel="x")


# -------------------------------------------------------------------------------------- CLI

CONTRACT_ACCEPT_KEYS = {
    "experiment", "backend", "strategy", "workers", "connections", "accepted", "lost", "returns", "eagain",
    "kernel_wakeups", "returns_per_connection", "eagain_per_connection", "kernel_wakeups_per_connection",
    "accept_order", "max_share", "per_worker"}
CONTRACT_READ_KEYS = {
    "experiment", "backend", "strategy", "readers", "messages", "message_size", "read_size", "bytes_sent",
    "bytes_delivered", "lost_bytes", "split_messages", "reordered", "in_order", "returns", "eagain",
    "kernel_wakeups", "per_reader"}


def test_cli_sim_accept_json_has_the_lab_keys(capsys):
    assert cli(["sim", "accept", "--strategy", "epoll-lt", "--workers", "2", "--connections", "1",
                "--explore", "--json", "--kernel", "newest"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert CONTRACT_ACCEPT_KEYS <= set(d) and {"schedules", "states", "outcomes", "witnesses"} <= set(d)
    assert set(d["per_worker"][0]) == {"worker", "accepts", "returns", "eagain", "kernel_wakeups"}


def test_cli_sim_records_and_prints_the_kernel_rules_it_used(capsys):
    assert cli(["sim", "accept", "--strategy", "epoll-lt", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["params"]["rules"] == sim.generation(None).describe()  # the CLI asks for this machine's
    assert cli(["sim", "read", "--strategy", "lt", "--kernel", "5.10.20"]) == 0
    assert "kernel rules: 5.10.20 (asked): no LT cascade" in capsys.readouterr().out


def test_cli_sim_read_json_has_the_lab_keys(capsys):
    assert cli(["sim", "read", "--strategy", "oneshot", "--seed", "3", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert CONTRACT_READ_KEYS <= set(d)
    assert set(d["per_reader"][0]) == {"reader", "reads", "bytes", "returns", "eagain", "kernel_wakeups"}


def test_cli_sim_same_seed_same_bytes(capsys):
    args = ["sim", "accept", "--strategy", "epoll-et", "--workers", "3", "--connections", "3", "--seed", "5",
            "--json"]
    cli(args)
    a = capsys.readouterr().out
    cli(args)
    assert capsys.readouterr().out == a


def test_cli_sim_bad_argument_exits_2_with_one_line(capsys):
    assert cli(["sim", "accept", "--strategy", "epoll-lt", "--workers", "9"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "workers must be an integer in 1..8" in err


def test_cli_paced_gives_the_models_paced_record_for_a_light_load():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "epollkit", "sim", "accept", "--strategy", "epoll-lt",
                          "--workers", "3", "--connections", "4", "--paced", "--kernel", "newest", "--json"],
                         capture_output=True, text=True, check=True)
    doc = json.loads(out.stdout)
    assert doc["params"]["schedule"] == "paced"
    # light load on a shared level-triggered instance: the connection's wake-up plus the cascade's
    assert doc["kernel_wakeups_per_connection"] == 2.0
    assert doc == sim.accept("epoll-lt", 3, 4, schedule="paced", kernel="newest").to_dict()
