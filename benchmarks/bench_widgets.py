"""Time per "be the scheduler" click, and the explorations notebook 03 runs (prints a table; not a test).

Targets (issue 4): a click answered in < 100 ms; each exploration (2-3 threads, <= 3 events) < 1 s.

Usage: python benchmarks/bench_widgets.py
"""

from __future__ import annotations

import platform
import statistics
import time

from epollkit import sim
from epollkit.view.widgets import scheduler

NOTEBOOK_03 = ["blocking", "select", "epoll-lt", "epoll-et", "epoll-oneshot", "epoll-lt-private",
               "epoll-et-private", "epoll-exclusive", "reuseport", "epoll-et-once"]


def clicks(setup, runs: int = 5) -> list[float]:
    """Click through ``runs`` complete runs (always the last enabled move, so the kernel goes early)."""
    out = []
    for _ in range(runs):
        s = scheduler(setup, show=False)
        while not s.trace.done:
            mv = s.trace.enabled[-1]
            t0 = time.perf_counter()
            s.move_buttons[mv].click()
            out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    print(f"kernel {platform.release()}, Python {platform.python_version()}")
    print("\nscheduler clicks")
    for name, workers, conns in (("epoll-lt", 2, 1), ("epoll-lt", 3, 3), ("select", 3, 3),
                                 ("epoll-et-private", 3, 3)):
        ts = clicks(sim.accept_setup(name, workers, conns))
        print(f"  {name:17} {workers} workers {conns} conns: {len(ts):4} clicks, median "
              f"{1e3 * statistics.median(ts):6.2f} ms, max {1e3 * max(ts):6.2f} ms")
    s = scheduler(sim.accept_setup("epoll-lt", 2, 1), show=False)
    for mv in ("Thread A", "Thread B", "Kernel"):
        s.move(mv)
    t0 = time.perf_counter()
    s.explore_button.click()
    print(f"  'All outcomes from here' (epoll-lt, 2 workers, after 3 steps): "
          f"{1e3 * (time.perf_counter() - t0):.1f} ms")

    print("\nexplorations: notebook 03 runs 2 workers x 2 connections; larger ones for comparison")
    for name in NOTEBOOK_03:
        row = [f"  {name:17}"]
        for workers, conns in ((2, 2), (2, 3), (3, 2)):
            t0 = time.perf_counter()
            try:
                ex = sim.explore(sim.accept_setup(name, workers, conns), budget=100_000)
                row.append(f"{workers}x{conns}: {time.perf_counter() - t0:6.3f} s ({ex.states:6,} states)")
            except sim.StateBudgetExceeded:
                row.append(f"{workers}x{conns}: over 100,000 states after {time.perf_counter() - t0:.1f} s")
        print("  ".join(row))
    t0 = time.perf_counter()
    for name in NOTEBOOK_03[:-1]:
        sim.accept(name, 2, 2, explore=True)
    dt = time.perf_counter() - t0
    print(f"  the model-beside-lab ranges (9 x sim.accept(explore=True), 2x2): {dt:.2f} s")
    t0 = time.perf_counter()
    for name in NOTEBOOK_03[:-1]:
        sim.accept(name, 2, 40, schedule="paced")
    print(f"  the paced runs (9 x 40 connections): {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
