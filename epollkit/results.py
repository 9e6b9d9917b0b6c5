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
    | {"peak_rss_kib"}
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
    notes: list[str] | None = None  # e.g. select points skipped at the FD_SETSIZE wall


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
    peak_rss_kib: int | None = None  # largest resident set (VmRSS) seen with all waiters blocked
    notes: list[str] | None = None


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


# ------------------------------------------------------------------------- serve (queueing, lab only)


@dataclass(frozen=True)
class ServeResult(Record):
    """One queueing run: ``workers`` threads serve requests arriving on ``connections`` sockets.

    strategy        ``"shared"`` (one epoll set, ``EPOLLONESHOT``: one queue for all workers) or
                    ``"sharded"`` (each worker owns a fixed share of the connections: a queue each)
    utilization     the target rho = arrival rate / (workers / mean service time)
    arrival_rate    achieved requests per second
    service_ms      mean service time (a sleep); ``cv`` its coefficient of variation (1 = exponential)
    latency_ms      response time (arrival -> service done): ``{"mean", "p50", "p90", "p99", "max"}``
    wait_ms         arrival -> a worker starts the service: the same keys
    model           the formula's prediction for the same rates (M/M/c or c x M/M/1): ``{"name",
                    "mean", "p50", "p90", "p99"}`` in ms (percentiles None unless cv = 1)
    per_worker      ``{"worker", "served", "busy_s"}`` rows
    """

    _rows_field = "per_worker"

    experiment: str
    backend: str
    strategy: str
    workers: int
    connections: int
    requests: int
    completed: int
    service_ms: float
    cv: float
    utilization: float
    arrival_rate: float
    latency_ms: dict
    wait_ms: dict
    per_worker: list[dict]
    model: dict | None = None
    params: dict | None = None
    kernel: str | None = None
    duration_s: float | None = None


_RECORDS["serve"] = (ServeResult, None, None)


# ------------------------------------------------------------ SO_REUSEPORT and accept latency (lab only)


@dataclass(frozen=True)
class ReuseportCloseResult(Record):
    """The reset-on-close defect: ``queued`` connections wait in a reuseport group of ``listeners``;
    listener ``closed_listener`` closes.

    per_listener     accept-queue length of each listener just before the close
    on_closed        connections queued on the listener that closed
    reset            client connections that then saw ``ECONNRESET``
    accepted         connections the other listeners still accepted
    lost             queued - reset - accepted (connections neither reset nor accepted; should be 0)
    tcp_migrate_req  ``net.ipv4.tcp_migrate_req`` as read (1: queued connections migrate; None: < 5.14)
    """

    experiment: str
    backend: str
    listeners: int
    queued: int
    closed_listener: int
    per_listener: list[int]
    on_closed: int
    reset: int
    accepted: int
    lost: int
    tcp_migrate_req: int | None = None
    kernel: str | None = None
    duration_s: float | None = None


@dataclass(frozen=True)
class ReuseportDistributionResult(Record):
    """How a reuseport group spread ``connections`` over ``listeners``, ``runs`` times.

    steer            ``"hash"`` (the kernel's 4-tuple hash), ``"cpu"`` or ``"random"`` (a CBPF program)
    counts           per run, connections per listener
    max_share        per run, the largest listener's share
    balls_into_bins_mean_max_share   the mean largest share of uniformly random throws, same numbers
    client_cpus      CPUs the connecting thread was seen on
    """

    experiment: str
    backend: str
    listeners: int
    connections: int
    runs: int
    steer: str
    counts: list[list[int]]
    max_share: list[float]
    mean_max_share: float
    balls_into_bins_mean_max_share: float
    client_cpus: list[int]
    kernel: str | None = None
    duration_s: float | None = None


@dataclass(frozen=True)
class IncomingCpuResult(Record):
    """``SO_INCOMING_CPU`` on the listeners of a reuseport group.

    listener_cpu   the CPU set on listener i (when the option is set)
    rows           ``{"incoming_cpu_set", "client_cpu", "ran_on", "per_listener"}``: connections each
                   listener received from a client thread pinned to ``client_cpu``
    """

    _rows_field = "rows"

    experiment: str
    backend: str
    listeners: int
    connections: int
    cpus: list[int]
    listener_cpu: list[int]
    rows: list[dict]
    kernel: str | None = None
    duration_s: float | None = None


@dataclass(frozen=True)
class AcceptLatencyResult(Record):
    """Connect-to-accept latency at one load: Poisson connects, exponential per-connection work (a sleep).

    utilization       target rho = rate / (workers / service_ms)
    arrival_rate      achieved connects per second
    service_ms        nominal mean work per connection; ``service_ms_measured`` the measured mean
                      (accept returned -> work done, so it includes the sleep's overshoot)
    wait_ms           connect() called -> accept() returned in a worker: ``{"mean","p50","p90","p99","max"}``
    latency_ms        connect() called -> the worker finished that connection's work: the same keys
    model             the formulas at the measured rates, in ms: ``{"mmc": {...}, "per_worker": {...}}``
                      each ``{"mean_wait", "mean_response", "p50", "p90", "p99"}`` (response percentiles)
    per_worker        ``{"worker", "accepts"}``
    """

    _rows_field = "per_worker"

    experiment: str
    backend: str
    strategy: str
    workers: int
    connections: int
    accepted: int
    lost: int
    utilization: float
    arrival_rate: float
    service_ms: float
    service_ms_measured: float
    wait_ms: dict
    latency_ms: dict
    max_share: float
    per_worker: list[dict]
    model: dict | None = None
    params: dict | None = None
    kernel: str | None = None
    duration_s: float | None = None


@dataclass(frozen=True)
class EpollRefusalResult(Record):
    """What ``epoll_ctl()`` said to each flag combination: ``cases`` of ``{"case", "call", "errno"}``
    (``errno`` an errno name such as ``"EINVAL"``, or ``"ok"``)."""

    _rows_field = "cases"

    experiment: str
    backend: str
    cases: list[dict]
    kernel: str | None = None


register_record("epoll-refusals", EpollRefusalResult)
register_record("reuseport-close", ReuseportCloseResult)
register_record("reuseport-distribution", ReuseportDistributionResult)
register_record("reuseport-incoming-cpu", IncomingCpuResult)
register_record("accept-latency", AcceptLatencyResult)
