"""Binder: what mybinder.org builds from binder/, checked without Docker, and the README's badge.

- ``binder/runtime.txt`` asks for Python 3.11 or 3.12; ``binder/requirements.txt`` lists the same tested
  ranges as ``requirements.txt`` (the reader's set) and installs the package itself (``-e .``), and neither
  carries a tool only the tests or the book need (those are in ``requirements-test.txt``);
- ``jupyter-repo2docker --no-build --debug .`` (no Docker needed) generates a build that takes its Python from
  runtime.txt and runs ``pip install -r binder/requirements.txt`` after the repository is copied in (``-e .``
  needs it);
- ``binder/requirements.txt`` installs into a fresh venv, where ``import epollkit`` works;
- the README's Binder badge opens notebooks/00_start_here.ipynb in JupyterLab.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ._readers import BINDER_BADGE, ROOT

BINDER = ROOT / "binder"


def requirement_lines(path: Path) -> list[str]:
    lines = []
    for raw in path.read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(re.sub(r"\s+", "", line).lower())
    return lines


def test_runtime_asks_for_python_311_or_312():
    text = (BINDER / "runtime.txt").read_text().strip()
    assert re.fullmatch(r"python-3\.1[12]", text), f"binder/runtime.txt says {text!r}: use python-3.11/3.12"


def test_binder_requirements_are_the_tested_ranges_plus_the_package():
    binder = requirement_lines(BINDER / "requirements.txt")
    root = requirement_lines(ROOT / "requirements.txt")
    assert "-e." in binder, "binder/requirements.txt must install the package itself: `-e .`"
    assert sorted(binder) == sorted(root), (
        "binder/requirements.txt and requirements.txt differ: "
        f"only in binder {sorted(set(binder) - set(root))}, only in root {sorted(set(root) - set(binder))}"
    )


# Tools only `make test` / `make site` need: a reader (and the Binder image) does not install them.
TEST_ONLY = ("pytest-timeout", "pytest-xdist", "ruff", "playwright", "jupyter-repo2docker", "sphinx",
             "myst-nb", "sphinx-book-theme")


def names(lines: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[;]", line, maxsplit=1)[0] for line in lines if not line.startswith("-")}


def test_readers_install_no_test_tools_and_the_test_file_adds_them_to_the_readers_set():
    for path in (ROOT / "requirements.txt", BINDER / "requirements.txt"):
        extra = sorted(names(requirement_lines(path)) & set(TEST_ONLY))
        assert not extra, (f"{path.relative_to(ROOT)} installs test-only tools {extra}: move them to "
                           "requirements-test.txt")
    test = requirement_lines(ROOT / "requirements-test.txt")
    assert "-rrequirements.txt" in test, (
        "requirements-test.txt must start from the reader's set (-r requirements.txt)")
    missing = sorted(set(TEST_ONLY) - names(test))
    assert not missing, f"requirements-test.txt lacks {missing}"


def repo2docker() -> str | None:
    here = Path(sys.executable).parent / "jupyter-repo2docker"
    return str(here) if here.exists() else shutil.which("jupyter-repo2docker")


def test_repo2docker_build_reads_runtime_txt_and_installs_binder_requirements():
    exe = repo2docker()
    if exe is None:
        pytest.skip("jupyter-repo2docker is not installed: `pip install -r requirements-test.txt`")
    proc = subprocess.run([exe, "--no-build", "--debug", "."], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout + proc.stderr
    version = (BINDER / "runtime.txt").read_text().strip().removeprefix("python-")
    assert f"python={version}" in out, f"repo2docker did not take Python {version} from binder/runtime.txt"
    dockerfile = proc.stdout
    install = re.search(r'^RUN .*pip install .*-r "?binder/requirements\.txt"?', dockerfile, re.MULTILINE)
    assert install, "the generated Dockerfile does not `pip install -r binder/requirements.txt`"
    copy_repo = re.search(r"^COPY .*\bsrc/ \$\{REPO_DIR\}/?\s*$", dockerfile, re.MULTILINE)
    assert copy_repo and copy_repo.start() < install.start(), (
        "the repository must be copied in before `pip install -r binder/requirements.txt` (it has `-e .`)"
    )
    assert not re.search(r'-r "?requirements\.txt', dockerfile), "repo2docker used the root requirements.txt"


@pytest.mark.slow
def test_binder_requirements_install_into_a_fresh_venv_and_import_epollkit(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    install = subprocess.run(
        [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r",
         "binder/requirements.txt"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-3000:]
    check = subprocess.run(
        [str(py), "-c", "import epollkit, epollkit.view.notebook, ipywidgets, matplotlib, pandas, "
                        "jupyterlab; "
                        "print(epollkit.__file__)"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert check.returncode == 0, check.stderr[-2000:]
    assert Path(check.stdout.strip()).resolve() == (ROOT / "epollkit" / "__init__.py").resolve(), (
        f"`-e .` should install this checkout, got {check.stdout.strip()}"
    )


def test_readme_binder_badge_opens_start_here_in_jupyterlab():
    readme = ROOT / "README.md"
    assert readme.exists(), "README.md is missing"
    badge = BINDER_BADGE.format(path="notebooks/00_start_here.ipynb")
    assert badge in readme.read_text(), f"README.md should carry the Binder badge\n  {badge}"
