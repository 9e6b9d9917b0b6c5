"""Queueing runs (lab only): one shared queue against many, measured (serve) and at the accept (latency)."""

from __future__ import annotations

from dataclasses import dataclass, field  # noqa: F401

from .base import Record


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

    EXPERIMENT = "serve"

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

    EXPERIMENT = "accept-latency"

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

