"""A model of io_uring accept: who gets each connection, and how many threads each connection wakes.

The listener has one wait queue. Every armed io_uring accept is an *exclusive* entry on it
(``.poll_exclusive`` in io_uring/opdef.c -> ``EPOLLEXCLUSIVE`` in ``io_arm_poll_handler()`` ->
``add_wait_queue_exclusive()``, appended at the tail, in io_uring/poll.c). A connection wakes the first
entry from the head and no other (``__wake_up_common`` with ``nr_exclusive = 1``; ``io_poll_wake()``
returns 1 even when the request is already busy). Then:

- multishot (``IORING_ACCEPT_MULTISHOT``): the entry is never unlinked (no ``EPOLLONESHOT``), so the
  head entry takes every connection -- while its thread is busy too: the completion is queued as
  task_work for that ring, not handed to an idle one -- *until that ring's CQ is full*: ``io_accept()``
  posts each connection with ``io_req_post_cqe(..., IORING_CQE_F_MORE)``, which does not overflow; when
  it fails, the fd rides on a terminal CQE without ``IORING_CQE_F_MORE`` and the request ends. The
  worker re-arms it when it reaches that CQE -- at the tail, so the next ring becomes the head;
- single-shot: ``io_poll_wake()`` unlinks the ONESHOT entry; the worker submits a new accept when it is
  done with the connection, and ``io_accept()`` first tries a non-blocking accept (taking a queued
  connection at once, with no sleep), else arms again -- at the tail. FIFO rotation: round robin.

Threads that wait on *one shared ring* sleep on its ``ctx->cq_wait``; ``io_cqring_wake()`` ->
``__io_wq_wake()`` calls ``__wake_up(..., nr_exclusive = 0, ...)``: every waiter whose
``io_should_wake()`` holds is woken by each CQE -- a herd of ``threads`` per connection.

Pure: no sockets, no io_uring. Times are in seconds; arrivals are evenly paced at ``rate``.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

MODES = ("multishot", "single-shot")


@dataclass(frozen=True)
class UringPrediction:
    """The model's answer for one configuration (``accept_order`` in worker indices)."""

    mode: str
    workers: int
    shared_ring: bool
    connections: int
    accept_order: list[int]
    shares: list[float]
    max_share: float
    wakeups_per_connection: float
    rule: str
    rearms: int = 0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _check(mode, workers, connections, rate, work_ms, arm_order):
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    for name, v, lo, hi in (("workers", workers, 1, 4096), ("connections", connections, 1, 1_000_000)):
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise ValueError(f"{name} must be an integer from {lo} to {hi}, not {v!r}")
    if rate is not None and not (isinstance(rate, (int, float)) and rate > 0):
        raise ValueError(f"rate must be a number > 0 (connections per second) or None, not {rate!r}")
    if not (isinstance(work_ms, (int, float)) and 0 <= work_ms <= 1000):
        raise ValueError(f"work_ms must be a number from 0 to 1000, not {work_ms!r}")
    order = list(range(workers)) if arm_order is None else list(arm_order)
    if sorted(order) != list(range(workers)):
        raise ValueError(f"arm_order must be a permutation of 0..{workers - 1}, not {arm_order!r}")
    return order


def predict(mode: str, workers: int, connections: int, *, rate: float | None = 400.0,
            work_ms: float = 0.0, arm_order=None, shared_ring: bool = False,
            cq_entries: int = 128) -> UringPrediction:
    """Who accepts each connection, by the wait-queue rules above.

    arm_order  the order in which the workers' first accepts were armed (default 0, 1, 2, ...); the lab
               reports it as ``params["arm_order"]``
    rate       connections per second (evenly spaced); None = a burst (all at time 0)
    work_ms    how long a worker is busy with each connection before it re-submits (single-shot)
    cq_entries completions a ring's CQ holds (the lab's rings: 64 SQ entries -> 128 CQ entries); a
               multishot ring that falls this far behind loses its place (see the module docstring)
    """
    order = _check(mode, workers, connections, rate, work_ms, arm_order)
    if shared_ring:
        # one ring: the accepted fd lands in the shared CQ; which thread reaps it is a race the model
        # does not decide. What it does decide: every waiting thread is woken by each CQE.
        return UringPrediction(mode, workers, True, connections, [], [1 / workers] * workers,
                               1 / workers, float(workers),
                               "shared ring: every CQE wakes every thread in io_cqring_wait (nr_exclusive 0)")
    rearms = 0
    if mode == "multishot":
        accepts, rearms = _multishot(order, connections, rate, work_ms / 1000.0, cq_entries)
        rule = (f"multishot: the first armed entry (worker {order[0]}) stays at the head and takes every "
                "connection until its CQ is full")
        if rearms:
            rule += f"; {rearms} full CQ(s) sent the entry to the tail"
    else:
        accepts = _single_shot(order, connections, rate, work_ms / 1000.0)
        rule = "single-shot: the woken entry is unlinked and re-armed at the tail -- round robin in arm order"
    counts = [0] * workers
    for w in accepts:
        counts[w] += 1
    shares = [c / connections for c in counts]
    # light load: one wake-up per connection (the woken ring's task); a connection a busy worker takes
    # at its re-submit (non-blocking io_accept) costs no wake-up at all
    woke = sum(1 for _ in accepts) if rate is not None else min(connections, workers)
    return UringPrediction(mode, workers, False, connections, accepts, shares, max(shares),
                           round(woke / connections, 4), rule, rearms)


