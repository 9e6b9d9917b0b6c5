"""Scenario files (DESIGN.md "Scenario files", a contract): load, validate, build the model's Setup.

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

Kernel generations (:func:`generation`): the rules differ in one place, the level-triggered cascade
(``ep_done_scan()`` waking one more sleeper). Mainline 5.5-5.12 lacked it (339ddb53d373 removed it,
7fab29e35630 restored it in 5.13) and the fix went to the stable series still maintained in May 2021:
5.10.36 (checked in the 5.10.36 release announcement), 5.11.20 and 5.12.3 (the same stable batch).
Vendor kernels ("5.10.0-21-amd64") do not show their upstream patch level, so for them the release
string cannot decide: the model then assumes the cascade and says it is unsure. The measurement wins:
``epollkit scenario lt-one-write-two-threads --backend real`` or ``sim.detect_generation()``.
"""

from __future__ import annotations

import json
import platform
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..validate import one_line, shown
from . import rules
from .machine import ORDERS, Setup
from .scenario_file import check_tree, display_name, parse, printable, read_file
from .state import EPOLLEXCLUSIVE, EPOLLONESHOT, FLAGS, Epoll, State, Thread, ThreadState, World
from .threads import Accept, CallList, Ctl, EpollWait, Read

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
# Caps that keep every run of a scenario small on both backends (the largest file in data/scenarios
# has 3 threads, 6 calls and 4 events): the model's run and exploration grow with them, and the real
# backend starts one thread per thread. CONNECTS_PER_LISTENER stays below the listen() backlog (64),
# so a connect() that nobody accepts never blocks in the kernel's full accept queue.
MAX_THREADS = 16
MAX_CALLS = 256  # calls in all threads together
MAX_EVENTS = 64
CONNECTS_PER_LISTENER = 32

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "data" / "scenarios"


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

    def setup(self, kernel: str | None = None) -> Setup:
        """The model of this scenario. ``kernel``: the release whose rules to imitate (default: this
        machine's, see :func:`generation`), "newest", or "cascade" / "no-cascade"."""
        return to_setup(self, kernel)


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

    def obj_of(w: str, value, kinds: tuple) -> str:
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
    for i, wt in enumerate(_list(f"{where}: watch", data.get("watch", []), "watches", 256)):
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
            elif kind == "accept":
                fd = obj_of(f"{w}.fd", c.get("fd"), ("listener",))
                blocking = c.get("blocking", False)
                if not isinstance(blocking, bool):
                    raise _bad(f"{w}.blocking", f"{shown(blocking)} is not true or false")
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
    connects: dict = {}
    for i, ev in enumerate(_list(f"{where}: kernel", data.get("kernel", []), "kernel events", MAX_EVENTS)):
        w = f"{where}: kernel[{i}]"
        if not isinstance(ev, dict):
            raise _bad(w, "an event is {\"write\": stream, \"bytes\": n} or {\"connect\": listener}")
        if "write" in ev:
            for k in ev:
                if k not in ("write", "bytes"):
                    raise _choose(w, k, ("write", "bytes"), "field of write")
            kernel.append(("write", obj_of(f"{w}.write", ev["write"], ("stream",)),
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
            kernel.append(("connect", lst))
        else:
            keys = one_line(", ".join(map(str, ev)), 60) if ev else "nothing"
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
        order=order, start=start, expect=expect, description=description,
        post=data.get("post"), instead=data.get("instead"), path=path, raw=data,
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


# ------------------------------------------------------------------------------------ the Setup


# The first stable release of each series that carries 7fab29e35630 ("fs/epoll: restore waking from
# ep_done_scan()"): 5.10.36 per its release announcement (11 May 2021); 5.11.20 and 5.12.3 were
# released the same day from the same stable queue. 5.5-5.9 had reached end of life before the fix.
CASCADE_BACKPORTS = {10: 36, 11: 20, 12: 3}


@dataclass(frozen=True)
class Generation:
    """Which kernel rules the model imitates. ``kernel``: the release (or "newest", "no-cascade");
    ``cascade``: ``ep_done_scan()`` wakes one more sleeper when items remain; ``certain``: False when
    the release string cannot tell (vendor kernels); ``why``: one sentence."""

    kernel: str
    cascade: bool
    certain: bool = True
    why: str = ""
    source: str = "asked"  # "this machine" (the default), "asked" (a release was given), "measured"

    def describe(self) -> str:
        rules = ("LT cascade: ep_done_scan() wakes one more sleeper" if self.cascade
                 else "no LT cascade (as 5.5-5.12 before 7fab29e35630)")
        return f"{self.kernel} ({self.source}): {rules}" + ("" if self.certain else f"; UNSURE: {self.why}")

    def to_dict(self) -> dict:
        return {"kernel": self.kernel, "cascade": self.cascade, "certain": self.certain,
                "source": self.source, "why": self.why, "rules": self.describe()}


def this_release() -> str:
    """The running kernel's release on Linux; "newest" elsewhere (the model runs anywhere)."""
    return platform.release() if platform.system() == "Linux" else "newest"


def generation(release: str | None = None) -> Generation:
    """The rules to imitate for a kernel release (``None``: this machine's, :func:`this_release`).

    "newest"/"cascade" and "no-cascade" name a rule set directly. A release like "6.18.4", "5.10.20"
    or "5.10" (a series: its first release) is judged by the upstream history: 5.5-5.9 and 5.10-5.12
    below :data:`CASCADE_BACKPORTS` have no cascade. A vendor release whose patch level is 0
    ("5.10.0-21-amd64") hides the stable patches it carries: the cascade is assumed, ``certain`` is
    False, and only a measurement settles it (``detect_generation()``)."""
    if isinstance(release, Generation):
        return release  # e.g. what detect_generation() measured
    source = "asked"
    if release is None:
        release, source = this_release(), "this machine"
    text = str(release)
    if text in ("newest", "cascade"):
        return Generation(text, True, True, "the newest rules", source)
    if text == "no-cascade":
        return Generation(text, False, True, "the rules of 5.5-5.12 before 7fab29e35630", source)
    m = re.match(r"^(\d+)\.(\d+)(?:\.(\d+))?(.*)$", text)
    if not m:
        raise ValueError(f"kernel release {release!r} is not like '5.10' or '6.18.4'; "
                         "or use 'newest', 'cascade', 'no-cascade'")
    major, minor = int(m.group(1)), int(m.group(2))
    patch = int(m.group(3)) if m.group(3) is not None else None
    vendor = bool(m.group(4))
    if not (major == 5 and 5 <= minor <= 12):
        return Generation(text, True, True, "outside 5.5-5.12: the cascade is there", source)
    fixed_in = CASCADE_BACKPORTS.get(minor)
    if fixed_in is None:
        return Generation(text, False, not vendor,
                          f"5.{minor} ended before the fix; a vendor kernel may still carry it", source)
    if patch is None:
        return Generation(text, False, False, f"'{text}' names a series: 5.{minor}.{fixed_in} and later "
                                              "have the cascade again; give the full release", source)
    if patch >= fixed_in:
        return Generation(text, True, True, f"5.{minor}.{fixed_in} and later carry 7fab29e35630", source)
    if vendor and patch == 0:
        why = (f"a vendor release string hides the stable patch level; most 5.{minor} vendor kernels are "
               f"past 5.{minor}.{fixed_in} (measure it: sim.detect_generation())")
        return Generation(text, True, False, why, source)
    return Generation(text, False, not vendor, f"before 5.{minor}.{fixed_in}, which restored the cascade",
                      source)


def detect_generation(*, repeat: int = 3) -> Generation:
    """The rules of THIS kernel, measured: runs the ``lt-one-write-two-threads`` scenario on the real
    kernel ``repeat`` times (both threads return: the cascade; one: none). NOT pure -- the one function
    of ``epollkit.sim`` that starts threads and opens sockets (through ``epollkit.lab``), a few tenths
    of a second. Without epoll (another OS, ``EPOLLKIT_NO_EPOLL=1``) it returns the release-based
    :func:`generation` and says it was not measured. Pass the result as ``kernel=`` to any setup."""
    from dataclasses import replace

    from ..system import has_epoll

    guess = generation(None)
    if not has_epoll():
        return replace(guess, certain=False, why=f"not measured (no epoll here); {guess.why}")
    from ..lab.scenario import CASCADE_PROBE, detect_cascade

    doc = detect_cascade(repeat=repeat)
    seen = "; ".join(f"{o['count']}x {json.dumps(o['threads'])}" for o in doc["outcomes"])
    if doc["cascade"] is None:
        return replace(guess, certain=False,
                       why=f"{CASCADE_PROBE} on this kernel disagreed between runs: {seen}")
    agrees = "as its release says" if doc["cascade"] == guess.cascade else \
        f"UNLIKE its release string ({guess.why})"
    return Generation(this_release(), doc["cascade"], True,
                      f"measured, {agrees}: {doc['repeat']} runs of {CASCADE_PROBE}: {seen}", "measured")


def kernel_generation(release: str | None = None) -> tuple[str, bool]:
    """(label, cascade) for a kernel release (``None``: this machine's); see :func:`generation`."""
    g = generation(release)
    return g.kernel, g.cascade


def to_setup(sc: Scenario, kernel: str | None = None) -> Setup:
    gen = generation(kernel)
    label, cascade = gen.kernel, gen.cascade
    bounds: dict = {}
    for ev in sc.kernel:
        if ev[0] == "write":
            prev = bounds.get(ev[1], (0,))
            bounds[ev[1]] = prev + (prev[-1] + ev[2],)
    world = World(kinds=dict(sc.objects), boundaries={k: v[1:] for k, v in bounds.items()},
                  cascade=cascade, kernel=label, generation=gen)
    st = State()
    for o, kind in sc.objects.items():
        if kind == "epoll":
            st.epolls[o] = Epoll()
        elif kind == "stream":
            st.streams[o] = (0, 0)
        else:
            st.listeners[o] = (0, 0)
    programs = {n: CallList(calls) for n, calls in sc.threads.items()}
    for n, p in programs.items():
        st.threads[n] = Thread(n, ThreadState.RUNNING, p.start())
    for ep, fd, ev in sc.watch:
        rules.epoll_ctl(world, st, "add", ep, fd, ev, None)
    return Setup(sc.name, world, st, programs, sc.kernel, sc.order, "scenario", sc, sc.start)
