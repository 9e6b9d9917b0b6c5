"""Every recording a reader without epoll sees can be refreshed by ``epollkit record`` (no hand-made data)."""

from __future__ import annotations

import importlib

from epollkit import data
from epollkit.cli.record import RECORDERS


def test_every_file_under_data_reference_has_a_recorder():
    files = {p.stem for p in data.REFERENCE_DIR.glob("*.json")}
    by_hand = files - set(RECORDERS)
    assert files and not by_hand, f"recorded by hand, not by `epollkit record`: {by_hand}"


def test_every_recorder_names_a_function_that_exists():
    for name, target in RECORDERS.items():
        module, func = target.split(":")
        assert callable(getattr(importlib.import_module(module), func)), name
