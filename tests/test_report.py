"""One text rendering per record type (epollkit.view.report), shared by the CLI, widgets and notebooks."""

from __future__ import annotations

import pytest

from epollkit import data, sim
from epollkit.records import base
from epollkit.view import report

RECORDED = ["accept", "accept_fixes", "accept_latency", "herd_latency", "multiplex", "read", "reuseport",
            "serve"]


@pytest.mark.parametrize("name", RECORDED)
def test_every_recorded_record_has_a_summary_that_names_where_it_comes_from(name):
    for r in data.find(name):
        line = report.summary(r)
        assert f"Linux {r.kernel}" in line, line
        assert report.report(r)


def test_every_registered_record_type_has_its_own_summary():
    missing = [n for n, (cls, _f, _r) in base._RECORDS.items() if cls not in report._SUMMARIES]
    assert not missing


def test_a_model_record_says_it_is_the_model_and_which_rules():
    r = sim.accept("epoll-lt", 2, 1, kernel="5.10.20")
    assert "(model, 5.10.20 (asked): no LT cascade" in report.summary(r)
    assert report.report(r).startswith("sim accept  strategy=epoll-lt")


def test_the_cli_prints_the_report(capsys):
    from epollkit.cli import main

    assert main(["sim", "accept", "--strategy", "epoll-et", "--workers", "2", "--connections", "2"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == report.report(sim.accept("epoll-et", 2, 2, kernel=None)).strip()
