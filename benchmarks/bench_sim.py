"""Performance figures of the model (epollkit.sim) and the conformance suite. Prints; not a test.

- each conformance scenario explored exhaustively (target < 1 s each);
- states explored per second on the largest scenario;
- explorations of every accept/read strategy with 2-3 threads and <= 3 events (target < 1 s each);
- the explorer with and without symmetry reduction (``explore(..., symmetry=False)``): states per second
  and seconds, on three- and four-thread cases (``--full-4``: also the full search of the four-thread
  ones, about a minute each);
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

FULL_MEMORY = 8 << 30
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
    explorer(full_4="--full-4" in sys.argv)
    if has_epoll():
        from epollkit.lab import run_scenario

        t = time.monotonic()
        for f in SCENARIOS:
            run_scenario(sim.load(f), repeat=3)
        print(f"== kernel: {len(SCENARIOS)} scenarios x 3 runs: {time.monotonic() - t:.1f} s wall-clock")
    return 0


def explorer(full_4: bool) -> None:
    """States per second, full search vs symmetry-reduced (the same schedules, states and outcomes)."""
    print("== explorer: full search vs symmetry reduction (CPU s; states = distinct states of the model; "
          "target: reduced < 2 s each)")
    cases = [
        ("sim read lt x3, 2 messages (CLI defaults)", sim.read_setup("lt", 3, 2, 64, 2048), True),
        ("sim read lt x3, 2 x 100 B messages, 64 B reads", sim.read_setup("lt", 3, 2, 100, 64), True),
        ("sim accept epoll-lt x3, 2 connections", sim.accept_setup("epoll-lt", 3, 2), True),
        ("nested-three-threads-outer-lt", sim.setup("nested-three-threads-outer-lt"), True),
        ("nested-four-threads-inner-and-outer-et", sim.setup("nested-four-threads-inner-and-outer-et"),
         True),
        ("sim read lt x4, 2 messages", sim.read_setup("lt", 4, 2, 64, 2048), full_4),
        ("sim accept epoll-lt x4, 2 connections", sim.accept_setup("epoll-lt", 4, 2), full_4),
    ]
    for label, setup, full in cases:
        fast, t_fast = cpu(lambda s=setup: sim.explore(s))
        line = (f"  {label:44} {fast.states:8} states  reduced {t_fast:6.2f} s "
                f"({fast.states / max(t_fast, 1e-9):,.0f} states/s)")
        if full:
            # the full search keeps every state: past the default 256 MiB memory guard on the largest cases
            slow, t_slow = cpu(lambda s=setup: sim.explore(s, symmetry=False, max_memory=FULL_MEMORY))
            same = (slow.schedules, slow.states, dict(slow.outcomes)) == \
                (fast.schedules, fast.states, dict(fast.outcomes))
            line += (f"  full {t_slow:6.2f} s ({slow.states / max(t_slow, 1e-9):,.0f} states/s)"
                     f"  x{t_slow / max(t_fast, 1e-9):.1f}{'' if same else '  DIFFERENT RESULTS'}")
        print(line)


if __name__ == "__main__":
    raise SystemExit(main())
