"""Queueing formulas: one shared queue (M/M/c, Erlang C) against one queue per worker (c x M/M/1).

Pure functions of the rates -- no clocks, threads or randomness -- so the lab's measured latencies can be
put beside them (notebook 06 for ``read()``, the accept notebooks for ``accept()``).

Notation (as in the QUEUEING table of :mod:`epollkit.analysis.published`): ``arrival_rate`` = lambda (jobs per
unit time, all workers together), ``service_rate`` = mu (jobs per unit time that ONE worker finishes),
``servers`` = c, offered load A = lambda/mu (in Erlangs), utilisation rho = A/c. Any time unit works, as long
as both rates use it; the results come back in the same unit (with mu = 1, times are in mean service times).

- **Shared queue** (``mmc``): Poisson arrivals, exponential service, c identical workers taking jobs from
  one FIFO line. P(wait) is Erlang's C formula; the wait, given that one waits, is exponential with rate
  c*mu - lambda; the response time is wait + service, whose distribution has the closed form below.
- **Queue per worker** (``per_worker``): each worker owns a fixed share of the jobs (random assignment
  splits a Poisson stream into c Poisson streams of lambda/c), so each is an M/M/1 queue; the response time
  is exponential with rate mu - lambda/c. Round-robin assignment does a little better than random, hashing
  (``SO_REUSEPORT``) no better than random.
- **Other service-time spreads** (``cv`` = standard deviation / mean of the service time): the means use
  Pollaczek-Khinchine (exact for one worker) and the Allen-Cunneen approximation for c workers
  (``Wq(M/G/c) ~= Wq(M/M/c) * (1 + cv^2) / 2``). Percentiles are given only where they are exact (cv = 1).

Unstable queues (rho >= 1) are returned with ``stable=False`` and infinite waits, so a sweep can be plotted
up to the edge without special cases.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "QueueModel",
    "erlang_b",
    "erlang_c",
    "mm1",
    "mmc",
    "per_worker",
    "mgc_mean_wait",
    "compare",
    "fifo_replay",
]


def _check_positive(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, not {value!r}")


def _check_servers(servers: int) -> None:
    if not isinstance(servers, int) or isinstance(servers, bool) or not 1 <= servers <= 100_000:
        raise ValueError(f"servers must be an integer from 1 to 100000, not {servers!r}")


def _check_p(p: float) -> None:
    if not (isinstance(p, (int, float)) and 0 < p < 1):
        raise ValueError(f"percentile p must be a fraction between 0 and 1 (exclusive), not {p!r}")


def erlang_b(servers: int, offered_load: float) -> float:
    """Erlang's B formula (blocking probability of M/M/c/c), by the stable recursion
    B(0) = 1, B(k) = A B(k-1) / (k + A B(k-1))."""
    _check_servers(servers)
    if not (isinstance(offered_load, (int, float)) and offered_load >= 0 and math.isfinite(offered_load)):
        raise ValueError(f"offered_load must be a finite number >= 0, not {offered_load!r}")
    b = 1.0
    for k in range(1, servers + 1):
        b = offered_load * b / (k + offered_load * b)
    return b


def erlang_c(servers: int, offered_load: float) -> float:
    """Erlang's C formula: the probability that an arriving job must wait in an M/M/c queue.

    ``offered_load`` A = lambda/mu. Equals
    [A^c/c! * 1/(1-rho)] / [sum_{n<c} A^n/n! + A^c/c! * 1/(1-rho)], computed as
    c B / (c - A (1 - B)) from Erlang B (no factorials, so large c is fine). 1.0 when rho >= 1.
    """
    b = erlang_b(servers, offered_load)
    if offered_load >= servers:
        return 1.0
    return servers * b / (servers - offered_load * (1.0 - b))


def _exp_sum_sf(a: float, b: float, t: float) -> float:
    """P(X + Y > t) for independent X ~ Exp(a), Y ~ Exp(b)."""
    if abs(a - b) <= 1e-12 * max(a, b):
        return (1.0 + a * t) * math.exp(-a * t)
    return (b * math.exp(-a * t) - a * math.exp(-b * t)) / (b - a)


@dataclass(frozen=True)
class QueueModel:
    """The steady state of one queueing model (times in the unit of the rates).

    name            ``"M/M/c"`` (shared queue) or ``"c x M/M/1"`` (a queue per worker)
    servers         c
    arrival_rate    lambda: jobs per unit time, all workers together
    service_rate    mu: jobs per unit time of ONE worker
    utilization     rho = lambda / (c mu)
    prob_wait       probability that an arriving job waits (Erlang C; rho for M/M/1)
    mean_wait       Wq, the mean time in the queue
    mean_response   W = Wq + 1/mu
    stable          rho < 1 (otherwise the waits are infinite)
    """

    name: str
    servers: int
    arrival_rate: float
    service_rate: float
    utilization: float
    prob_wait: float
    mean_wait: float
    mean_response: float
    stable: bool
    # Exponential tail of the wait: P(Wq > t) = prob_wait * exp(-decay * t).
    _decay: float = 0.0

    def wait_sf(self, t: float) -> float:
        """P(Wq > t): the probability that a job waits longer than ``t`` before service starts."""
        if not self.stable:
            return 1.0
        if t < 0:
            return 1.0
        return self.prob_wait * math.exp(-self._decay * t)

    def response_sf(self, t: float) -> float:
        """P(W > t): the probability that a job's response time (wait + service) exceeds ``t``.

        With probability 1 - P(wait) the response is one exponential service; otherwise an Exp(decay)
        wait plus an independent Exp(mu) service (FIFO: a job's own service does not depend on its wait).
        """
        if not self.stable:
            return 1.0
        if t < 0:
            return 1.0
        mu = self.service_rate
        return (1.0 - self.prob_wait) * math.exp(-mu * t) + self.prob_wait * _exp_sum_sf(self._decay, mu, t)

    def wait_percentile(self, p: float) -> float:
        """The p-quantile of the wait (0 when at least a fraction p of jobs do not wait)."""
        _check_p(p)
        if not self.stable:
            return math.inf
        if 1.0 - p >= self.prob_wait:
            return 0.0
        return math.log(self.prob_wait / (1.0 - p)) / self._decay

    def response_percentile(self, p: float) -> float:
        """The p-quantile of the response time (solved by bisection on ``response_sf``)."""
        _check_p(p)
        if not self.stable:
            return math.inf
        return _solve_sf(self.response_sf, 1.0 - p, scale=1.0 / self.service_rate)

    def summary(self, percentiles: tuple[float, ...] = (0.5, 0.9, 0.99)) -> dict:
        """A plain dict: the fields above plus ``response_p50``, ``response_p90``, ... ."""
        out = {
            "name": self.name,
            "servers": self.servers,
            "arrival_rate": self.arrival_rate,
            "service_rate": self.service_rate,
            "utilization": self.utilization,
            "prob_wait": self.prob_wait,
            "mean_wait": self.mean_wait,
            "mean_response": self.mean_response,
            "stable": self.stable,
        }
        for p in percentiles:
            out[f"response_p{_pct_label(p)}"] = self.response_percentile(p)
        return out


def _pct_label(p: float) -> str:
    text = f"{p * 100:.6g}"
    return text.replace(".", "_")


def _solve_sf(sf, target: float, scale: float) -> float:
    """The t >= 0 with sf(t) = target, for a continuous decreasing survival function."""
    if sf(0.0) <= target:
        return 0.0
    hi = scale
    while sf(hi) > target:
        hi *= 2.0
        if hi > 1e12 * scale:  # pragma: no cover - only for absurd targets
            return math.inf
    lo = 0.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if sf(mid) > target:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * hi:
            break
    return 0.5 * (lo + hi)


def mmc(arrival_rate: float, service_rate: float, servers: int) -> QueueModel:
    """One shared FIFO queue served by ``servers`` workers (M/M/c, Erlang C)."""
    _check_positive("arrival_rate", arrival_rate)
    _check_positive("service_rate", service_rate)
    _check_servers(servers)
    a = arrival_rate / service_rate
    rho = a / servers
    name = "M/M/1" if servers == 1 else "M/M/c"
    if rho >= 1.0:
        return QueueModel(name, servers, arrival_rate, service_rate, rho, 1.0, math.inf, math.inf, False)
    c_prob = erlang_c(servers, a)
    decay = servers * service_rate - arrival_rate
    wq = c_prob / decay
    return QueueModel(name, servers, arrival_rate, service_rate, rho, c_prob, wq, wq + 1.0 / service_rate,
                      True, decay)


def mm1(arrival_rate: float, service_rate: float) -> QueueModel:
    """One worker, one queue (M/M/1): the response time is exponential with rate mu - lambda."""
    return mmc(arrival_rate, service_rate, 1)


def per_worker(arrival_rate: float, service_rate: float, servers: int) -> QueueModel:
    """``servers`` workers, each with its own queue and a 1/c share of the arrivals (c x M/M/1).

    The whole system's latency distribution is that of one M/M/1 queue at arrival rate lambda/c.
    """
    _check_servers(servers)
    one = mm1(arrival_rate / servers, service_rate)
    return QueueModel(
        "c x M/M/1" if servers > 1 else "M/M/1",
        servers,
        arrival_rate,
        service_rate,
        one.utilization,
        one.prob_wait,
        one.mean_wait,
        one.mean_response,
        one.stable,
        one._decay,
    )


def mgc_mean_wait(arrival_rate: float, service_rate: float, servers: int, cv: float) -> float:
    """Mean queueing time with general service times of coefficient of variation ``cv``.

    One worker: Pollaczek-Khinchine, exact: Wq = rho / (mu (1 - rho)) * (1 + cv^2) / 2.
    c workers: the Allen-Cunneen approximation Wq(M/M/c) * (1 + cv^2) / 2 (exact at cv = 1).
    ``cv`` = 0 is a fixed service time, 1 exponential, > 1 more spread than exponential.
    """
    if not (isinstance(cv, (int, float)) and 0 <= cv <= 100 and math.isfinite(cv)):
        raise ValueError(f"cv must be a number from 0 to 100, not {cv!r}")
    base = mmc(arrival_rate, service_rate, servers)
    if not base.stable:
        return math.inf
    return base.mean_wait * (1.0 + cv * cv) / 2.0


def compare(
    utilization: float,
    servers: int,
    mean_service: float = 1.0,
    cv: float = 1.0,
    percentiles: tuple[float, ...] = (0.5, 0.9, 0.99),
) -> dict:
    """Shared queue vs a queue per worker at one utilisation rho, in units of ``mean_service``.

    Returns ``{"utilization", "servers", "cv", "shared": {...}, "sharded": {...}}`` where each side has
    ``mean_wait`` and ``mean_response`` (for any cv: Allen-Cunneen / Pollaczek-Khinchine) and, when
    cv = 1, the exact ``response_p50`` ... percentiles (None otherwise).
    """
    _check_positive("mean_service", mean_service)
    if not (isinstance(utilization, (int, float)) and 0 < utilization < 10):
        raise ValueError(f"utilization must be a positive number below 10, not {utilization!r}")
    mu = 1.0 / mean_service
    lam = utilization * servers * mu
    out = {"utilization": utilization, "servers": servers, "cv": cv}
    sides = (("shared", mmc(lam, mu, servers), servers), ("sharded", per_worker(lam, mu, servers), 1))
    for side, model, k in sides:
        lam_k = lam if k == servers else lam / servers
        wq = mgc_mean_wait(lam_k, mu, k, cv)
        row = {"name": model.name, "mean_wait": wq, "mean_response": wq + mean_service}
        for p in percentiles:
            row[f"response_p{_pct_label(p)}"] = model.response_percentile(p) if cv == 1 else None
        out[side] = row
    return out


def fifo_replay(arrivals, services, servers: int, assignment=None) -> list[float]:
    """Response times of the given jobs in IDEAL first-come-first-served queues: the same arrival times and
    service times, with no wake-up, scheduling or hand-over cost at all.

    arrivals    job arrival times, in order (any unit; the results come back in it)
    services    each job's service time
    servers     c workers
    assignment  None: one shared line, any free worker takes its head (the replay of M/M/c);
                or each job's worker index (0 .. c-1): a line per worker (the replay of c x M/M/1)

    Set beside a live run, the replay separates the two gaps between measurement and formula: formula vs
    replay is the sample (these particular requests, a finite run), replay vs measurement is the real
    server's own cost.
    """
    _check_servers(servers)
    if len(arrivals) != len(services) or (assignment is not None and len(assignment) != len(arrivals)):
        raise ValueError("arrivals, services (and assignment) must have the same length")
    free = [0.0] * servers  # when each worker is next free
    out = []
    last = -math.inf
    for k, (t, s) in enumerate(zip(arrivals, services, strict=True)):
        if t < last:
            raise ValueError(f"arrivals must be in order: job {k} arrives at {t} after {last}")
        last = t
        if assignment is None:
            w = min(range(servers), key=free.__getitem__)  # the worker free first takes the head
        else:
            w = assignment[k]
            if not (isinstance(w, int) and 0 <= w < servers):
                raise ValueError(f"assignment[{k}] must be a worker index from 0 to {servers - 1}, not {w!r}")
        end = max(t, free[w]) + s
        free[w] = end
        out.append(end - t)
    return out


def model_ms(arrival_rate: float, service_s: float, workers: int) -> dict:
    """M/M/c and c x M/M/1 at these rates, in ms: mean wait, mean response and response percentiles."""
    out = {}
    for name, fn in (("mmc", mmc), ("per_worker", per_worker)):
        m = fn(arrival_rate, 1.0 / service_s, workers)
        row = {"mean_wait": m.mean_wait, "mean_response": m.mean_response}
        for p in (0.5, 0.9, 0.99):
            row[f"p{round(p * 100)}"] = m.response_percentile(p)
        out[name] = {k: (round(v * 1000.0, 4) if math.isfinite(v) else None) for k, v in row.items()}
    return out


def model_prediction(strategy: str, workers: int, arrival_rate: float, service_ms: float, cv: float) -> dict:
    """The formula's mean and percentiles (ms) at the given arrival rate (per s, all workers) and mean
    service time (percentiles only for cv=1). ``serve`` passes the nominal ones."""
    mu = 1e3 / service_ms  # per second
    if strategy == "shared":
        m = mmc(arrival_rate, mu, workers)
        wq = mgc_mean_wait(arrival_rate, mu, workers, cv)
    else:
        m = per_worker(arrival_rate, mu, workers)
        wq = mgc_mean_wait(arrival_rate / workers, mu, 1, cv)
    out = {"name": m.name, "mean": round((wq + 1 / mu) * 1e3, 4) if m.stable else None}
    for q, key in ((0.5, "p50"), (0.9, "p90"), (0.99, "p99")):
        out[key] = round(m.response_percentile(q) * 1e3, 4) if (m.stable and cv == 1) else None
    return out
