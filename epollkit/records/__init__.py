"""Frozen result records shared by the lab (real kernel) and the sim (model): one module per family,
one registry (:mod:`epollkit.records.base`). Every record gives ``to_dict()`` (the JSON contract),
``to_json()`` and ``to_frame()`` (pandas, imported on use)."""

from __future__ import annotations

from .accept import AcceptResult, EpollRefusalResult, WorkerStats
from .base import Record, experiments, from_dict, register_record
from .queueing import AcceptLatencyResult, ServeResult
from .read import ReaderStats, ReadResult
from .reuseport import IncomingCpuResult, ReuseportCloseResult, ReuseportDistributionResult
from .timing import HerdLatencyResult, MultiplexResult

__all__ = [
    "AcceptLatencyResult",
    "AcceptResult",
    "EpollRefusalResult",
    "HerdLatencyResult",
    "IncomingCpuResult",
    "MultiplexResult",
    "ReadResult",
    "ReaderStats",
    "Record",
    "ReuseportCloseResult",
    "ReuseportDistributionResult",
    "ServeResult",
    "WorkerStats",
    "experiments",
    "from_dict",
    "register_record",
]
