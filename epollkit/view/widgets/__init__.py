"""ipywidgets front-ends over lab and sim: run panels (``panels``) and "be the scheduler"
(``scheduler``). ipywidgets and matplotlib are imported inside functions, so ``import epollkit`` stays
light. Sliders that start experiments use ``continuous_update=False``; every widget cell in a notebook is
followed by a static default result for readers who cannot run it.
"""

from __future__ import annotations

from .panels import (
    accept_explorer,
    queue_explorer,
    read_race_explorer,
    reuseport_explorer,
    wake_order_explorer,
)
from .scheduler import Scheduler, scheduler

__all__ = [
    "Scheduler",
    "accept_explorer",
    "queue_explorer",
    "read_race_explorer",
    "reuseport_explorer",
    "scheduler",
    "wake_order_explorer",
]
