"""What the readers' tests share: the notebooks, their links, their error outputs.

Every test over notebooks is parametrised over ``notebooks/*.ipynb`` as found on disk, so a notebook that
lands is checked by all of them without editing a test.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
NOTEBOOK_IDS = [p.name for p in NOTEBOOKS]
START_HERE = NOTEBOOK_DIR / "00_start_here.ipynb"

BINDER_PREFIX = "https://mybinder.org/v2/gh/epollkit/epollkit/HEAD?urlpath=lab/tree/"
BINDER_BADGE = "[![Binder](https://mybinder.org/badge_logo.svg)](" + BINDER_PREFIX + "{path})"

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

# What counts as an error a reader would see: an error output, or stderr text with a traceback or a warning.
_STDERR_PROBLEM = re.compile(r"Traceback \(most recent call last\)|\b\w*(Error|Warning)\b")


def read(path: Path):
    return nbformat.read(path, as_version=4)


def number(path: Path) -> int | None:
    """The teaching-order number of ``NN_name.ipynb``, or None."""
    m = re.match(r"(\d+)[a-z]?_", Path(path).name)
    return int(m.group(1)) if m else None


def output_text(out) -> str:
    """The text a reader sees for one output (stream text, text/plain, HTML, markdown, error)."""
    if out.get("output_type") == "stream":
        text = out.get("text", "")
    elif out.get("output_type") == "error":
        text = f"{out.get('ename')}: {out.get('evalue')}\n" + "\n".join(out.get("traceback", []))
    else:
        data = out.get("data", {})
        text = "\n".join(
            "".join(data[k]) if isinstance(data[k], list) else str(data[k])
            for k in ("text/plain", "text/html", "text/markdown")
            if k in data
        )
    return "".join(text) if isinstance(text, list) else text


def error_outputs(outputs) -> list[str]:
    """One line per output that shows an error: error outputs, and stderr with a traceback or a warning."""
    found = []
    for out in outputs:
        if out.get("output_type") == "error":
            found.append(f"{out.get('ename')}: {out.get('evalue')}")
        elif out.get("output_type") == "stream" and out.get("name") == "stderr":
            text = output_text(out)
            if _STDERR_PROBLEM.search(text):
                found.append(f"stderr: {text.strip()[:300]}")
    return found


def widget_outputs(nb, cell) -> list:
    """The outputs of the widgets ``cell`` displayed (Output widgets inside boxes, recursively), from the
    widget state nbclient saves in ``metadata.widgets``: where a widget's callback printed or plotted."""
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    outs = cell.get("outputs", [])
    todo = [o["data"][WIDGET_VIEW]["model_id"] for o in outs if WIDGET_VIEW in o.get("data", {})]
    seen, found = set(), []
    while todo:
        mid = todo.pop()
        if mid in seen or mid not in state:
            continue
        seen.add(mid)
        s = state[mid].get("state", {})
        for child in s.get("children", []) or []:
            if isinstance(child, str) and child.startswith("IPY_MODEL_"):
                todo.append(child[len("IPY_MODEL_"):])
        for out in s.get("outputs", []) or []:
            found.append(out)
            if WIDGET_VIEW in out.get("data", {}):
                todo.append(out["data"][WIDGET_VIEW]["model_id"])
    return found


# ----------------------------------------------------------------------------------------------- links

_MD_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HTML_LINK = re.compile(r"""(?:href|src)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_REF_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)
_FENCE = re.compile(r"```.*?```|~~~.*?~~~", re.DOTALL)
_CODE_SPAN = re.compile(r"`[^`\n]*`")


def links(markdown: str) -> list[str]:
    """Every link target in ``markdown``: inline, reference-style, and HTML href/src (code excluded)."""
    text = _CODE_SPAN.sub("", _FENCE.sub("", markdown))
    return _MD_LINK.findall(text) + _HTML_LINK.findall(text) + _REF_LINK.findall(text)


def is_relative(target: str) -> bool:
    return not re.match(r"^([a-z][a-z0-9+.-]*:|#|//)", target, re.IGNORECASE)


def markdown_of(path: Path) -> list[str]:
    """The markdown texts of a document: the README as one text, a notebook's markdown cells one by one."""
    if path.suffix == ".ipynb":
        return [c.source for c in read(path).cells if c.cell_type == "markdown"]
    return [path.read_text(encoding="utf-8")]


def notebook_links(cell_source: str) -> list[str]:
    """File names of the notebooks a markdown text links to (relative links ending in .ipynb)."""
    names = []
    for target in links(cell_source):
        if is_relative(target):
            path = target.split("#", 1)[0].split("?", 1)[0]
            if path.endswith(".ipynb"):
                names.append(Path(path).name)
    return names
