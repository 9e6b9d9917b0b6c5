"""Scenario files (a contract: docs/architecture.md "Scenario files"): load and validate.

This module only reads and checks the neutral file format; the model builds its Setup from a scenario
(:func:`epollkit.sim.setup`) and the real backend runs one (:func:`epollkit.lab.run_scenario`).

A bad file is refused with one ``ValueError`` line naming the field, the bad value and the valid ones,
before anything runs. Besides the contract's fields a file may carry ``description`` (prose),
``expect`` (the outcome set its author expects, for the NEWEST kernel rules), ``post`` / ``instead``
(a seed-post trace replayed step by step: :mod:`epollkit.sim.post`) and ``start``:

- ``"together"`` (default): the threads start at once, so the order in which they first fall asleep
  is free (the model explores every order);
- ``"in-order"``: the threads start one at a time in file order, each after the previous one is asleep
  in the kernel or done (the real backend checks ``/proc``). This fixes who sleeps first, so a single
  event shows the wake order: LIFO on ``ep->wq``, FIFO for blocking ``accept()``.

A ``write`` is at most :data:`MAX_WRITE` bytes: ``unix_stream_sendmsg()`` cuts a larger write into
several skbs of at most ``SKB_MAX_HEAD(0) + UNIX_SKB_FRAGS_SZ`` bytes (36 544 on x86-64 with 4 KiB
pages, measured: a 36 545-byte write wakes two EPOLLEXCLUSIVE instances) and calls ``sk_data_ready()``
once per skb -- several wake-ups, where the model makes one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..data import SCENARIO_DIR
from ..validate import one_line, shown
from . import fdcalls, nesting
from .calls import EPOLLEXCLUSIVE, EPOLLONESHOT, FLAGS, Accept, Connect, Ctl, EpollWait, Poll, Read, Write
from .reading import check_tree, display_name, parse, printable, read_file

KINDS = ("epoll", "stream", "listener")
CALLS = ("epoll_wait", "accept", "read", "epoll_ctl", "poll") + fdcalls.CALLS
OPS = ("add", "mod", "del")
TOP = ("name", "objects", "watch", "threads", "kernel", "order", "expect", "description", "post", "instead",
       "start", "selftest") + fdcalls.TOP
WATCHABLE = ("stream", "listener", "epoll")  # an epoll fd can be watched (nested epoll) and polled
STARTS = ("together", "in-order")
MAX_WRITE = 32768  # bytes one write may carry and stay ONE skb, ONE sk_data_ready() (see above)
CALL_FIELDS = {
    "epoll_wait": ("call", "epoll", "maxevents", "timeout"),
    "accept": ("call", "fd", "blocking"),
    "read": ("call", "fd", "bytes"),
    "epoll_ctl": ("call", "op", "epoll", "fd", "events"),
    "poll": ("call", "fd", "timeout"),
    **fdcalls.CALL_FIELDS,
}
_NAME = re.compile(r"^[A-Za-z0-9_]+$")
# Caps that keep every run of a scenario small on both backends (the largest file in data/scenarios
# has 3 threads, 6 calls and 4 events): the model's run and exploration grow with them, and the real
# backend starts one thread per thread. CONNECTS_PER_LISTENER stays below the listen() backlog (64),
# so a connect() that nobody accepts never blocks in the kernel's full accept queue.
MAX_THREADS = 16
MAX_CALLS = 256  # calls in all threads together
MAX_EVENTS = 64
CONNECTS_PER_LISTENER = 32
# how threads and kernel events interleave: each kernel event waits until every thread is blocked or
# done (the kernel selftests' way), kernel events first, or anything goes
ORDERS = ("threads-block-first", "kernel-first", "free")
# "burst" (an addition): the first kernel event waits until every thread is asleep or done, the rest
# follow back to back; a woken thread may finish its wait but calls again only after the last event
# (the kernel selftests' emitter: sleep, write, write). sim.machine implements it.
SCENARIO_ORDERS = ORDERS + ("burst",)


@dataclass(frozen=True)
class Scenario:
    """A validated scenario. ``threads``: name -> tuple of call dicts (defaults filled in)."""

    name: str
    objects: dict
    watch: tuple
    threads: dict
    kernel: tuple
    order: str = "threads-block-first"
    start: str = "together"
    expect: list | None = None
    description: str = ""
    post: list | None = None
    instead: list | None = None
    path: str | None = None
    raw: dict = field(default_factory=dict, repr=False, compare=False)
    unopened: tuple = ()  # descriptor mode (fdcalls.py): objects opened later by an "open" call
    child: tuple = ()  # descriptor mode: threads of a second process forked after "watch"
    descriptors: bool = False  # descriptor mode: numbers resolve through per-process tables


def _bad(where: str, msg: str) -> ValueError:
    return ValueError(f"{where}: {msg}")


def _choose(where: str, value, valid, what: str):
    if not isinstance(value, str) or value not in valid:
        return _bad(where, f"unknown {what} {shown(value)}; valid: {', '.join(map(str, valid)) or 'none'}")
    return None


def _list(where: str, value, what: str, most: int) -> list:
    """A JSON list (not a string, not an object) of at most ``most`` entries."""
    if not isinstance(value, list):
        raise _bad(where, f"must be a list of {what}, not {shown(value)}")
    if len(value) > most:
        raise _bad(where, f"{len(value)} {what} is too many; at most {most}")
    return value


def _int(where: str, value, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (hi is not None and value > hi):
        rng = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        raise _bad(where, f"{shown(value)} is not an integer in {rng}")
    return value


def load(source, *, name: str | None = None) -> Scenario:
    """Load a scenario from a path, a JSON string, a dict, or the name of a file in data/scenarios."""
    path = None
    if name is not None and not isinstance(name, str):
        raise ValueError(f"name must be a string, not {shown(name)}")
    if isinstance(source, dict):
        check_tree(source, name or "scenario")
        data = source
    elif not isinstance(source, (str, Path)):
        raise ValueError(f"a scenario is a path, a name, JSON text or a dict, not {shown(source)}")
    else:
        text = str(source)
        if text.lstrip().startswith("{"):
            data = parse(text, name or "scenario")
        else:
            p = Path(text)
            named = SCENARIO_DIR / (text if text.endswith(".json") else f"{text}.json")
            try:
                if text and not p.exists() and "/" not in text and named.exists():
                    p = named
                found = bool(text) and (p.exists() or p.is_symlink())
            except (OSError, ValueError):  # a name too long for the file system, or holding NUL
                found = False
            if not found:
                raise ValueError(f"no scenario file {shown(text)}"
                                 + ("" if "/" in text or not text else
                                    f" (nor {shown('data/scenarios/' + named.name)})"))
            path = str(p)
            data = parse(read_file(path), display_name(path))
    return validate(data, where=name or (display_name(path) if path else "scenario"), path=path)


def validate(data, *, where: str = "scenario", path: str | None = None) -> Scenario:
    if not isinstance(data, dict):
        raise _bad(where, f"a scenario is a JSON object, not {type(data).__name__}")
    for k in data:
        if k not in TOP:
            raise _choose(where, k, TOP, "field")
    for k in ("name", "objects", "threads"):
        if k not in data:
            raise _bad(where, f"missing field {k!r}")
    name = data["name"]
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise _bad(f"{where}: name", f"{shown(name)} is not a non-empty string of at most 200 characters")
    if not name.isprintable():
        raise _bad(f"{where}: name", f"{shown(name)} holds a control character; use printable text")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise _bad(f"{where}: description", f"must be a string, not {shown(description)}")
    printable(f"{where}: description", description)
    for k in ("post", "instead"):
        if data.get(k) is not None:
            _list(f"{where}: {k}", data[k], "steps", 200)
    objects = data["objects"]
    if not isinstance(objects, dict) or not objects:
        raise _bad(f"{where}: objects", "must be an object such as {\"e0\": \"epoll\", \"s0\": \"stream\"}")
    if len(objects) > 64:
        raise _bad(f"{where}: objects", f"{len(objects)} objects is too many; at most 64")
    for obj, kind in objects.items():
        if not isinstance(obj, str) or not _NAME.match(obj):
            raise _bad(f"{where}: objects", f"bad object name {shown(obj)}; use letters, digits and _")
        err = _choose(f"{where}: objects.{obj}", kind, KINDS, "object kind")
        if err:
            raise err

    fdinfo = fdcalls.prepare(where, data, objects)  # descriptor names (dup "as") and their kinds
    names = {**objects, **fdinfo.aliases}

    def obj_of(w: str, value, kinds: tuple, objects=objects) -> str:
        if not isinstance(value, str) or value not in objects:
            valid = [o for o, k in objects.items() if k in kinds]
            raise _bad(w, f"unknown object {shown(value)}; valid: {', '.join(valid) or 'none'}")
        if objects[value] not in kinds:
            valid = [o for o, k in objects.items() if k in kinds]
            raise _bad(w, f"{value!r} is a {objects[value]}, not a {' or '.join(kinds)}; "
                          f"valid: {', '.join(valid) or 'none'}")
        return value

    def events_of(w: str, value, required: bool = True) -> frozenset:
        if value is None and not required:
            return frozenset()
        if not isinstance(value, list) or not value:
            raise _bad(w, f"{shown(value)} is not a non-empty list of flags; valid: {', '.join(FLAGS)}")
        for f in value:
            err = _choose(w, f, FLAGS, "flag")
            if err:
                raise err
        return frozenset(value)

    watch = []
    seen = set()
    graph: dict = {}  # epoll -> the epoll fds it watches (nested epoll), for ep_loop_check()
    for i, wt in enumerate(_list(f"{where}: watch", data.get("watch", []), "watches", 256)):
        w = f"{where}: watch[{i}]"
        if not isinstance(wt, dict):
            raise _bad(w, "must be an object with epoll, fd, events")
        for k in wt:
            if k not in ("epoll", "fd", "events"):
                raise _choose(w, k, ("epoll", "fd", "events"), "field")
        ep = obj_of(f"{w}.epoll", wt.get("epoll"), ("epoll",))
        fd = obj_of(f"{w}.fd", wt.get("fd"), WATCHABLE)
        ev = events_of(f"{w}.events", wt.get("events"))
        if objects[fd] == "epoll":
            err = nesting.ctl_refusal("add", ep, fd, ev, True)
            if err or nesting.loop_refusal(graph, ep, fd):
                why = ("an epoll fd added to itself" if fd == ep else "EPOLLEXCLUSIVE on an epoll fd" if err
                       else f"a loop or a chain deeper than {nesting.EP_MAX_NESTS} epoll-in-epoll links")
                raise _bad(w, f"{ep} watching {fd}: {why}; the kernel would refuse it with "
                              f"{err or 'ELOOP'} (do a refused epoll_ctl in a thread instead)")
            graph.setdefault(ep, []).append(fd)
        if (ep, fd) in seen:
            raise _bad(w, f"{fd} is already watched by {ep}: the kernel would refuse it with EEXIST")
        if EPOLLEXCLUSIVE in ev and EPOLLONESHOT in ev:
            raise _bad(f"{w}.events", "EPOLLEXCLUSIVE with EPOLLONESHOT: the kernel would refuse it with "
                                      "EINVAL; valid with EPOLLEXCLUSIVE: EPOLLIN, EPOLLOUT, EPOLLET")
        seen.add((ep, fd))
        watch.append((ep, fd, ev))

    threads_in = data["threads"]
    if not isinstance(threads_in, dict) or not threads_in:
        raise _bad(f"{where}: threads", "must be an object of thread name -> list of calls")
    if len(threads_in) > MAX_THREADS:
        raise _bad(f"{where}: threads", f"{len(threads_in)} threads is too many; at most {MAX_THREADS}")
    n_calls = sum(len(c) for c in threads_in.values() if isinstance(c, list))
    if n_calls > MAX_CALLS:
        raise _bad(f"{where}: threads", f"{n_calls} calls is too many; at most {MAX_CALLS} in all threads")
    threads = {}
    accept_modes: dict = {}
    for tname, calls in threads_in.items():
        if not isinstance(tname, str) or not _NAME.match(tname):
            raise _bad(f"{where}: threads", f"bad thread name {shown(tname)}; use letters, digits and _")
        if not isinstance(calls, list) or not calls:
            raise _bad(f"{where}: threads.{tname}", "must be a non-empty list of calls")
        out = []
        for j, c in enumerate(calls):
            w = f"{where}: threads.{tname}[{j}]"
            if not isinstance(c, dict):
                raise _bad(w, 'a call is an object such as {"call": "read", "fd": "s0", "bytes": 1}')
            kind = c.get("call")
            err = _choose(f"{w}.call", kind, CALLS, "call")
            if err:
                raise err
            for k in c:
                if k not in CALL_FIELDS[kind]:
                    raise _choose(w, k, CALL_FIELDS[kind], f"field of {kind}")
            if kind == "epoll_wait":
                out.append(EpollWait(obj_of(f"{w}.epoll", c.get("epoll"), ("epoll",)),
                                     _int(f"{w}.maxevents", c.get("maxevents", 1), 1, 64),
                                     _timeout(f"{w}.timeout", c.get("timeout", -1))))
            elif kind in fdcalls.CALLS:
                out.append(fdcalls.parse(
                    w, kind, c, lambda w2, v: obj_of(w2, v, ("stream", "listener"), names), fdinfo))
            elif kind == "accept":
                fd = obj_of(f"{w}.fd", c.get("fd"), ("listener",))
                blocking = c.get("blocking", False)
                if not isinstance(blocking, bool):
                    raise _bad(f"{w}.blocking", f"{shown(blocking)} is not true or false")
                accept_modes.setdefault(fd, set()).add(blocking)
                out.append(Accept(fd, blocking))
            elif kind == "read":
                out.append(Read(obj_of(f"{w}.fd", c.get("fd"), ("stream",), names),
                                _int(f"{w}.bytes", c.get("bytes"), 1, 1 << 20)))
            elif kind == "poll":
                out.append(Poll(obj_of(f"{w}.fd", c.get("fd"), WATCHABLE, names), "poll",
                                _timeout(f"{w}.timeout", c.get("timeout", -1))))
            else:
                op = c.get("op")
                err = _choose(f"{w}.op", op, OPS, "op")
                if err:
                    raise err
                out.append(Ctl(op, obj_of(f"{w}.epoll", c.get("epoll"), ("epoll",)),
                               obj_of(f"{w}.fd", c.get("fd"), WATCHABLE, names),
                               events_of(f"{w}.events", c.get("events"), required=op != "del")))
        threads[tname] = tuple(out)
    for fd, modes in accept_modes.items():
        if len(modes) > 1:
            raise _bad(f"{where}: threads", f"{fd} is accepted both blocking and non-blocking; O_NONBLOCK "
                                            "belongs to the open file description, so one listener "
                                            "cannot do both")

    kernel = []
    connects: dict = {}
    for i, ev in enumerate(_list(f"{where}: kernel", data.get("kernel", []), "kernel events", MAX_EVENTS)):
        w = f"{where}: kernel[{i}]"
        if not isinstance(ev, dict):
            raise _bad(w, "an event is {\"write\": stream, \"bytes\": n} or {\"connect\": listener}")
        if "write" in ev:
            for k in ev:
                if k not in ("write", "bytes"):
                    raise _choose(w, k, ("write", "bytes"), "field of write")
            kernel.append(Write.to(obj_of(f"{w}.write", ev["write"], ("stream",)),
                           _write_size(f"{w}.bytes", ev.get("bytes"))))
        elif "connect" in ev:
            for k in ev:
                if k != "connect":
                    raise _choose(w, k, ("connect",), "field of connect")
            lst = obj_of(f"{w}.connect", ev["connect"], ("listener",))
            connects[lst] = connects.get(lst, 0) + 1
            if connects[lst] > CONNECTS_PER_LISTENER:
                raise _bad(w, f"more than {CONNECTS_PER_LISTENER} connects to {lst}; at most "
                              f"{CONNECTS_PER_LISTENER} per listener (its accept queue must not fill)")
            kernel.append(Connect.to(lst))
        else:
            keys = one_line(", ".join(map(str, ev)), 60) if ev else "nothing"
            raise _bad(w, f"unknown kernel event with {keys}; valid: write, connect")
    order = data.get("order", "threads-block-first")
    err = _choose(f"{where}: order", order, SCENARIO_ORDERS, "order")
    if err:
        raise err
    start = data.get("start", "together")
    err = _choose(f"{where}: start", start, STARTS, "start")
    if err:
        raise err
    fdcalls.check(where, fdinfo, threads)
    expect = data.get("expect")
    if expect is not None:
        expect = _expect(f"{where}: expect", expect, tuple(threads))
    if "selftest" in data:
        _selftest(f"{where}: selftest", data["selftest"], tuple(threads))
    return Scenario(
        name=name, objects=dict(objects), watch=tuple(watch), threads=threads, kernel=tuple(kernel),
        order=order, start=start, expect=expect, description=description,
        post=data.get("post"), instead=data.get("instead"), path=path, raw=data,
        unopened=fdinfo.unopened, child=fdinfo.child, descriptors=fdinfo.descriptors,
    )


def _write_size(where: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_WRITE:
        raise _bad(where, f"{shown(value)} is not an integer in 1..{MAX_WRITE} (a larger write is several "
                          "skbs, so several wake-ups: unix_stream_sendmsg(); split it into several writes)")
    return value


def _timeout(where: str, value) -> int:
    if value not in (-1, 0) or isinstance(value, bool):
        raise _bad(where, f"{shown(value)} is not a valid timeout; valid: -1, 0")
    return value


SELFTEST_FIELDS = ("test", "source", "assert", "count", "op", "allowed")


def _selftest(where: str, value, names: tuple) -> None:
    """``selftest``: the kernel selftest a file translates. ``test`` (e.g. "epoll17"), ``source`` (URL),
    ``assert`` (the kernel's assertion, as text) and, for the threaded tests whose assertion is on a
    shared counter, ``count`` (thread -> the value its last call adds when that call returned events),
    ``op`` ("add" or "or": ``__sync_fetch_and_add`` / ``__sync_fetch_and_or``) and ``allowed`` (the
    counter values the assertion accepts)."""
    if not isinstance(value, dict):
        raise _bad(where, "must be an object with test, source, assert")
    for k in value:
        if k not in SELFTEST_FIELDS:
            raise _choose(where, k, SELFTEST_FIELDS, "field")
    for k in ("test", "source", "assert"):
        if not isinstance(value.get(k), str) or not value.get(k):
            raise _bad(f"{where}.{k}", f"{value.get(k)!r} is not a non-empty string")
    if "count" in value:
        count = value["count"]
        if not isinstance(count, dict) or not set(count) <= set(names) or not count:
            raise _bad(f"{where}.count", f"must map thread names ({', '.join(names)}) to integers")
        for n, v in count.items():
            _int(f"{where}.count.{n}", v, 0, 1 << 16)
        err = _choose(f"{where}.op", value.get("op"), ("add", "or"), "op")
        if err:
            raise err
        allowed = value.get("allowed")
        if not isinstance(allowed, list) or not allowed:
            raise _bad(f"{where}.allowed", f"{allowed!r} is not a non-empty list of integers")
        for v in allowed:
            _int(f"{where}.allowed", v, 0, 1 << 16)


def selftest_count(selftest: dict, threads: dict) -> int | None:
    """The selftest's shared counter for one outcome (``{thread: [result, ...]}``): each thread in
    ``count`` adds (or ORs) its value when its LAST call returned at least one event -- the selftests'
    ``if (epoll_wait(...) > 0) __sync_fetch_and_add(&ctx->count, 1)``. None without ``count``."""
    if "count" not in selftest:
        return None
    total = 0
    for n, v in selftest["count"].items():
        res = threads[n]
        got = bool(res) and isinstance(res[-1], list) and len(res[-1]) > 0
        if got:
            total = total + v if selftest["op"] == "add" else total | v
    return total


def _expect(where: str, value, names: tuple) -> list:
    if not isinstance(value, list) or not value:
        raise _bad(where, "must be a non-empty list of outcomes ({thread: [result, ...]})")
    _list(where, value, "outcomes", 4096)
    out = []
    for i, o in enumerate(value):
        if isinstance(o, dict) and set(o) == {"threads"}:
            o = o["threads"]
        if not isinstance(o, dict) or set(o) != set(names):
            got = shown(", ".join(map(str, o))) if isinstance(o, dict) else type(o).__name__
            raise _bad(f"{where}[{i}]", f"must name every thread ({', '.join(names)}), not {got}")
        for n in names:
            if not isinstance(o[n], list):  # "abc" is not the results ["a", "b", "c"]
                raise _bad(f"{where}[{i}].{n}", f"must be a list of results, not {shown(o[n])}")
        out.append({n: list(o[n]) for n in names})
    return out
