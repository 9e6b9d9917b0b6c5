"""The per-call cost of waiting: ``select``, ``poll`` and ``epoll`` watching n idle fds plus one ready fd.

Why the three differ (fs/select.c, fs/eventpoll.c):

- ``select()`` gets three bitmaps of ``FD_SETSIZE`` (1024) bits from user space, and on every call
  ``do_select()`` walks every fd number below ``nfds``, calls the file's ``->poll()`` and, until one fd is
  ready, hangs a wait-queue entry on each (``__pollwait()``), then takes them all down again
  (``poll_freewait()``). Cost per call: O(watched fds), and fd numbers >= ``FD_SETSIZE`` cannot be
  expressed at all (the ``fd_set`` is a fixed-size bitmask; Python raises ``ValueError``).
- ``poll()`` takes an array of ``struct pollfd`` instead of a bitmap (no numeric ceiling), but
  ``do_poll()`` does the same walk: O(watched fds) per call.
- ``epoll`` keeps the interest set in the kernel (``epoll_ctl()`` once per fd); each source's wake-up
  callback (``ep_poll_callback()``) puts its item on a ready list, and ``epoll_wait()`` only harvests that
  list (``ep_send_events()``): O(ready fds) per call, flat in the number watched.

The idle fds are both ends of ``ceil(n/2)`` socketpairs (nothing written, nothing readable); the ready
fd is one end of another socketpair with one byte in it, moved to the highest fd number (and registered
last) so that ``do_select()``/``do_poll()`` visit -- and hang a wait entry on -- every idle fd before they
find it: the per-call cost of a program that blocks with n quiet connections and one busy one. The fd
is never drained, so each call returns at once and no call needs a timeout.

The figures are what a Python program pays per call: they include CPython's conversion of the
arguments (``select.select`` turns its lists into ``fd_set`` bitmaps on every call, as C code must
too) and the result lists.
"""

from __future__ import annotations

import dataclasses
import os
import select
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from ...analysis.orders import FD_SETSIZE
from ...analysis.stats import summarize_us
from ...errors import ExperimentTimeout
from ...records import MultiplexResult
from ...system import kernel_release
from ...validate import check_deadline, check_int
from ..harness import Teardown, check_fd_room, fds_in_use, own, raised_fd_limit, require_linux, socket_pair

APIS = ("select", "poll", "epoll")
DEFAULT_FDS = (1, 10, 100, 300, 1000, 3000)
DEFAULT_CALLS = 201
MAX_FDS = 100_000
DEFAULT_DEADLINE = 60.0
EPOLL_MAXEVENTS = 16  # epoll_wait() expects maxevents > 0; one fd is ready per call


# ------------------------------------------------------------------------------------ small pure helpers


# ---------------------------------------------------------------------------------- RLIMIT_NOFILE


# ---------------------------------------------------------------------------------- FD_SETSIZE wall


def _dup_at_least(fd: int, lowest: int) -> int:
    """A close-on-exec duplicate of ``fd`` numbered ``lowest`` or higher (``fcntl(F_DUPFD_CLOEXEC)``).
    ``fcntl`` is imported here: it does not exist on Windows, where this module must still import."""
    import fcntl

    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, lowest)


@dataclass(frozen=True)
class FdSetsizeWall:
    """What happened when one fd numbered >= FD_SETSIZE was handed to select, poll and epoll.

    fd        the fd number used (the lowest free number >= 1024)
    select    ``"ok"`` or the exception it raised, e.g. ``"ValueError: filedescriptor out of range in
              select()"``
    poll      ``"ok: POLLIN"`` or the exception
    epoll     ``"ok: EPOLLIN"`` or the exception (``"not run: no epoll"`` without epoll)
    """

    fd: int
    fd_setsize: int
    select: str
    poll: str
    epoll: str
    kernel: str

    def to_dict(self) -> dict:
        return asdict(self)


