"""Timing sweeps (lab only): the cost of one select/poll/epoll call, and connect() latency against waiters."""

from __future__ import annotations

from dataclasses import dataclass, field  # noqa: F401

from .base import Record


@dataclass(frozen=True)
class MultiplexResult(Record):
    """Per-call cost of select/poll/epoll over n watched fds: ``points`` of
    ``{"api", "fds", "us_per_call": {"median", "p90", "min"}}``."""

    EXPERIMENT = "multiplex"

    _rows_field = "points"

    experiment: str
    backend: str
    points: list[dict] = field(default_factory=list)
    params: dict | None = None
    kernel: str | None = None
    duration_s: float | None = None
    notes: list[str] | None = None  # e.g. select points skipped at the FD_SETSIZE wall


@dataclass(frozen=True)
class HerdLatencyResult(Record):
    """connect() latency against the number of waiters: ``points`` of
    ``{"waiters", "connect_us": {"median", "p90", "min"}}``."""

    EXPERIMENT = "herd-latency"

    _rows_field = "points"

    experiment: str
    backend: str
    strategy: str
    repeats: int
    points: list[dict] = field(default_factory=list)
    params: dict | None = None
    kernel: str | None = None
    duration_s: float | None = None
    peak_rss_kib: int | None = None  # largest resident set (VmRSS) seen with all waiters blocked
    notes: list[str] | None = None