def _multishot(order, connections, rate, work_s, cq_entries):
    """Discrete events for multishot rings. A ring reaps its whole CQ when idle and works through the
    batch; connections the head ring takes meanwhile wait in its CQ. The (cq_entries + 1)-th waiting one
    arrives on a terminal CQE: the entry leaves the queue and re-arms at the tail once the worker gets
    to that CQE (taking whatever the listener queued meanwhile, as ``io_accept()`` loops)."""
    gap = 0.0 if rate is None else 1.0 / rate
    queue = list(order)
    cq = {w: 0 for w in order}  # completions waiting in each ring's CQ
    terminal_in_cq = set()  # rings whose CQ holds their terminal CQE
    done_at: dict[int, float] = {}  # busy rings: when their current batch is finished
    rearm_pending: set[int] = set()  # rings whose batch being worked ends with the terminal CQE
    backlog, rearms, out = 0, 0, []
    events = [(k * gap, 1, k) for k in range(connections)]  # (time, kind 0 = batch done / 1 = arrival)
    heapq.heapify(events)

    def take(w, t):
        out.append(w)
        if cq[w] < cq_entries:
            cq[w] += 1
        else:  # io_req_post_cqe() failed: the fd goes out on the terminal CQE
            cq[w] += 1
            terminal_in_cq.add(w)
            queue.remove(w)
        if w not in done_at:
            reap(w, t)

    def reap(w, t):
        n = cq[w]
        cq[w] = 0
        if w in terminal_in_cq:
            terminal_in_cq.discard(w)
            rearm_pending.add(w)
        done_at[w] = t + n * work_s
        heapq.heappush(events, (done_at[w], 0, w))

    while events:
        t, kind, x = heapq.heappop(events)
        if kind == 1:  # arrival
            if queue:
                take(queue[0], t)
            else:
                backlog += 1
            continue
        w = x  # ring w finished its batch
        del done_at[w]
        if w in rearm_pending:
            rearm_pending.discard(w)
            rearms += 1
            queue.append(w)
            while backlog and w in queue:  # the re-armed accept loops over what the listener queued
                backlog -= 1
                take(w, t)
        if cq[w] and w not in done_at:
            reap(w, t)
    return out, rearms


def _single_shot(order: list[int], connections: int, rate: float | None, work_s: float) -> list[int]:
    """Discrete events: arrivals every 1/rate s; an idle worker's entry waits in FIFO ``queue``; a busy
    worker, when done, takes a queued connection at once (io_accept non-blocking) or re-arms at the tail."""
    gap = 0.0 if rate is None else 1.0 / rate
    queue = list(order)  # armed entries, head first
    backlog = 0  # connections in the accept queue that no armed entry has taken
    busy: list[tuple[float, int, int]] = []  # (done_at, seq, worker)
    out: list[int] = []
    seq = 0
    for k in range(connections):
        t = k * gap
        while busy and busy[0][0] <= t:
            done_at, _s, w = heapq.heappop(busy)
            if backlog:
                backlog -= 1
                out.append(w)
                seq += 1
                heapq.heappush(busy, (done_at + work_s, seq, w))
            else:
                queue.append(w)
        if queue:
            w = queue.pop(0)
            out.append(w)
            seq += 1
            heapq.heappush(busy, (t + work_s, seq, w))
        else:
            backlog += 1
    while backlog:
        done_at, _s, w = heapq.heappop(busy)
        backlog -= 1
        out.append(w)
        seq += 1
        heapq.heappush(busy, (done_at + work_s, seq, w))
    return out


def same_up_to_renaming(a, b) -> bool:
    """True when orders ``a`` and ``b`` are equal after renaming workers one-to-one (pure)."""
    if len(a) != len(b):
        return False
    fwd, back = {}, {}
    for x, y in zip(a, b, strict=True):
        if fwd.setdefault(x, y) != y or back.setdefault(y, x) != x:
            return False
    return True


def transitions_agreeing(measured, predicted) -> int:
    """How many hand-overs ``measured[k] -> measured[k+1]`` also occur as a hand-over in ``predicted``
    (pure). Unlike position-by-position equality, one late re-submit costs a couple of hand-overs, not
    every later position."""
    allowed = set(zip(predicted, predicted[1:], strict=False))
    return sum(1 for pair in zip(measured, measured[1:], strict=False) if pair in allowed)


def full_rounds(order, n: int) -> float:
    """Fraction of consecutive rounds of ``n`` connections (0..n-1, n..2n-1, ...) in which each of the
    ``n`` workers took exactly one: 1.0 for any round robin, whatever its order (pure)."""
    rounds = [order[i:i + n] for i in range(0, len(order) - n + 1, n)]
    return sum(sorted(r) == list(range(n)) for r in rounds) / max(1, len(rounds))
