"""The read experiment's standard runs: the sweeps notebook 06 shows live, and what ``epollkit record``
stores in ``data/reference/read.json`` (the sender in a process of its own)."""

from __future__ import annotations

from collections.abc import Sequence

from ...records import ReadResult
from ...validate import check_int, check_number
from .read import MAX_THINK_US, SUPPORTED, read


def race_sweep(
    strategies_: Sequence[str] = SUPPORTED,
    readers: Sequence[int] = (2,),
    think_us: Sequence[float] = (0,),
    *,
    messages: int = 5_000,
    repeats: int = 1,
    **kw,
) -> list[ReadResult]:
    """One run per (strategy, readers, think_us, repeat): how often messages split and reorder."""
    for t in think_us:
        check_number("think_us", t, 0, MAX_THINK_US)
    check_int("repeats", repeats, 1, 100)
    return [read(s, n, messages, think_us=t, **kw)
            for s in strategies_ for n in readers for t in think_us for _ in range(repeats)]


#: what notebook 06 runs live, and ``reference_runs`` records (sender: a process of its own)
RACE_MESSAGES = 20_000


SPLIT_SIZE = 100  # 2048 is not a multiple of 100: a read of a full buffer ends inside a message


SPLIT_THINK_US = (0, 200)


GROWTH_READERS = (1, 4)  # with the 2-reader runs of the split sweep: 1, 2 and 4 readers


def race_runs(repeats: int = 3) -> list[ReadResult]:
    """2 readers x 20 000 64-byte messages, every lab strategy, ``repeats`` runs each."""
    return race_sweep(SUPPORTED, (2,), (0,), messages=RACE_MESSAGES, repeats=repeats)


def split_runs(repeats: int = 3) -> list[ReadResult]:
    """2 readers x 20 000 100-byte messages at think_us 0 and 200, ``repeats`` runs each."""
    return race_sweep(SUPPORTED, (2,), SPLIT_THINK_US, messages=RACE_MESSAGES, message_size=SPLIT_SIZE,
                      repeats=repeats)


def growth_runs(repeats: int = 3) -> list[ReadResult]:
    """1 and 4 readers x 20 000 100-byte messages at think_us 0 (2 readers: ``split_runs``)."""
    return race_sweep(SUPPORTED, GROWTH_READERS, (0,), messages=RACE_MESSAGES, message_size=SPLIT_SIZE,
                      repeats=repeats)


def throughput_runs() -> list[ReadResult]:
    """et and oneshot with 1 and 2 readers: 50 000 messages at 1 message per send(), 320 000 at 16 per
    send(), sender in its own process; and oneshot with 2 readers and the sender as a thread of this
    process, for the GIL's share."""
    out = [read(s, n, 50_000 if k == 1 else 320_000, per_send=k)
           for s in ("et", "oneshot") for n in (1, 2) for k in (1, 16)]
    out += [read("oneshot", 2, 50_000 if k == 1 else 320_000, per_send=k, sender="thread") for k in (1, 16)]
    return out


def reference_runs() -> list[ReadResult]:
    """What ``epollkit record`` stores in ``data/reference/read.json``: ``race_runs``, ``split_runs``,
    ``growth_runs`` (3 repeats each) and ``throughput_runs``."""
    return race_runs() + split_runs() + growth_runs() + throughput_runs()
