"""Execution time of each notebook, headless (prints a table; not a test).

Usage: python benchmarks/bench_notebooks.py [--stamp] [NOTEBOOK ...]   (default: every notebook)
Set EPOLLKIT_NO_EPOLL=1 to time the recorded-results path instead of the live one.

--stamp  also save each executed notebook (outputs, widget state stripped, as ``make execute`` does) and
         write the measured run time and an estimated reading time into its header line ``**Time:** ...``
         and into the table between ``<!-- times -->`` markers of notebooks/instructors.md. Reading time is
         the words of the markdown and code cells at 200 words a minute (an estimate, and labelled so).
"""

from __future__ import annotations

import math
import platform
import re
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
TIME_LINE = re.compile(r"^\*\*Time:\*\*.*$", re.MULTILINE)
WORDS_PER_MINUTE = 200


def reading_minutes(nb) -> int:
    words = sum(len(c.source.split()) for c in nb.cells if c.cell_type in ("markdown", "code"))
    return max(1, math.ceil(words / WORDS_PER_MINUTE))


def stamp(path: Path, nb, seconds: float) -> str:
    line = (f"**Time:** run ≈ {seconds:.0f} s (measured headless, Linux {platform.release()}), "
            f"reading ≈ {reading_minutes(nb)} min (estimated at {WORDS_PER_MINUTE} words a minute)")
    first = nb.cells[0]
    if TIME_LINE.search(first.source):
        first.source = TIME_LINE.sub(line, first.source)
    sys.path.insert(0, str(ROOT))
    from epollkit.view.notebook import strip_widget_state

    strip_widget_state(nb)
    nbformat.write(nb, path)
    return f"| {path.stem.split('_')[0]} | {seconds:.0f} s | {reading_minutes(nb)} min |"


def update_instructors(rows: list[str]) -> None:
    page = ROOT / "notebooks" / "instructors.md"
    if not page.exists():
        return
    text = page.read_text(encoding="utf-8")
    m = re.search(r"<!-- times -->\n(.*?)<!-- /times -->", text, re.DOTALL)
    if not m:
        return
    old = {line.split("|")[1].strip(): line for line in m.group(1).splitlines() if line.startswith("| ")
           and line.split("|")[1].strip()[:1].isdigit()}
    for row in rows:
        old[row.split("|")[1].strip()] = row
    head = ("| notebook | run (measured) | reading (estimated) |\n|---|---|---|\n")
    body = "\n".join(old[k] for k in sorted(old))
    page.write_text(text[:m.start(1)] + head + body + "\n" + text[m.end(1):], encoding="utf-8")


def main(argv: list[str]) -> None:
    do_stamp = "--stamp" in argv
    argv = [a for a in argv if a != "--stamp"]
    paths = [Path(p) for p in argv] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    print(f"kernel {platform.release()}, Python {platform.python_version()}")
    total, rows = 0.0, []
    for path in paths:
        from epollkit.view.notebook import notebook_client  # after sys.path has the repository

        nb = nbformat.read(path, as_version=4)
        t0 = time.perf_counter()
        notebook_client(nb, timeout=600, kernel_name="python3",
                        resources={"metadata": {"path": str(path.parent)}}).execute()
        dt = time.perf_counter() - t0
        total += dt
        print(f"{path.name:32} {dt:7.1f} s")
        if do_stamp:
            rows.append(stamp(path, nb, dt))
    print(f"{'total':32} {total:7.1f} s")
    if rows:
        update_instructors(rows)


if __name__ == "__main__":
    main(sys.argv[1:])