def _outcome(call) -> str:
    try:
        return call()
    except (ValueError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"


def fd_setsize_wall(first_fd: int = FD_SETSIZE) -> FdSetsizeWall:
    """Put one readable socket at an fd numbered >= ``first_fd`` (default 1024) and ask ``select()``,
    ``poll()`` and ``epoll`` about it. ``select()`` refuses (its ``fd_set`` has no bit for it); the other
    two answer. Raises the soft fd limit if it is too low for that number, and restores it."""
    check_int("first_fd", first_fd, 0, MAX_FDS)
    require_linux(epoll=False)
    needed = max(3, first_fd + 2 - fds_in_use())
    check_fd_room(needed, "the FD_SETSIZE demo")
    with Teardown() as stack:
        stack.enter_context(raised_fd_limit(needed))
        a, b = socket_pair(stack)
        b.send(b"x")
        # F_DUPFD: "the lowest-numbered available fd greater than or equal to arg" (fcntl(2)).
        high = own(stack, lambda: _dup_at_least(a.fileno(), first_fd), os.close)

        sel = _outcome(lambda: "ok: readable" if select.select([high], [], [], 0)[0] else "ok: not ready")

        def _poll() -> str:
            p = select.poll()
            p.register(high, select.POLLIN)
            ev = p.poll(0)
            return "ok: POLLIN" if ev and ev[0][1] & select.POLLIN else "ok: not ready"

        def _epoll() -> str:
            with select.epoll() as ep:
                ep.register(high, select.EPOLLIN)
                ev = ep.poll(0, 1)
            return "ok: EPOLLIN" if ev and ev[0][1] & select.EPOLLIN else "ok: not ready"

        from ...system import has_epoll

        ep = _outcome(_epoll) if has_epoll() else "not run: no epoll here"
        return FdSetsizeWall(fd=high, fd_setsize=FD_SETSIZE, select=sel, poll=_outcome(_poll), epoll=ep,
                             kernel=kernel_release())


# ---------------------------------------------------------------------------------- the cost per call


def validate(fds, apis, calls, deadline) -> tuple[list[int], tuple[str, ...]]:
    """Check every parameter (``ValueError`` names the bad one) and return the sorted fd counts."""
    if isinstance(fds, (int, str)) or not isinstance(fds, Sequence) or not fds:
        raise ValueError(f"fds must be a non-empty list of integers from 1 to {MAX_FDS}, not {fds!r}")
    counts = sorted({check_int("fds", n, 1, MAX_FDS) for n in fds})
    if isinstance(apis, str) or not apis or any(a not in APIS for a in apis):
        raise ValueError(f"apis must be a non-empty list drawn from {', '.join(APIS)}, not {apis!r}")
    check_int("calls", calls, 5, 100_000)
    check_deadline(deadline)
    return counts, tuple(a for a in APIS if a in apis)


def _time_calls(call, calls: int) -> list[float]:
    clock = time.perf_counter_ns
    for _ in range(3):  # warm caches and CPython's own lazily built state
        call()
    out = []
    for _ in range(calls):
        t0 = clock()
        call()
        out.append((clock() - t0) / 1000.0)
    return out


def multiplex(
    fds: Sequence[int] = DEFAULT_FDS,
    apis: Sequence[str] = APIS,
    *,
    calls: int = DEFAULT_CALLS,
    deadline: float = DEFAULT_DEADLINE,
) -> MultiplexResult:
    """Time one call of ``select``/``poll``/``epoll`` watching ``n`` idle fds plus one ready fd, for
    each ``n`` in ``fds`` (1 to 100 000; within ``RLIMIT_NOFILE``: the soft limit is raised up to the
    hard one if needed, and restored). ``calls`` timed calls per point give the median, p90 and min in
    µs. ``select`` points whose fds would be numbered >= ``FD_SETSIZE`` are skipped, with a note."""
    counts, apis = validate(fds, apis, calls, deadline)
    require_linux(epoll="epoll" in apis)
    biggest = counts[-1] + 1 + (counts[-1] % 2)
    check_fd_room(biggest + 2, f"multiplex with {counts[-1]} fds")
    points: list[dict] = []
    notes: list[str] = []
    t_start = time.monotonic()
    with raised_fd_limit(biggest + 2):
        for n in counts:
            if time.monotonic() - t_start > deadline:
                raise ExperimentTimeout(f"multiplex passed its deadline of {deadline:g} s at {n} fds")
            _measure_point(n, apis, calls, points, notes)
    params = {"calls": calls, "ready_fds": 1, "idle": "socketpair ends", "epoll_maxevents": EPOLL_MAXEVENTS}
    return MultiplexResult(
        experiment="multiplex",
        backend="real",
        points=points,
        params=params,
        kernel=kernel_release(),
        duration_s=round(time.monotonic() - t_start, 4),
        notes=notes or None,
    )


def _measure_point(n: int, apis: tuple[str, ...], calls: int, points: list, notes: list) -> None:
    with Teardown() as stack:
        idle: list[int] = []
        while len(idle) < n:
            a, b = socket_pair(stack)
            idle.extend((a.fileno(), b.fileno()))
        idle = idle[:n]
        r, w = socket_pair(stack)
        w.send(b"!")
        # The ready fd gets the highest number (F_DUPFD: lowest free >= arg) so that do_select() scans
        # every idle fd first, and it is registered last for poll: every idle fd gets its wait entry.
        ready = own(stack, lambda: _dup_at_least(r.fileno(), max(idle) + 1), os.close)
        watched = [*idle, ready]

        for api in apis:
            if api == "select":
                if ready >= FD_SETSIZE:
                    notes.append(
                        f"select skipped at {n} fds: the fds reach number {ready}, and an fd_set holds "
                        f"only 0..{FD_SETSIZE - 1} (FD_SETSIZE)"
                    )
                    continue
                samples = _time_calls(lambda: select.select(watched, [], []), calls)
            elif api == "poll":
                p = select.poll()
                for fd in watched:  # CPython builds the pollfd array in registration order
                    p.register(fd, select.POLLIN)
                samples = _time_calls(p.poll, calls)
            else:
                ep = stack.enter_context(select.epoll())
                for fd in watched:
                    ep.register(fd, select.EPOLLIN)
                samples = _time_calls(lambda ep=ep: ep.poll(-1, EPOLL_MAXEVENTS), calls)
            points.append({"api": api, "fds": n, "us_per_call": summarize_us(samples)})


def reference_runs() -> list[MultiplexResult]:
    """The records ``epollkit record`` stores in ``data/reference/multiplex.json``: the default sweep,
    with the FD_SETSIZE demo in ``params["fd_setsize_wall"]`` (so notebooks can show it recorded)."""
    result = multiplex()
    wall = fd_setsize_wall().to_dict()
    return [dataclasses.replace(result, params={**(result.params or {}), "fd_setsize_wall": wall})]
