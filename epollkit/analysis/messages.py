"""The read experiment's wire format and its interpretation (pure: runs anywhere).

Message format (``message_size`` bytes): ``mix(i)`` and ``i`` as two big-endian 32-bit words, then filler
bytes from a fixed pseudo-random table at an offset that depends on ``i``. A message of 8 bytes or more
checks itself (``mix(i)`` must match ``i``); shorter messages are prefixes of that header. Any chunk of a
few bytes therefore has one place in the stream; for a chunk so short that two places fit, the placement
that counts fewer reorderings is chosen (the count is a lower bound, never inflated).
"""

from __future__ import annotations

import random
import struct
from collections.abc import Sequence
from functools import lru_cache

from ..errors import EpollkitError

MAX_SIZE = 1 << 20  # the largest message the read experiment sends (1 MiB)


def mix(i: int) -> int:
    """A bijective 32-bit scramble of the message number (Knuth's multiplicative hash)."""
    return (i * 2654435761 + 0x9E3779B9) & 0xFFFFFFFF


@lru_cache(maxsize=1)
def _filler() -> bytes:
    return random.Random(0x5EED).randbytes(MAX_SIZE + 4096)


def message(i: int, size: int) -> bytes:
    """Message number ``i`` of ``size`` bytes (see the module docstring)."""
    head = struct.pack(">II", mix(i), i & 0xFFFFFFFF)
    if size <= 8:
        return head[:size]
    r = mix(i) & 4095
    return head + _filler()[r : r + size - 8]


def check_message(data: bytes) -> int:
    """The number of a whole message of 8 bytes or more; ``ValueError`` if it is not one."""
    if len(data) < 8:
        raise ValueError(f"a self-checking message has at least 8 bytes, not {len(data)}")
    m, i = struct.unpack_from(">II", data)
    if mix(i) != m:
        raise ValueError(f"corrupt message: header {m:#x} does not match number {i}")
    return i


def stream(messages: int, message_size: int) -> bytes:
    """The whole sent byte stream: messages 0 .. messages-1."""
    return b"".join([message(i, message_size) for i in range(messages)])


def locate_chunks(
    sent: bytes,
    chunks: Sequence[Sequence[bytes]],
    delivery_order: Sequence[tuple[int, int]],
    max_steps: int | None = None,
) -> list[tuple[int, int, int]]:
    """Find where each delivered chunk sits in the sent stream.

    chunks          per reader, the chunks it read, in the order it read them (one thread's reads are
                    ordered in time, and the kernel serialises reads of one socket, so each reader's
                    chunks lie at increasing offsets)
    delivery_order  ``(reader, index into chunks[reader])`` in delivery order

    The chunks tile the sent stream (every byte read once), so the stream is rebuilt as a merge of the
    readers' sequences: at each offset, some reader's next chunk must match the bytes there. When more
    than one does, the candidates are tried in delivery order (fewest reorderings first) and the search
    backtracks on a dead end. Returns ``(reader, offset, length)`` in delivery order.
    """
    readers = len(chunks)
    total = sum(len(c) for per in chunks for c in per)
    n_chunks = sum(len(per) for per in chunks)
    rank = [[0] * len(per) for per in chunks]  # delivery position of each chunk
    for pos, (r, k) in enumerate(delivery_order):
        rank[r][k] = pos
    limit = max_steps if max_steps is not None else 20 * n_chunks + 100_000
    offsets = [[-1] * len(per) for per in chunks]
    nxt = [0] * readers
    offset = 0
    stack: list[tuple[list[int], int]] = []  # (candidates tried at this step, which one is in use)
    steps = 0
    while offset < total:
        steps += 1
        if steps > limit:
            raise EpollkitError(f"could not place the {n_chunks} delivered chunks in the sent stream "
                                f"within {limit} steps (offset {offset} of {total})")
        cands = [r for r in range(readers)
                 if nxt[r] < len(chunks[r]) and sent.startswith(chunks[r][nxt[r]], offset)]
        cands.sort(key=lambda r: rank[r][nxt[r]])
        choice = 0
        while not cands:  # dead end: undo the last choice that had an alternative
            if not stack:
                raise EpollkitError(
                    f"the delivered bytes are not a reordering of the sent stream (no chunk fits at "
                    f"offset {offset} of {total}): bytes were corrupted or duplicated")
            cands, choice = stack.pop()
            r = cands[choice]
            nxt[r] -= 1
            offset -= len(chunks[r][nxt[r]])
            offsets[r][nxt[r]] = -1
            choice += 1
            if choice >= len(cands):
                cands = []
        r = cands[choice]
        offsets[r][nxt[r]] = offset
        offset += len(chunks[r][nxt[r]])
        nxt[r] += 1
        stack.append((cands, choice))
    if offset != len(sent) and total > len(sent):
        raise EpollkitError(f"{total} bytes delivered but only {len(sent)} were sent")
    return [(r, offsets[r][k], len(chunks[r][k])) for r, k in delivery_order]
