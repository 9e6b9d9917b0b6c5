"""epollkit: measure and model how Linux wakes threads.

- ``epollkit.lab``   real experiments on the running kernel (Linux only; imported on first use)
- ``epollkit.sim``   a pure model of the kernel's wake-up rules (runs anywhere)
- ``epollkit.plots`` / ``epollkit.widgets``  matplotlib and ipywidgets front-ends (imported on use)
- ``epollkit.data``  recorded reference results under ``data/``

Importing this package imports no matplotlib, ipywidgets or pandas.
"""

from __future__ import annotations

import importlib

from . import errors, results, strategies, system
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
    "results",
    "strategies",
    "system",
]

_LAZY = {"lab", "sim", "plots", "widgets", "data", "notebook"}


def __getattr__(name):  # PEP 562: heavy submodules load on first use
    if name in _LAZY:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'epollkit' has no attribute {name!r}")
