"""Frozen result records shared by the lab (real kernel) and the sim (model).

Every record has ``experiment``, ``backend`` (``"real"`` or ``"sim"``), ``strategy`` and its parameters;
real runs add ``kernel`` (``platform.release()``) and ``duration_s``. ``to_dict()`` gives exactly the
JSON document of DESIGN.md ("Result records"); ``to_frame()`` a pandas table of the per-worker rows
(pandas is imported only then).

Records are built from raw observations by the ``summarize_*`` functions below ("observe, then
interpret"): the lab and the model both record what each worker did, and the same pure function derives
the per-connection figures, shares and orderings from either.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# Keys that only some records carry: omitted from to_dict() when None.
_OPTIONAL = frozenset(
    {"kernel", "duration_s", "schedules", "states", "outcomes", "witnesses", "params", "notes"}
)


class Record:
    """Mixin: JSON-ready dict, JSON text and a pandas frame of the per-worker rows."""

    _rows_field: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is None and f.name in _OPTIONAL:
                continue
            out[f.name] = _plain(value)
        return out

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), **kw)

    def to_frame(self):
        """A pandas DataFrame of the per-worker (or per-point) rows; imports pandas lazily."""
        import pandas as pd

        if self._rows_field is None:
            return pd.DataFrame([self.to_dict()])
        rows = [_plain(r) for r in getattr(self, self._rows_field)]
        return pd.json_normalize(rows) if rows and any(isinstance(v, dict) for v in rows[0].values()) \
            else pd.DataFrame(rows)


def _plain(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return value.to_dict() if isinstance(value, Record) else dataclasses.asdict(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


# ---------------------------------------------------------------------------------------- accept


@dataclass(frozen=True)
class WorkerStats(Record):
    """What one accept worker did. ``kernel_wakeups``: times it was woken (see AcceptResult)."""

    worker: int
    accepts: int
    returns: int
    eagain: int
    kernel_wakeups: int


@dataclass(frozen=True)
class AcceptResult(Record):
    """One accept experiment: ``workers`` threads share one TCP listener (or a port) on 127.0.0.1.

    accepted / lost        connections accepted, and ``connections - accepted`` (must be 0)
    returns                wait calls (select/poll/epoll_wait, or accept() for ``blocking``) that
                           returned at least one event for the listener
    eagain                 accept() calls that found the queue empty
    kernel_wakeups         times a worker was woken. Real runs: the workers' voluntary context
                           switches (``ru_nvcsw``) between "all waiting" and the stop -- a proxy that
                           also counts sleeps on the GIL or a page fault; the model counts wake-ups
                           exactly.
    *_per_connection       the three above divided by ``connections``
    accept_order           worker index of each accepted connection, in accept order
    max_share              largest fraction of connections accepted by one worker
    per_worker             one WorkerStats per worker
    """

    _rows_field = "per_worker"

    experiment: str
    backend: str
    strategy: str
    workers: int
    connections: int
    accepted: int
    lost: int
    returns: int
    eagain: int
    kernel_wakeups: int
    returns_per_connection: float
    eagain_per_connection: float
    kernel_wakeups_per_connection: float
    accept_order: list[int]
    max_share: float
    per_worker: list[WorkerStats]
    params: dict | None = None
    kernel: str | None = None
    duration_s: float | None = None
    schedules: int | None = None
    states: int | None = None
    outcomes: list | None = None
    witnesses: dict | None = None


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


# ------------------------------------------------------------------------------------------ read


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


# -------------------------------------------------------------------------------- sweeps (lab only)


@dataclass(frozen=True)
class MultiplexResult(Record):
    """Per-call cost of select/poll/epoll over n watched fds: ``points`` of
    ``{"api", "fds", "us_per_call": {"median", "p90", "min"}}``."""

    _rows_field = "points"

    experiment: str
    backend: str
    points: list[dict] = field(default_factory=list)
    params: dict | None = None
    kernel: str | None = None
    duration_s: float | None = None


@dataclass(frozen=True)
class HerdLatencyResult(Record):
    """connect() latency against the number of waiters: ``points`` of
    ``{"waiters", "connect_us": {"median", "p90", "min"}}``."""

    _rows_field = "points"

    experiment: str
    backend: str
    strategy: str
    repeats: int
    points: list[dict] = field(default_factory=list)
    params: dict | None = None
    kernel: str | None = None
    duration_s: float | None = None


# ------------------------------------------------------------------------------------ from JSON

_RECORDS = {
    "accept": (AcceptResult, "per_worker", WorkerStats),
    "read": (ReadResult, "per_reader", ReaderStats),
    "multiplex": (MultiplexResult, None, None),
    "herd-latency": (HerdLatencyResult, None, None),
}


def register_record(experiment: str, cls, rows_field: str | None = None, row_cls=None) -> None:
    """Let ``from_dict`` rebuild records of an experiment defined elsewhere."""
    _RECORDS[experiment] = (cls, rows_field, row_cls)


def from_dict(data: dict):
    """Rebuild a frozen record from its ``to_dict()`` form (e.g. a recorded result under data/)."""
    try:
        cls, rows_field, row_cls = _RECORDS[data["experiment"]]
    except KeyError:
        raise ValueError(f"unknown experiment {data.get('experiment')!r}; known: {', '.join(_RECORDS)}") \
            from None
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {k: v for k, v in data.items() if k in names}
    if rows_field and row_cls is not None:
        kwargs[rows_field] = [row_cls(**r) for r in data.get(rows_field, [])]
    return cls(**kwargs)
