"""The committed notebooks, as GitHub and nbviewer show them to a reader who runs nothing.

They must carry the outputs of one clean headless run (``make execute``), with no error in them and no
widget state (GitHub refuses to render a notebook whose ``metadata.widgets`` lacks a ``state``, and the saved
state is stale anyway); and a widget, which reads as one line of text there, has a static picture below it.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from ._readers import NOTEBOOK_IDS, NOTEBOOKS, error_outputs, output_text, read

pytestmark = pytest.mark.parametrize("path", NOTEBOOKS, ids=NOTEBOOK_IDS)


def test_notebook_is_valid_nbformat_4_with_the_python3_kernel(path):
    nb = read(path)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", (
        f"{path.name}: metadata.kernelspec.name should be 'python3' (what Binder and JupyterLab offer)"
    )


def test_every_code_cell_carries_outputs_from_one_top_to_bottom_run(path):
    nb = read(path)
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    problems = []
    for i, cell in code:
        if not cell.source.strip():
            problems.append(f"cell {i} is an empty code cell: delete it")
        elif cell.execution_count is None:
            problems.append(f"cell {i} was never run")
        elif not cell.outputs:
            problems.append(f"cell {i} has no output: a static reader sees code and nothing it did "
                            "(end it with a value, a print or a plot)")
    counts = [c.execution_count for _, c in code if c.execution_count is not None]
    if counts != list(range(1, len(counts) + 1)):
        problems.append(f"execution counts {counts} are not 1..{len(counts)}: re-run top to bottom with "
                        "`make execute`")
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


def test_no_committed_output_is_an_error(path):
    nb = read(path)
    problems = [f"cell {i}: {e}" for i, c in enumerate(nb.cells) if c.cell_type == "code"
                for e in error_outputs(c.outputs)]
    assert not problems, f"{path.name} shows errors to static readers:\n  " + "\n  ".join(problems)


def test_no_widget_state_is_committed(path):
    nb = read(path)
    assert "widgets" not in nb.metadata, (
        f"{path.name} carries metadata.widgets: re-run it with `make execute`, which strips widget state"
    )


# How a displayed widget reads in a static view (its text/plain): nothing a reader can use.
WIDGET_REPR = re.compile(r"^(interactive|VBox|HBox|Box|GridBox|Tab|Accordion|AppLayout|GridspecLayout|"
                         r"TwoByTwoLayout)\(children=")
PICTURES = ("image/png", "image/jpeg", "image/svg+xml")


def test_every_widget_has_a_static_picture_below_it(path):
    """A static reader sees a widget as a line of text: one of the next two code cells must show the
    default result as a picture."""
    nb = read(path)
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]

    def pictures(cell) -> int:
        return sum(any(m in o.get("data", {}) for m in PICTURES) for o in cell.get("outputs", []))

    missing = []
    for k, (i, cell) in enumerate(code):
        shows_widget = any(WIDGET_REPR.match(output_text(o)) for o in cell.outputs
                           if o.get("output_type") in ("display_data", "execute_result"))
        if shows_widget and not any(pictures(c) for _, c in code[k:k + 3]):
            missing.append(f"cell {i}")
    assert not missing, (
        f"{path.name}: the widget in {', '.join(missing)} has no static picture in the next two code cells "
        "for readers who cannot run it"
    )
