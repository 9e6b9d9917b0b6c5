"""A reader's own worker: an ordinary generator function that yields calls and receives their results.

The same function runs in the model (:mod:`epollkit.sim.worker`: every interleaving) and on the
kernel (:mod:`epollkit.lab.experiments.worker`: real threads and sockets). Both backends feed it the
same kind of results, so a worker is written once::

    def et_worker():
        while True:
            yield epoll_wait()                 # returns the ready events, e.g. (("l0", ("EPOLLIN",)),)
            while (yield accept()) != EAGAIN:  # "ok", or EAGAIN when the accept queue is empty
                pass

The calls (each worker has one epoll instance and one source -- the listener ``l0`` or the stream
``s0`` -- fixed by the setup, so the calls name no fd):

============================  ==========================================================================
``epoll_wait()``              blocks until the instance has an event; returns ``((fd, bits), ...)``
``accept()``                  non-blocking ``accept4()``: ``"ok"`` or ``EAGAIN`` (accept workers)
``read(n)``                   non-blocking ``read()`` of up to ``n`` bytes: the count, or ``EAGAIN``
``deliver()``                 hand every byte read since the last ``deliver()`` on to the application
``epoll_ctl(op, flags)``      ``"mod"`` (re-arm), ``"del"`` or ``"add"`` the source, with the setup's
                              flags unless ``flags`` is given; ``"ok"`` or an errno name (``"EEXIST"``)
============================  ==========================================================================

Rules the model needs (and checks): a worker is a *deterministic function of its results* (no random,
clock or state shared with earlier runs: the model replays it from the start with the same results),
it takes no arguments (bind parameters with a closure or ``functools.partial``), and it makes a call
within ``MAX_OPS`` bytecode instructions of the previous one. Breaking a rule is one :class:`WorkerError`
line naming the rule, never a hang.

Nothing here knows the model or the kernel: :class:`Driver` runs one worker, one result at a time,
and both backends translate its calls.
"""

from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass

from ..errors import EpollkitError
from .calls import EPOLLET, EPOLLEXCLUSIVE, EPOLLIN, EPOLLONESHOT

EAGAIN = "EAGAIN"
OK = "ok"
MAX_OPS = 1_000_000  # bytecode instructions a worker may run between two calls before it is a hang
MAX_READ = 1 << 20
KINDS = ("accept", "read")
TOPOLOGIES = ("shared", "private")
CTL_OPS = ("mod", "del", "add")
WORKER_FLAGS = (EPOLLIN, EPOLLET, EPOLLONESHOT, EPOLLEXCLUSIVE)


# ------------------------------------------------------------------------------------------ errors


class WorkerError(EpollkitError):
    """A worker broke one of the rules; the message is one line naming the worker and the rule."""


class NotAWorker(WorkerError):
    """The function is not a generator function taking no arguments."""


class BadCall(WorkerError):
    """The worker yielded something that is not a call, or a call its kind of worker cannot make."""


class NoCall(WorkerError):
    """The worker ran ``MAX_OPS`` instructions without yielding a call (a loop without a call)."""


class WorkerRaised(WorkerError):
    """The worker's own code raised an exception."""


class Nondeterministic(WorkerError):
    """Replayed with the same results, the worker made a different call."""


class Spins(WorkerError):
    """The worker made more calls in a row than its work can need, without waiting (a busy loop)."""


# ------------------------------------------------------------------------------------------- calls
# (frozen dataclasses, not named tuples: epoll_wait() must never equal accept())


@dataclass(frozen=True)
class WaitCall:
    def __str__(self) -> str:
        return "epoll_wait()"


@dataclass(frozen=True)
class AcceptCall:
    def __str__(self) -> str:
        return "accept()"


@dataclass(frozen=True)
class ReadCall:
    nbytes: int

    def __str__(self) -> str:
        return f"read({self.nbytes})"


@dataclass(frozen=True)
class DeliverCall:
    def __str__(self) -> str:
        return "deliver()"


@dataclass(frozen=True)
class CtlCall:
    op: str
    flags: tuple | None = None  # None: the setup's flags

    def __str__(self) -> str:
        extra = "" if self.flags is None else ", " + "|".join(self.flags)
        return f"epoll_ctl({self.op!r}{extra})"


