"""Recorded reference results under ``data/reference/``, with the machine they were measured on.

A file is ``{"machine": {...}, "results": [record.to_dict(), ...]}``. Notebooks show these -- labelled
as recorded, never as live -- when this machine cannot run the live experiment (no epoll).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from . import system
from .records import from_dict

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / "data"
REFERENCE_DIR = DATA_DIR / "reference"
SCENARIO_DIR = DATA_DIR / "scenarios"


def save(name: str, records: Iterable, out_dir: Path | str = REFERENCE_DIR, **extra) -> Path:
    """Write ``records`` (records or dicts) to ``out_dir/name.json`` with this machine's facts."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    doc = {
        "machine": system.machine(),
        **extra,
        "results": [r.to_dict() if hasattr(r, "to_dict") else r for r in records],
    }
    path = out / f"{name}.json"
    path.write_text(json.dumps(doc, indent=1) + "\n")
    return path


def load(name: str, directory: Path | str = REFERENCE_DIR) -> dict:
    """The recorded document ``name`` (e.g. ``"accept"``): ``{"machine": ..., "results": [...]}``."""
    path = Path(directory) / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"no recorded results at {path}; run `make record` on a Linux machine")
    return json.loads(path.read_text())


def find(name: str, directory: Path | str = REFERENCE_DIR, **match) -> list:
    """Recorded results of ``name`` whose keys equal ``match``, rebuilt as frozen records."""
    doc = load(name, directory)
    return [from_dict(r) for r in doc["results"] if all(r.get(k) == v for k, v in match.items())]


def describe(name: str, directory: Path | str = REFERENCE_DIR) -> str:
    """One line saying where and when ``name`` was recorded."""
    m = load(name, directory)["machine"]
    return (
        f"recorded on Linux {m.get('kernel')} ({m.get('cpus')} x {m.get('cpu_model')}, "
        f"Python {m.get('python')}) on {m.get('date')}, file data/reference/{name}.json"
    )
