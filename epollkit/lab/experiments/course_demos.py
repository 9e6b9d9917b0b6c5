"""The small live demonstrations of notebooks 01 and 02, as ``epollkit record`` records them.

The notebooks show these loops in their own cells (the teaching stays visible); this module runs the same
calls so that ``data/reference/select_terms.json`` and ``epoll_primer.json`` — what a reader without epoll
sees — are refreshed by ``epollkit record`` like every other recording.
"""

from __future__ import annotations

import os
import platform
import select
import socket
import statistics
import timeit

from ..harness import Teardown, require_linux

#: 02's sequence: what a level-, edge-triggered and ONESHOT item report on one socketpair
PRIMER_STEPS = ("write", "wait", "wait", "write", "wait", "modify", "wait")
PRIMER_MODES = {"level (EPOLLIN)": ("EPOLLIN",), "edge (EPOLLET)": ("EPOLLIN", "EPOLLET"),
                "oneshot (ET|ONESHOT)": ("EPOLLIN", "EPOLLET", "EPOLLONESHOT")}


def us_per_select(fds, calls: int = 2000) -> float:
    """µs per ``select()`` call on ``fds`` (read set only, timeout 0: never sleeps); median of 5 batches."""
    runs = timeit.repeat(lambda: select.select(fds, [], [], 0), number=calls, repeat=5)
    return statistics.median(runs) / calls * 1e6


def select_terms(pairs: int = 400) -> dict:
    """01's two terms of a ``select()`` call: one fd at a low number, the same socket numbered >= 1000
    (``FDS_BYTES(nfds)`` copied and scanned, one ``->poll()``), and ``2 * pairs`` fds (a ``->poll()``
    each)."""
    require_linux(epoll=False)
    import fcntl  # Unix-only, imported where it is used

    with Teardown() as stack:
        socks = [stack.enter_context(s) for _ in range(pairs) for s in socket.socketpair()]
        low = min(s.fileno() for s in socks)
        high = fcntl.fcntl(low, fcntl.F_DUPFD, 1000)
        stack.callback(os.close, high)
        sets = {"low": [low], "high": [high], "many": [s.fileno() for s in socks]}
        return {k: {"fds": v, "us": us_per_select(v)} for k, v in sets.items()}


def epoll_primer(steps=PRIMER_STEPS) -> dict:
    """02's replay: for each mode, how many events each ``epoll_wait(timeout=0)`` returned."""
    require_linux(epoll=True)

    def replay(flags):
        a, b = socket.socketpair()
        with a, b, select.epoll() as ep:
            ep.register(a.fileno(), flags)
            out = []
            for step in steps:
                if step == "wait":
                    out.append(len(ep.poll(0)))
                elif step == "write":
                    b.send(b"x")
                else:
                    ep.modify(a.fileno(), flags)
            return out

    return {mode: replay(sum(getattr(select, n) for n in names)) for mode, names in PRIMER_MODES.items()}


def select_terms_runs() -> list[dict]:
    return [{"experiment": "select_terms", "backend": "real", "terms": select_terms()}]


def epoll_primer_runs() -> list[dict]:
    return [{"experiment": "epoll_primer", "backend": "real", "kernel": platform.release(),
             "steps": list(PRIMER_STEPS), "seen": epoll_primer()}]
