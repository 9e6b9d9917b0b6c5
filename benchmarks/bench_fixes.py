"""Performance figures of notebooks 05 and 06 (prints a table; not a test).

- wall time of each default experiment cell of 05_accept_fixes and 06_reuseport (target: < 5 s each)
- execution time of the two notebooks, headless (target: < 90 s each)
- the accept-latency sweep against the M/M/c formula at 50 % load (target: within 5 %, or explained):
  blocking and epoll-exclusive (one shared accept queue), 4 workers, 1000 connections, 5 ms mean work

Usage: python benchmarks/bench_fixes.py [--no-notebooks]
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPEATS = 3  # latency runs per strategy (different seeds): the spread between them is the noise


def timed(label: str, fn) -> object:
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    print(f"  {label:58} {dt:6.2f} s  {'ok' if dt < 5 else 'OVER 5 s'}")
    return out


def cells() -> None:
    from epollkit import sim
    from epollkit.lab import accept
    from epollkit.lab.experiments import latency as L
    from epollkit.lab.experiments import reuseport as R
    from epollkit.lab.experiments import sweeps as F
    from epollkit.sim import bounds

    print("default experiment cells (live):")
    timed("04 wake order, 5 strategies x 3 workers x 6 connections",
          lambda: [F.wake_order(s) for s in F.ORDER_STRATEGIES])
    timed("04 work sweep, 3 strategies x 5 work times",
          lambda: [F.work_sweep(s) for s in ("blocking", "epoll-et", "epoll-exclusive")])
    timed("04 rate sweep, 3 strategies x 4 rates",
          lambda: [F.rate_sweep(s) for s in ("blocking", "epoll-et", "epoll-exclusive")])
    timed("04 rotation sweep, 5 values of K", F.rotate_sweep)
    timed("04 ET+ONESHOT price, 4 strategies x 1000 connections", F.oneshot_price)
    timed("04 model: max accepting over all states, 3 strategies",
          lambda: [bounds.model_max_accepting(s, 3, 3)
                   for s in ("epoll-oneshot", "epoll-et", "epoll-exclusive")])
    timed("04 EINVAL refusals", F.refusals)
    timed("04 latency, 2 strategies x 2 loads x 300 connections",
          lambda: L.latency_sweep(("blocking", "reuseport"), (0.5, 0.8), connections=300))
    timed("05 reuseport accept, 4 workers x 400", lambda: accept("reuseport", 4, 400, rate=2000))
    timed("05 hash distribution, 20 runs x 400", lambda: R.distribution(4, 400, 20))
    timed("05 reset on close, 10 runs x 50 queued", lambda: [R.reuseport_close(2, 50) for _ in range(10)])
    timed("05 SO_INCOMING_CPU", R.incoming_cpu)
    timed("05 CBPF random (20 runs) + cpu (5 runs)",
          lambda: [R.distribution(4, 400, 20, steer="random"), R.distribution(4, 400, 5, steer="cpu")])
    timed("05 CBPF in the accept experiment, 2 x 400",
          lambda: [accept(s, 4, 400, rate=2000) for s in ("reuseport-cbpf-random", "reuseport-cbpf-cpu")])
    timed("05 model reuseport", lambda: sim.accept("reuseport", 4, 40))


def latency() -> None:
    from epollkit.lab.experiments.latency import accept_latency

    print(f"accept latency at 50 % load vs M/M/c (4 workers, 5 ms mean work, 1000 connections, "
          f"{REPEATS} seeds each):")
    runs = [(s, seed) for s in ("blocking", "epoll-exclusive", "reuseport") for seed in range(REPEATS)]
    for s, seed in runs:
        r = accept_latency(s, 4, 0.5, connections=1000, seed=seed)
        mmc = r.model["mmc"]["mean_response"]
        pw = r.model["per_worker"]["mean_response"]
        mean = r.latency_ms["mean"]
        print(f"  {s:16} measured load {r.params['measured_utilization']:.3f}, mean {mean:6.2f} ms; "
              f"M/M/c {mmc:6.2f} ms ({mean / mmc - 1:+.1%}), c x M/M/1 {pw:6.2f} ms ({mean / pw - 1:+.1%}); "
              f"work {r.service_ms_measured:.2f} ms measured for {r.service_ms:.1f} asked; "
              f"wait floor {r.wait_ms['min']:.3f} ms")


def notebooks() -> None:
    import nbformat

    from epollkit.view.notebook import notebook_client

    print("notebooks (headless, live):")
    for name in ("05_accept_fixes", "06_reuseport"):
        path = ROOT / "notebooks" / f"{name}.ipynb"
        nb = nbformat.read(path, as_version=4)
        t0 = time.perf_counter()
        notebook_client(nb, timeout=600, kernel_name="python3",
                        resources={"metadata": {"path": str(path.parent)}}).execute()
        dt = time.perf_counter() - t0
        print(f"  {name:58} {dt:6.1f} s  {'ok' if dt < 90 else 'OVER 90 s'}")


def main(argv: list[str]) -> None:
    print(f"kernel {platform.release()}, Python {platform.python_version()}")
    cells()
    latency()
    if "--no-notebooks" not in argv:
        notebooks()


if __name__ == "__main__":
    main(sys.argv[1:])
