"""Readers on Windows and macOS: every notebook runs, its live cells show recorded results and say so.

Each notebook is executed in a kernel that plays another platform before the notebook's first cell: an
import hook makes ``fcntl``, ``resource`` and ``termios`` raise ``ImportError`` (as on Windows; a
stricter macOS), every module imported afterwards sees a ``select`` without ``epoll`` and the
``EPOLL*`` constants (and, for Windows, without ``poll``), and ``sys.platform`` reads ``"win32"`` or
``"darwin"``. matplotlib, pandas and ipywidgets are imported before
the switch: a reader's machine has working copies of them, and the test is about epollkit, not about
those libraries on a pretend platform. Asserted, as in tests/test_no_epoll.py: no cell raises, every
code cell ran (so every model cell runs), the setup cell and every live cell say NOT LIVE, and the
recorded results they show name the machine, the date and the file they were recorded in.
"""

from __future__ import annotations

import os

import pytest

from ._readers import NOTEBOOK_IDS, NOTEBOOKS
from .test_no_epoll import execute_without_epoll, recorded_mode_problems

pytestmark = pytest.mark.slow

PRELUDE = """\
import importlib.abc, select, sys, types
import ipywidgets, matplotlib.pyplot, pandas  # noqa: F401  (a reader's machine has these)

_HIDDEN = {{"fcntl", "resource", "termios"}}


class _NotOnThisPlatform(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in _HIDDEN:
            raise ImportError(f"No module named {{name!r}} (this kernel plays {platform})")
        return None


sys.meta_path.insert(0, _NotOnThisPlatform())
for _m in [m for m in sys.modules if m.partition(".")[0] in _HIDDEN]:
    del sys.modules[_m]
# A fresh ``select`` for everything imported from now on (epollkit included), without epoll -- and on
# Windows without poll either. The kernel's own event loop keeps the real module it already holds.
_gone = ("epoll", "EPOLL") + (("poll", "POLL") if {platform!r} == "win32" else ())
_select = types.ModuleType("select", select.__doc__)
_select.__dict__.update({{k: v for k, v in vars(select).items() if not k.startswith(_gone)}})
sys.modules["select"] = _select
sys.platform = {platform!r}
assert not any(m == "epollkit" or m.startswith("epollkit.") for m in sys.modules)
"""


def _env() -> dict:
    return {k: v for k, v in os.environ.items() if k != "EPOLLKIT_NO_EPOLL"}


@pytest.mark.parametrize("platform", ["win32", "darwin"])
@pytest.mark.parametrize("path", NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_notebook_runs_on_another_platform_and_says_its_results_are_recorded(path, platform):
    nb, probe = execute_without_epoll(path, prelude=PRELUDE.format(platform=platform), env=_env())
    problems = recorded_mode_problems(nb, probe)
    assert not problems, f"{path.name} playing {platform}:\n  " + "\n  ".join(problems)


def test_the_prelude_really_hides_what_another_platform_lacks():
    """The pretend platform is real enough to fail: a module importing fcntl at the top cannot load."""
    import subprocess
    import sys

    code = PRELUDE.format(platform="win32") + (
        "\ntry:\n    import fcntl\nexcept ImportError as e:\n    print('hidden:', e)\n"
        "import epollkit.system as s\nprint(s.has_epoll(), s.fd_limits())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**_env(), "MPLBACKEND": "Agg"})
    assert "hidden: No module named 'fcntl' (this kernel plays win32)" in out.stdout
    assert out.stdout.strip().endswith("False (-1, -1)")
    code = PRELUDE.format(platform="darwin") + (
        "\nimport select\nprint(hasattr(select, 'epoll'), hasattr(select, 'poll'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**_env(), "MPLBACKEND": "Agg"})
    assert out.stdout.split() == ["False", "True"]
