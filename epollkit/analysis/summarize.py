"""Summaries: derive a record's figures from what each worker recorded -- the same pure function for the
lab and the model ("observe, then interpret")."""

from __future__ import annotations

from collections.abc import Sequence

from ..records.accept import AcceptResult, WorkerStats
from ..records.read import ReaderStats, ReadResult


def summarize_accept(
    *,
    backend: str,
    strategy: str,
    connections: int,
    per_worker: Sequence[WorkerStats],
    accept_order: Sequence[int],
    params: dict | None = None,
    kernel: str | None = None,
    duration_s: float | None = None,
    **extra,
) -> AcceptResult:
    """Derive an AcceptResult from what each worker recorded (pure)."""
    workers = len(per_worker)
    accepted = sum(w.accepts for w in per_worker)
    returns = sum(w.returns for w in per_worker)
    eagain = sum(w.eagain for w in per_worker)
    wakeups = sum(w.kernel_wakeups for w in per_worker)
    per = float(connections) if connections else 1.0
    max_share = max((w.accepts for w in per_worker), default=0) / accepted if accepted else 0.0
    return AcceptResult(
        experiment="accept",
        backend=backend,
        strategy=strategy,
        workers=workers,
        connections=connections,
        accepted=accepted,
        lost=connections - accepted,
        returns=returns,
        eagain=eagain,
        kernel_wakeups=wakeups,
        returns_per_connection=round(returns / per, 4),
        eagain_per_connection=round(eagain / per, 4),
        kernel_wakeups_per_connection=round(wakeups / per, 4),
        accept_order=list(accept_order),
        max_share=round(max_share, 4),
        per_worker=list(per_worker),
        params=params,
        kernel=kernel,
        duration_s=None if duration_s is None else round(duration_s, 4),
        **extra,
    )


def summarize_read(
    *,
    backend: str,
    strategy: str,
    messages: int,
    message_size: int,
    read_size: int,
    deliveries: Sequence[tuple[int, int, int]],
    per_reader: Sequence[ReaderStats],
    bytes_sent: int | None = None,
    params: dict | None = None,
    kernel: str | None = None,
    duration_s: float | None = None,
    **extra,
) -> ReadResult:
    """Derive a ReadResult from what was sent and what the application's stream received (pure).

    Shared by the lab (``epollkit.lab.read``) and the model (``epollkit.sim``): both describe every
    delivered chunk by its place in the SENT byte stream, so neither needs to carry the bytes.

    deliveries    ``(reader, offset, length)`` for every chunk appended to the application's stream,
                  in the order it was appended ("delivered"). ``offset`` is where the chunk's first
                  byte sits in the sent stream (0-based); ``length`` > 0. The lab recovers offsets from
                  the numbered message contents; the model knows them exactly.
    per_reader    one ReaderStats per reader (reads, bytes, returns, eagain, kernel_wakeups)
    bytes_sent    defaults to ``messages * message_size``

    Derived:
    - ``bytes_delivered``: the sum of the lengths; ``lost_bytes`` = bytes_sent - bytes_delivered (0 when
      nothing went missing; negative would mean bytes delivered twice).
    - ``split_messages``: messages (``message_size``-byte slices of the sent stream) whose bytes were
      read by more than one reader. A message lying inside one chunk cannot be split, so only chunks
      that start or end strictly inside a message are examined.
    - ``reordered``: deliveries whose offset lies BEHIND the offset of some earlier delivery (a chunk
      that arrived after a chunk that comes later in the stream).
    - ``in_order``: the delivered stream equals the sent one: every chunk starts exactly where the
      previous one ended, and nothing is missing.
    """
    if message_size < 1:
        raise ValueError(f"message_size must be >= 1, not {message_size!r}")
    sent = messages * message_size if bytes_sent is None else bytes_sent
    delivered = 0
    reordered = 0
    contiguous = True
    expect = 0
    furthest = -1
    pieces: dict[int, set[int]] = {}
    for reader, offset, length in deliveries:
        if length <= 0:
            raise ValueError(f"a delivered chunk must have length > 0, not {length!r}")
        delivered += length
        if offset < furthest:
            reordered += 1
        furthest = max(furthest, offset)
        if offset != expect:
            contiguous = False
        expect = offset + length
        end = offset + length
        if offset % message_size:  # starts strictly inside a message
            pieces.setdefault(offset // message_size, set()).add(reader)
        if end % message_size:  # ends strictly inside a message
            pieces.setdefault((end - 1) // message_size, set()).add(reader)
    split = sum(1 for readers in pieces.values() if len(readers) > 1)
    lost = sent - delivered
    return ReadResult(
        experiment="read",
        backend=backend,
        strategy=strategy,
        readers=len(per_reader),
        messages=messages,
        message_size=message_size,
        read_size=read_size,
        bytes_sent=sent,
        bytes_delivered=delivered,
        lost_bytes=lost,
        split_messages=split,
        reordered=reordered,
        in_order=bool(contiguous and lost == 0),
        returns=sum(r.returns for r in per_reader),
        eagain=sum(r.eagain for r in per_reader),
        kernel_wakeups=sum(r.kernel_wakeups for r in per_reader),
        per_reader=list(per_reader),
        params=params,
        kernel=kernel,
        duration_s=None if duration_s is None else round(duration_s, 4),
        **extra,
    )

