"""The book's Sphinx extension and its staging step (``make site``; see book/build_site.py).

Staging lays out the pages the repository has, found by glob, under the paths they have in the repository:
the README (as the index, followed by a table of contents), every ``notebooks/*.ipynb`` in name order,
every ``notebooks/*.md``, every ``docs/*.md``. Files are copied as they are in the work tree (commit
before you publish).

The extension (Sphinx's ``source-read`` event, before myst-nb parses a notebook) changes nothing on disk:

- **run banners**: a note under each notebook's title says which machine produced the committed outputs
  (the line the setup cell printed -- ``Live: Linux ..., N CPUs, ...`` or ``NOT LIVE ...`` -- the Python
  version recorded in the notebook's metadata, and the date the cells were executed, from the cells'
  ``execution`` metadata), with how to run it yourself; and every live output (see ``live_cells``: a cell
  that runs a real experiment, or shows what one measured) carries the same facts in a banner above it;
- **folding**: the cell metadata JupyterLab honours folds the same cells on the site --
  ``"jupyter": {"source_hidden": true}`` folds the code (myst-nb's ``hide-input``),
  ``"jupyter": {"outputs_hidden": true}`` folds the outputs (``hide-output``). Answers written as
  ``<details><summary>Answer</summary> ... </details>`` in markdown are folded in both already;
- **widgets**: the committed notebooks carry no widget state (it is stripped before committing), so a
  widget's output is only its Python repr; the site shows a note saying the widget runs in JupyterLab;
- **links** to repository files that are not pages of the book (``../data/...``, ``../epollkit/...``)
  point to the file in the repository on GitHub, so no link on the site is dead.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
from dataclasses import dataclass
from html import escape
from pathlib import Path, PurePosixPath

BADGE = re.compile(
    r"\[!\[Binder\]\((?P<img>[^)]+)\)\]\((?P<hub>https://[^/]+)/v2/gh/(?P<org>[^/]+)/(?P<repo>[^/]+)/"
    r"(?P<branch>[^?]+)\?urlpath=lab/tree/(?P<path>[^)]+)\)"
)
RUN_LINE = re.compile(r"^(Live: .+|NOT LIVE.+)$", re.MULTILINE)
# What runs a real experiment: the live-or-recorded helpers, the lab layer, the machine check, and the
# notebook helper that sweeps the live accept experiment.
LIVE_SOURCE = re.compile(
    r"live_or_recorded|epollkit\.lab\b|from epollkit import [^\n]*\blab\b|capabilities\(|\baccept_sweep\("
)
LIVE_OUTPUT = re.compile(r"\(real\b|NOT LIVE")
WIDGET_REPR = re.compile(r"^(interactive|VBox|HBox|Box|GridBox|Tab|Accordion|Output)\(children=")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
_MD_LINK = re.compile(r"(\]\(\s*<?)([^)\s>]+)(>?(?:\s+\"[^\"]*\")?\s*\))")
_HTML_HREF = re.compile(r"""(href\s*=\s*["'])([^"']+)(["'])""", re.IGNORECASE)
_FENCE = re.compile(r"(```.*?```|~~~.*?~~~)", re.DOTALL)


def repo_root() -> Path:
    return Path(os.environ.get("EPOLLKIT_REPO", Path(__file__).resolve().parents[1])).resolve()


@dataclass(frozen=True)
class BinderTarget:
    """Where the README's Binder badge points: the one place the repository's URL is written down."""

    binderhub_url: str
    org: str
    repo: str
    branch: str

    @property
    def repository_url(self) -> str:
        return f"https://github.com/{self.org}/{self.repo}"

    def launch_url(self, path: str) -> str:
        return f"{self.binderhub_url}/v2/gh/{self.org}/{self.repo}/{self.branch}?urlpath=lab/tree/{path}"


def binder_target(readme: Path) -> BinderTarget:
    m = BADGE.search(readme.read_text(encoding="utf-8"))
    if m is None:
        raise ValueError(f"{readme}: no Binder badge [![Binder](...)](https://.../v2/gh/ORG/REPO/BRANCH"
                         "?urlpath=lab/tree/PATH) found; the book takes its launch buttons from it")
    return BinderTarget(m["hub"], m["org"], m["repo"], m["branch"])


# ------------------------------------------------------------------------------------------------ staging


def pages(root: Path) -> dict[str, list[str]]:
    """The book's pages by part, as repository-relative paths, each part in name order."""
    def glob(pattern: str) -> list[str]:
        return [p.relative_to(root).as_posix() for p in sorted(root.glob(pattern)) if p.is_file()]

    return {
        "Notebooks": glob("notebooks/*.ipynb"),
        "Reference": glob("notebooks/*.md"),
        "Docs": glob("docs/*.md"),
    }


