"""Scenario files: the loader's one-line refusals, the CLI, the real backend's clean-up."""

from __future__ import annotations

import json
import platform

import pytest

from epollkit import lab, sim
from epollkit.cli import main as cli

from .conftest import linux_only

GOOD = {
    "name": "two threads, one LT epoll, one byte",
    "objects": {"e0": "epoll", "s0": "stream", "l0": "listener"},
    "watch": [{"epoll": "e0", "fd": "s0", "events": ["EPOLLIN"]}],
    "threads": {"A": [{"call": "epoll_wait", "epoll": "e0", "maxevents": 1, "timeout": -1}],
                "B": [{"call": "epoll_wait", "epoll": "e0", "maxevents": 1, "timeout": -1}]},
    "kernel": [{"write": "s0", "bytes": 1}],
    "order": "threads-block-first",
}


def with_(**changes):
    d = json.loads(json.dumps(GOOD))
    for path, value in changes.items():
        node = d
        keys = path.split("__")
        for k in keys[:-1]:
            node = node[int(k)] if isinstance(node, list) else node[k]
        last = keys[-1]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return d


def test_the_design_example_loads():
    sc = sim.load(GOOD)
    assert sc.order == "threads-block-first" and list(sc.threads) == ["A", "B"]


@pytest.mark.parametrize("change, message", [
    ({"objects__e0": "kqueue"}, "objects.e0: unknown object kind 'kqueue'; valid: epoll, stream, listener"),
    ({"watch__0__events": ["EPOLLIN", "EPOLLWAT"]},
     "watch[0].events: unknown flag 'EPOLLWAT'; valid: EPOLLIN, EPOLLOUT, EPOLLET, EPOLLONESHOT"),
    ({"watch__0__fd": "s9"}, "watch[0].fd: unknown object 's9'; valid: s0, l0"),
    ({"watch__0__events": ["EPOLLIN", "EPOLLEXCLUSIVE", "EPOLLONESHOT"]}, "EINVAL"),
    ({"threads__A__0__call": "recv"}, "threads.A[0].call: unknown call 'recv'; valid: epoll_wait, accept"),
    ({"threads__A__0__epoll": "s0"}, "threads.A[0].epoll: 's0' is a stream, not a epoll; valid: e0"),
    ({"threads__A__0__timeout": 5}, "threads.A[0].timeout: 5 is not a valid timeout; valid: -1, 0"),
    ({"kernel__0": {"write": "l0", "bytes": 1}}, "kernel[0].write: 'l0' is a listener, not a stream"),
    ({"kernel__0": {"close": "s0"}}, "kernel[0]: unknown kernel event with close; valid: write, connect"),
    ({"order": "random"}, "order: unknown order 'random'; valid: threads-block-first, kernel-first, free"),
    ({"start": "random"}, "start: unknown start 'random'; valid: together, in-order"),
    ({"kernel__0": {"write": "s0", "bytes": 32769}},
     "kernel[0].bytes: 32769 is not an integer in 1..32768 (a larger write is several skbs, so several "
     "wake-ups: unix_stream_sendmsg(); split it into several writes)"),
    ({"colour": "red"}, "unknown field 'colour'; valid: name, objects"),
])
def test_loader_refuses_a_bad_file_with_one_line_naming_field_value_and_valid_ones(change, message):
    with pytest.raises(ValueError) as err:
        sim.load(with_(**change))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_loader_refuses_a_duplicate_watch_as_eexist():
    d = with_()
    d["watch"].append(dict(d["watch"][0]))
    with pytest.raises(ValueError, match="already watched by e0: the kernel would refuse it with EEXIST"):
        sim.load(d)


def test_loader_refuses_mixed_blocking_and_nonblocking_accept_on_one_listener():
    d = with_()
    d["threads"] = {"A": [{"call": "accept", "fd": "l0", "blocking": True}],
                    "B": [{"call": "accept", "fd": "l0"}]}
    with pytest.raises(ValueError, match="O_NONBLOCK belongs to the open file description"):
        sim.load(d)


def test_cli_scenario_bad_file_exits_2_with_one_line(tmp_path, capsys):
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(with_(order="random")))
    assert cli(["scenario", str(f)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown order 'random'" in err
    f.write_text("{not json")
    assert cli(["scenario", str(f)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_cli_scenario_sim_explore_json(capsys):
    assert cli(["scenario", "et-one-write-two-threads", "--explore", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["backend"] == "sim" and d["schedules"] >= 2 and d["states"] > 0
    assert sorted(json.dumps(o["threads"]) for o in d["outcomes"]) == sorted(
        json.dumps(o) for o in sim.load("et-one-write-two-threads").expect)
    assert d["rules"] == sim.generation(None).to_dict()  # the CLI's default: this machine's rules, said so


def test_cli_scenario_sim_prints_the_rules_it_imitates(capsys):
    assert cli(["scenario", "lt-one-write-two-threads", "--explore", "--kernel", "5.10.20"]) == 0
    out = capsys.readouterr().out
    assert "kernel rules: 5.10.20 (asked): no LT cascade" in out and "(NOT in expect" in out


@linux_only
def test_cli_scenario_real_json_measures_the_cascade(capsys):
    assert cli(["scenario", "lt-one-write-two-threads", "--backend", "real", "--repeat", "2", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["backend"] == "real" and d["kernel"] == platform.release()
    assert sum(o["count"] for o in d["outcomes"]) == 2
    both = {"A": [[["s0", ["EPOLLIN"]]]], "B": [[["s0", ["EPOLLIN"]]]]}
    if sim.generation(platform.release()).cascade:
        assert d["outcomes"][0]["threads"] == both
    else:  # 5.5-5.12 before 7fab29e35630: one thread returns, the other stays asleep
        assert all(sorted(map(json.dumps, o["threads"].values())).count('["blocked"]') == 1
                   for o in d["outcomes"])
    m = d["model"]
    assert m["in_model"] and m["cascade"] == (d["outcomes"][0]["threads"] == both)


@linux_only
def test_detect_generation_measures_this_kernel(no_leaks):
    g = lab.detect_generation(repeat=2)
    assert g.source == "measured" and g.kernel == platform.release() and g.certain
    assert "lt-one-write-two-threads" in g.why


@linux_only
@pytest.mark.parametrize("name", ["blocking-accept-wakes-one", "oneshot-second-write-nothing",
                                  "post-et-accept-starvation", "blocking-accept-first-blocked-wins-in-order",
                                  "ctl-del-ignores-exclusive-flags"])
def test_real_backend_leaves_no_fds_threads_or_children(name, no_leaks):
    from epollkit.lab import run_scenario

    r = run_scenario(name, repeat=2)
    assert sum(o["count"] for o in r["outcomes"]) == 2


@linux_only
def test_real_backend_validates_repeat_before_creating_anything(no_leaks):
    from epollkit.lab import run_scenario

    with pytest.raises(ValueError, match="repeat must be an integer in 1..1000, not 0"):
        run_scenario("lt-repeat-one-thread", repeat=0)


def test_detect_generation_without_epoll_says_it_did_not_measure(monkeypatch):
    monkeypatch.setenv("EPOLLKIT_NO_EPOLL", "1")
    g = lab.detect_generation()
    assert g.source == "this machine" and not g.certain and g.why.startswith("not measured (no epoll here)")
