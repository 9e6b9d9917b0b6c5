"""The read experiment: summarize_read (pure), locating chunks, validation, and live runs."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from epollkit.analysis.messages import check_message, locate_chunks, message, stream
from epollkit.analysis.summarize import summarize_read
from epollkit.errors import ExperimentTimeout
from epollkit.lab.experiments import read as read_lab
from epollkit.lab.experiments.read import read
from epollkit.records import ReaderStats, from_dict

from .conftest import linux_only


def _stats(n):
    return [ReaderStats(reader=i, reads=0, bytes=0, returns=0, eagain=0, kernel_wakeups=0) for i in range(n)]


def _summary(deliveries, readers=2, messages=4, size=10):
    return summarize_read(backend="sim", strategy="lt", messages=messages, message_size=size, read_size=16,
                          deliveries=deliveries, per_reader=_stats(readers))


# ------------------------------------------------------------------------------ summarize_read


def test_one_reader_reading_everything_in_order_is_in_order():
    r = _summary([(0, 0, 16), (0, 16, 16), (0, 32, 8)], readers=1)
    assert (r.lost_bytes, r.split_messages, r.reordered, r.in_order) == (0, 0, 0, True)


def test_a_message_read_by_two_readers_is_split_even_when_delivered_in_order():
    # message 1 (bytes 10-19) is read by reader 0 (10-15) and reader 1 (16-19)
    r = _summary([(0, 0, 16), (1, 16, 24)])
    assert r.split_messages == 1
    assert r.reordered == 0 and r.in_order


def test_a_chunk_delivered_behind_a_later_one_counts_as_reordered():
    # the post's trace: A reads 2048 bytes, B reads the last byte, B delivers first
    r = summarize_read(backend="sim", strategy="lt", messages=1, message_size=2049, read_size=2048,
                       deliveries=[(1, 2048, 1), (0, 0, 2048)], per_reader=_stats(2))
    assert (r.split_messages, r.reordered, r.in_order, r.lost_bytes) == (1, 1, False, 0)


def test_missing_bytes_are_lost_and_not_in_order():
    r = _summary([(0, 0, 30)])
    assert r.lost_bytes == 10 and not r.in_order


def test_one_reader_reading_a_message_in_two_pieces_does_not_split_it():
    r = _summary([(0, 0, 15), (0, 15, 25)], readers=1)
    assert r.split_messages == 0


def test_read_result_round_trips_through_json():
    r = _summary([(0, 0, 16), (1, 16, 24)])
    assert from_dict(json.loads(r.to_json())) == r


# ------------------------------------------------------------------------------- the messages


def test_messages_check_themselves():
    for i in (0, 1, 255, 65_536, 999_999):
        assert check_message(message(i, 64)) == i
    bad = bytearray(message(7, 64))
    bad[3] ^= 1
    with pytest.raises(ValueError, match="corrupt"):
        check_message(bytes(bad))


def test_locate_chunks_rebuilds_offsets_from_contents():
    sent = stream(100, 10)
    # reader 0 reads [0,25) [60,100); reader 1 reads [25,60) [100,1000); delivery order mixes them
    chunks = [[sent[0:25], sent[60:100]], [sent[25:60], sent[100:1000]]]
    order = [(0, 0), (1, 0), (1, 1), (0, 1)]
    assert locate_chunks(sent, chunks, order) == [(0, 0, 25), (1, 25, 35), (1, 100, 900), (0, 60, 40)]


def test_locate_chunks_refuses_bytes_that_were_never_sent():
    sent = stream(10, 16)
    with pytest.raises(Exception, match="not a reordering"):
        locate_chunks(sent, [[b"garbage!" * 20]], [(0, 0)])


# -------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "kw, word",
    [
        ({"strategy": "et-once"}, "strategy"),
        ({"strategy": "epoll-lt"}, "strategy"),
        ({"readers": 0}, "readers"),
        ({"readers": 65}, "readers"),
        ({"messages": 0}, "messages"),
        ({"messages": 1_000_001}, "messages"),
        ({"message_size": 0}, "message_size"),
        ({"message_size": (1 << 20) + 1}, "message_size"),
        ({"read_size": 0}, "read_size"),
        ({"read_size": (1 << 20) + 1}, "read_size"),
        ({"think_us": -1}, "think_us"),
        ({"think_us": 100_001}, "think_us"),
        ({"sender": "fork"}, "sender"),
        ({"deadline": 0}, "deadline"),
        ({"messages": 1_000_000, "message_size": 1024}, "256 MiB"),
        ({"readers": 2.0}, "readers"),
    ],
)
def test_bad_parameters_raise_before_anything_starts(no_leaks, no_resources_created, kw, word):
    args = {"strategy": "oneshot", "readers": 2, "messages": 10} | kw
    with pytest.raises(ValueError, match=word) as info:
        read(**args)
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------------- live runs


@linux_only
@pytest.mark.parametrize("strategy", read_lab.SUPPORTED)
def test_no_strategy_loses_bytes(no_leaks, strategy):
    r = read(strategy, 3, 3_000, message_size=100)
    assert r.lost_bytes == 0
    assert r.bytes_delivered == r.bytes_sent == 300_000
    assert sum(p.bytes for p in r.per_reader) == r.bytes_sent
    assert r.backend == "real" and r.kernel and r.duration_s > 0


@linux_only
def test_oneshot_keeps_order_with_a_sender_process_and_think_time(no_leaks):
    r = read("oneshot", 4, 2_000, message_size=100, think_us=100, sender="process")
    assert (r.lost_bytes, r.reordered, r.in_order) == (0, 0, True)
    assert r.params["sender"] == "process"


@linux_only
def test_default_run_is_fast():
    r = read()
    assert r.duration_s < 3.0


@linux_only
def test_the_sender_runs_in_its_own_process_by_default():
    assert read("oneshot", 2, 500).params["sender"] == "process"
    assert read("oneshot", 2, 500, sender="thread").params["sender"] == "thread"


@linux_only
def test_one_message_to_one_reader_counts_one_wake_up_and_not_the_teardown():
    # the reader sleeps in epoll_wait(), is woken once, reads, re-arms and sleeps again; the stop that
    # wakes it at teardown (and the start-up) are outside the counted interval. A sleep on the GIL inside
    # the interval counts too (the module docstring; measured here in 1 run of 200), so: never fewer
    # than 1, and exactly 1 in most runs -- if the teardown's wake-up were counted, no run would show 1.
    counts = []
    while len(counts) < 5 and counts.count(1) < 2:
        counts.append(read("oneshot", 1, 1).kernel_wakeups)
    assert min(counts) >= 1 and counts.count(1) >= 2, counts


@linux_only
def test_think_sleeps_are_not_counted_as_wake_ups():
    r = read("lt", 1, 2_000, think_us=200)
    assert r.params["think_sleeps"] == r.returns > 0
    assert r.kernel_wakeups < r.params["think_sleeps"]


@linux_only
@pytest.mark.parametrize("sender", ["thread", "process"])
def test_deadline_stops_the_run_promptly_without_leaks(no_leaks, sender):
    t = time.monotonic()
    with pytest.raises(ExperimentTimeout, match="deadline"):
        read("lt", 2, 1_000, pace_us=100_000, deadline=0.3, sender=sender)
    assert time.monotonic() - t < 3.0  # loose: 0.3 s deadline + teardown, not a 5 s join


@linux_only
def test_a_failing_reader_stops_the_run_and_is_reraised(no_leaks, monkeypatch):
    def boom(self, index, data):
        raise RuntimeError("reader exploded")

    monkeypatch.setattr(read_lab._ReadRun, "_deliver", boom)
    with pytest.raises(RuntimeError, match="reader exploded"):
        read("oneshot", 2, 1_000)


@linux_only
def test_keyboard_interrupt_leaves_nothing_behind(no_leaks, monkeypatch):
    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(read_lab._ReadRun, "_wait_done", interrupted)
    with pytest.raises(KeyboardInterrupt):
        read("lt", 2, 1_000)


@linux_only
def test_epoll_ctl_cost_is_a_small_positive_number():
    from epollkit.lab.experiments.costs import epoll_ctl_cost

    cost = epoll_ctl_cost(calls=2_000, batch=500)
    assert 0 < cost["us_per_call"]["min"] <= cost["us_per_call"]["median"] < 1_000


# ------------------------------------------------------------------------------------------ CLI


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "epollkit", "read", *args], capture_output=True, text=True,
                          timeout=60)


def test_cli_rejects_bad_readers_with_exit_2_and_one_line():
    p = _cli("--strategy", "oneshot", "--readers", "0")
    assert p.returncode == 2
    assert p.stderr.strip().count("\n") == 0 and "readers" in p.stderr


def test_cli_rejects_unknown_strategy_with_exit_2():
    p = _cli("--strategy", "nope")
    assert p.returncode == 2 and "oneshot" in p.stderr


@linux_only
def test_cli_json_prints_one_document():
    p = _cli("--strategy", "oneshot", "--messages", "500", "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["experiment"] == "read" and doc["lost_bytes"] == 0 and doc["in_order"] is True
