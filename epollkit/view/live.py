"""Live or recorded, written once: run the experiment on this kernel, or show what was recorded and say so.

Every notebook cell and widget that measures goes through here. Without epoll (macOS, Windows,
``EPOLLKIT_NO_EPOLL=1``), or when the live run raises :class:`UnsupportedPlatform` (e.g. a kernel
without ``EPOLLEXCLUSIVE``), :func:`recorded` returns the records of ``data/reference/<name>.json``
that match, and prints ONE line: ``NOT LIVE (why): showing N recorded result(s), recorded on Linux
<release> (...) on <date>, file data/reference/<name>.json.``
"""

from __future__ import annotations

from collections.abc import Callable

from .. import data, system
from ..errors import UnsupportedPlatform


def live() -> bool:
    """True when live experiments can run on this machine."""
    return system.has_epoll()


def recorded(name: str, *, why: str = "", sweep: str | None = None, nearest: Callable | None = None,
             where: Callable | None = None, **match) -> list:
    """The recorded records of ``name`` whose keys equal ``match`` (and whose ``params["sweep"]`` is
    ``sweep``, and for which ``where(record)`` holds), after printing the one NOT LIVE line. ``nearest``:
    a key function; only the record with the smallest key is returned (a widget's "nearest run")."""
    found = [r for r in data.find(name, **match)
             if (sweep is None or (getattr(r, "params", None) or {}).get("sweep") == sweep)
             and (where is None or where(r))]
    if nearest is not None and found:
        found = [min(found, key=nearest)]
    what = "the nearest recorded result" if nearest is not None else f"{len(found)} recorded result(s)"
    print(f"NOT LIVE{f' ({why})' if why else ''}: showing {what}, {data.describe(name)}.")
    return found


def _why_not_live() -> str:
    caps = system.capabilities()
    return "EPOLLKIT_NO_EPOLL is set" if caps["epoll_hidden"] else "no epoll here"


def live_or_recorded(run: Callable[[], object], name: str, **match):
    """Run the live experiment, or return the recorded results of ``name`` matching ``match`` and say
    plainly that they are recorded, where and when. Returns a record (live) or a list of records
    (recorded; one record if exactly one matches): the caller's plot takes either."""
    why = ""
    if live():
        try:
            return run()
        except UnsupportedPlatform as exc:  # e.g. epoll but no EPOLLEXCLUSIVE (Linux < 4.5)
            why = str(exc)
    found = recorded(name, why=why, **match)
    return found[0] if len(found) == 1 else found


def live_or_recorded_list(run: Callable[[], list], name: str, *, sweep: str | None = None, **match) -> list:
    """``run()`` (a list of records) when live experiments can run here; otherwise the recorded
    records of ``name`` matching ``match`` (and ``sweep``), saying so."""
    why = ""
    if live():
        try:
            return list(run())
        except UnsupportedPlatform as exc:
            why = str(exc)
    return recorded(name, why=why, sweep=sweep, **match)


def accept_sweep(strategies, workers=(1, 2, 4, 8, 16), *, connections: int = 100, rate: float = 500.0):
    """The live accept experiment for every (strategy, workers) pair -- or, for the strategies that
    cannot run here, the recorded results of those pairs, saying so."""
    out, missing, why = [], [], ""
    if live():
        from ..lab import accept

        for s in strategies:
            try:
                out += [accept(s, n, connections, rate=rate) for n in workers]
            except UnsupportedPlatform as exc:  # e.g. no EPOLLEXCLUSIVE on this kernel
                missing.append(s)
                why = why or str(exc)
    else:
        missing, why = list(strategies), _why_not_live()
    if missing:
        out += recorded("accept", why=f"{why}; for {', '.join(missing)}",
                        where=lambda r: r.strategy in missing and r.workers in workers)
    return out
