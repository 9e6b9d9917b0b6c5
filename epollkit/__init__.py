"""epollkit: measure and model how Linux wakes threads.

Layers, each importing only from the ones above it (docs/architecture.md; tests/test_layers.py checks):

- base: ``errors``, ``validate`` (parameter checks), ``system`` (this machine), ``strategies``
- ``epollkit.records``    frozen result records; ``epollkit.data`` the recorded ones under ``data/``
- ``epollkit.analysis``   pure interpretation: summaries, statistics, message format, orders, tables,
  queueing formulas, published figures
- ``epollkit.scenarios``  the scenario file format, call types, kernel generations (no measuring)
- ``epollkit.sim``        a pure model of the kernel's wake-up rules (runs anywhere)
- ``epollkit.lab``        real experiments on the running kernel (Linux only; imported on first use)
- ``epollkit.conformance`` the model against the kernel on the same scenario files
- ``epollkit.view``       notebook helpers, plots, widgets, text reports (``epollkit.plots`` and
  ``epollkit.widgets`` are short names for the view layer's ``plots`` and ``widgets``)
- ``epollkit.cli``        the command line

Importing this package imports no matplotlib, ipywidgets or pandas.
"""

from __future__ import annotations

import importlib

from . import errors, records, strategies, system
from .errors import EpollkitError, ExperimentTimeout, LeakError, ResourceLimit, UnsupportedPlatform
from .system import capabilities, has_epoll, machine

__version__ = "0.1.0"

__all__ = [
    "EpollkitError",
    "ExperimentTimeout",
    "LeakError",
    "ResourceLimit",
    "UnsupportedPlatform",
    "capabilities",
    "errors",
    "has_epoll",
    "machine",
    "records",
    "strategies",
    "system",
]

# name -> module, imported on first use (``from epollkit import plots`` works; the view layer's modules
# are ``epollkit.view.plots`` and so on)
_LAZY = {"lab": "lab", "sim": "sim", "data": "data", "analysis": "analysis", "scenarios": "scenarios",
         "conformance": "conformance", "view": "view", "plots": "view.plots", "widgets": "view.widgets",
         "notebook": "view.notebook", "report": "view.report"}


def __getattr__(name):  # PEP 562: heavy submodules load on first use
    if name in _LAZY:
        return importlib.import_module(f"{__name__}.{_LAZY[name]}")
    raise AttributeError(f"module 'epollkit' has no attribute {name!r}")
