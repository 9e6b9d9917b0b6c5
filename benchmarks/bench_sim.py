"""Performance figures of the model (epollkit.sim) and the conformance suite. Prints; not a test.

- each conformance scenario explored exhaustively (target < 1 s each);
- states explored per second on the largest scenario;
- explorations of every accept/read strategy with 2-3 threads and <= 3 events (target < 1 s each);
- the conformance suite on the kernel (3 runs per scenario), when epoll is available.

Times are CPU seconds of this process (``time.process_time``), so a busy machine inflates them less
than wall-clock time; the kernel suite is wall-clock (it waits for threads to block).
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from epollkit import sim  # noqa: E402
from epollkit.strategies import ACCEPT, READ  # noqa: E402
from epollkit.system import has_epoll  # noqa: E402

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "data" / "scenarios").glob("*.json"))


def cpu(fn):
    t = time.process_time()
    out = fn()
    return out, time.process_time() - t


def main() -> int:
    print(f"kernel {platform.release()}, python {platform.python_version()}; model rules: "
          f"{sim.generation().describe()}")
    print("== conformance scenarios, explored exhaustively (CPU s)")
    worst = (0.0, None, 0)
    total = 0.0
    for f in SCENARIOS:
        sc = sim.load(f)
        ex, dt = cpu(lambda sc=sc: sim.explore(sim.setup(sc)))
        total += dt
        if ex.states > worst[2]:
            worst = (dt, f.stem, ex.states)
        print(f"  {f.stem:45} {ex.states:7} states {ex.schedules:9} schedules {dt:6.3f} s")
    print(f"  all {len(SCENARIOS)}: {total:.2f} s; largest: {worst[1]} ({worst[2]} states, "
          f"{worst[2] / max(worst[0], 1e-9):,.0f} states/s)")
    print("== strategies, 2-3 threads, <= 3 events (CPU s)")
    slowest = (0.0, "")
    for kind, names in (("accept", ACCEPT), ("read", READ)):
        for name in names:
            for threads, events in ((2, 3), (3, 2)):
                # reads: the post's sizes with 2 readers; reads smaller than a message with 3
                setup = (sim.accept_setup(name, threads, events, rotate=1) if kind == "accept"
                         else sim.read_setup(name, threads, events, *((2048, 2048) if threads == 2
                                                                       else (100, 64))))
                ex, dt = cpu(lambda s=setup: sim.explore(s))
                label = f"{kind} {name} x{threads}, {events} events"
                slowest = max(slowest, (dt, label))
                print(f"  {label:48} {ex.states:7} states {dt:6.3f} s  {', '.join(ex.properties)}")
    print(f"  slowest: {slowest[1]} {slowest[0]:.3f} s")
    if has_epoll():
        from epollkit.lab import run_scenario

        t = time.monotonic()
        for f in SCENARIOS:
            run_scenario(sim.load(f), repeat=3)
        print(f"== kernel: {len(SCENARIOS)} scenarios x 3 runs: {time.monotonic() - t:.1f} s wall-clock")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
