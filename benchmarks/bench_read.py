"""Performance figures of the read experiment (issue 7 targets), printed, not asserted.

- the default experiment (2 readers x 20 000 messages) takes < 3 s, wall clock, set-up included;
- with ``oneshot`` and 2 readers the harness moves >= 150 000 messages/s at one message per send(),
  and >= 50 MB/s at 16 messages per send(); single-reader figures beside them;
- the price of the fix: microseconds per epoll_ctl(EPOLL_CTL_MOD).

Each figure is the median of REPEATS runs. Run: ``.venv/bin/python benchmarks/bench_read.py``.
"""

from __future__ import annotations

import platform
import statistics
import sys
import time

from epollkit.lab.experiments.costs import epoll_ctl_cost
from epollkit.lab.experiments.read import read

REPEATS = 5


def median_of(fn):
    return statistics.median(fn() for _ in range(REPEATS))


def main() -> int:
    print(f"Linux {platform.release()}, Python {platform.python_version()}, median of {REPEATS} runs")

    def default_wall():
        t = time.perf_counter()
        read()
        return time.perf_counter() - t

    wall = median_of(default_wall)
    print(f"default read() (oneshot, 2 readers x 20000 x 64 B, sender process), wall clock: {wall:.3f} s "
          f"(target < 3 s) {'OK' if wall < 3 else 'MISSED'}")

    for sender in ("thread", "process"):
        for readers in (2, 1):
            rate = median_of(lambda r=readers, s=sender: read("oneshot", r, 50_000, sender=s)
                             .params["messages_per_s"])
            mb = median_of(lambda r=readers, s=sender: read("oneshot", r, 400_000, per_send=16, sender=s)
                           .params["mb_per_s"])
            tag = " (target >= 150000 msg/s, >= 50 MB/s)" if readers == 2 else ""
            ok = "" if readers != 2 else (" OK" if rate >= 150_000 and mb >= 50 else " MISSED")
            print(f"oneshot, {readers} reader(s), sender {sender:7}: {rate:>10,.0f} messages/s at 1 "
                  f"message/send(); {mb:7.1f} MB/s at 16 messages/send(){tag}{ok}")

    for s in ("lt", "et", "lt-exclusive", "oneshot-early-rearm"):
        rate = median_of(lambda s=s: read(s, 2, 50_000).params["messages_per_s"])
        print(f"{s:20} 2 readers: {rate:>10,.0f} messages/s at 1 message/send() (for comparison)")

    cost = epoll_ctl_cost()
    print(f"epoll_ctl(EPOLL_CTL_MOD) re-arm: median {cost['us_per_call']['median']:.3f} us, "
          f"min {cost['us_per_call']['min']:.3f} us per call")
    return 0


if __name__ == "__main__":
    sys.exit(main())
