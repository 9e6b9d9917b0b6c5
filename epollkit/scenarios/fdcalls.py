"""Scenario-file additions for descriptors and descriptions (docs/scenario-descriptors.md).

Backward compatible: a file that uses none of this runs exactly as before. A file that uses any of it
runs in *descriptor mode* (the model: :mod:`epollkit.sim.fdtable`): every ``fd`` a thread names is a
descriptor name that resolves through its process's table, so a closed one is ``EBADF``.

New thread calls (the result in brackets):

- ``{"call": "dup", "fd": "s0", "as": "d0"}`` -- ``d0 = dup(s0)`` [the number's label: "d0" for a fresh
  number, or the name that first had the number, e.g. "s0", when a freed number is reused; "EBADF"];
- ``{"call": "dup2", "fd": "n0", "to": "s0"}`` -- ``dup2(n0, s0)``: s0's number now refers to n0's
  description [``"ok"`` or ``"EBADF"``];
- ``{"call": "close", "fd": "s0"}`` [``"ok"`` or ``"EBADF"``];
- ``{"call": "open", "fd": "n0"}`` -- a new description: the object ``n0``, listed in ``unopened``, gets
  its descriptor now, at the lowest free number [the number's label, as for ``dup``].

New top-level fields:

- ``"unopened": ["n0"]`` -- stream objects that have no descriptor until an ``open`` call;
- ``"child": ["C"]`` -- threads that run in a second process that ``fork()``-ed after ``watch``: it
  shares the epoll instances and every description, under the same numbers.

``epoll_wait`` events then name the registered NUMBER by its label in the harvesting process.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .calls import Close, Dup, Dup2, Open

CALLS = ("dup", "dup2", "close", "open")
TOP = ("unopened", "child")
CALL_FIELDS = {
    "dup": ("call", "fd", "as"),
    "dup2": ("call", "fd", "to"),
    "close": ("call", "fd"),
    "open": ("call", "fd"),
}


def _bad(where: str, msg: str) -> ValueError:
    return ValueError(f"{where}: {msg}")


@dataclass
class FdInfo:
    aliases: dict = field(default_factory=dict)  # dup "as" name -> kind of the object it duplicates
    unopened: tuple = ()
    child: tuple = ()
    descriptors: bool = False
    opened: list = field(default_factory=list)
    epolls: tuple = ()


def prepare(where: str, data: dict, objects: dict) -> FdInfo:
    """First pass: the descriptor names a file introduces (``dup``'s ``as``), ``unopened``, ``child``."""
    info = FdInfo()
    info.epolls = tuple(o for o, k in objects.items() if k == "epoll")
    un = data.get("unopened", [])
    if not isinstance(un, list) or any(not isinstance(u, str) for u in un):
        raise _bad(f"{where}: unopened", f"{un!r} is not a list of stream object names")
    for u in un:
        if objects.get(u) != "stream":
            valid = [o for o, k in objects.items() if k == "stream"]
            raise _bad(f"{where}: unopened",
                       f"{u!r} is not a stream object; valid: {', '.join(valid) or 'none'}")
    info.unopened = tuple(un)
    watch = data.get("watch")
    # a pre-pass: anything malformed is left for format.validate() to name, field by field
    for i, wt in enumerate(watch if isinstance(watch, list) else []):
        if isinstance(wt, dict) and isinstance(wt.get("fd"), str) and wt["fd"] in un:
            raise _bad(f"{where}: watch[{i}].fd",
                       f"{wt['fd']!r} is unopened: it has no descriptor to register yet")
    ch = data.get("child", [])
    threads = data.get("threads") if isinstance(data.get("threads"), dict) else {}
    if not isinstance(ch, list) or any(not isinstance(c, str) or c not in threads for c in ch):
        raise _bad(f"{where}: child", f"{ch!r} is not a list of thread names; valid: {', '.join(threads)}")
    if ch and len(ch) == len(threads):
        raise _bad(f"{where}: child", "at least one thread must stay in the parent process")
    info.child = tuple(ch)
    kinds = dict(objects)
    uses = bool(un or ch)
    for calls in threads.values():
        for c in calls if isinstance(calls, list) else []:
            if not isinstance(c, dict) or not isinstance(c.get("call"), str) or c["call"] not in CALLS:
                continue
            uses = True
            if c["call"] == "dup":
                name = c.get("as")
                if not isinstance(name, str) or not name.replace("_", "").isalnum():
                    raise _bad(f"{where}: dup",
                               f"'as' {name!r} is not a descriptor name (letters, digits, _)")
                if name in kinds:
                    raise _bad(f"{where}: dup", f"'as' {name!r} is already a name; give each dup its own")
                fd = c.get("fd")
                kinds[name] = kinds.get(fd, "stream") if isinstance(fd, str) else "stream"
                info.aliases[name] = kinds[name]
    info.descriptors = uses
    return info


def parse(w: str, kind: str, c: dict, descriptor, info: FdInfo):
    """One call; ``descriptor(where, value)`` checks a descriptor name (and returns it)."""
    if kind == "open":
        fd = c.get("fd")
        if fd not in info.unopened:
            raise _bad(f"{w}.fd",
                       f"{fd!r} is not listed in unopened; valid: {', '.join(info.unopened) or 'none'}")
        if fd in info.opened:
            raise _bad(f"{w}.fd", f"{fd!r} is opened twice; open each unopened object once")
        info.opened.append(fd)
        return Open(fd)
    fd = c.get("fd")
    if fd in info.epolls:
        raise _bad(f"{w}.fd", f"{fd!r} is an epoll instance; {kind} of an epoll fd is not modelled")
    fd = descriptor(f"{w}.fd", fd)
    if kind == "dup":
        return Dup(fd, c["as"])
    if kind == "dup2":
        return Dup2(fd, descriptor(f"{w}.to", c.get("to")))
    return Close(fd)


def check(where: str, info: FdInfo, threads: dict) -> None:
    """Whole-file checks once every call is parsed."""
    missing = [u for u in info.unopened if u not in info.opened]
    if missing:
        raise _bad(f"{where}: unopened", f"{', '.join(missing)} is never opened (add an open call)")
