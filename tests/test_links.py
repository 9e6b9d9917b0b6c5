"""Navigation: a reader can open any notebook on Binder, walk the collection in order, and no link is dead.

- every notebook opens (its first cell) with the Binder badge that opens that very notebook in JupyterLab;
- every notebook ends (its last cell) with links to the previous and the next notebook in teaching order;
- 00_start_here links every notebook;
- every relative link in the notebooks' markdown and in the README points at a file that exists.
"""

from __future__ import annotations

import pytest

from ._readers import (
    BINDER_BADGE,
    NOTEBOOK_IDS,
    NOTEBOOKS,
    ROOT,
    START_HERE,
    is_relative,
    links,
    markdown_of,
    notebook_links,
    number,
    read,
)

DOCUMENTS = [ROOT / "README.md", *NOTEBOOKS]


@pytest.mark.parametrize("path", DOCUMENTS, ids=[p.name for p in DOCUMENTS])
def test_every_relative_link_points_at_a_file_that_exists(path):
    if not path.exists():
        pytest.fail(f"{path.relative_to(ROOT)} is missing", pytrace=False)
    dead = []
    for text in markdown_of(path):
        for target in links(text):
            if not is_relative(target):
                continue
            file_part = target.split("#", 1)[0].split("?", 1)[0]
            if not file_part:
                continue
            resolved = (path.parent / file_part).resolve()
            if not resolved.exists():
                dead.append(target)
            elif ROOT not in resolved.parents and resolved != ROOT:
                dead.append(f"{target} (outside the repository)")
    assert not dead, f"{path.relative_to(ROOT)} links to files that do not exist: {dead}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_notebook_opens_with_a_binder_badge_for_itself(path):
    nb = read(path)
    first = nb.cells[0] if nb.cells else None
    badge = BINDER_BADGE.format(path=f"notebooks/{path.name}")
    assert first is not None and first.cell_type == "markdown" and badge in first.source, (
        f"{path.name}: the first cell should carry the Binder badge\n  {badge}"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_notebook_ends_with_links_to_the_previous_and_next_notebook(path):
    """Neighbours in teaching order are the notebooks on disk sorted by name (00, 01, 02, 02b, 03, …, 10):
    numbers may skip, and a lettered notebook (02b) sits after its number."""
    assert number(path) is not None, f"{path.name}: notebooks are named NN_topic.ipynb (teaching order)"
    i = NOTEBOOKS.index(path)
    wanted = [NOTEBOOKS[j].name for j in (i - 1, i + 1) if 0 <= j < len(NOTEBOOKS)]
    nb = read(path)
    last = nb.cells[-1]
    assert last.cell_type == "markdown", f"{path.name}: the last cell should be markdown: previous/next links"
    linked = set(notebook_links(last.source))
    missing = [w for w in wanted if w not in linked]
    assert not missing, f"{path.name}: the last cell should link {missing} (previous/next)"


def test_start_here_links_every_notebook():
    if not START_HERE.exists():
        pytest.fail("notebooks/00_start_here.ipynb is missing", pytrace=False)
    linked = {name for text in markdown_of(START_HERE) for name in notebook_links(text)}
    missing = [p.name for p in NOTEBOOKS if p != START_HERE and p.name not in linked]
    assert not missing, f"00_start_here.ipynb does not link {missing}"