CALLS = (WaitCall, AcceptCall, ReadCall, DeliverCall, CtlCall)
ALLOWED = {"accept": (WaitCall, AcceptCall, CtlCall), "read": (WaitCall, ReadCall, DeliverCall, CtlCall)}
VALID = {"accept": "epoll_wait(), accept(), epoll_ctl(op)",
         "read": "epoll_wait(), read(n), deliver(), epoll_ctl(op)"}


def epoll_wait() -> WaitCall:
    """Block in ``epoll_wait()`` on this worker's instance (no timeout, one event at most)."""
    return WaitCall()


def accept() -> AcceptCall:
    """A non-blocking ``accept()`` on the listener: ``"ok"`` or ``EAGAIN``."""
    return AcceptCall()


def read(n: int) -> ReadCall:
    """A non-blocking ``read()`` of up to ``n`` bytes from the stream: the count, or ``EAGAIN``."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_READ:
        raise ValueError(f"read(n): n must be an integer in 1..{MAX_READ}, not {n!r}")
    return ReadCall(n)


def deliver() -> DeliverCall:
    """Hand the bytes read since the last ``deliver()`` on to the application's stream."""
    return DeliverCall()


def parse_flags(flags, what: str = "flags") -> tuple:
    """``"EPOLLET"``, ``"EPOLLIN|EPOLLET"``, ``"ET|ONESHOT"`` or a sequence of names -> a sorted tuple
    of flag names, always with EPOLLIN."""
    if isinstance(flags, str):
        parts = [p.strip() for p in flags.replace(",", "|").split("|") if p.strip()]
    elif isinstance(flags, (tuple, list, frozenset, set)):
        parts = list(flags)
    else:
        raise ValueError(f"{what} must be a string like 'EPOLLIN|EPOLLET' or a list of names, not {flags!r}")
    out = {EPOLLIN}
    for p in parts:
        name = p if isinstance(p, str) and p.startswith("EPOLL") else f"EPOLL{p}" if isinstance(p, str) else p
        if name not in WORKER_FLAGS:
            raise ValueError(f"{what}: unknown flag {p!r}; valid: {', '.join(WORKER_FLAGS)}")
        out.add(name)
    return tuple(f for f in WORKER_FLAGS if f in out)


def epoll_ctl(op: str = "mod", flags=None) -> CtlCall:
    """``epoll_ctl()`` on this worker's instance and source: ``"mod"`` re-arms (EPOLLONESHOT),
    ``"del"`` removes, ``"add"`` adds it again (at the tail of the source's wait queue)."""
    if op not in CTL_OPS:
        raise ValueError(f"epoll_ctl(op): op must be one of {', '.join(CTL_OPS)}, not {op!r}")
    return CtlCall(op, None if flags is None else parse_flags(flags))


# ------------------------------------------------------------------------------------- the worker


def name_of(fn) -> str:
    inner = getattr(fn, "func", fn)  # functools.partial
    return getattr(inner, "__name__", type(fn).__name__)


def check_worker(fn) -> str:
    """Refuse anything but a generator function callable with no arguments; return its name."""
    inner = getattr(fn, "func", fn)
    if inspect.isgenerator(fn):
        raise NotAWorker(f"{fn.__name__}() is a generator, already started: pass the function itself "
                         f"({fn.__name__}, without the parentheses)")
    if not callable(fn) or not inspect.isgeneratorfunction(inner):
        what = f"{name_of(fn)!r}" if callable(fn) else repr(fn)
        raise NotAWorker(f"{what} is not a generator function: a worker yields its calls "
                         "(def w(): yield epoll_wait() ...)")
    try:
        inspect.signature(fn).bind()
    except TypeError:
        raise NotAWorker(f"worker {name_of(fn)!r} must be callable with no arguments (it takes "
                         f"{inspect.signature(fn)}); bind parameters with functools.partial") from None
    except ValueError:  # pragma: no cover - builtins without a signature
        pass
    return name_of(fn)


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    return kind


def check_topology(topology: str) -> str:
    if topology not in TOPOLOGIES:
        raise ValueError(f"topology must be one of {', '.join(TOPOLOGIES)}, not {topology!r}")
    return topology


