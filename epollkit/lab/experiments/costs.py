"""What a call costs on this kernel: microseconds per ``epoll_ctl(EPOLL_CTL_MOD)`` re-arm -- the price
of the ONESHOT fix (notebook 06). Per-call costs of select/poll/epoll_wait are ``multiplex``'s."""

from __future__ import annotations

import select
import time

from ...analysis.stats import percentile
from ...system import kernel_release
from ...validate import check_int
from ..harness import Teardown, require_linux, socket_pair


def epoll_ctl_cost(calls: int = 20_000, batch: int = 1_000) -> dict:
    """The price of the ONESHOT fix: microseconds per ``epoll_ctl(EPOLL_CTL_MOD)`` re-arm, on a
    connected socket with nothing to read (so the call does not queue or wake anything).

    Returns ``{"us_per_call": {"median", "p90", "min"}, "calls", "kernel"}`` over batches of ``batch``.
    """
    check_int("calls", calls, 1, 10_000_000)
    check_int("batch", batch, 1, calls)
    require_linux()
    flags = select.EPOLLIN | select.EPOLLET | select.EPOLLONESHOT
    samples = []
    with Teardown() as stack, select.epoll() as ep:
        a, _b = socket_pair(stack)  # never a bare fd between two bytecodes (Ctrl-C)
        ep.register(a.fileno(), flags)
        modify, fd = ep.modify, a.fileno()
        for _ in range(max(1, calls // batch)):
            t = time.perf_counter()
            for _ in range(batch):
                modify(fd, flags)
            samples.append((time.perf_counter() - t) / batch * 1e6)
    samples.sort()
    return {
        "us_per_call": {
            "median": round(percentile(samples, 0.5), 4),
            "p90": round(percentile(samples, 0.9), 4),
            "min": round(samples[0], 4),
        },
        "calls": len(samples) * batch,
        "kernel": kernel_release(),
    }
