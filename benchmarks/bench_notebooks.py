"""Execution time of each notebook, headless (prints a table; not a test).

Usage: python benchmarks/bench_notebooks.py [NOTEBOOK ...]   (default: every notebook)
Set EPOLLKIT_NO_EPOLL=1 to time the recorded-results path instead of the live one.
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> None:
    paths = [Path(p) for p in argv] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    print(f"kernel {platform.release()}, Python {platform.python_version()}")
    total = 0.0
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        t0 = time.perf_counter()
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        dt = time.perf_counter() - t0
        total += dt
        print(f"{path.name:32} {dt:7.1f} s")
    print(f"{'total':32} {total:7.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
