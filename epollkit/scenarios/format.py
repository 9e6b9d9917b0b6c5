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

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..data import SCENARIO_DIR
from .calls import EPOLLEXCLUSIVE, EPOLLONESHOT, FLAGS, Accept, Connect, Ctl, EpollWait, Read, Write

KINDS = ("epoll", "stream", "listener")
CALLS = ("epoll_wait", "accept", "read", "epoll_ctl")
OPS = ("add", "mod", "del")
TOP = ("name", "objects", "watch", "threads", "kernel", "order", "expect", "description", "post", "instead",
       "start")
STARTS = ("together", "in-order")
MAX_WRITE = 32768  # bytes one write may carry and stay ONE skb, ONE sk_data_ready() (see above)
CALL_FIELDS = {
    "epoll_wait": ("call", "epoll", "maxevents", "timeout"),
    "accept": ("call", "fd", "blocking"),
    "read": ("call", "fd", "bytes"),
    "epoll_ctl": ("call", "op", "epoll", "fd", "events"),
}
_NAME = re.compile(r"^[A-Za-z0-9_]+$")
# how threads and kernel events interleave: each kernel event waits until every thread is blocked or
# done (the kernel selftests' way), kernel events first, or anything goes
ORDERS = ("threads-block-first", "kernel-first", "free")


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


def _bad(where: str, msg: str) -> ValueError:
    return ValueError(f"{where}: {msg}")


def _choose(where: str, value, valid, what: str):
    if value not in valid:
        return _bad(where, f"unknown {what} {value!r}; valid: {', '.join(map(str, valid)) or 'none'}")
    return None


