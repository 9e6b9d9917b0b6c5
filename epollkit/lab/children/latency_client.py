"""The timing client of the accept-latency experiment, run as ``python -m
epollkit.lab.children.latency_client`` in a process of its own (so the workers' GIL is never inside a measured
interval).

Protocol (as ``_client``): print ``ready``; wait for ``go`` on stdin; connect ``COUNT`` times to
``HOST PORT`` with Poisson arrivals at ``RATE`` per second (exponential gaps from ``random.Random(SEED)``),
closing each connection right after ``connect()`` returns; print one JSON line
``{"connects": [[local_port, t_call], ...], "errors", "first_error", "duration_s"}``.

``t_call`` is ``time.monotonic()`` just before ``connect()``: CLOCK_MONOTONIC is one clock for every
process on the machine, so the server's accept timestamps can be subtracted from it. ``local_port`` (the
client's ephemeral port) is what the server sees as the peer port: it matches the two sides up.
Arrivals are scheduled on absolute times, so a late connect does not push the later ones back.
"""

from __future__ import annotations

import random
import socket
import sys
import time

from . import protocol


def poisson_connects(host: str, port: int, count: int, rate: float, seed: int) -> dict:
    rng = random.Random(seed)
    connects = []
    errors = 0
    first_error = None
    t0 = time.monotonic()
    due = t0
    for _ in range(count):
        due += rng.expovariate(rate)
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t_call = time.monotonic()
            s.connect((host, port))
            connects.append([s.getsockname()[1], t_call])
        except OSError as exc:
            errors += 1
            first_error = first_error or f"{type(exc).__name__}: {exc}"
        finally:
            s.close()
    return {"connects": connects, "errors": errors, "first_error": first_error,
            "duration_s": time.monotonic() - t0}


def main(argv: list[str]) -> int:
    host, port, count, rate, seed = argv[0], int(argv[1]), int(argv[2]), float(argv[3]), int(argv[4])
    if not protocol.ready():
        return 0
    protocol.report(poisson_connects(host, port, count, rate, seed))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
