"""Every notebook, run in JupyterLab in a real browser (Debian's Chromium driven by Playwright).

What a reader on JupyterLab or Binder sees: every cell runs without an error, every widget renders as a widget
with the controls the kernel created (not "Error displaying widget", not "Loading widget..."), moving a widget
redraws its picture, and every plot appears. One screenshot per notebook goes to test-output/screenshots/.

Skipped where Chromium or Playwright is missing (with how to install them), except in CI (CI=true), where
``.ci/run`` installs Chromium and a missing browser is a failure.
"""

from __future__ import annotations

import json
import os
from collections import Counter

import pytest

from ._jupyterlab import (
    INSTALL_HINT,
    VIEW_CSS,
    Chromium,
    JupyterLab,
    NotebookRun,
    find_chromium,
    playwright_available,
    run_notebook,
)
from ._readers import NOTEBOOK_IDS, NOTEBOOKS, ROOT, error_outputs

# one pytest-xdist worker drives JupyterLab for every notebook (make test runs two workers)
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]

OUT = ROOT / "test-output" / "screenshots"

# Cells a reader edits and runs again after the run-all: notebook -> [(marker, new source, text the
# cell must then show)]. 07b: the reader fixes exercise 1 and the model grades it in the page.
EDITS = {
    "07b_write_your_own_worker.ipynb": [(
        "g1 = ex1.check(my_et)",
        "ex1 = exercise(\"et-once\")\n\ndef my_et():\n    while True:\n        yield epoll_wait()\n"
        "        while (yield accept()) != EAGAIN:\n            pass\n\ng1 = ex1.check(my_et)\n",
        "PASSED",
    )],
}
IMAGE_MIMES = ("image/png", "image/jpeg", "image/gif")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="module")
def lab_in_chromium():
    """One JupyterLab server and one Chromium for all notebooks."""
    chromium = find_chromium()
    found = {"chromium": chromium is not None, "playwright": playwright_available()}
    missing = [name for name, ok in found.items() if not ok]
    if missing:
        reason = f"{' and '.join(missing)} not found: this test {INSTALL_HINT}"
        if in_ci():
            pytest.fail(f"CI must run the browser test, but {reason}", pytrace=False)
        pytest.skip(reason)
    with JupyterLab(ROOT) as lab, Chromium(chromium) as browser:
        yield lab, browser


def problems_in(run: NotebookRun) -> list[str]:
    """Everything a reader would see go wrong, one line each."""
    found = []
    if run.error:
        found.append(f"run-all did not return: {run.error}")
    elif not run.finished:
        found.append("run-all stopped before the last cell (a cell raised, or the kernel died)")
    any_widget = any_control = False
    for cell in run.cells:
        if cell["type"] != "code":
            continue
        where = f"cell {cell['index']}"
        if cell["source"].strip() and cell["execution_count"] is None:
            found.append(f"{where} did not run")
        found += [f"{where}: {e}" for e in error_outputs(cell["outputs"])]
        children = cell["children"]
        if len(children) != len(cell["outputs"]):
            found.append(f"{where}: {len(cell['outputs'])} outputs but {len(children)} shown")
            continue
        for j, (out, shown) in enumerate(zip(cell["outputs"], children, strict=True)):
            what = f"{where} output {j}"
            if shown["traceback"] and out["output_type"] != "error":
                found.append(f"{what} shows a traceback (a widget callback raised?): {shown['text'][:300]}")
            mid = out.get("model_id")
            if mid:
                any_widget = True
                any_control |= shown["controls"] > 0
                if shown["error"]:
                    found.append(f"{what}: Error displaying widget: {shown['text'][:200]}")
                elif shown["loading"]:
                    found.append(f"{what}: still 'Loading widget...' after the run")
                elif not shown["widget"]:
                    found.append(f"{what}: a widget the kernel displayed did not render: "
                                 f"{shown['text'][:200]}")
                expected = Counter(VIEW_CSS[v] for v in run.widget_views.get(mid, []) if v in VIEW_CSS)
                for css, n in sorted(expected.items()):
                    if shown["counts"].get(css, 0) < n:
                        found.append(f"{what}: the kernel created {n} widget(s) shown as {css}, "
                                     f"the page has {shown['counts'].get(css, 0)}")
            if any(m in out["mimes"] for m in IMAGE_MIMES) and shown["loaded_imgs"] == 0:
                found.append(f"{what}: a plot the kernel sent ({out['mimes']}) did not appear as a picture")
            if "image/svg+xml" in out["mimes"] and shown["svgs"] + shown["loaded_imgs"] == 0:
                found.append(f"{what}: an SVG picture the kernel sent did not appear")
    if any_widget and not any_control:
        found.append("the notebook shows widgets but no control (slider, dropdown, button...) on the page")
    for act in run.interactions:
        where, control = f"cell {act['cell']} output {act['output']}", act["control"]
        if "error" in act:
            found.append(f"{where}: using its {control} failed: {act['error']}")
        elif act["traceback"]:
            found.append(f"{where}: using its {control} shows a traceback: {act['text'][:300]}")
        elif not act["value_changed"]:
            found.append(f"{where}: its {control} did not move from the keyboard")
        elif not act["changed"]:
            found.append(f"{where}: using its {control} changed nothing the widget shows")
        elif act["pictures_before"] and not act["picture_changed"]:
            found.append(f"{where}: using its {control} did not redraw its picture")
    return found


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_notebook_runs_in_jupyterlab_with_every_widget_and_plot_shown(lab_in_chromium, notebook):
    lab, browser = lab_in_chromium
    rel = notebook.relative_to(ROOT).as_posix()
    OUT.mkdir(parents=True, exist_ok=True)
    edits = EDITS.get(notebook.name, [])
    run = run_notebook(browser, lab, rel, screenshot=OUT / f"{notebook.stem}.png",
                       edits=tuple((marker, source) for marker, source, _want in edits))
    summary = {
        "notebook": rel,
        "seconds": round(run.seconds, 1),
        "code_cells": sum(c["type"] == "code" for c in run.cells),
        "widgets": len(run.widget_views),
        "pictures": sum(ch["loaded_imgs"] for c in run.cells for ch in c.get("children", [])),
        "interactions": [{k: v for k, v in act.items() if k != "text"} for act in run.interactions],
        "console_errors": run.console_errors,
    }
    (OUT / f"{notebook.stem}.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"{rel}: {summary['seconds']} s, {summary['code_cells']} code cells, {summary['widgets']} widgets, "
          f"{summary['pictures']} pictures, screenshot {run.screenshot}")
    problems = problems_in(run)
    for (marker, _source, want), done in zip(edits, run.edits + [None] * len(edits), strict=False):
        if done is None or done.get("error"):
            problems.append(f"editing the cell with {marker!r}: {done and done.get('error') or 'not run'}")
        elif want not in done["text"] or want not in done["shown"] or "Traceback" in done["shown"]:
            problems.append(f"the edited cell with {marker!r} should show {want!r}; it shows: "
                            f"{done['shown'][:300]!r}")
    console = "\n  ".join(run.console_errors[:10])
    assert not problems, (
        f"{rel} in JupyterLab ({run.screenshot}):\n  " + "\n  ".join(problems)
        + (f"\nbrowser console errors:\n  {console}" if console else "")
    )
    assert run.screenshot is not None and run.screenshot.stat().st_size > 0, "no screenshot"