def _int(where: str, value, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (hi is not None and value > hi):
        rng = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        raise _bad(where, f"{value!r} is not an integer in {rng}")
    return value


def load(source, *, name: str | None = None) -> Scenario:
    """Load a scenario from a path, a JSON string, a dict, or the name of a file in data/scenarios."""
    path = None
    if isinstance(source, dict):
        data = source
    else:
        text = str(source)
        if text.lstrip().startswith("{"):
            where = name or "scenario"
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise _bad(where, f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
        else:
            p = Path(text)
            if not p.exists() and (SCENARIO_DIR / f"{text}.json").exists():
                p = SCENARIO_DIR / f"{text}.json"
            if not p.exists():
                raise ValueError(f"no scenario file {text!r} (nor data/scenarios/{text}.json)")
            path = str(p)
            try:
                data = json.loads(p.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise _bad(p.name, f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
    return validate(data, where=name or (Path(path).name if path else "scenario"), path=path)


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
    if not isinstance(name, str) or not name.strip():
        raise _bad(f"{where}: name", f"{name!r} is not a non-empty string")
    objects = data["objects"]
    if not isinstance(objects, dict) or not objects:
        raise _bad(f"{where}: objects", "must be an object such as {\"e0\": \"epoll\", \"s0\": \"stream\"}")
    for obj, kind in objects.items():
        if not _NAME.match(obj):
            raise _bad(f"{where}: objects", f"bad object name {obj!r}; use letters, digits and _")
        err = _choose(f"{where}: objects.{obj}", kind, KINDS, "object kind")
        if err:
            raise err

    def obj_of(w: str, value, kinds: tuple) -> str:
        if value not in objects:
            valid = [o for o, k in objects.items() if k in kinds]
            raise _bad(w, f"unknown object {value!r}; valid: {', '.join(valid) or 'none'}")
        if objects[value] not in kinds:
            valid = [o for o, k in objects.items() if k in kinds]
            raise _bad(w, f"{value!r} is a {objects[value]}, not a {' or '.join(kinds)}; "
                          f"valid: {', '.join(valid) or 'none'}")
        return value

    def events_of(w: str, value, required: bool = True) -> frozenset:
        if value is None and not required:
            return frozenset()
        if not isinstance(value, list) or not value:
            raise _bad(w, f"{value!r} is not a non-empty list of flags; valid: {', '.join(FLAGS)}")
        for f in value:
            err = _choose(w, f, FLAGS, "flag")
            if err:
                raise err
        return frozenset(value)

    watch = []
    seen = set()
    for i, wt in enumerate(data.get("watch", []) or []):
        w = f"{where}: watch[{i}]"
        if not isinstance(wt, dict):
            raise _bad(w, "must be an object with epoll, fd, events")
        for k in wt:
            if k not in ("epoll", "fd", "events"):
                raise _choose(w, k, ("epoll", "fd", "events"), "field")
        ep = obj_of(f"{w}.epoll", wt.get("epoll"), ("epoll",))
        fd = obj_of(f"{w}.fd", wt.get("fd"), ("stream", "listener"))
        ev = events_of(f"{w}.events", wt.get("events"))
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
    threads = {}
    accept_modes: dict = {}
    for tname, calls in threads_in.items():
        if not _NAME.match(tname):
            raise _bad(f"{where}: threads", f"bad thread name {tname!r}; use letters, digits and _")
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
            elif kind == "accept":
                fd = obj_of(f"{w}.fd", c.get("fd"), ("listener",))
                blocking = c.get("blocking", False)
                if not isinstance(blocking, bool):
                    raise _bad(f"{w}.blocking", f"{blocking!r} is not true or false")
                accept_modes.setdefault(fd, set()).add(blocking)
                out.append(Accept(fd, blocking))
            elif kind == "read":
                out.append(Read(obj_of(f"{w}.fd", c.get("fd"), ("stream",)),
                                _int(f"{w}.bytes", c.get("bytes"), 1, 1 << 20)))
            else:
                op = c.get("op")
                err = _choose(f"{w}.op", op, OPS, "op")
                if err:
                    raise err
                out.append(Ctl(op, obj_of(f"{w}.epoll", c.get("epoll"), ("epoll",)),
                               obj_of(f"{w}.fd", c.get("fd"), ("stream", "listener")),
                               events_of(f"{w}.events", c.get("events"), required=op != "del")))
        threads[tname] = tuple(out)
    for fd, modes in accept_modes.items():
        if len(modes) > 1:
            raise _bad(f"{where}: threads", f"{fd} is accepted both blocking and non-blocking; O_NONBLOCK "
                                            "belongs to the open file description, so one listener "
                                            "cannot do both")

    kernel = []
    for i, ev in enumerate(data.get("kernel", []) or []):
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
            kernel.append(Connect.to(obj_of(f"{w}.connect", ev["connect"], ("listener",))))
        else:
            keys = ", ".join(map(str, ev)) or "nothing"
            raise _bad(w, f"unknown kernel event with {keys}; valid: write, connect")
    order = data.get("order", "threads-block-first")
    err = _choose(f"{where}: order", order, ORDERS, "order")
    if err:
        raise err
    start = data.get("start", "together")
    err = _choose(f"{where}: start", start, STARTS, "start")
    if err:
        raise err
    expect = data.get("expect")
    if expect is not None:
        expect = _expect(f"{where}: expect", expect, tuple(threads))
    return Scenario(
        name=name, objects=dict(objects), watch=tuple(watch), threads=threads, kernel=tuple(kernel),
        order=order, start=start, expect=expect, description=str(data.get("description", "")),
        post=data.get("post"), instead=data.get("instead"), path=path, raw=data,
    )


def _write_size(where: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_WRITE:
        raise _bad(where, f"{value!r} is not an integer in 1..{MAX_WRITE} (a larger write is several skbs, "
                          "so several wake-ups: unix_stream_sendmsg(); split it into several writes)")
    return value


def _timeout(where: str, value) -> int:
    if value not in (-1, 0) or isinstance(value, bool):
        raise _bad(where, f"{value!r} is not a valid timeout; valid: -1, 0")
    return value


def _expect(where: str, value, names: tuple) -> list:
    if not isinstance(value, list) or not value:
        raise _bad(where, "must be a non-empty list of outcomes ({thread: [result, ...]})")
    out = []
    for i, o in enumerate(value):
        if isinstance(o, dict) and set(o) == {"threads"}:
            o = o["threads"]
        if not isinstance(o, dict) or set(o) != set(names):
            got = ", ".join(o) if isinstance(o, dict) else type(o).__name__
            raise _bad(f"{where}[{i}]", f"must name every thread ({', '.join(names)}), not {got}")
        out.append({n: list(o[n]) for n in names})
    return out
