"""Accept latency against load: one shared accept queue against one queue per worker, beside the
M/M/c and c x M/M/1 formulas (``epollkit.analysis.queueing``).

A client process connects with Poisson arrivals (``_latency_client``) and notes ``time.monotonic()``
just before each ``connect()``; ``workers`` threads accept with a given strategy (``epollkit.lab.accept``
with a ``trace``), and after each accept sleep for an exponentially distributed "work" time -- a sleep,
so the GIL does not serialise the work. The peer port matches a worker's accept to the client's
connect. Two latencies per connection:

- ``wait_ms``: connect() called -> accept() returned in some worker: the time in the queue (Wq), plus
  the loopback handshake and Python's overheads (the thread that the kernel woke must win the GIL back
  before the timestamp is taken);
- ``latency_ms``: connect() called -> that connection's work done: W = Wq + service.

Strategies with one shared queue: ``blocking`` (FIFO wake-one on the listener), ``epoll-exclusive`` (a
wake-up goes to the first idle registered worker); with a queue per worker: ``reuseport`` (the 4-tuple
hash picks a listener; a connection waits for *its* worker even while others idle).

Where Python bends the curves: each accept costs tens of microseconds of interpreter time, a sleep
overshoots by the timer slack (about 50 us) plus a GIL hand-off, and a woken worker may wait for the
GIL while another thread runs; the client's own connect() and the scheduler on a 2-core machine add
jitter. The model here uses the *measured* arrival rate and the *measured* mean work time, so only the
queueing itself is compared; the floor of ``wait_ms`` (its minimum) shows the fixed overhead.
"""

from __future__ import annotations

import random
import time

from ...analysis.orders import match_by_port
from ...analysis.queueing import model_ms
from ...analysis.stats import stats_ms
from ...records import AcceptLatencyResult
from ...system import kernel_release
from ...validate import check_int, check_number
from .accept import HOST, accept

STRATEGIES = ("blocking", "epoll-exclusive", "epoll-exclusive-rotate", "reuseport",
              "reuseport-cbpf-random")
SHARED_QUEUE = ("blocking", "epoll-exclusive", "epoll-exclusive-rotate")
DEFAULT_SERVICE_MS = 5.0
DEFAULT_CONNECTIONS = 400


def validate(strategy, workers, utilization, service_ms, connections, seed) -> None:
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown latency strategy {strategy!r}; valid: {', '.join(STRATEGIES)}")
    check_int("workers", workers, 1, 64)
    check_number("utilization", utilization, 0.0, 1.0, open_low=True, open_hi=True)
    check_number("service_ms", service_ms, 0.1, 1000.0, open_low=True)
    check_int("connections", connections, 10, 20_000)
    check_int("seed", seed, 0, 2**32 - 1)


def accept_latency(
    strategy: str = "blocking",
    workers: int = 4,
    utilization: float = 0.5,
    *,
    service_ms: float = DEFAULT_SERVICE_MS,
    connections: int = DEFAULT_CONNECTIONS,
    seed: int = 0,
) -> AcceptLatencyResult:
    """One point: ``connections`` Poisson connects at ``utilization`` x ``workers`` / ``service_ms``."""
    validate(strategy, workers, utilization, service_ms, connections, seed)
    service_s = service_ms / 1000.0
    rate = utilization * workers / service_s
    rng = random.Random(seed + 1)
    work_s = [rng.expovariate(1.0 / service_s) for _ in range(connections + workers)]

    def work(_worker: int, n: int) -> None:
        time.sleep(work_s[n % len(work_s)])  # releases the GIL: the work runs in parallel

    trace: list = []
    client = {"module": "epollkit.lab.children.latency_client",
              "args": lambda port: [HOST, port, connections, rate, seed]}
    expected = connections / rate
    deadline = min(3600.0, 10.0 + 3.0 * expected + connections * service_s / workers)
    r = accept(strategy, workers, connections, rate=rate, deadline=deadline, work=work,
               trace=trace, client=client)
    connects = (client.get("result") or {}).get("connects", [])
    waits, latencies, services = [], [], []
    for t_connect, t_return, t_done in match_by_port(connects, trace):
        waits.append(t_return - t_connect)
        latencies.append(t_done - t_connect)
        services.append(t_done - t_return)
    times = sorted(t for _port, t in connects)
    achieved = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] \
        else rate
    measured_service = sum(services) / len(services) if services else service_s
    return AcceptLatencyResult(
        experiment="accept-latency",
        backend="real",
        strategy=strategy,
        workers=workers,
        connections=connections,
        accepted=r.accepted,
        lost=r.lost,
        utilization=utilization,
        arrival_rate=round(achieved, 3),
        service_ms=service_ms,
        service_ms_measured=round(measured_service * 1000.0, 4),
        wait_ms=stats_ms(waits),
        latency_ms=stats_ms(latencies),
        max_share=r.max_share,
        per_worker=[{"worker": w.worker, "accepts": w.accepts} for w in r.per_worker],
        model=model_ms(achieved, measured_service, workers),
        params={"seed": seed, "target_rate": round(rate, 3), "matched": len(waits),
                "negative_waits": sum(1 for x in waits if x < 0),
                "measured_utilization": round(achieved * measured_service / workers, 4)},
        kernel=kernel_release(),
        duration_s=r.duration_s,
    )


def latency_sweep(
    strategies: tuple[str, ...] = ("blocking", "reuseport"),
    utilizations: tuple[float, ...] = (0.3, 0.5, 0.7, 0.9),
    workers: int = 4,
    *,
    service_ms: float = DEFAULT_SERVICE_MS,
    connections: int = DEFAULT_CONNECTIONS,
    seed: int = 0,
) -> list[AcceptLatencyResult]:
    """``accept_latency`` for every strategy at every utilisation (same seed: the same arrivals)."""
    for s in strategies:
        for u in utilizations:
            validate(s, workers, u, service_ms, connections, seed)
    return [accept_latency(s, workers, u, service_ms=service_ms, connections=connections, seed=seed)
            for s in strategies for u in utilizations]


def reference_runs() -> list[AcceptLatencyResult]:
    """What ``epollkit record`` stores in ``data/reference/accept_latency.json``."""
    return latency_sweep(("blocking", "epoll-exclusive", "reuseport"), (0.3, 0.5, 0.7, 0.9), 4,
                         connections=1000)
