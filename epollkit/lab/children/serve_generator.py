"""The request generator of the queueing experiment, run as ``python -m
epollkit.lab.children.serve_generator`` in a process of its own (``lab.serve``), so that neither sending a
request on time nor stamping its answer ever waits for the workers' GIL.

Arguments: ``WORKERS UTILIZATION REQUESTS SERVICE_MS CV CONNECTIONS SEED FDS``; FDS is a comma-separated list
of the client ends of the connections, inherited from the experiment (``pass_fds``). The schedule is
rebuilt here from the same seed (``serve_lab.schedule`` is pure), so both processes agree on every request.

Protocol: print ``ready``; wait for ``go`` on stdin; send request ``i`` (``serve_lab.REQUEST``: id, service
time in us) at its scheduled time on its connection, and stamp the 4-byte answer (the id) when it comes
back; when every answer is in, print one JSON line ``{"t0", "sent", "answered", "error"}`` (times in seconds
of ``time.monotonic()``, CLOCK_MONOTONIC: the same clock as the workers' stamps in the other process) and
exit. The generator is not a measured waiter: it waits with timeouts, in ``select()`` (microsecond timeouts;
``poll()``/``epoll_wait()`` round up to whole milliseconds), or in ``poll()`` if an fd is 1024 or more.
"""

from __future__ import annotations

import select
import socket
import struct
import sys
import time

from ..experiments.serve import REQUEST, schedule
from . import protocol

ANSWER = struct.Struct("<I")


def main(argv: list[str]) -> int:
    workers, utilization, requests = int(argv[0]), float(argv[1]), int(argv[2])
    service_ms, cv, connections, seed = float(argv[3]), float(argv[4]), int(argv[5]), int(argv[6])
    plan = schedule(workers, utilization, requests, service_ms, cv, connections, seed)
    socks = [socket.socket(fileno=int(fd)) for fd in argv[7].split(",")]
    for s in socks:
        s.setblocking(False)
    by_fd = {s.fileno(): s for s in socks}
    fds = list(by_fd)
    use_select = max(fds) < 1024
    poller = None
    if not use_select:
        poller = select.poll()
        for fd in fds:
            poller.register(fd, select.POLLIN)
    n = len(plan)
    sent = [0.0] * n
    answered = [0.0] * n
    pending = {fd: b"" for fd in fds}
    if not protocol.ready():
        return 0
    error = None
    t0 = time.monotonic()
    nxt = got = 0
    try:
        while got < n:
            now = time.monotonic()
            while nxt < n and t0 + plan[nxt][0] <= now:  # everything due: send it, on its connection
                _at, conn, service_us = plan[nxt]
                sent[nxt] = time.monotonic()
                socks[conn].send(REQUEST.pack(nxt, service_us))
                nxt += 1
                now = time.monotonic()
            timeout = max(0.0, t0 + plan[nxt][0] - now) if nxt < n else None
            if use_select:
                ready, _, _ = select.select(fds, [], [], timeout)
            else:
                ms = -1 if timeout is None else max(0, int(timeout * 1000))
                ready = [fd for fd, _ in poller.poll(ms)]
            stamp = time.monotonic()
            for fd in ready:
                data = pending[fd] + by_fd[fd].recv(65536)
                if len(data) == len(pending[fd]):
                    raise ConnectionError("the experiment closed a connection")
                whole = len(data) - len(data) % ANSWER.size
                for (rid,) in ANSWER.iter_unpack(data[:whole]):
                    answered[rid] = stamp
                    got += 1
                pending[fd] = data[whole:]
    except OSError as exc:  # the experiment was stopped (deadline): report, do not trace back
        error = f"{type(exc).__name__}: {exc}"
    protocol.report({"t0": t0, "sent": sent, "answered": answered, "error": error})
    for s in socks:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
