"""Performance figures of notebook 01's experiments (prints a table; not a test).

- wall time of the default multiplex sweep (target < 5 s)
- wall time of the default herd-latency sweep, 3 strategies up to 1024 waiters (target < 20 s)
- the select median at 1024 waiters against Majkowski's published mean (target 0.3x-3x)
- per connect: waiters the kernel woke (voluntary context switches) / waiters that returned to Python
- the per-call cost of select at 1000 fds over 10 fds, and of epoll
"""

from __future__ import annotations

import os
import platform
import time

from epollkit.analysis import published
from epollkit.lab.experiments import herd
from epollkit.lab.experiments import multiplex as multiplex_lab


def main() -> None:
    print(f"kernel {platform.release()}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.2f}")

    t0 = time.monotonic()
    m = multiplex_lab.multiplex()
    wall = time.monotonic() - t0
    med = {(p["api"], p["fds"]): p["us_per_call"]["median"] for p in m.points}
    print(f"\nmultiplex, default sweep {sorted({p['fds'] for p in m.points})}: {wall:.2f} s (target < 5 s)")
    for api in ("select", "poll", "epoll"):
        row = "  ".join(f"{n}:{med[(api, n)]:.2f}" for n in multiplex_lab.DEFAULT_FDS if (api, n) in med)
        print(f"  {api:6} µs/call  {row}")
    print(f"  select 1000 fds / 10 fds = {med[('select', 1000)] / med[('select', 10)]:.1f}x; "
          f"epoll 1000 / 10 = {med[('epoll', 1000)] / med[('epoll', 10)]:.2f}x")

    t0 = time.monotonic()
    results = [herd.herd_latency(s) for s in herd.DEFAULT_STRATEGIES]
    wall = time.monotonic() - t0
    print(f"\nherd-latency, default sweep {list(herd.DEFAULT_WAITERS)} x {herd.DEFAULT_REPEATS} repeats, "
          f"{', '.join(herd.DEFAULT_STRATEGIES)}: {wall:.2f} s (target < 20 s)")
    for r in results:
        row = "  ".join(f"{p['waiters']}:{p['connect_us']['median']:.0f}" for p in r.points)
        print(f"  {r.strategy:17} median µs  {row}   peak RSS {r.peak_rss_kib / 1024:.0f} MiB")
        woke = "  ".join(f"{p['waiters']}:{p['kernel_wakeups_per_connect']:g}/{p['returns_per_connect']:g}"
                         for p in r.points)
        print(f"  {'':17} woken/returned per connect  {woke}")
    sel = next(r for r in results if r.strategy == "select")
    p1024 = next(p for p in sel.points if p["waiters"] == 1024)
    ref = published.majkowski_select_ms(1024)
    ms = p1024["connect_us"]["median"] / 1000
    print(f"\nselect at 1024 waiters: median {ms:.3f} ms (mean {p1024['connect_us']['mean'] / 1000:.3f} ms) "
          f"vs published mean {ref} ms -> {ms / ref:.2f}x (target 0.3x-3x)")


if __name__ == "__main__":
    main()
