"""epollkit.lab.multiplex: the per-call cost of select/poll/epoll and the FD_SETSIZE wall."""

from __future__ import annotations

import json
import resource

import pytest

from epollkit.analysis import orders, stats
from epollkit.errors import ResourceLimit
from epollkit.lab.experiments import multiplex as mx
from epollkit.lab.harness import limits
from epollkit.records import MultiplexResult, from_dict

from .conftest import linux_only, snapshot


def _median(result, api, fds):
    (p,) = [p for p in result.points if p["api"] == api and p["fds"] == fds]
    return p["us_per_call"]["median"]


# ------------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"fds": []}, "fds"),
        ({"fds": [0]}, "fds"),
        ({"fds": [100_001]}, "fds"),
        ({"fds": 10}, "fds"),
        ({"fds": [1.5]}, "fds"),
        ({"apis": ["kqueue"]}, "apis"),
        ({"apis": "select"}, "apis"),
        ({"calls": 1}, "calls"),
        ({"deadline": 0}, "deadline"),
        ({"deadline": float("nan")}, "deadline"),
    ],
)
def test_bad_parameters_are_refused_before_anything_is_created(no_leaks, kwargs, word):
    with pytest.raises(ValueError, match=word):
        mx.multiplex(**kwargs)


def test_fd_set_position_follows_the_fd_set_macro():
    assert orders.fd_set_position(0) == {"fd": 0, "word": 0, "bit": 0, "words": 16, "fits": True}
    assert orders.fd_set_position(1023)["word"] == 15 and orders.fd_set_position(1023)["fits"]
    assert orders.fd_set_position(1024) == {"fd": 1024, "word": 16, "bit": 0, "words": 16, "fits": False}
    with pytest.raises(ValueError, match="fd"):
        orders.fd_set_position(-1)


def test_summarize_us_gives_median_p90_and_min():
    assert stats.summarize_us([5, 1, 3, 2, 4]) == {"median": 3, "p90": 5, "min": 1}
    assert stats.summarize_us([1, 2, 3, 4])["median"] == 2  # nearest rank: the lower middle (analysis.stats)
    with pytest.raises(ValueError):
        stats.summarize_us([])


# ------------------------------------------------------------------------------------ the wall


@linux_only
def test_select_refuses_an_fd_at_or_above_fd_setsize_while_poll_and_epoll_accept_it(no_leaks):
    wall = mx.fd_setsize_wall()
    assert wall.fd >= 1024
    assert wall.select.startswith("ValueError")
    assert wall.poll == "ok: POLLIN"
    assert wall.epoll == "ok: EPOLLIN"


@linux_only
def test_select_points_beyond_fd_setsize_are_skipped_with_a_note(no_leaks):
    r = mx.multiplex([1100], calls=5)
    assert [p["api"] for p in r.points] == ["poll", "epoll"]
    assert r.notes and "FD_SETSIZE" in r.notes[0]


# ----------------------------------------------------------------------------- RLIMIT_NOFILE


@pytest.fixture
def low_soft_limit():
    """Lower the soft RLIMIT_NOFILE to 200 for the test, and put the original back afterwards."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2000:
        pytest.skip(f"hard RLIMIT_NOFILE {hard} is too low for this test")
    if len(snapshot().fds) > 150:
        pytest.skip("too many fds open already")
    resource.setrlimit(resource.RLIMIT_NOFILE, (200, hard))
    yield 200
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@linux_only
def test_soft_fd_limit_is_raised_for_the_run_and_restored_after(no_leaks, low_soft_limit):
    r = mx.multiplex([600], calls=5)
    assert {p["api"] for p in r.points} == {"select", "poll", "epoll"}
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == low_soft_limit


@linux_only
def test_soft_fd_limit_is_restored_after_an_interrupt(no_leaks, low_soft_limit, monkeypatch):
    real = mx._time_calls
    calls = iter(range(10))

    def interrupted(call, n):
        if next(calls) == 1:
            raise KeyboardInterrupt
        return real(call, n)

    monkeypatch.setattr(mx, "_time_calls", interrupted)
    with pytest.raises(KeyboardInterrupt):
        mx.multiplex([600], calls=5)
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == low_soft_limit


def test_fd_counts_beyond_the_hard_limit_get_an_error_naming_it(no_leaks, monkeypatch):
    monkeypatch.setattr(limits, "fd_limits", lambda: (256, 256))
    with pytest.raises(ResourceLimit, match="RLIMIT_NOFILE is 256"):
        mx.multiplex([5000])


# ------------------------------------------------------------------------------------ physics


@linux_only
def test_select_cost_grows_with_watched_fds_and_epoll_stays_flat(no_leaks):
    r = mx.multiplex([10, 1000], calls=101)
    assert _median(r, "select", 1000) >= 3 * _median(r, "select", 10)
    assert _median(r, "poll", 1000) >= 3 * _median(r, "poll", 10)
    assert _median(r, "epoll", 1000) <= 2 * _median(r, "epoll", 10)


@linux_only
def test_record_has_the_contract_keys_and_round_trips(no_leaks):
    r = mx.multiplex([1, 10], calls=5)
    d = r.to_dict()
    assert d["experiment"] == "multiplex" and d["backend"] == "real" and d["kernel"]
    for p in d["points"]:
        assert set(p) == {"api", "fds", "us_per_call"}
        assert set(p["us_per_call"]) == {"median", "p90", "min"}
    assert from_dict(json.loads(json.dumps(d))) == r
    assert isinstance(from_dict(d), MultiplexResult)


# ---------------------------------------------------------------------------------------- CLI


@linux_only
def test_cli_json_prints_one_document(capsys):
    from epollkit.cli import main

    assert main(["multiplex", "--fds", "1,10", "--calls", "5", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["experiment"] == "multiplex" and len(doc["points"]) == 6


def test_cli_bad_fd_list_exits_2_with_one_line(capsys):
    from epollkit.cli import main

    assert main(["multiplex", "--fds", "ten"]) == 2
    assert main(["multiplex", "--fds", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "Traceback" not in "".join(err)
