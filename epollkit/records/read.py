"""Read records: what each reader did, splits and reordering judged on the delivered stream."""

from __future__ import annotations

from dataclasses import dataclass, field  # noqa: F401

from .base import Record


@dataclass(frozen=True)
class ReaderStats(Record):
    """What one reader did."""

    reader: int
    reads: int
    bytes: int
    returns: int
    eagain: int
    kernel_wakeups: int


@dataclass(frozen=True)
class ReadResult(Record):
    """One read experiment: ``readers`` threads share one connected stream socket.

    lost_bytes      bytes_sent - bytes_delivered (must be 0)
    split_messages  messages whose bytes were read by more than one reader
    reordered       deliveries that arrived behind a later one (judged on the delivered stream)
    in_order        the delivered stream equals the sent one
    """

    EXPERIMENT = "read"
    _row_cls = ReaderStats

    _rows_field = "per_reader"

    experiment: str
    backend: str
    strategy: str
    readers: int
    messages: int
    message_size: int
    read_size: int
    bytes_sent: int
    bytes_delivered: int
    lost_bytes: int
    split_messages: int
    reordered: int
    in_order: bool
    returns: int
    eagain: int
    kernel_wakeups: int
    per_reader: list[ReaderStats]
    params: dict | None = None
    kernel: str | None = None
    duration_s: float | None = None
    schedules: int | None = None
    states: int | None = None
    outcomes: list | None = None
    witnesses: dict | None = None