def fmt_result(result) -> str:
    if isinstance(result, tuple):
        return "[" + ", ".join(f"{fd} {'|'.join(bits)}" for fd, bits in result) + "]"
    return repr(result)


def fmt_history(history, last: int = 4) -> str:
    pairs = [f"{c} -> {fmt_result(r)}" for c, r in history[-last:]]
    more = f"{len(history) - last} more, then " if len(history) > last else ""
    return (more + ", ".join(pairs)) if pairs else "no call yet"


class _Guard:
    """Counts the bytecode instructions a worker runs until its next yield (``sys.settrace`` with
    ``f_trace_opcodes``: ``while True: pass`` makes no "line" events); past ``limit`` it raises NoCall
    inside the worker (a trace function may raise into the traced frame)."""

    def __init__(self, name: str, limit: int):
        self.name, self.limit, self.ops = name, limit, 0

    def global_trace(self, frame, event, arg):
        frame.f_trace_opcodes = True
        return self.local_trace

    def local_trace(self, frame, event, arg):
        if event == "opcode":
            self.ops += 1
            if self.ops > self.limit:
                raise NoCall(f"worker {self.name!r} ran {self.limit} bytecode instructions without yielding "
                             "a call (a loop without a call: every path through a loop must yield one)")
        return self.local_trace


class Driver:
    """One run of a worker: ``first()`` starts it, ``send(result)`` feeds the result of its last call;
    each returns the next call, or None when the worker returned. ``history`` holds (call, result).
    Errors are :class:`WorkerError` lines; the worker's own exceptions become :class:`WorkerRaised`."""

    def __init__(self, fn, kind: str, *, name: str | None = None, max_ops: int = MAX_OPS):
        self.fn, self.kind = fn, kind
        self.name = name or name_of(fn)
        self.max_ops = max_ops
        self.gen = None
        self.call = None
        self.history: tuple = ()
        self.done = False

    def _resume(self, result, first: bool):
        guard = _Guard(self.name, self.max_ops)
        old = sys.gettrace()
        sys.settrace(guard.global_trace)
        try:
            if first:
                self.gen = self.fn()
                got = next(self.gen)
            else:
                got = self.gen.send(result)
        except StopIteration:
            self.done, self.call = True, None
            return None
        except WorkerError:
            raise
        except Exception as exc:
            where = fmt_history(self.history + (((self.call, result),) if not first else ()))
            raise WorkerRaised(f"worker {self.name!r} raised {type(exc).__name__}: {exc} "
                               f"(after: {where})") from None
        finally:
            sys.settrace(old)
        if not isinstance(got, CALLS):
            hint = " (did you yield the function itself? write epoll_wait(), with the parentheses)" \
                if got in (epoll_wait, accept, read, deliver, epoll_ctl) else ""
            shown = f"the function {got.__name__}" if inspect.isfunction(got) else repr(got)
            raise BadCall(f"worker {self.name!r} yielded {shown}, not a call: yield epoll_wait(), "
                          f"accept(), read(n), deliver() or epoll_ctl(op){hint}")
        if not isinstance(got, ALLOWED[self.kind]):
            article = "an" if self.kind == "accept" else "a"
            raise BadCall(f"worker {self.name!r} yielded {got}, which {article} {self.kind} worker cannot "
                          f"make; valid: {VALID[self.kind]}")
        self.call = got
        return got

    def first(self):
        return self._resume(None, True)

    def send(self, result):
        call = self.call
        nxt = self._resume(result, False)
        self.history = self.history + ((call, result),)
        return nxt

    def frame_key(self):
        """What the worker's future depends on: where each frame of its generator chain stands and
        its local variables -- or None when a local is unhashable (then only the history can say)."""
        if self.done:
            return ("done",)
        parts = []
        gen = self.gen
        while gen is not None and inspect.isgenerator(gen):
            frame = gen.gi_frame
            if frame is None:
                break
            items = tuple(sorted(frame.f_locals.items()))
            try:
                hash(items)
            except TypeError:
                return None
            parts.append((frame.f_code, frame.f_lasti, items))
            gen = gen.gi_yieldfrom
        if gen is not None and not inspect.isgenerator(gen):
            return None  # yield from something else (an iterator we cannot look into)
        return tuple(parts)
