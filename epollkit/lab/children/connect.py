"""The connecting client of the accept experiments, run as ``python -m epollkit.lab.children.connect`` in a
process of its own (so the workers' GIL is never inside a measured interval).

Protocol: print ``ready``; wait for ``go`` on stdin; connect ``COUNT`` times to ``HOST PORT``, paced
at at most ``RATE`` connections/s (0 = a burst), closing each connection right after ``connect()``
returns; print one JSON line ``{"connected", "errors", "first_error", "duration_s"}``.
"""

from __future__ import annotations

import socket
import sys
import time

from . import protocol


def connect_many(host: str, port: int, count: int, rate: float) -> dict:
    connected = errors = 0
    first_error = None
    t0 = time.perf_counter()
    interval = 1.0 / rate if rate > 0 else 0.0
    next_at = t0
    for _ in range(count):
        # Paced: at least 1/rate between two connects, never catching up after a late wake-up
        # (catching up would send a burst, and "one connection at a time" is what the rate is for).
        delay = next_at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        next_at = max(next_at, time.perf_counter()) + interval
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.connect((host, port))
            connected += 1
        except OSError as exc:
            errors += 1
            first_error = first_error or f"{type(exc).__name__}: {exc}"
        finally:
            s.close()
    return {
        "connected": connected,
        "errors": errors,
        "first_error": first_error,
        "duration_s": time.perf_counter() - t0,
    }


def main(argv: list[str]) -> int:
    mode, host, port, count, rate = argv[0], argv[1], int(argv[2]), int(argv[3]), float(argv[4])
    if mode != "connect":
        print(f"unknown mode {mode!r}", file=sys.stderr)
        return 2
    if not protocol.ready():
        return 0
    protocol.report(connect_many(host, port, count, rate))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
