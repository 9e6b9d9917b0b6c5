"""SO_REUSEPORT, live: the reset-on-close defect, the hash spread, SO_INCOMING_CPU and the CBPF
steering programs. Loose bounds: the machine is shared."""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import threading

import pytest

from epollkit.analysis import orders
from epollkit.lab import accept
from epollkit.lab.experiments import reuseport as R
from epollkit.records import from_dict

from .conftest import assert_same_resources, linux_only, snapshot


def kernel_at_least(major: int, minor: int) -> bool:
    try:
        parts = platform.release().split(".")
        return (int(parts[0]), int(parts[1].split("-")[0])) >= (major, minor)
    except (ValueError, IndexError):
        return False


# ------------------------------------------------------------------------------------- pure parts


def test_cbpf_program_loads_the_ancillary_word_and_returns_it_modulo_the_listeners():
    assert R.cbpf_program("random", 4) == [(0x20, 0, 0, 0xFFFFF000 + 56), (0x94, 0, 0, 4), (0x16, 0, 0, 0)]
    assert R.cbpf_program("cpu", 3)[0] == (0x20, 0, 0, 0xFFFFF000 + 36)
    assert R.cbpf_program("cpu", 3)[1] == (0x94, 0, 0, 3)


def test_sock_fprog_has_the_kernel_layout():
    assert socket.SOL_SOCKET and R.SO_ATTACH_REUSEPORT_CBPF == 51
    import ctypes

    assert ctypes.sizeof(R.SockFilter) == 8
    assert ctypes.sizeof(R.SockFprog) == 2 * ctypes.sizeof(ctypes.c_void_p)


def test_balls_into_bins_is_seeded_and_between_fair_and_all():
    a = orders.balls_into_bins(4, 400, 50, seed=3)
    assert a == orders.balls_into_bins(4, 400, 50, seed=3)
    assert all(0.25 <= x <= 1.0 for x in a)
    assert 0.26 < sum(a) / len(a) < 0.32  # about 1/4 + a few standard deviations of one bin


@pytest.mark.parametrize(
    "call, needle",
    [
        (lambda: R.reuseport_close(1, 10), "listeners must be an integer from 2 to 64, not 1"),
        (lambda: R.reuseport_close(2, 0), "queued must be an integer from 1 to"),
        (lambda: R.reuseport_close(2, 10, close=2), "close must be an integer from 0 to 1, not 2"),
        (lambda: R.reuseport_close(2, 10, deadline=0), "deadline must be a number > 0"),
        (lambda: R.distribution(4, 100, 0), "runs must be an integer from 1 to 200, not 0"),
        (lambda: R.distribution(4, 100, 1, steer="hash"), "steer must be one of None, 'cpu', 'random'"),
        (lambda: R.distribution(0, 100, 1), "listeners must be an integer from 1 to 64, not 0"),
        (lambda: R.incoming_cpu(0), "listeners must be an integer from 1 to 64, not 0"),
        (lambda: R.cbpf_program("hash", 4), "steer must be 'cpu' or 'random', not 'hash'"),
    ],
)
def test_bad_parameters_raise_value_error_naming_them_before_any_socket(call, needle, monkeypatch):
    def no_sockets(*a, **k):
        raise AssertionError("a socket was created before validation finished")

    monkeypatch.setattr(socket, "socket", no_sockets)
    monkeypatch.setattr(threading.Thread, "start", no_sockets)
    before = snapshot()
    with pytest.raises(ValueError) as info:
        call()
    assert needle in str(info.value) and "\n" not in str(info.value)
    assert_same_resources(before)


# ---------------------------------------------------------------------------------- reset on close


@linux_only
def test_closing_a_listener_resets_the_connections_queued_on_it(no_leaks):
    r = R.reuseport_close(2, 50)
    assert r.queued == 50 and sum(r.per_listener) == 50
    assert r.reset + r.accepted + r.lost == 50 and r.lost == 0
    if r.tcp_migrate_req == 1:  # migration on: the sibling takes them over
        assert r.reset == 0
    else:
        assert r.reset > 0
        assert r.reset == r.on_closed
    assert from_dict(r.to_dict()) == r


