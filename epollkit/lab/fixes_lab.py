"""The fixes, measured: wake order (FIFO blocking accept, LIFO shared epoll, first-registered
``EPOLLEXCLUSIVE``), when ``EPOLLEXCLUSIVE`` starts to spread the load, the rotation remedy and its
``epoll_ctl`` bill, ET + ``EPOLLONESHOT``'s price, and the combinations the kernel refuses.

Every experiment here is ``epollkit.lab.accept`` with chosen parameters (the same workers, the same
record); the sweeps tag each record's ``params`` with the swept value (``sweep``, ``rate``/``work_ms``/
``rotate_every``), so a list of records plots and records like any other.

Why the orders are what they are (kernel functions, see ``reference/kernel-semantics.md``):

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
import errno
import os
import resource
import select
import time
from collections.abc import Sequence

from ..results import AcceptResult, EpollRefusalResult
from ..system import kernel_release
from ..validate import check_each, check_number
from ._harness import require_linux
from .accept_lab import DEFAULT_DEADLINE, accept
from .accept_lab import validate as _check_accept

ORDER_STRATEGIES = ("blocking", "epoll-lt", "epoll-et", "epoll-oneshot", "epoll-exclusive")
LIGHT_RATE = 50.0  # connections/s: 20 ms apart, each accepted long before the next arrives


def _tag(r: AcceptResult, **params) -> AcceptResult:
    return dataclasses.replace(r, params={**(r.params or {}), **params})


# ------------------------------------------------------------------------------------ wake order


def wake_order(strategy: str, workers: int = 3, connections: int = 6, *,
               rate: float = LIGHT_RATE) -> AcceptResult:
    """``accept_order`` at light load (by default 3 workers x 6 connections, Cloudflare's setup)."""
    return _tag(accept(strategy, workers, connections, rate=rate), sweep="order")


def same_pattern(a: Sequence[int], b: Sequence[int]) -> bool:
    """Pure: True when ``a`` and ``b`` are the same order up to renaming the workers (a one-to-one map
    of labels). Cloudflare's forked workers fell asleep in the order 2, 1, 0; ours in 0, 1, 2: both
    round robins read ``2 1 0 2 1 0`` and ``0 1 2 0 1 2``."""
    if len(a) != len(b):
        return False
    fwd: dict = {}
    back: dict = {}
    for x, y in zip(a, b, strict=True):
        if fwd.setdefault(x, y) != y or back.setdefault(y, x) != x:
            return False
    return True


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
    check_each("work_ms", work_ms, lambda n, w: check_number(n, w, 0, 1000))
    _check_accept(strategy, workers, connections, rate, DEFAULT_DEADLINE, 16)
    out = []
    for w in work_ms:
        r = accept(strategy, workers, connections, rate=rate,
                   work=_sleeper(w / 1000.0) if w > 0 else None)
        out.append(_tag(r, sweep="work", work_ms=w))
    return out


def rate_sweep(strategy: str, rates: Sequence[float | None] = (200.0, 1000.0, 5000.0, None), *,
               workers: int = 4, connections: int = 100) -> list[AcceptResult]:
    """``max_share`` against the connection rate (None = a burst, as fast as the client can connect).
    Every rate is checked before the first run (0 is refused, not taken as 1/s)."""
    check_each("rates", rates, lambda _n, r: _check_accept(strategy, workers, connections, r,
                                                           DEFAULT_DEADLINE, 16))
    out = []
    for rate in rates:
        r = accept(strategy, workers, connections, rate=1.0 if rate is None else rate, burst=rate is None)
        out.append(_tag(r, sweep="rate"))
    return out


def rotate_sweep(ks: Sequence[int | None] = (None, 64, 16, 4, 1), *, workers: int = 4,
                 connections: int = 200, rate: float = 400.0) -> list[AcceptResult]:
    """``epoll-exclusive-rotate`` at each K (None = plain ``epoll-exclusive``): ``max_share`` and the
    ``epoll_ctl`` calls it costs (``params["epoll_ctl"]``; 2 per rotation: DEL + ADD)."""
    check_each("ks", ks, lambda _n, k: _check_accept("epoll-exclusive", workers, connections, rate,
                                                     DEFAULT_DEADLINE, 16 if k is None else k))
    out = []
    for k in ks:
        if k is None:
            r = accept("epoll-exclusive", workers, connections, rate=rate)
        else:
            r = accept("epoll-exclusive-rotate", workers, connections, rate=rate, rotate_every=k)
        out.append(_tag(r, sweep="rotate", rotate_every=k))
    return out


# ---------------------------------------------------------------------------------- ONESHOT price


def max_concurrent_accepts(trace: Sequence[tuple]) -> int:
    """Pure: the largest number of ``accept()`` calls in flight at once, from an ``accept(trace=...)``
    list of ``(worker, peer_port, t_call, t_return, t_done)``. Ends sort before starts at equal times."""
    edges = []
    for _w, _port, t_call, t_return, _done in trace:
        edges.append((t_call, 1))
        edges.append((t_return, -1))
    edges.sort(key=lambda e: (e[0], e[1]))
    now = best = 0
    for _t, d in edges:
        now += d
        best = max(best, now)
    return best


def _cpu_s() -> float:
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
    check_each("strategies", strategies, lambda _n, s: _check_accept(s, workers, connections, rate,
                                                                     DEFAULT_DEADLINE, 16))
    out = []
    for s in strategies:
        trace: list = []
        cpu0 = _cpu_s()
        r = accept(s, workers, connections, rate=1.0 if rate is None else rate, burst=rate is None,
                   trace=trace)
        cpu = _cpu_s() - cpu0
        ctl = (r.params or {}).get("epoll_ctl")
        out.append(_tag(
            r, sweep="oneshot",
            epoll_ctl_per_connection=None if ctl is None else round(ctl / r.connections, 4),
            throughput=round(r.accepted / r.duration_s, 1) if r.duration_s else None,
            cpu_us_per_connection=round(cpu / r.connections * 1e6, 2),
            max_concurrent_accepts=None if s == "blocking" else max_concurrent_accepts(trace),
        ))
    return out


# ------------------------------------------------------------------------------------- refusals


def refusals() -> EpollRefusalResult:
    """Ask the kernel for the combinations ``do_epoll_ctl()`` refuses, and one it accepts, on a pipe.

    Each case is ``{"case", "call", "errno"}`` with ``errno`` the errno name or ``"ok"``.
    """
    require_linux(flag="EPOLLEXCLUSIVE")
    EX, IN = select.EPOLLEXCLUSIVE, select.EPOLLIN
    cases = []

    def attempt(case: str, call: str, fn) -> None:
        try:
            fn()
            result = "ok"
        except OSError as exc:
            result = errno.errorcode.get(exc.errno, str(exc.errno))
        cases.append({"case": case, "call": call, "errno": result})

    r, w = os.pipe()
    try:
        with select.epoll() as ep, select.epoll() as inner:
            attempt("EPOLLEXCLUSIVE | EPOLLONESHOT", "register(fd, EPOLLIN|EPOLLEXCLUSIVE|EPOLLONESHOT)",
                    lambda: ep.register(r, IN | EX | select.EPOLLONESHOT))
            attempt("EPOLLEXCLUSIVE | EPOLLET (allowed)", "register(fd, EPOLLIN|EPOLLEXCLUSIVE|EPOLLET)",
                    lambda: ep.register(r, IN | EX | select.EPOLLET))
            attempt("modify() of an exclusive registration", "modify(fd, EPOLLIN)",
                    lambda: ep.modify(r, IN))
            attempt("modify() asking for EPOLLEXCLUSIVE", "modify(fd, EPOLLIN|EPOLLEXCLUSIVE)",
                    lambda: ep.modify(r, IN | EX))
            attempt("EPOLLEXCLUSIVE on an epoll fd", "register(epoll_fd, EPOLLIN|EPOLLEXCLUSIVE)",
                    lambda: ep.register(inner.fileno(), IN | EX))
            attempt("unregister + register (the rotation's way)", "unregister(fd); register(fd, ...)",
                    lambda: (ep.unregister(r), ep.register(r, IN | EX)))
    finally:
        os.close(r)
        os.close(w)
    return EpollRefusalResult(experiment="epoll-refusals", backend="real", cases=cases,
                              kernel=kernel_release())


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
    "ORDER_STRATEGIES", "max_concurrent_accepts", "oneshot_price", "rate_sweep", "refusals",
    "reference_runs", "rotate_sweep", "same_pattern", "wake_order", "work_sweep",
]


