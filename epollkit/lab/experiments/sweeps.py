"""The fixes, measured: wake order (FIFO blocking accept, LIFO shared epoll, first-registered
``EPOLLEXCLUSIVE``), when ``EPOLLEXCLUSIVE`` starts to spread the load, the rotation remedy and its
``epoll_ctl`` bill, ET + ``EPOLLONESHOT``'s price, and the combinations the kernel refuses.

Every experiment here is ``epollkit.lab.accept`` with chosen parameters (the same workers, the same
record); the sweeps tag each record's ``params`` with the swept value (``sweep``, ``rate``/``work_ms``/
``rotate_every``), so a list of records plots and records like any other.

Why the orders are what they are (kernel functions, see docs/kernel-rules.md):

- ``blocking``: ``inet_csk_wait_for_connect()`` queues sleepers at the *tail* with
  ``prepare_to_wait_exclusive()``; a connection wakes the head: the longest sleeper -- FIFO, a round
  robin in the order the workers fell asleep.
- shared epoll (``epoll-lt``, ``epoll-et``, ``epoll-oneshot``): ``ep_poll()`` queues an
  ``epoll_wait()`` sleeper at the *head* of ``ep->wq`` (``__add_wait_queue_exclusive``); a wake-up takes
  the head: the most recent sleeper -- LIFO, the worker that just finished goes first again.
- ``epoll-exclusive``: ``ep_ptable_queue_proc()`` appends each instance's entry at the tail of the
  listener's queue in ``EPOLL_CTL_ADD`` order, and ``__wake_up_common()`` walks from the head: the
  first-registered *idle* worker wins every time.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

from ...analysis.orders import max_concurrent_accepts
from ...records import AcceptResult
from ...strategies import ACCEPT
from .accept import accept
from .refusals import refusals

ORDER_STRATEGIES = ("blocking", "epoll-lt", "epoll-et", "epoll-oneshot", "epoll-exclusive")
LIGHT_RATE = 50.0  # connections/s: 20 ms apart, each accepted long before the next arrives


def _tag(r: AcceptResult, **params) -> AcceptResult:
    return dataclasses.replace(r, params={**(r.params or {}), **params})


# ------------------------------------------------------------------------------------ wake order


def wake_order(strategy: str, workers: int = 3, connections: int = 6, *,
               rate: float = LIGHT_RATE) -> AcceptResult:
    """``accept_order`` at light load (by default 3 workers x 6 connections, Cloudflare's setup)."""
    return _tag(accept(strategy, workers, connections, rate=rate), sweep="order")


# ----------------------------------------------------------------------------------- load sweeps


def _sleeper(seconds: float):
    def work(_worker: int, _n: int) -> None:
        time.sleep(seconds)  # a sleep releases the GIL: work in one worker does not stall the others

    return work


def work_sweep(strategy: str, work_ms: Sequence[float] = (0.0, 0.5, 1.0, 2.5, 5.0), *,
               workers: int = 4, connections: int = 120, rate: float = 800.0) -> list[AcceptResult]:
    """``max_share`` as each connection keeps its worker busy for ``work_ms`` (a sleep) at a fixed rate.

    ``EPOLLEXCLUSIVE`` spreads only when worker 0 is still busy when the next connection arrives, i.e.
    once ``work_ms`` approaches the gap between arrivals (1000 / ``rate`` ms)."""
    for w in work_ms:
        if not isinstance(w, (int, float)) or isinstance(w, bool) or not 0 <= w <= 1000:
            raise ValueError(f"work_ms values must be numbers from 0 to 1000, not {w!r}")
    out = []
    for w in work_ms:
        r = accept(strategy, workers, connections, rate=rate,
                   work=_sleeper(w / 1000.0) if w > 0 else None)
        out.append(_tag(r, sweep="work", work_ms=w))
    return out


def rate_sweep(strategy: str, rates: Sequence[float | None] = (200.0, 1000.0, 5000.0, None), *,
               workers: int = 4, connections: int = 100) -> list[AcceptResult]:
    """``max_share`` against the connection rate (None = a burst, as fast as the client can connect)."""
    out = []
    for rate in rates:
        r = accept(strategy, workers, connections, rate=rate or 1.0, burst=rate is None)
        out.append(_tag(r, sweep="rate"))
    return out


def rotate_sweep(ks: Sequence[int | None] = (None, 64, 16, 4, 1), *, workers: int = 4,
                 connections: int = 200, rate: float = 400.0) -> list[AcceptResult]:
    """``epoll-exclusive-rotate`` at each K (None = plain ``epoll-exclusive``): ``max_share`` and the
    ``epoll_ctl`` calls it costs (``params["epoll_ctl"]``; 2 per rotation: DEL + ADD)."""
    out = []
    for k in ks:
        if k is None:
            r = accept("epoll-exclusive", workers, connections, rate=rate)
        else:
            r = accept("epoll-exclusive-rotate", workers, connections, rate=rate, rotate_every=k)
        out.append(_tag(r, sweep="rotate", rotate_every=k))
    return out


# ---------------------------------------------------------------------------------- ONESHOT price


def _cpu_s() -> float:
    import resource  # Unix only: imported where it is used

    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def oneshot_price(strategies: Sequence[str] = ("blocking", "epoll-lt", "epoll-exclusive", "epoll-oneshot"),
                  *, workers: int = 4, connections: int = 1000,
                  rate: float | None = 5000.0) -> list[AcceptResult]:
    """Each strategy at a high paced rate (None = a burst). ``params`` gain:

    - ``epoll_ctl_per_connection`` (None for strategies without epoll);
    - ``throughput``: connections accepted per second of the run (capped by the client's pace);
    - ``cpu_us_per_connection``: this process's CPU time (user + system, ``getrusage(RUSAGE_SELF)``:
      the workers, plus the run's fixed set-up and teardown) per connection -- the client runs in
      another process and is not counted;
    - ``max_concurrent_accepts``: the most ``accept()`` calls in flight at once (None for ``blocking``,
      whose accept() calls are its waits: every idle worker is inside one).
    """
    out = []
    for s in strategies:
        trace: list = []
        cpu0 = _cpu_s()
        r = accept(s, workers, connections, rate=rate or 1.0, burst=rate is None, trace=trace)
        cpu = _cpu_s() - cpu0
        ctl = (r.params or {}).get("epoll_ctl")
        out.append(_tag(
            r, sweep="oneshot",
            epoll_ctl_per_connection=None if ctl is None else round(ctl / r.connections, 4),
            throughput=round(r.accepted / r.duration_s, 1) if r.duration_s else None,
            cpu_us_per_connection=round(cpu / r.connections * 1e6, 2),
            max_concurrent_accepts=None if ACCEPT[s].wait == "accept" else max_concurrent_accepts(trace),
        ))
    return out


# ------------------------------------------------------------------------------------- refusals


# ------------------------------------------------------------------------------------ recordings


def reference_runs() -> list:
    """What ``epollkit record`` stores in ``data/reference/accept_fixes.json``."""
    out: list = [wake_order(s) for s in ORDER_STRATEGIES]
    out += [wake_order(s, 4, 100) for s in ("blocking", "epoll-et", "epoll-exclusive")]
    out.append(_tag(accept("epoll-exclusive-rotate", 4, 100, rate=LIGHT_RATE * 4, rotate_every=4),
                    sweep="order"))
    for s in ("blocking", "epoll-et", "epoll-exclusive"):
        out += work_sweep(s)
        out += rate_sweep(s)
    out += rotate_sweep()
    out += oneshot_price()
    out += [_tag(accept(s, 4, 400, rate=2000), sweep="cbpf")
            for s in ("reuseport-cbpf-random", "reuseport-cbpf-cpu")]
    out.append(refusals())
    return out


__all__ = [
    "ORDER_STRATEGIES", "oneshot_price", "rate_sweep", "reference_runs", "rotate_sweep", "wake_order",
    "work_sweep",
]


# ------------------------------------------------------------------------------ the model's view
