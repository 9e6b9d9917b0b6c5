"""Notebook 01's descriptor sets for timing select(): a low fd, the same socket at a high number, many fds.

Linux only where used (``fcntl`` is imported inside the function); every descriptor it opens is closed
when the ``with`` block ends, however it ends.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager


@contextmanager
def fd_sets(pairs: int = 400, high: int = 1000) -> Iterator[dict[str, list[int]]]:
    """``{"low": [lowest fd], "high": [that socket dup'ed to a number >= high], "many": [2*pairs fds]}``
    from ``pairs`` socketpairs; all closed on leaving the block."""
    if not 1 <= pairs <= 5000:
        raise ValueError(f"pairs must be 1..5000, got {pairs!r}")
    if not 1 <= high <= 60000:
        raise ValueError(f"high must be 1..60000, got {high!r}")
    import fcntl

    with ExitStack() as stack:
        socks = [stack.enter_context(s) for _ in range(pairs) for s in socket.socketpair()]
        low = min(s.fileno() for s in socks)
        dup = fcntl.fcntl(low, fcntl.F_DUPFD, high)  # the same socket, numbered >= high
        stack.callback(os.close, dup)
        yield {"low": [low], "high": [dup], "many": [s.fileno() for s in socks]}
