"""Performance figures of the accept lab (prints a table; not a test).

- `import epollkit` time (fresh interpreter, best of 5)
- wall time of 4 workers x 1000 connections per strategy (burst and default pacing)
- the highest paced rate the harness sustains with lost == 0 (epoll-exclusive, 4 workers)
- kernel wake-ups per connection for epoll-exclusive (physical minimum 1.0)
"""

from __future__ import annotations

import platform
import subprocess
import sys
import time

from epollkit import strategies
from epollkit.lab import accept


def import_time() -> float:
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import epollkit"], check=True)
        best = min(best, time.perf_counter() - t0)
    base = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        base = min(base, time.perf_counter() - t0)
    return best - base


def main() -> None:
    print(f"kernel {platform.release()}, Python {platform.python_version()}")
    print(f"import epollkit: {import_time() * 1000:.0f} ms (over a bare interpreter start)")
    print("\n4 workers x 1000 connections:")
    print(f"{'strategy':20} {'burst wall s':>12} {'lost':>5} {'paced(400/s) wall s':>20} "
          f"{'wakeups/conn':>13}")
    for s in strategies.CONTRACT_ACCEPT:
        t0 = time.perf_counter()
        rb = accept(s, 4, 1000, burst=True)
        burst_wall = time.perf_counter() - t0
        t0 = time.perf_counter()
        rp = accept(s, 4, 1000)
        paced_wall = time.perf_counter() - t0
        print(f"{s:20} {burst_wall:12.2f} {rb.lost:5d} {paced_wall:20.2f} "
              f"{rp.kernel_wakeups_per_connection:13.2f}")
    print("\nhighest paced rate with lost == 0 (epoll-exclusive, 4 workers, 2000 connections):")
    for rate in (1000, 2000, 5000, 10000, 20000, 50000):
        r = accept("epoll-exclusive", 4, 2000, rate=rate)
        achieved = r.connections / r.duration_s
        print(f"  asked {rate:>6}/s: lost {r.lost}, achieved {achieved:8.0f}/s, "
              f"wake-ups/conn {r.kernel_wakeups_per_connection:.2f}")
    r = accept("epoll-exclusive", 4, 1000)
    print(f"\nepoll-exclusive kernel wake-ups per connection (4 x 1000, default rate): "
          f"{r.kernel_wakeups_per_connection:.3f} (minimum 1.0)")


if __name__ == "__main__":
    main()
