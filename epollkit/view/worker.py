"""Notebook helpers for a reader's own worker (notebook 07b): the model's verdict with its witness
drawn, the live measurement (or, without epoll, the recorded one, said plainly), and the exercises
the model grades.

One import gives a notebook everything::

    from epollkit.view.worker import EAGAIN, accept, check, epoll_ctl, epoll_wait, measure

    def my_worker():
        while True:
            yield epoll_wait()
            while (yield accept()) != EAGAIN:
                pass

    v = check(my_worker, "accept", flags="EPOLLET", workers=2, events=3)   # the model: every schedule
    r = measure(my_worker, "accept", flags="EPOLLET")                       # the kernel (or NOT LIVE)

``check`` prints the verdict (the properties some schedule shows; "holds: no stuck, reorder, split
over N schedules" when none of the forbidden ones does) and draws the shortest schedule showing the
worst property as the collection's swimlane. The verdict itself is :class:`epollkit.sim.worker.Verdict`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import data, system
from ..errors import UnsupportedPlatform
from ..scenarios import loops
from ..scenarios.worker import (
    EAGAIN,
    OK,
    WorkerError,
    accept,
    check_worker,
    deliver,
    epoll_ctl,
    epoll_wait,
    name_of,
    read,
)
from ..sim.worker import BAD, Verdict, check_never
from ..sim.worker import check as model_check
from ..sim.worker import record as model_record

RECORDED = "worker"  # data/reference/worker.json


def witness(verdict: Verdict, prop: str | None = None, ax=None):
    """The shortest schedule showing ``prop`` (default: the verdict's worst) as a swimlane; None
    when no schedule shows it."""
    from .plots.traces import swimlane

    prop = prop or verdict.worst()
    if prop is None or prop not in verdict.witnesses:
        return None
    tr = verdict.witnesses[prop]
    return swimlane(tr, ax=ax, title=f"{verdict.worker}: the shortest schedule showing {prop} "
                                     f"({len(tr)} steps)")


def check(fn, kind: str = "accept", *, draw: bool = True, never=BAD, **setup) -> Verdict:
    """Explore ``fn`` over every schedule of its setup (``epollkit.sim.worker.worker_setup``
    arguments: ``flags``, ``topology``, ``workers``, ``events``, ``message_size``, ``kernel``); print
    the verdict; draw the witness of the first forbidden property shown (``draw``). Returns the
    :class:`Verdict`."""
    v = model_check(fn, kind, never=never, **setup)
    print(v.text())
    if draw and v.bad:
        witness(v, v.bad[0])
    return v


def check_refusal(fn, kind: str = "accept", **setup) -> str:
    """:func:`check` ``fn`` and say how it refused it: ``"BadCall: <why>"`` (the WorkerError it raised)
    when ``fn`` is not a worker the checker can explore, else a line saying check() accepted it (check
    prints its verdict)."""
    try:
        check(fn, kind, **setup)
    except WorkerError as e:
        return f"{type(e).__name__}: {e}"
    return f"no WorkerError: check() accepted {name_of(fn)}"


def describe(record) -> str:
    """The measured figures of a worker's live (or recorded) record, in one or two lines."""
    d = record.to_dict()
    p = d.get("params") or {}
    if d.get("backend") == "sim":
        where = f"in the model ({p.get('schedule')} run, rules of {d.get('kernel')})"
    else:
        where = f"on the kernel ({d.get('backend')}, Linux {d.get('kernel')})"
    if d["experiment"] == "accept":
        return (f"{p.get('worker', d['strategy'])} {where}: {d['workers']} workers, "
                f"{d['connections']} connections: accepted {d['accepted']}, lost {d['lost']}; per connection "
                f"{d['returns_per_connection']:.2f} returns, {d['eagain_per_connection']:.2f} EAGAIN, "
                f"{d['kernel_wakeups_per_connection']:.2f} wake-ups; busiest worker {d['max_share']:.0%}; "
                f"epoll_ctl calls {p.get('epoll_ctl', 0)}")
    return (f"{p.get('worker', d['strategy'])} {where}: {d['readers']} readers, "
            f"{d['messages']} messages of {d['message_size']} B: reordered {d['reordered']}, split "
            f"{d['split_messages']}, lost {d['lost_bytes']} B; per message "
            f"{d['kernel_wakeups'] / d['messages']:.2f} wake-ups, {d['eagain'] / d['messages']:.2f} EAGAIN; "
            f"epoll_ctl calls {p.get('epoll_ctl', 0)}")


def recorded(fn_or_name, kind: str | None = None) -> list:
    """The recorded kernel runs (data/reference/worker.json) of the worker named like ``fn``."""
    name = fn_or_name if isinstance(fn_or_name, str) else name_of(fn_or_name)
    found = data.find(RECORDED, strategy=f"worker:{name}")
    return [r for r in found if kind is None or r.experiment == kind]


def measure(fn, kind: str = "accept", **kw):
    """Run ``fn`` on this kernel (``epollkit.lab.experiments.worker.run`` arguments) and print its
    figures; without epoll, print NOT LIVE and show the recorded run of a worker of that name, if
    there is one. Returns the record, or None."""
    check_worker(fn)
    reason = ""
    if system.has_epoll():
        from ..lab.experiments.worker import run

        try:
            r = run(fn, kind, **kw)
        except UnsupportedPlatform as exc:
            reason = f" ({exc})"
        else:
            print(describe(r))
            return r
    found = recorded(fn, kind)
    if not found:
        names = sorted({r.strategy.split(":", 1)[1] for r in data.find(RECORDED)})
        print(f"NOT LIVE{reason}: no epoll here, and no recorded run of {name_of(fn)!r} "
              f"(recorded: {', '.join(names)}; {data.describe(RECORDED)}). The model cells still run.")
        return None
    print(f"NOT LIVE{reason}: showing the recorded kernel run of the collection's loop named "
          f"{name_of(fn)!r} (epollkit.scenarios.loops; here only the model checks your own code), "
          f"{data.describe(RECORDED)}.")
    print(describe(found[0]))
    return found[0]


def predict(fn, kind: str = "accept", **setup):
    """The model's paced run of ``fn`` (``epollkit.sim.worker.record``), printed like a live run:
    the figures to set beside ``measure``'s. Returns the record."""
    r = model_record(fn, kind, **setup)
    print(describe(r))
    return r


# -------------------------------------------------------------------------------------- exercises


@dataclass(frozen=True)
class Grade:
    """An exercise's verdict on an answer: ``passed``, one line per goal, the model's verdict."""

    exercise: str
    passed: bool
    lines: tuple
    verdict: Verdict = field(repr=False)
    failed: tuple = ()  # the forbidden properties the answer shows

    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass(frozen=True)
class Exercise:
    """A goal stated as properties over every schedule of a fixed setup, graded by the model.

    ``setup``: ``worker_setup`` arguments; ``free``: the ones the answer may choose (e.g. ``flags``);
    ``never``: properties no schedule may show; ``all_taken``: no schedule leaves a connection or byte
    queued; ``spread``: in the paced run every worker accepts; ``delivered``: the paced run delivers
    every byte.
    """

    name: str
    goal: str
    kind: str
    setup: dict
    never: tuple
    free: tuple = ()
    all_taken: bool = True
    spread: bool = False
    delivered: bool = False
    reference: object = None  # the reference answer: (fn, {free setup values})

    def grade(self, fn, **answer) -> Grade:
        bad = [k for k in answer if k not in self.free]
        if bad:
            fixed = ", ".join(f"{k}={v!r}" for k, v in self.setup.items())
            raise ValueError(f"exercise {self.name!r}: {bad[0]!r} is fixed ({fixed}); you may choose: "
                             f"{', '.join(self.free) or 'nothing but the loop'}")
        v = model_check(fn, self.kind, never=check_never(self.never), **{**self.setup, **answer})
        lines, ok = [f"exercise {self.name!r}: {self.goal}", v.lines()[0]], True
        for p in self.never:
            if p in v.properties:
                ok = False
                lines.append(f"  FAIL  no {p}: a schedule shows it (shortest: {len(v.witnesses[p])} steps, "
                             "drawn below)")
            else:
                lines.append(f"  ok    no {p} over {v.schedules} schedules")
        if self.all_taken:
            what = "connection" if self.kind == "accept" else "byte"
            if v.lost:
                ok = False
                lines.append(f"  FAIL  every {what} taken: a schedule leaves {v.lost} queued")
            else:
                lines.append(f"  ok    every {what} taken, in every schedule")
        order = v.paced_order()
        if self.spread:
            took = sorted(set(order))
            if len(took) < self.setup["workers"]:
                ok = False
                lines.append(f"  FAIL  paced run spreads: accept order {' '.join(map(str, order))} "
                             f"(workers {took} only)")
            else:
                lines.append(f"  ok    paced run spreads: accept order {' '.join(map(str, order))}")
        if self.delivered:
            st = v.paced.state
            got = sum(b - a for a, b, _w in st.delivered)
            total = self.setup.get("events", 2) * self.setup.get("message_size", 100)
            if got != total:
                ok = False
                lines.append(f"  FAIL  the paced run delivers every byte: {got} of {total}")
            else:
                lines.append(f"  ok    the paced run delivers every byte ({total})")
        lines.append("PASSED" if ok else "NOT YET")
        return Grade(self.name, ok, tuple(lines), v, tuple(p for p in self.never if p in v.properties))

    def check(self, fn, *, draw: bool = True, **answer) -> Grade:
        """Grade ``fn`` (``answer``: the free setup values, e.g. ``flags="EPOLLET"``), print the goals
        one by one and draw the shortest schedule that breaks the first one broken."""
        g = self.grade(fn, **answer)
        print(g.text())
        if draw and g.failed:
            witness(g.verdict, g.failed[0])
        elif draw and not g.passed and self.spread:
            from .plots.traces import swimlane

            swimlane(g.verdict.paced, title=f"{g.verdict.worker}: the paced run (each connection finds "
                                            "every worker asleep)")
        return g


def find_the_bug_given():
    """The loop of exercise 4 (a bug on purpose)."""
    while True:
        yield epoll_wait()
        got = yield read(100)
        while got != EAGAIN:
            got = yield read(100)
        yield epoll_ctl("mod")  # ready for more
        yield deliver()


EXERCISES = {
    "et-once": Exercise(
        "et-once", "make epoll-et-once correct: no stuck, every connection taken, over every schedule",
        "accept", {"flags": "EPOLLET", "topology": "shared", "workers": 2, "events": 3}, ("stuck",),
        reference=(loops.epoll_et, {})),
    "no-reorder": Exercise(
        "no-reorder", "a read loop that never reorders: no reorder, split or stuck over every schedule, "
        "and every byte delivered", "read", {"workers": 2, "events": 3, "message_size": 100},
        ("stuck", "reorder", "split"), free=("flags", "topology"), delivered=True,
        reference=(loops.oneshot, {"flags": "EPOLLET|EPOLLONESHOT"})),
    "nginx": Exercise(
        "nginx", "re-implement nginx's rotation: with EPOLLEXCLUSIVE the paced run must reach every "
        "worker; no stuck, every connection taken", "accept",
        {"flags": "EPOLLEXCLUSIVE", "topology": "private", "workers": 2, "events": 3}, ("stuck",),
        spread=True, reference=(loops.epoll_exclusive_rotate, {})),
    "find-the-bug": Exercise(
        "find-the-bug", "fix the given ONESHOT reader: no reorder, split or stuck over every schedule, "
        "every byte delivered", "read",
        {"flags": "EPOLLET|EPOLLONESHOT", "workers": 2, "events": 3, "message_size": 100},
        ("stuck", "reorder", "split"), delivered=True, reference=(loops.oneshot, {})),
}


def exercise(name: str) -> Exercise:
    try:
        return EXERCISES[name]
    except KeyError:
        raise ValueError(f"unknown exercise {name!r}; valid: {', '.join(EXERCISES)}") from None


__all__ = [
    "BAD", "EAGAIN", "EXERCISES", "OK", "Exercise", "Grade", "WorkerError", "accept", "check",
    "check_refusal", "deliver",
    "describe", "epoll_ctl", "epoll_wait", "exercise", "find_the_bug_given", "loops", "measure", "predict",
    "read",
    "recorded", "witness",
]
