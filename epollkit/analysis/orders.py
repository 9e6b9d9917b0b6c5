"""Orders and shares: who accepted what, in which order, and what chance alone would give (pure)."""

from __future__ import annotations

import random
from collections.abc import Sequence

from ..validate import check_int

FD_SETSIZE = 1024  # glibc's (and so CPython's) fd_set holds fds 0..1023: 16 words of 64 bits
MAX_BINS = 64  # as many listeners as a reuseport group of the lab may have
MAX_BALLS = 5000


def same_pattern(a: Sequence[int], b: Sequence[int]) -> bool:
    """Pure: True when ``a`` and ``b`` are the same order up to renaming the workers (a one-to-one map
    of labels). Cloudflare's forked workers fell asleep in the order 2, 1, 0; ours in 0, 1, 2: both
    round robins read ``2 1 0 2 1 0`` and ``0 1 2 0 1 2``."""
    if len(a) != len(b):
        return False
    fwd: dict = {}
    back: dict = {}
    for x, y in zip(a, b, strict=True):
        if fwd.setdefault(x, y) != y or back.setdefault(y, x) != x:
            return False
    return True


def max_concurrent_accepts(trace: Sequence[tuple]) -> int:
    """Pure: the largest number of ``accept()`` calls in flight at once, from an ``accept(trace=...)``
    list of ``(worker, peer_port, t_call, t_return, t_done)``. Ends sort before starts at equal times."""
    edges = []
    for _w, _port, t_call, t_return, _done in trace:
        edges.append((t_call, 1))
        edges.append((t_return, -1))
    edges.sort(key=lambda e: (e[0], e[1]))
    now = best = 0
    for _t, d in edges:
        now += d
        best = max(best, now)
    return best


def match_by_port(connects: list, trace: list) -> list[tuple[float, float, float]]:
    """Pure: pair each accepted connection with its connect() by the client's port.

    A loopback client may reuse a port within one run (``net.ipv4.tcp_tw_reuse`` = 2 lets connect()
    take over its own TIME_WAIT ports on loopback), so a port can appear more than once: the k-th
    connect from a port is paired with the k-th accept of it (one 4-tuple always lands in the same
    accept queue, which is FIFO). Returns ``(t_connect, t_accepted, t_done)`` per matched connection.
    """
    by_port: dict = {}
    for port, t in sorted(connects, key=lambda c: c[1]):
        by_port.setdefault(port, []).append(t)
    out = []
    for _worker, port, _t_call, t_return, t_done in sorted(trace, key=lambda e: e[3]):
        if port is None or not by_port.get(port):
            continue
        out.append((by_port[port].pop(0), t_return, t_done))
    return out


def balls_into_bins(bins: int, balls: int, runs: int, seed: int = 0) -> list[float]:
    """Pure: the largest share of ``balls`` thrown uniformly at random into ``bins``, for each of ``runs``
    seeded throws. What a perfect 4-tuple hash would give (the hash is deterministic, but the client's
    ephemeral ports make it look random)."""
    check_int("bins", bins, 1, MAX_BINS)
    check_int("balls", balls, 1, MAX_BALLS)
    check_int("runs", runs, 1, 100_000)
    rng = random.Random(seed)
    out = []
    for _ in range(runs):
        counts = [0] * bins
        for _ in range(balls):
            counts[rng.randrange(bins)] += 1
        out.append(max(counts) / balls)
    return out


def fd_set_position(fd: int, word_bits: int = 64) -> dict[str, int | bool]:
    """Where ``fd`` lives in an ``fd_set``: the word and the bit within it (the ``FD_SET()`` macro:
    ``fds_bits[fd / NFDBITS] |= 1 << (fd % NFDBITS)``), and whether it fits in ``FD_SETSIZE`` bits."""
    if isinstance(fd, bool) or not isinstance(fd, int) or fd < 0:
        raise ValueError(f"fd must be an integer >= 0, not {fd!r}")
    words = FD_SETSIZE // word_bits
    return {"fd": fd, "word": fd // word_bits, "bit": fd % word_bits, "words": words,
            "fits": fd < FD_SETSIZE}