def unbadge(markdown: str) -> str:
    """Binder badges as plain links: the site fetches no picture from outside."""
    return BADGE.sub(lambda m: f"[Launch on Binder]({m['hub']}/v2/gh/{m['org']}/{m['repo']}/{m['branch']}"
                               f"?urlpath=lab/tree/{m['path']})", markdown)


def index_text(root: Path) -> str:
    """The README as the book's first page, then one table of contents per part."""
    readme = (root / "README.md").read_text(encoding="utf-8")
    parts = []
    for caption, paths in pages(root).items():
        if paths:
            entries = "\n".join(str(PurePosixPath(p).with_suffix("")) for p in paths)
            parts.append(f"```{{toctree}}\n:caption: {caption}\n:maxdepth: 1\n:hidden:\n\n{entries}\n```\n")
    return readme.rstrip() + "\n\n" + "\n".join(parts)


def stage(root: Path, src: Path) -> list[str]:
    """Lay out the book's sources in ``src`` (made anew); returns the pages, index first."""
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    (src / "index.md").write_text(index_text(root), encoding="utf-8")
    staged = ["index.md"]
    for paths in pages(root).values():
        for rel in paths:
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / rel, src / rel)
            staged.append(rel)
    return staged


# ------------------------------------------------------------------------------------------------ notebooks


@dataclass(frozen=True)
class RunInfo:
    """What produced a notebook's committed outputs."""

    machine: str  # the setup cell's line, e.g. "Live: Linux 6.18.44, 2 CPUs, epoll available (...)."
    python: str  # e.g. "Python 3.11.7"
    date: str  # e.g. "2026-11-26", or "" when the cells carry no execution times

    def html(self, css: str) -> str:
        when = f" &middot; executed {self.date}" if self.date else ""
        return (f'<div class="{css}">Committed run &middot; {escape(self.machine)} &middot; '
                f"{escape(self.python)}{when}</div>")


def _text(out) -> str:
    if out.get("output_type") == "stream":
        t = out.get("text", "")
    else:
        t = out.get("data", {}).get("text/plain", "")
    return "".join(t) if isinstance(t, list) else str(t)


def run_info(nb: dict) -> RunInfo:
    machine = ""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        for out in cell.get("outputs", []):
            m = RUN_LINE.search(_text(out))
            if m:
                machine = m.group(1).strip().rstrip(".")
                break
        if machine:
            break
    if not machine:
        machine = "machine not recorded (no setup line in the committed outputs)"
    lang = nb.get("metadata", {}).get("language_info", {})
    python = f"{lang.get('name', 'python').capitalize()} {lang.get('version', '')}".strip()
    stamps = sorted(
        cell.get("metadata", {}).get("execution", {}).get("iopub.execute_input", "")
        for cell in nb.get("cells", []) if cell.get("cell_type") == "code"
    )
    stamps = [s for s in stamps if s]
    return RunInfo(machine, python, stamps[0][:10] if stamps else "")


def _names(src: str) -> tuple[set[str], set[str]]:
    """(names a cell binds by assignment or def, names it reads); imports bind nothing here, so importing a
    helper next to a live experiment does not make every later use of the helper live."""
    try:
        tree = ast.parse(src)
    except SyntaxError:  # IPython magics: fall back to words
        words = set(re.findall(r"\b[A-Za-z_]\w*\b", src))
        return set(re.findall(r"^([A-Za-z_]\w*)\s*=[^=]", src, re.MULTILINE)), words
    stores, loads = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (stores if isinstance(node.ctx, ast.Store) else loads).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stores.add(node.name)
        elif isinstance(node, ast.arg):
            stores.add(node.arg)
    return stores, loads


def live_cells(cells: list[dict]) -> list[bool]:
    """Per cell: does its output come from the live run? A cell is live when it runs a real experiment (it
    calls ``live_or_recorded``/``epollkit.lab``/``capabilities``, reads the setup's ``LIVE``, or its output
    says ``(real``/``NOT LIVE``), or when it reads a name an earlier live cell bound (a plot or a table of
    the measured results). A cell marked ``# NBVAL_CHECK_OUTPUT`` is deterministic by the collection's rule,
    so never live; names a cell binds itself (loop variables, parameters) are not read from elsewhere."""
    tainted: set[str] = set()
    flags = []
    for cell in cells:
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else src
        if cell.get("cell_type") != "code" or "NBVAL_CHECK_OUTPUT" in src:
            flags.append(False)
            continue
        stores, loads = _names(src)
        live = (bool(LIVE_SOURCE.search(src)) or "LIVE" in loads or bool((loads - stores) & tainted)
                or any(LIVE_OUTPUT.search(_text(o)) for o in cell.get("outputs", [])))
        if live:
            tainted |= stores
        flags.append(live)
    return flags


def _html_output(html: str) -> dict:
    return {"output_type": "display_data", "metadata": {}, "data": {"text/html": html, "text/plain": ""}}


