"""The seed post's six traces, replayed step by step against the kernel's rules.

Source: Marek Majkowski, "Epoll is fundamentally broken 1/2",
https://idea.popcount.org/2017-02-20-epoll-is-fundamentally-broken-12/

Each trace is a scenario file in ``data/scenarios/post-*.json`` whose ``post`` field lists the post's
steps in order, each with the model moves that realise it (possibly none: a sentence that describes
no kernel action of its own), an optional ``check`` of what the post claims (``woken`` / ``asleep``
threads, a thread's last ``result``) and a ``note``. The replay takes the moves; a move the model
refuses, or a claim the model's state contradicts, stops the replay at that step with a one-sentence
reason (the step's ``why``, or the model's own refusal), and ``instead`` -- the file's continuation
schedule from that point -- shows what the kernel does instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..scenarios.format import load
from .build import setup as build_setup
from .state import ThreadState
from .trace import Trace, to_json

POST_TRACES = {
    "lt-accept-wasted-wakeup": "post-lt-accept-wasted-wakeup",
    "et-accept-wasted-wakeup": "post-et-accept-wasted-wakeup",
    "et-accept-starvation": "post-et-accept-starvation",
    "et-oneshot-accept": "post-et-oneshot-accept",
    "lt-exclusive-read-race": "post-lt-exclusive-read-race",
    "et-read-race": "post-et-read-race",
}


@dataclass(frozen=True)
class PostStep:
    """One step of the post: its text, the model steps that realise it, a note, and whether the
    kernel can do it (``ok``)."""

    index: int
    post: str
    model: tuple  # Step objects
    note: str = ""
    ok: bool = True


@dataclass(frozen=True)
class PostReplay:
    name: str
    scenario: object
    steps: tuple  # PostStep, up to and including the one where the replay stopped
    trace: Trace  # the model trace up to the stop (or the end)
    stopped_at: int | None = None  # index of the post step the kernel cannot do
    reason: str = ""
    instead: Trace | None = field(default=None)  # the trace continued as the kernel does it

    @property
    def instead_steps(self) -> tuple:
        """The kernel's own steps after the stop point."""
        if self.instead is None:
            return ()
        return self.instead.steps[len(self.trace.steps):]

    def text(self) -> str:
        lines = []
        for s in self.steps:
            lines.append(f"{s.index}. post: {s.post}")
            for m in s.model:
                lines.append(f"   model {m.index}. **{m.actor}:** {m.text}"
                             + (f"  ← {', '.join(m.shows)}" if m.shows else ""))
            if s.note:
                lines.append(f"   note: {s.note}")
        if self.stopped_at is not None:
            lines.append(f"STOP at post step {self.stopped_at}: {self.reason}")
            if self.instead_steps:
                lines.append("What the kernel does instead:")
                lines.extend(f"   {m.line()}" for m in self.instead_steps)
        return "\n".join(lines)


def _check(tr: Trace, check: dict) -> str | None:
    """What contradicts the post's claim, or None."""
    st = tr.state
    for n in check.get("woken", ()):
        if st.threads[n].state is not ThreadState.WOKEN:
            return f"Thread {n} is {st.threads[n].state.value}, not woken"
    for n in check.get("asleep", ()):
        if not st.threads[n].state.asleep:
            return f"Thread {n} is {st.threads[n].state.value}, not asleep"
    for n, want in check.get("result", {}).items():
        got = st.threads[n].results
        last = to_json(got[-1]) if got else None
        if last != want:
            return f"Thread {n}'s last call returned {last!r}, not {want!r}"
    return None


def post_replay(name: str, kernel="newest") -> PostReplay:
    """Replay one of the post's traces (a key of POST_TRACES, or a scenario name/path with ``post``).

    ``kernel``: the release to imitate (default "newest"; ``system.this_release()`` for this
    machine's; "5.10" shows where 5.5-5.12 part from the post)."""
    sc = load(POST_TRACES.get(name, name))
    if not sc.post:
        raise ValueError(f"scenario {sc.name!r} has no 'post' steps; post traces: {', '.join(POST_TRACES)}")
    setup = build_setup(sc, kernel)
    tr = Trace.start(setup)
    done = []
    for i, ps in enumerate(sc.post, 1):
        before = len(tr.steps)
        try:
            for mv in ps.get("moves", []):
                tr = tr.then(mv)
        except ValueError as exc:
            reason = ps.get("why") or str(exc).split(": ", 1)[-1]
            done.append(PostStep(i, ps["step"], tr.steps[before:], ps.get("note", ""), ok=False))
            return _stop(name, sc, done, tr, i, reason)
        bad = _check(tr, ps.get("check", {}))
        done.append(PostStep(i, ps["step"], tr.steps[before:], ps.get("note", ""), ok=bad is None))
        if bad is not None:
            reason = ps.get("why") or f"the post's claim does not hold on this kernel's rules: {bad}"
            return _stop(name, sc, done, tr, i, reason)
    return PostReplay(name, sc, tuple(done), tr)


def _stop(name, sc, done, tr, i, reason) -> PostReplay:
    inst = tr
    for mv in sc.instead or []:
        if mv not in inst.enabled and inst.machine.normalize(mv) not in inst.enabled:
            break
        inst = inst.then(mv)
    return PostReplay(name, sc, tuple(done), tr, i, reason, inst)
