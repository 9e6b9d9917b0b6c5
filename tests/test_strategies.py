"""Strategies carry behaviour: both backends read a Strategy's fields, never its name."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from epollkit import strategies
from epollkit.strategies import ACCEPT, READ, SERVE, Topology

PKG = Path(__file__).resolve().parents[1] / "epollkit"
WAITS = {s.wait for t in (ACCEPT, READ, SERVE) for s in t.values()}  # "select", "poll": also wait calls
NAMES = (set(ACCEPT) | set(READ) | set(SERVE)) - WAITS


def _name_branches(path: Path) -> list[str]:
    """Comparisons of anything with a strategy name literal, and startswith/endswith on a name."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Compare):
            for side in [node.left, *node.comparators]:
                if isinstance(side, ast.Constant) and side.value in NAMES:
                    found.append(f"{path.name}:{node.lineno} compares with {side.value!r}")
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("startswith", "endswith") and node.args
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
                and any(node.args[0].value.startswith(n) or n.endswith(node.args[0].value) for n in NAMES)):
            found.append(f"{path.name}:{node.lineno} {node.func.attr}({node.args[0].value!r})")
    return found


@pytest.mark.parametrize("package", ["lab", "sim"])
def test_the_lab_and_the_model_never_branch_on_a_strategy_name(package):
    found = [f for p in sorted((PKG / package).rglob("*.py")) for f in _name_branches(p)]
    assert not found, "\n".join(found)


def test_the_name_branch_finder_finds_one(tmp_path):
    p = tmp_path / "x.py"
    p.write_text('if s.name == "epoll-exclusive-rotate" or s.name.startswith("reuseport-cbpf-"):\n    pass\n')
    assert len(_name_branches(p)) == 2


@pytest.mark.parametrize("name, epolls, listeners, of_2", [
    ("epoll-lt", 1, 1, (0, 0)), ("epoll-exclusive", 4, 1, (2, 0)), ("reuseport", 4, 4, (2, 2)),
    ("blocking", 0, 1, (2, 0)),
])
def test_a_strategy_says_which_instance_and_listener_each_worker_uses(name, epolls, listeners, of_2):
    s = ACCEPT[name]
    assert (s.epolls(4), s.listeners(4), (s.epoll_of(2), s.listener_of(2))) == (epolls, listeners, of_2)


def test_the_behaviour_fields_name_what_the_variants_do_differently():
    assert [n for n, s in ACCEPT.items() if s.rotate] == ["epoll-exclusive-rotate"]
    assert {n: s.steer for n, s in ACCEPT.items() if s.steer} == {"reuseport-cbpf-cpu": "cpu",
                                                                  "reuseport-cbpf-random": "random"}
    assert [n for n, s in READ.items() if s.rearm and not s.deliver_before_rearm] == ["oneshot-early-rearm"]
    assert SERVE["shared"].topology == Topology.SHARED and SERVE["sharded"].topology == "private"
    assert [n for t in (ACCEPT, READ) for n, s in t.items() if s.strands_work] == ["epoll-et-once", "et-once"]


def test_an_unknown_strategy_is_refused_naming_the_valid_ones():
    with pytest.raises(ValueError, match="unknown serve strategy 'x'; valid: shared, sharded"):
        strategies.get("serve", "x")
