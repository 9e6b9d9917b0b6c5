"""Readers without epoll (macOS, Windows, some sandboxes): every notebook still runs, and says so plainly.

Each notebook is executed headless (nbclient) in a kernel started with ``EPOLLKIT_NO_EPOLL=1``, which makes
the package behave as if ``select.epoll`` did not exist. Then every widget button is pressed once (e.g. Run),
as a reader would. Asserted:

- no cell and no widget callback raises or prints a traceback or a warning, and every code cell ran (so every
  model cell runs without epoll);
- the setup cell says NOT LIVE;
- every live cell -- one that calls ``live_or_recorded()`` or ``accept_sweep()``, or has an ``if LIVE:`` --
  says NOT LIVE;
- every NOT LIVE line that shows recorded results says where and when they were recorded (the kernel, the
  date, the file under data/reference/);
- a widget that talks about live results says NOT LIVE.
"""

from __future__ import annotations

import os
import re

import nbformat
import pytest

from ._readers import NOTEBOOK_IDS, NOTEBOOKS, error_outputs, output_text, read, widget_outputs

pytestmark = pytest.mark.slow

CELL_TIMEOUT = 180  # seconds; a notebook's default cells take a few seconds

LIVE_CELL = re.compile(r"(?<![\w.])(live_or_recorded|accept_sweep|measure)\(|^\s*if\s+(not\s+)?LIVE\s*:",
                       re.MULTILINE)
RECORDED_CALL = re.compile(r"(?<![\w.])(live_or_recorded|accept_sweep|measure)\(")
SETUP_CELL = re.compile(r"\bsetup\(")
WHERE_AND_WHEN = re.compile(r"Linux \S+.*\b\d{4}-\d{2}-\d{2}\b.*data/reference/\S+\.json", re.DOTALL)

# Press every button of every widget the notebook displayed, as a reader would, once.
PRESS_EVERY_BUTTON = """\
from ipywidgets.widgets import widget as _w

_buttons = [b for b in list(_w._instances.values()) if type(b).__name__ == "Button"]
for _b in _buttons:
    _b.click()
print(f"pressed {len(_buttons)} button(s)")
"""


def execute_without_epoll(path, *, prelude: str | None = None, env: dict | None = None):
    """The notebook executed in a kernel that sees EPOLLKIT_NO_EPOLL=1 (or ``env``), then every widget
    button pressed. ``prelude``: code run in the kernel first, unseen by the notebook (e.g. to play
    another platform). Returns the executed notebook (with widget state) and the button presses' output."""
    from epollkit.view.notebook import notebook_client

    nb = read(path)
    client = notebook_client(nb, timeout=CELL_TIMEOUT, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    env = {**os.environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline",
           **({"EPOLLKIT_NO_EPOLL": "1"} if env is None else env)}
    with client.setup_kernel(env=env):
        if prelude is not None:
            first = nbformat.v4.new_code_cell(prelude)
            nb.cells.insert(0, first)
            try:
                client.execute_cell(first, 0)
            finally:
                nb.cells.pop(0)
            errors = error_outputs(first.outputs)
            assert not errors, f"the prelude failed: {errors}"
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        probe = nbformat.v4.new_code_cell(PRESS_EVERY_BUTTON)
        nb.cells.append(probe)
        try:
            client.execute_cell(probe, len(nb.cells) - 1)
        finally:
            nb.cells.pop()
        client.set_widgets_metadata()
    return nb, probe


def text_of(outputs) -> str:
    """What the outputs say, tracebacks left out (they quote source code). Consecutive pieces of one
    stream are joined as the reader sees them: ``print(a, b)`` writes ``a``, the space and ``b`` one by
    one, and a kernel that flushes in between (a busy machine) leaves them in two stream outputs."""
    parts: list[str] = []
    last = None
    for o in outputs:
        if o.get("output_type") == "error":
            last = None
            continue
        stream = o.get("name") if o.get("output_type") == "stream" else None
        if stream is not None and stream == last:
            parts[-1] += output_text(o)
        else:
            parts.append(output_text(o))
        last = stream
    return "\n".join(parts)


@pytest.fixture(scope="module")
def executed():
    """Notebooks executed without epoll, each once, on first use."""
    cache = {}

    def get(path):
        if path not in cache:
            cache[path] = execute_without_epoll(path)
        return cache[path]

    return get


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_notebook_runs_without_epoll_and_says_its_results_are_recorded(executed, path):
    nb, probe = executed(path)
    problems = recorded_mode_problems(nb, probe)
    assert not problems, f"{path.name} with EPOLLKIT_NO_EPOLL=1:\n  " + "\n  ".join(problems)


def recorded_mode_problems(nb, probe) -> list[str]:
    """What is wrong with a notebook executed where live experiments cannot run (see the module doc)."""
    problems = []
    problems += [f"pressing the widgets' buttons: {e}" for e in error_outputs(probe.outputs)]
    setup_seen = False
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        outputs = cell.outputs
        from_widgets = widget_outputs(nb, cell)
        text, widget_text = text_of(outputs), text_of(from_widgets)
        if cell.execution_count is None:
            problems.append(f"cell {i} did not run")
        problems += [f"cell {i}: {e}" for e in error_outputs(outputs)]
        problems += [f"cell {i}, its widget after its button was pressed: {e}"
                     for e in error_outputs(from_widgets)]
        if not setup_seen and SETUP_CELL.search(cell.source):
            setup_seen = True
            if "NOT LIVE" not in text:
                problems.append(f"cell {i} (setup) does not say NOT LIVE: {text.strip()[:200]!r}")
            continue  # the setup line announces the mode; the cells below show the recorded results
        if LIVE_CELL.search(cell.source) and "NOT LIVE" not in text + widget_text:
            problems.append(f"cell {i} is a live cell but does not say NOT LIVE: {text.strip()[:200]!r}")
        elif RECORDED_CALL.search(cell.source) and not WHERE_AND_WHEN.search(text):
            problems.append(f"cell {i} shows recorded results without saying where and when they were "
                            f"recorded: {text.strip()[:200]!r}")
        for line in (text + "\n" + widget_text).splitlines():
            if "NOT LIVE" in line and "recorded" in line and not WHERE_AND_WHEN.search(line):
                problems.append(f"cell {i} says NOT LIVE but not where and when its results were recorded "
                                f"(Linux release, date, data/reference/ file): {line.strip()[:200]!r}")
        if re.search(r"\blive\b", widget_text, re.IGNORECASE) and "NOT LIVE" not in widget_text:
            problems.append(f"cell {i}: its widget talks about live results without saying NOT LIVE: "
                            f"{widget_text.strip()[:200]!r}")
    return problems

