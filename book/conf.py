"""Sphinx configuration of the book (``make site``): the committed notebooks with their committed outputs.

Nothing is executed and nothing is fetched: myst-nb renders the outputs stored in each notebook, and
sphinx-book-theme ships every asset it uses. The repository (for the Binder launch buttons) is read from the
README's Binder badge, the one place it is written down.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from epollkit_book import binder_target, repo_root  # noqa: E402

ROOT = repo_root()
BINDER = binder_target(ROOT / "README.md")

project = "epollkit"
author = "the epollkit authors"
copyright = "the epollkit authors, MIT licence"

# githubpages writes .nojekyll, so GitHub Pages serves the _static/ folder too
extensions = ["myst_nb", "sphinx.ext.githubpages", "epollkit_book"]
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints", "jupyter_execute"]
suppress_warnings = ["mystnb.unknown_mime_type"]

# The committed outputs, as committed: no execution, no widgets' JavaScript from a CDN.
nb_execution_mode = "off"
nb_ipywidgets_js = {}
nb_output_stderr = "show"
nb_merge_streams = True
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

html_theme = "sphinx_book_theme"
html_title = "epollkit: how Linux wakes threads"
html_static_path = [str(HERE / "_static")]
html_css_files = ["epollkit.css"]
html_favicon = str(HERE / "_static" / "favicon.svg")  # else browsers ask for /favicon.ico and get a 404
html_copy_source = True  # the download button offers the .ipynb / .md
html_show_sourcelink = False
html_last_updated_fmt = None
html_theme_options = {
    "repository_url": BINDER.repository_url,
    "repository_branch": BINDER.branch,
    "path_to_docs": "",
    "use_repository_button": True,
    "use_download_button": True,
    "launch_buttons": {"binderhub_url": BINDER.binderhub_url, "notebook_interface": "jupyterlab"},
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    "navigation_with_keys": False,
}
# Light or dark as the reader's system prefers; left empty, the theme's script logs an error on a first visit.
html_context = {"default_mode": "auto"}
