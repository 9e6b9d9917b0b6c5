"""The package's layers point one way (docs/architecture.md, "Layers").

Every import in every module -- at module level and inside functions -- is read with ``ast`` (nothing
is imported), resolved to the epollkit module it names, and held against the layer order:

    base -> records -> analysis -> scenarios -> {sim | lab} -> conformance -> view -> cli

A module may import from its own layer or the layers before it, never after; ``sim`` and ``lab`` are
siblings that never import each other. No import cycle may exist anywhere, and the modules a reader
on macOS or Windows imports (everything but the lab's helper processes) import nothing Unix-only
at module level.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "epollkit"

# (layer, module prefixes); a module belongs to the layer of its longest matching prefix
LAYERS = [
    ("base", ("epollkit.errors", "epollkit.validate", "epollkit.system", "epollkit.strategies")),
    ("records", ("epollkit.records", "epollkit.data", "epollkit")),
    ("analysis", ("epollkit.analysis",)),
    ("scenarios", ("epollkit.scenarios",)),
    ("sim", ("epollkit.sim",)),
    ("lab", ("epollkit.lab",)),
    ("conformance", ("epollkit.conformance",)),
    ("view", ("epollkit.view",)),
    ("cli", ("epollkit.cli", "epollkit.__main__")),
]
RANK = {"base": 0, "records": 1, "analysis": 2, "scenarios": 3, "sim": 4, "lab": 4, "conformance": 5,
        "view": 6, "cli": 7}
SIBLINGS = {frozenset({"sim", "lab"})}  # same rank, and neither may import the other
UNIX_ONLY = {"fcntl", "resource", "termios", "pwd", "grp"}


def _name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_name(p): p for p in sorted(PKG.rglob("*.py"))}


def layer(module: str) -> str:
    best, found = -1, None
    for name, prefixes in LAYERS:
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best:
                best, found = len(p), name
    assert found is not None, module
    return found


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    base = package.split(".")
    if node.level > 1:
        base = base[: -(node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(module: str):
    """(imported epollkit module, line, at module level?) for every import statement in ``module``."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    top = set(map(id, tree.body))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, node.lineno, id(node) in top
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            for a in node.names:
                sub = f"{target}.{a.name}"
                yield (sub if sub in MODULES else target), node.lineno, id(node) in top


def edges():
    for m in MODULES:
        for target, line, at_top in imports(m):
            if target == "epollkit" or target.startswith("epollkit."):
                yield m, target, line, at_top


def test_every_epollkit_import_names_a_module_that_exists():
    missing = [f"{m}:{line} imports {t}" for m, t, line, _ in edges() if t not in MODULES]
    assert not missing, "\n".join(missing)


def test_no_import_points_up_the_layers():
    wrong = []
    for m, t, line, _ in edges():
        if t not in MODULES or t == "epollkit":
            continue
        a, b = layer(m), layer(t)
        if RANK[b] > RANK[a] or (a != b and frozenset({a, b}) in SIBLINGS):
            wrong.append(f"{m}:{line} ({a}) imports {t} ({b})")
    assert not wrong, "\n".join(wrong)


def test_there_is_no_import_cycle():
    graph: dict[str, set] = {m: set() for m in MODULES}
    for m, t, _, _ in edges():
        if t in MODULES and t != m:
            graph[m].add(t)
    # a cycle through a package's own __init__ re-exporting its submodules is still a cycle
    color: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(n):
        color[n] = 1
        stack.append(n)
        for nxt in sorted(graph[n]):
            if color.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in color:
                visit(nxt)
        stack.pop()
        color[n] = 2

    for n in sorted(graph):
        if n not in color:
            visit(n)
    assert not cycles, "\n".join(cycles)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if not m.startswith("epollkit.lab.children.")))
def test_no_module_imports_anything_unix_only_at_module_level(module):
    """A reader on Windows imports every module a notebook names (lab modules too: they must import and
    say NOT LIVE); only the helper processes, which run on Linux alone, may import them at the top."""
    bad = [f"{t} (line {line})" for t, line, top in imports(module) if top and t.split(".")[0] in UNIX_ONLY]
    assert not bad, f"{module} imports {', '.join(bad)} at module level"


def test_the_layer_test_sees_an_upward_arrow(tmp_path, monkeypatch):
    """The checker itself can fail: a model module importing the lab is reported."""
    fake = dict(MODULES)
    p = tmp_path / "bad.py"
    p.write_text("def f():\n    from ..lab import accept\n", encoding="utf-8")
    fake["epollkit.sim.bad"] = p
    monkeypatch.setattr(f"{__name__}.MODULES", fake)
    found = [(m, t) for m, t, _, _ in edges() if m == "epollkit.sim.bad"]
    assert found == [("epollkit.sim.bad", "epollkit.lab")]
    assert layer("epollkit.lab") == "lab" and frozenset({"sim", "lab"}) in SIBLINGS
