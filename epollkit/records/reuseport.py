"""SO_REUSEPORT records (lab only): reset-on-close, how a group spreads connections, SO_INCOMING_CPU."""

from __future__ import annotations

from dataclasses import dataclass, field  # noqa: F401

from .base import Record


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

    EXPERIMENT = "reuseport-close"

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

    EXPERIMENT = "reuseport-distribution"

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

    EXPERIMENT = "reuseport-incoming-cpu"

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

