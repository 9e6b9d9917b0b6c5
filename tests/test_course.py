"""The collection as a course: every notebook says what it teaches, what it needs and how long it takes;
ends its lesson with rules to remember; folds its answers and asks for one prediction; links glossary terms
that exist. And the pure helpers behind the closing notebook: kernel versions and the report texts.
"""

from __future__ import annotations

import re

import pytest

from epollkit.analysis import kernel_versions
from epollkit.view import report_text

from ._readers import NOTEBOOK_DIR, NOTEBOOK_IDS, NOTEBOOKS, links, markdown_of, read

pytestmark_nb = pytest.mark.parametrize("path", NOTEBOOKS, ids=NOTEBOOK_IDS)
STAMPED = re.compile(r"^\*\*Time:\*\* run ≈ \d+ s \(measured headless, Linux \S+\), reading ≈ \d+ min",
                     re.MULTILINE)


@pytestmark_nb
def test_header_says_what_you_will_learn_prerequisites_and_measured_times(path):
    head = read(path).cells[0].source
    assert "What you will learn" in head or "In this notebook" in head, f"{path.name}: no learning goals"
    assert "Prerequisites" in head, f"{path.name}: no prerequisites in the header"
    assert STAMPED.search(head), (f"{path.name}: the header's **Time:** line is not stamped from a run "
                                  "(python benchmarks/bench_notebooks.py --stamp NOTEBOOK)")


@pytestmark_nb
def test_every_notebook_has_rules_to_remember_and_a_prediction_exercise(path):
    md = [c.source for c in read(path).cells if c.cell_type == "markdown"]
    rules = [s for s in md if s.startswith("## Rules to remember")]
    assert rules, f"{path.name}: no '## Rules to remember' cell"
    bullets = [line for line in rules[0].splitlines() if line.startswith("- ")]
    assert 3 <= len(bullets) <= 5, f"{path.name}: rules to remember should be 3-5 bullets, not {len(bullets)}"
    assert any("Predict before you run" in s for s in md), f"{path.name}: no predict-before-run exercise"
    # folded in markdown, or computed by a cell whose output is a folded <details> (view helpers' folded())
    html = ["".join(o.get("data", {}).get("text/html", "")) for c in read(path).cells if c.cell_type == "code"
            for o in c.get("outputs", [])]
    assert any("<details><summary>Answer" in s for s in md + html), f"{path.name}: no folded answer"


GLOSSARY = NOTEBOOK_DIR / "glossary.md"


def _anchor(heading: str) -> str:
    """GitHub's anchor for a markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_glossary_link_points_at_an_entry_that_exists():
    anchors = {_anchor(h) for h in re.findall(r"^## (.+)$", GLOSSARY.read_text(encoding="utf-8"), re.M)}
    dead = []
    for path in NOTEBOOKS:
        for text in markdown_of(path):
            for target in links(text):
                if target.startswith("glossary.md#") and target.split("#", 1)[1] not in anchors:
                    dead.append(f"{path.name}: {target}")
    assert not dead, f"links to glossary entries that do not exist: {dead}"


def test_the_closing_notebook_has_io_uring_s_row_from_notebook_09():
    text = "\n".join(markdown_of(NOTEBOOK_DIR / "10_which_to_use.ipynb"))
    assert "TO BE FILLED" not in text and "placeholder" not in text
    assert "io_uring accept, a ring per worker" in text and "(09)" in text


# ------------------------------------------------------------------------------------- kernel versions


@pytest.mark.parametrize("release, key, expected", [
    ("6.1.1", "INCOMING_CPU_BROKEN", True),      # b261eda84ec1 is 6.2 mainline ...
    ("6.1.2", "INCOMING_CPU_BROKEN", False),     # ... and stable 6.1.2
    ("6.0.16", "INCOMING_CPU_FIXED", True),
    ("6.0.15", "INCOMING_CPU_FIXED", False),
    ("4.5", "INCOMING_CPU_BROKEN", False),       # broken from 4.6 (c125e80b8868)
    ("5.10.20", "NO_CASCADE", True),
    ("5.10.36", "NO_CASCADE", False),            # the stable backport of 7fab29e35630
    ("5.13", "NO_CASCADE", False),
    ("5.6.19", "LOST_WAKEUP", True),
    ("5.7", "LOST_WAKEUP", False),
    ("4.4", "EPOLLEXCLUSIVE", False),
    ("6.18.44-fc-v657", "TCP_MIGRATE_REQ", True),
])
def test_kernel_versions_know_what_a_release_has(release, key, expected):
    change = next(c for c in kernel_versions.CHANGES if c.key == key)
    assert kernel_versions.has(change, release) is expected


def test_a_bad_release_is_refused_naming_the_value():
    with pytest.raises(ValueError, match="'banana'"):
        kernel_versions.parse_release("banana")


# ---------------------------------------------------------------------------------------- report texts


def test_select_terms_text_derives_both_terms_from_three_calls():
    text = report_text.select_terms_text({
        "low": {"fds": [4], "us": 1.0},
        "high": {"fds": [1028], "us": 1.32},            # 1024 numbers higher = 16 words: 20 ns a word
        "many": {"fds": list(range(4, 804)), "us": 80.9},  # 799 more fds: about 100 ns each
    })
    assert "about 20.0 ns per 64 descriptor numbers" in text
    assert "about 100 ns per watched descriptor" in text


def test_throughput_comparison_believes_a_gap_only_outside_the_spread():
    rows = [{"strategy": "a", "conn/s burst": 90, "burst range": "80-95"},
            {"strategy": "b", "conn/s burst": 100, "burst range": "96-110"},
            {"strategy": "c", "conn/s burst": 100, "burst range": "85-110"}]
    assert "slower than every b run" in report_text.compare_throughput(rows, "a", "b")
    assert "ranges overlap" in report_text.compare_throughput(rows, "a", "c")


def test_scenario_outcomes_read_as_one_line():
    assert report_text.outcome_text({"A": [[["s0", ["EPOLLIN"]]], []]}) == "A: s0: EPOLLIN; then nothing"
    assert "still asleep" in report_text.outcome_text({"B": ["blocked"]})
