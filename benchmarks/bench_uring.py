"""The io_uring accept table: mode x workers x load (prints a table; not a test).

Rows: io_uring multishot and single-shot (a ring per worker thread, SINGLE_ISSUER | DEFER_TASKRUN and
plain), a ring shared by the workers, a worker process per ring, and epoll-lt-private / epoll-exclusive,
at 2 and 4 workers, paced light load (400/s) and heavier loads (1000 and 4000/s, with 0 and 2 ms of
work per connection).
Columns: kernel wake-ups per connection (voluntary context switches of the workers; a work sleep adds
one), the busiest worker's share, CPU microseconds per connection (io_uring rows), wall time.

    PYTHONPATH=. python benchmarks/bench_uring.py [--connections N]
"""

from __future__ import annotations

import argparse
import platform
import time

from epollkit.lab.experiments.accept import accept
from epollkit.lab.experiments.uring_accept import require_uring, uring_accept
from epollkit.system import cpu_model


def _work(ms):
    if not ms:
        return None

    def work(_w, _n, s=ms / 1000.0):
        time.sleep(s)
    return work


def rows(connections: int):
    loads = [(400.0, 0.0), (1000.0, 0.0), (1000.0, 2.0), (4000.0, 0.0), (4000.0, 2.0)]
    for workers in (2, 4):
        for rate, work in loads:
            for mode in ("multishot", "single-shot"):
                for setup in ("defer-taskrun", "plain"):
                    if setup == "plain" and (rate, work) != (400.0, 0.0):
                        continue
                    yield uring_accept(mode, workers, connections, rate=rate, work_ms=work, setup=setup)
                if (rate, work) == (400.0, 0.0):
                    yield uring_accept(mode, workers, connections, rate=rate, setup="plain", shared_ring=True)
                if (rate, work) in ((400.0, 0.0), (1000.0, 2.0)):
                    yield uring_accept(mode, workers, connections, rate=rate, work_ms=work, process=True)
            for s in ("epoll-lt-private", "epoll-exclusive"):
                r = accept(s, workers, connections, rate=rate, work=_work(work))
                r.params["work_ms"] = work
                yield r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--connections", type=int, default=200)
    args = ap.parse_args()
    require_uring()
    print(f"Linux {platform.release()}, {platform.machine()}, {cpu_model()}")
    print(f"{'mode':<30} {'setup':<14} {'workers':>7} {'rate':>6} {'work':>5} {'wake/conn':>9} "
          f"{'busiest':>7} {'cpu us/conn':>11} {'wall s':>6}")
    for r in rows(args.connections):
        p = r.params or {}
        cpu = getattr(r, "cpu_us_per_connection", None)
        print(f"{r.strategy:<30} {getattr(r, 'setup', '-'):<14} {r.workers:>7} {p.get('rate') or 0:>6.0f} "
              f"{p.get('work_ms', 0):>5g} {r.kernel_wakeups_per_connection:>9.2f} {r.max_share:>7.0%} "
              f"{'-' if cpu is None else f'{cpu:.0f}':>11} {r.duration_s:>6.2f}")


if __name__ == "__main__":
    main()
