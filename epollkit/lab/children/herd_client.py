"""The measuring client of ``herd_latency``, run as ``python -m epollkit.lab.children.herd_client HOST PORT``
in a process of its own: the waiters' GIL must never be inside the measured interval.

Protocol (one line each way): print ``ready``; then for every ``go`` read on stdin, time one
non-blocking ``connect()`` to HOST:PORT and print ``{"us": elapsed, "errno": e, "cpu_us": c,
"preempted": p, "start_ns": t}`` (``e`` is 0 or ``EINPROGRESS`` when all is well; ``c`` the CPU time the
client itself spent in the call, ``p`` its involuntary context switches during it: ``c`` close to ``us``
and ``p`` = 0 mean the time went into kernel work done inside ``connect()``, not into waiting for a CPU;
``t`` the ``time.perf_counter_ns()`` at which ``connect()`` was called: on Linux that is
``CLOCK_MONOTONIC``, one clock for every process, so the waiters' process can set its own timestamps
against it);
``quit`` or end of input ends the process.

Why non-blocking, as Majkowski did: on loopback the whole handshake runs inside the ``connect()`` call
(the SYN, SYN-ACK and ACK are processed in the NET_RX softirq that runs when the sending path re-enables
bottom halves), and so does the listener's ``sk_data_ready()`` -> ``__wake_up_common()``, which calls
every waiter's wake function. The time ``connect()`` takes therefore includes waking the herd, and does
not wait for a thread to be scheduled or to accept.
"""

from __future__ import annotations

import errno
import socket
import sys
import time

from . import protocol


def connect_once(addr: tuple[str, int]) -> dict:
    import resource  # Unix only: not at the top, so ``herd`` (which reads OK_ERRNOS) imports anywhere

    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setblocking(False)
        clock, cpu = time.perf_counter_ns, time.thread_time_ns
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        c0 = cpu()
        t0 = clock()
        err = s.connect_ex(addr)
        t1 = clock()
        c1 = cpu()
        ru1 = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        s.close()
    return {"us": (t1 - t0) / 1000.0, "errno": err, "cpu_us": (c1 - c0) / 1000.0,
            "preempted": ru1.ru_nivcsw - ru0.ru_nivcsw, "start_ns": t0}


def main(argv: list[str]) -> int:
    addr = (argv[0], int(argv[1]))
    for cmd in protocol.commands():
        protocol.report(connect_once(addr) if cmd == "go" else {"error": f"unknown command {cmd!r}"})
    return 0


OK_ERRNOS = (0, errno.EINPROGRESS)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