@linux_only
def test_tcp_migrate_req_is_read_not_changed():
    before = R.tcp_migrate_req()
    R.reuseport_close(2, 10)
    assert R.tcp_migrate_req() == before


@linux_only
def test_cli_reuseport_close_json_prints_one_document_with_queued_and_reset():
    out = subprocess.run([sys.executable, "-m", "epollkit", "reuseport-close", "--listeners", "3",
                          "--queued", "30", "--json"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["queued"] == 30 and doc["listeners"] == 3 and "reset" in doc
    assert out.stdout.count("\n") == 1


@pytest.mark.parametrize("args", [["--listeners", "1"], ["--queued", "0"], ["--close", "9"],
                                  ["--queued", "many"]])
def test_cli_reuseport_close_bad_arguments_exit_2_with_one_line(args):
    out = subprocess.run([sys.executable, "-m", "epollkit", "reuseport-close", *args],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr


# ----------------------------------------------------------------------------------- distribution


@linux_only
def test_hash_distribution_counts_every_connection_and_is_uneven_like_random_throws(no_leaks):
    r = R.distribution(4, 200, 3)
    assert all(sum(c) == 200 for c in r.counts)
    assert r.steer == "hash" and len(r.max_share) == 3
    assert 0.25 <= r.mean_max_share <= 0.5
    assert 0.25 < r.balls_into_bins_mean_max_share < 0.35
    assert from_dict(r.to_dict()) == r


@linux_only
def test_cbpf_random_spreads_400_connections_with_every_listener_at_least_10_percent(no_leaks):
    r = accept("reuseport-cbpf-random", 4, 400, rate=4000)
    assert r.lost == 0 and r.params["cbpf"] == "random"
    assert all(w.accepts >= 40 for w in r.per_worker), r.per_worker


@linux_only
def test_cbpf_cpu_sends_nothing_to_listeners_past_the_highest_cpu_number(no_leaks):
    top = max(os.sched_getaffinity(0))
    if top >= 3:
        pytest.skip("needs a machine whose CPU numbers are all below 3")
    r = R.distribution(4, 100, 2, steer="cpu")
    assert all(sum(c) == 100 for c in r.counts)
    assert all(c[i] == 0 for c in r.counts for i in range(top + 1, 4)), r.counts


# -------------------------------------------------------------------------------- SO_INCOMING_CPU


@linux_only
def test_incoming_cpu_sends_each_pinned_clients_connections_to_its_cpus_listeners(no_leaks):
    r = R.incoming_cpu(connections=40)
    assert r.listener_cpu == [r.cpus[i % len(r.cpus)] for i in range(r.listeners)]
    assert {row["incoming_cpu_set"] for row in r.rows} == {False, True}
    assert all(sum(row["per_listener"]) == 40 for row in r.rows)
    if not kernel_at_least(6, 1):
        pytest.skip("SO_INCOMING_CPU steers a reuseport group only since 6.1 (b261eda84ec1)")
    for row in r.rows:
        if row["incoming_cpu_set"] and row["ran_on"] == [row["client_cpu"]]:
            mine = sum(n for n, c in zip(row["per_listener"], r.listener_cpu, strict=True)
                       if c == row["client_cpu"])
            assert mine >= 36, row  # >= 90%


# ---------------------------------------------------------------------------------- plots, widgets


def test_plots_of_recorded_reuseport_results_return_axes_without_running_anything(no_resources_created):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from epollkit import data, plots

    docs = data.find("reuseport")
    close = next(r for r in docs if r.experiment == "reuseport-close")
    dist = [r for r in docs if r.experiment == "reuseport-distribution"]
    cpu = next(r for r in docs if r.experiment == "reuseport-incoming-cpu")
    for ax in (plots.reuseport_close(close), plots.reuseport_shares(dist), plots.incoming_cpu(cpu)):
        assert ax.get_title()
    plt.close("all")


def test_lab_exports_reuseport_close_lazily():
    import epollkit.lab as lab

    assert lab.reuseport_close is R.reuseport_close
