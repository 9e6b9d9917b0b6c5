"""The behaviours both backends must show, stated once and run against each.

One row per behaviour: the model must show it EXACTLY (the explorer's property set over every
interleaving of a small run), the real kernel STRUCTURALLY (counters of a paced live run, with loose
bounds explained per row, for a shared 2-core machine). A row with no real check is a behaviour the
live run cannot show reliably; a row with no model check one the model does not count.

    sim   (kind, strategy, workers, events): ``shows`` must all appear, ``never`` none
    real  a predicate on the live record of ``run`` (default: 4 workers, 150 connections / 2 readers,
          20 000 messages), retried up to ``tries`` times where the effect is a race
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from epollkit import sim

from .conftest import linux_only


@dataclass(frozen=True)
class Behaviour:
    says: str  # the behaviour, as a reader would state it
    kind: str  # "accept" | "read"
    strategy: str
    shows: frozenset = frozenset()  # model properties that must appear (every interleaving explored)
    never: frozenset = frozenset()  # model properties that must not appear
    size: tuple = (2, 1)  # model: workers/readers, connections/messages
    real: object = None  # predicate on the live record; None: model only
    tries: int = 1  # live runs allowed to show a racy effect
    why: str = ""  # why the real bound is what it is
    exact: bool = field(default=False)  # model: ``shows`` is the whole property set


def _per_conn(r) -> float:
    return r.kernel_wakeups_per_connection


BEHAVIOURS = [
    Behaviour("blocking accept() wakes exactly one worker per connection", "accept", "blocking",
              never=frozenset({"herd", "eagain"}), size=(3, 2),
              real=lambda r: _per_conn(r) <= 1.5 and r.eagain == 0,
              why="inet_csk_wait_for_connect() waits exclusively: one wake-up per connection (+ slack)"),
    Behaviour("select() wakes every waiter", "accept", "select", shows=frozenset({"herd"}),
              real=lambda r: _per_conn(r) >= 2.5, why="4 waiters, all woken: well above 2.5 per connection"),
    Behaviour("poll() wakes every waiter", "accept", "poll", shows=frozenset({"herd"}),
              real=lambda r: _per_conn(r) >= 2.5, why="as select()"),
    Behaviour("private epoll instances all wake", "accept", "epoll-lt-private", shows=frozenset({"herd"}),
              real=lambda r: _per_conn(r) >= 2.5, why="one ep_poll_callback() per instance, 4 instances"),
    Behaviour("EPOLLEXCLUSIVE wakes one instance", "accept", "epoll-exclusive", never=frozenset({"herd"}),
              size=(3, 1), real=lambda r: _per_conn(r) <= 1.5,
              why="the exclusive walk stops at the first instance with a sleeper"),
    Behaviour("a shared level-triggered instance wakes two: the callback's and the cascade's", "accept",
              "epoll-lt", shows=frozenset({"herd", "wasted-wakeup", "eagain", "eagain-first"}),
              real=lambda r: _per_conn(r) >= 1.5,
              why="ep_done_scan() wakes a second sleeper while the listener is still readable (about 2)"),
    Behaviour("edge-triggered accept drains to EAGAIN and wakes one", "accept", "epoll-et",
              shows=frozenset({"eagain"}), exact=True, real=lambda r: r.eagain_per_connection >= 0.9,
              why="every drain ends in one EAGAIN"),
    Behaviour("ET + ONESHOT never has two accepts in flight", "accept", "epoll-oneshot",
              never=frozenset({"herd"}), size=(2, 2), real="oneshot-in-flight",
              why="ep_send_events() disarms the item; only the worker's own EPOLL_CTL_MOD re-arms it"),
    Behaviour("edge-triggered with one accept() per wake-up strands a connection", "accept",
              "epoll-et-once", shows=frozenset({"stuck"}), size=(2, 2),
              why="model only: a live run would wait for the stranded connection until its deadline"),
    Behaviour("ONESHOT readers never split or reorder the stream", "read", "oneshot",
              never=frozenset({"split", "reorder"}), size=(2, 2),
              real=lambda r: (r.lost_bytes, r.split_messages, r.reordered, r.in_order) == (0, 0, 0, True)
              and r.params["epoll_ctl"] == r.returns,
              why="exact: one reader at a time owns the socket; one re-arm per event"),
    Behaviour("ONESHOT that re-arms before delivering reorders", "read", "oneshot-early-rearm",
              shows=frozenset({"reorder"}), size=(2, 2),
              why="model only: the live race is too rare to bound on a shared machine"),
    Behaviour("edge-triggered with one read() per wake-up strands bytes", "read", "et-once",
              shows=frozenset({"stuck"}), size=(2, 2), why="model only (the live run would hang)"),
] + [
    Behaviour(f"shared {s} readers split and reorder the stream", "read", s,
              shows=frozenset({"split", "reorder"}), size=(2, 2),
              real=lambda r: r.lost_bytes == 0 and r.reordered > 0 and not r.in_order, tries=3,
              why="a race: allowed 3 runs of 20 000 messages to show one reordered delivery")
    for s in ("lt", "et", "lt-exclusive")
]
IDS = [f"{b.strategy}" for b in BEHAVIOURS]


def _model(b: Behaviour) -> set:
    n, k = b.size
    if b.kind == "accept":
        setup = sim.accept_setup(b.strategy, n, k, kernel="newest")
    else:
        setup = sim.read_setup(b.strategy, n, k, 4, 2 if b.strategy != "oneshot-early-rearm" else 4,
                               kernel="newest")
    return set(sim.explore(setup).properties)


@pytest.mark.parametrize("b", BEHAVIOURS, ids=IDS)
def test_the_model_shows_the_behaviour_exactly(b):
    got = _model(b)
    assert b.shows <= got and not (b.never & got), f"{b.says}: model properties {sorted(got)}"
    if b.exact:
        assert got == set(b.shows), f"{b.says}: model properties {sorted(got)}"
    if b.real == "oneshot-in-flight":
        from epollkit.sim.bounds import model_max_accepting

        assert model_max_accepting(b.strategy, 3, 2)["max_accepting"] == 1


@linux_only
@pytest.mark.parametrize("b", [b for b in BEHAVIOURS if b.real is not None],
                         ids=[i for i, b in zip(IDS, BEHAVIOURS, strict=True) if b.real is not None])
def test_the_kernel_shows_the_behaviour_structurally(b, no_leaks):
    from epollkit.lab import accept, read

    seen = []
    for _ in range(b.tries):
        if b.real == "oneshot-in-flight":
            from epollkit.analysis.orders import max_concurrent_accepts

            trace: list = []
            r = accept(b.strategy, 4, 150, trace=trace)
            ok = max_concurrent_accepts(trace) <= 1 and r.lost == 0
        elif b.kind == "accept":
            r = accept(b.strategy, 4, 150)
            ok = r.lost == 0 and b.real(r)
        else:
            r = read(b.strategy, 2, 20_000)
            ok = b.real(r)
        seen.append(r)
        if ok:
            return
    pytest.fail(f"{b.says} ({b.why}); got: " + "; ".join(
        f"wake-ups/conn {getattr(r, 'kernel_wakeups_per_connection', None)}, "
        f"eagain {r.eagain}, reordered {getattr(r, 'reordered', None)}" for r in seen))


def test_every_contract_strategy_has_at_least_one_behaviour():
    from epollkit import strategies

    named = {b.strategy for b in BEHAVIOURS}
    assert set(strategies.CONTRACT_ACCEPT) - named <= {"epoll-et-private", "reuseport"}
    assert set(strategies.CONTRACT_READ) <= named