def _is_widget(out: dict) -> bool:
    data = out.get("data", {})
    return WIDGET_VIEW in data or (set(data) <= {"text/plain"} and bool(WIDGET_REPR.match(_text(out))))


def transform_notebook(nb: dict, *, launch_url: str, link) -> dict:
    """The notebook as the site shows it (see the module docstring); ``nb`` is not changed."""
    nb = json.loads(json.dumps(nb))
    info = run_info(nb)
    cells = nb.get("cells", [])
    for cell, live in zip(cells, live_cells(cells), strict=True):
        meta = cell.setdefault("metadata", {})
        if cell.get("cell_type") == "markdown":
            cell["source"] = link("".join(cell["source"]) if isinstance(cell["source"], list)
                                  else cell["source"])
            continue
        if cell.get("cell_type") != "code":
            continue
        jl = meta.get("jupyter", {})
        tags = list(meta.get("tags", []))
        if jl.get("source_hidden") and "hide-input" not in tags:
            tags.append("hide-input")
        if jl.get("outputs_hidden") and "hide-output" not in tags:
            tags.append("hide-output")
        if tags:
            meta["tags"] = tags
        outs = []
        for out in cell.get("outputs", []):
            if _is_widget(out):
                out = _html_output(
                    '<div class="epollkit-widget-note">Interactive widget: it runs in JupyterLab '
                    f'(<a href="{escape(launch_url)}">launch this notebook on Binder</a>, or '
                    "<code>make lab</code> on your own Linux machine). The site shows committed outputs only."
                    "</div>")
            outs.append(out)
        if live and outs:
            outs.insert(0, _html_output(info.html("epollkit-run-banner")))
        cell["outputs"] = outs
    note = {
        "cell_type": "markdown",
        "id": "epollkit-run-note",
        "metadata": {},
        "source": (
            f'<div class="epollkit-run-note">\n\n'
            f"**Outputs on this page come from the committed run:** {escape(info.machine)} "
            f"({escape(info.python)}{', executed ' + info.date if info.date else ''}). "
            f"**Run it yourself** on your own kernel: [launch on Binder]({launch_url}), or on Linux "
            f"`make lab` in a clone of the repository (it opens JupyterLab on `notebooks/`).\n\n</div>"
        ),
    }
    first_md = next((i for i, c in enumerate(cells) if c.get("cell_type") == "markdown"), -1)
    cells.insert(first_md + 1, note)
    return nb


# ------------------------------------------------------------------------------------------------ links


def link_rewriter(root: Path, page: str, docs: set[str], repository_url: str, branch: str):
    """A function that points relative links to repository files that are not pages to GitHub."""
    here = PurePosixPath(page).parent

    def fix(target: str) -> str:
        if re.match(r"^([a-z][a-z0-9+.-]*:|#|//|/)", target, re.IGNORECASE):
            return target
        path, _, anchor = target.partition("#")
        rel = PurePosixPath(os.path.normpath((here / path).as_posix())).as_posix()
        if rel == "README.md":  # the README is the book's first page
            return os.path.relpath("index.md", here.as_posix()) + (f"#{anchor}" if anchor else "")
        if rel in docs or rel.startswith(".."):
            return target
        full = root / rel
        if not full.exists():
            return target  # Sphinx reports it; the site test fails on it
        kind = "tree" if full.is_dir() else "blob"
        return f"{repository_url}/{kind}/{branch}/{rel}" + (f"#{anchor}" if anchor else "")

    def rewrite(markdown: str) -> str:
        pieces = _FENCE.split(unbadge(markdown))
        for i in range(0, len(pieces), 2):  # outside code fences only
            pieces[i] = _MD_LINK.sub(lambda m: m[1] + fix(m[2]) + m[3], pieces[i])
            pieces[i] = _HTML_HREF.sub(lambda m: m[1] + fix(m[2]) + m[3], pieces[i])
        return "".join(pieces)

    return rewrite


# ------------------------------------------------------------------------------------------------ Sphinx


def _source_read(app, docname: str, source: list[str]) -> None:
    path = Path(app.env.doc2path(docname))
    rel = path.relative_to(app.srcdir).as_posix()
    root = repo_root()
    binder = binder_target(root / "README.md")
    docs = {p.relative_to(app.srcdir).as_posix() for p in Path(app.srcdir).rglob("*")
            if p.suffix in (".md", ".ipynb")}
    link = link_rewriter(root, rel, docs, binder.repository_url, binder.branch)
    if path.suffix == ".ipynb":
        nb = json.loads(source[0])
        source[0] = json.dumps(transform_notebook(nb, launch_url=binder.launch_url(rel),
                                                  link=link))
    else:
        source[0] = link(source[0])


def setup(app):
    app.connect("source-read", _source_read)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
