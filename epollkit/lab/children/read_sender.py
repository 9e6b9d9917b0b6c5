"""The sender of the read experiment, run as ``python -m epollkit.lab.children.read_sender`` in a process of
its own (``read(..., sender="process")``), so that it never competes with the readers for the GIL.

Protocol: connect to ``HOST PORT``; print ``ready``; wait for ``go`` on stdin; write the numbered
messages (``read_lab.stream``), ``PER_SEND`` messages per ``send()``, sleeping ``PACE_US`` between sends;
print one JSON line ``{"sent", "sends", "duration_s", "error"}``; then keep the connection open until stdin
says ``stop`` or closes (or the process is killed). No ``shutdown(SHUT_WR)`` after the last byte: an EOF
would wake the readers while the experiment still counts their wake-ups.
"""

from __future__ import annotations

import socket
import sys
import time

from ...analysis.messages import stream
from . import protocol


def main(argv: list[str]) -> int:
    host, port = argv[0], int(argv[1])
    messages, size, per_send, pace_us = int(argv[2]), int(argv[3]), int(argv[4]), float(argv[5])
    data = stream(messages, size)
    view = memoryview(data)
    step = per_send * size
    sock = socket.create_connection((host, port))
    if not protocol.ready():
        sock.close()
        return 0
    sent = sends = 0
    error = None
    t0 = time.perf_counter()
    try:
        for off in range(0, len(data), step):
            sock.sendall(view[off : off + step])
            sent += len(view[off : off + step])
            sends += 1
            if pace_us:
                time.sleep(pace_us / 1e6)
    except OSError as exc:  # the experiment was stopped (deadline): report, do not trace back
        error = f"{type(exc).__name__}: {exc}"
    duration = time.perf_counter() - t0
    protocol.report({"sent": sent, "sends": sends, "duration_s": duration, "error": error})
    sys.stdin.readline()  # "stop", or "" when the experiment closes the pipe
    sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