# ------------------------------------------------------------------------------ the model's view


def model_max_accepting(strategy: str, workers: int = 3, connections: int = 3, *,
                        budget: int = 200_000) -> dict:
    """Pure (the model, no sockets): over EVERY reachable state of ``epollkit.sim``'s accept
    experiment, the most threads that are at once between "my wait returned" and "my accept() is
    done" (a worker program's ``accept`` phase). Returns ``{"strategy", "workers", "connections",
    "states", "max_accepting"}``; raises ``StateBudgetExceeded`` past ``budget`` states (a shared
    level-triggered instance at 3 x 3 has over a million). ET + ONESHOT keeps it at 1:
    ``ep_send_events()`` disarms the item when it reports it, and only the thread's own
    ``EPOLL_CTL_MOD`` re-arms it."""
    from ..sim import StateBudgetExceeded, accept_setup
    from ..sim.machine import Machine

    setup = accept_setup(strategy, workers, connections)
    m = Machine(setup)
    seen = {setup.initial.key()}
    todo = [setup.initial]
    best = 0
    while todo:
        st = todo.pop()
        best = max(best, sum(1 for t in st.threads.values() if t.local[0] == "accept"))
        for move in m.enabled(st):
            nxt = m.apply(st, move)
            k = nxt.key()
            if k not in seen:
                seen.add(k)
                todo.append(nxt)
                if len(seen) > budget:
                    raise StateBudgetExceeded(f"{strategy} x{workers}, {connections} connections has "
                                              f"more than {budget} states; use fewer")
    return {"strategy": strategy, "workers": workers, "connections": connections, "states": len(seen),
            "max_accepting": best}


# ------------------------------------------------------------------------------- notebook plumbing


def live_or_recorded_list(run, name: str, *, sweep: str | None = None, **match) -> list:
    """``run()`` (a list of records) when live experiments can run here; otherwise the recorded
    records of ``data/reference/<name>.json`` whose keys equal ``match`` (and, if given, whose
    ``params["sweep"]`` is ``sweep``), after printing plainly that they are recorded, where and when."""
    from .. import data
    from ..notebook import live

    if live():
        return list(run())
    found = [r for r in data.find(name, **match)
             if sweep is None or (getattr(r, "params", None) or {}).get("sweep") == sweep]
    print(f"NOT LIVE: showing {len(found)} recorded result(s), {data.describe(name)}.")
    return found
