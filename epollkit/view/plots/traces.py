"""Model traces as text and as swimlanes: one lane per thread, one column per step (03, 04, 06)."""

from __future__ import annotations

from ...sim.state import ThreadState

_LANE_STYLE = {  # thread state -> (linestyle, linewidth, colour)
    ThreadState.RUNNING: ("-", 2.6, "#1f78b4"),
    ThreadState.WOKEN: ("--", 2.0, "#e66101"),
    ThreadState.DONE: ("", 0.0, "white"),
}


_ASLEEP_STYLE = (":", 1.4, "#9a9a9a")


_PROP_COLOR = "#c51b7d"


def _initial_view(trace):
    """The view before the trace's first step (the start of its setup)."""
    from ...sim.trace import View

    return View.of(trace.machine.setup.initial)


def _lane_style(state: str):
    """The lane style of a thread state (a View holds ``ThreadState`` values as strings)."""
    state = ThreadState(state)
    if state.asleep:
        return _ASLEEP_STYLE
    return _LANE_STYLE.get(state, ("-", 1.5, "#555555"))


def step_label(step, width: int = 32) -> str:
    """A short label for one trace step (the full sentence is in ``trace.text()``):
    "epoll_wait(e0) → sleeps", "accept(l0) → EAGAIN", "conn 2 → l0", "+2047 B → s0", ...
    Built from the step's fields (``event``, ``call``, ``result``, ``resumed``, ``wasted``,
    ``detail``: :class:`epollkit.sim.Step`), never from its prose."""
    if step.event is not None:
        ev = step.event
        out = (f"+{ev['bytes']} B → {ev['target']}" if ev["kind"] == "write"
               else f"conn {ev['number']} → {ev['target']}")
    elif step.call is None:
        out = "(nothing to do)"
    elif step.result == "sleeps":
        out = ("woken: nothing, sleeps" if step.resumed
               else f"{step.call.label().replace(', blocking', '')} → sleeps")
    else:
        out = _call_label(step)
    if step.wasted and not out.startswith("woken"):
        out += " (wasted)"
    return out if len(out) <= width else out[: width - 1] + "…"


def _call_label(step) -> str:
    """``call → result`` for a call that returned."""
    from ...scenarios.calls import Accept, Deliver, EpollWait, Poll, Read

    call, result, detail = step.call, step.result, step.detail or {}
    name = call.label().replace(", blocking", "")
    if isinstance(call, Deliver):
        return f"deliver → {detail.get('delivered', 0)} B"
    if isinstance(call, EpollWait):
        res = ", ".join(fd for fd, _bits in result) + " ready" if result else "returns 0 events"
    elif isinstance(call, Poll):
        res = "readable"
    elif isinstance(call, Accept) and "connection" in detail:
        res = f"conn {detail['connection']}"
    elif isinstance(call, Read) and result != "EAGAIN":
        res = f"{result} B"
    else:  # EAGAIN, or epoll_ctl: "ok" or an errno name
        res = str(result)
    return f"{name} → {res}"


def view_line(view, *, sleepers: bool = True) -> str:
    """One compact line of a :class:`epollkit.sim.View`: queues, ready lists, sleepers in wake order,
    disarmed ONESHOT items. ``l0:1 | e0[l0] | wq e0: B A``."""
    parts = [" ".join(f"{n}:{q}" for n, q in view.queued.items())]
    ready = " ".join(f"{n}[{','.join(r)}]" for n, r in view.ready.items())
    if ready:
        parts.append(ready)
    if sleepers:
        sl = " ".join(f"{n}:{''.join(s)}" for n, s in view.sleepers.items() if s)
        parts.append(f"wq {sl}" if sl else "wq -")
    if view.disarmed:
        parts.append("off " + ",".join(view.disarmed))
    return " | ".join(parts)


def trace_text(trace, *, state: bool = True, start: bool = True) -> str:
    """The numbered text rendering of a trace, one line per step (``trace.text()``), each followed by
    the state after it (queues, ready lists, sleepers in wake order) when ``state`` is true."""
    lines = []
    if state and start:
        lines.append(f"0. start      {view_line(_initial_view(trace))}")
    for s in trace.steps:
        lines.append(s.line())
        if state:
            lines.append(f"      after:  {view_line(s.view)}")
    return "\n".join(lines)


def swimlane(trace, ax=None, *, title: str | None = None, state: bool = True, marks: dict | None = None,
             tags: dict | None = None, divider: tuple | None = None, label_width: int = 32, first: int = 1):
    """A trace as a swimlane figure: one lane per thread plus the kernel, steps downwards.

    Each step is a box in the lane of who moved (its short label, see :func:`step_label`); a red arrow
    is a wake-up (``step.woken``: from the step that caused it to the lane of the thread it woke, in
    wake order from top to bottom); a lane is solid
    while its thread runs, dashed orange while it is woken but has not run yet, dotted grey while it
    sleeps. Beside each step (``state=True``): the queues (connections in an accept queue, bytes in a
    stream), each epoll instance's ready list ``e0[l0]`` and the sleepers in the order a wake-up takes
    them (``wq e0:BA``: B is woken first). A step where a property first shows (``step.shows``) is
    shaded and named. ``marks``: extra notes by step number, drawn like properties (e.g.
    ``{5: "post: B returns; kernel: B re-sleeps"}``). ``tags``: short labels by step number drawn in
    the left margin (e.g. the post's step numbers). ``divider``: ``(k, text)`` draws a line under step k
    with ``text`` (e.g. "below: what the kernel does instead"). ``first``: number of the first step drawn (to
    show the tail of a long trace). Readable up to about 25 steps.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    steps = [s for s in trace.steps if s.index >= first]
    view0 = _initial_view(trace) if first <= 1 else trace.steps[first - 2].view
    threads = list(view0.threads)
    lanes = ["Kernel"] + [f"Thread {n}" for n in threads]
    lane_x = {name: i for i, name in enumerate(lanes)}
    n = len(steps)
    marks = dict(marks or {})
    tags = dict(tags or {})
    left = -1.55 if tags else -0.95
    prop_x = len(lanes) - 0.2
    state_x = prop_x + 1.2
    right = state_x + (1.75 if state else 0.0)
    caption, k_rel, gap = [], n + 1, 0.0
    if divider is not None:
        import textwrap

        k_rel = divider[0] - first + 1
        caption = textwrap.wrap(divider[1], int(15 * (right - left)))
        gap = 0.35 + 0.42 * len(caption)

    def ymap(row):
        return row + (gap if row > k_rel else 0.0)

    if ax is None:
        _fig, ax = plt.subplots(figsize=(1.45 * (right - left), 0.95 + 0.33 * (max(n + 1, 4) + gap)))
    ax.set_axis_off()
    ax.set_xlim(left, right)
    ax.set_ylim(ymap(n) + 0.8, -1.15)
    # header
    for name, x in lane_x.items():
        ax.text(x, -0.8, name, ha="center", va="center", fontweight="bold", fontsize=9)
    if state:
        ax.text(state_x, -0.8, "after the step: queued | ready lists | sleepers (wake order)",
                ha="left", va="center", fontsize=7.5, color="#333333")
        ax.text(state_x, 0, view_line(view0), ha="left", va="center", fontsize=7, family="monospace",
                color="#555555")
    ax.text(-0.6, 0, "start", ha="center", va="center", fontsize=7, color="#555555")
    # lanes: the thread's state between steps
    views = [view0] + [s.view for s in steps]
    ax.plot([0, 0], [-0.5, ymap(n) + 0.5], "-", color="#bbbbbb", lw=1.0, zorder=1)
    for t in threads:
        x = lane_x[f"Thread {t}"]
        for row, v in enumerate(views):
            ls, lw, col = _lane_style(v.threads[t])
            if ls:
                y1 = ymap(row + 1) if row < n else ymap(row) + 0.5
                ax.plot([x, x], [ymap(row), y1], linestyle=ls, lw=lw, color=col, zorder=1,
                        solid_capstyle="butt")
    # steps, wake-ups, properties
    for i, s in enumerate(steps, start=1):
        row = ymap(i)
        x = lane_x.get(s.actor, 0)
        note = [*s.shows]
        if s.index in marks:
            note.append(marks[s.index])
        if note:
            ax.add_patch(Rectangle((left, row - 0.48), right - left, 0.96, color=_PROP_COLOR, alpha=0.09,
                                   lw=0, zorder=0))
            ax.text(prop_x, row, "◀ " + ", ".join(note), ha="left", va="center", fontsize=7.5,
                    color=_PROP_COLOR, fontweight="bold", zorder=4)
        ax.text(-0.6, row, str(s.index), ha="center", va="center", fontsize=8, color="#333333")
        if s.index in tags:
            ax.text(-1.05, row, tags[s.index], ha="center", va="center", fontsize=7, color="#6a51a3",
                    fontweight="bold")
        face = "#eeeeee" if s.actor == "Kernel" else "#deebf7"
        ax.text(x, row, step_label(s, label_width), ha="center", va="center", fontsize=7, zorder=3,
                bbox={"boxstyle": "round,pad=0.25", "fc": face, "ec": "#888888", "lw": 0.6})
        for k, w in enumerate(s.woken):  # the model's own record of the step's wake-ups, in wake order
            tx = lane_x[f"Thread {w}"]
            y = row + 0.27 + 0.1 * k
            ax.annotate("", xy=(tx, y), xytext=(x, y), zorder=2,
                        arrowprops={"arrowstyle": "-|>", "color": "#d7301f", "lw": 1.1,
                                    "shrinkA": 0, "shrinkB": 2})
        if state:
            ax.text(state_x, row, view_line(s.view), ha="left", va="center", fontsize=7,
                    family="monospace", color="#222222")
    if caption:
        y = k_rel + 0.55
        ax.plot([left, right], [y, y], "--", color="#6a51a3", lw=1.2, zorder=5)
        ax.text(left + 0.1, y + 0.12, "\n".join(caption), ha="left", va="top", fontsize=7.5,
                color="#6a51a3", zorder=5, linespacing=1.3,
                bbox={"fc": "white", "ec": "none", "alpha": 0.9, "pad": 1})
    ax.set_title(title if title is not None else trace.machine.setup.name, fontsize="medium", loc="left")
    return ax


def post_swimlane(replay, ax=None, *, title: str | None = None, state: bool = True):
    """One of the seed post's traces (``epollkit.sim.post_replay(name)``) as a :func:`swimlane`.

    The left margin names the post's step that each model step realises (``P4``). Where the kernel
    cannot do what the post says, the post's step is marked, a line states the reason, and the steps
    under the line are what the kernel does instead (``replay.instead``).
    """
    tr = replay.instead if replay.instead is not None else replay.trace
    tags, marks = {}, {}
    for ps in replay.steps:
        for m in ps.model:
            tags[m.index] = f"P{ps.index}"
    divider = None
    if replay.stopped_at is not None:
        at = len(replay.trace.steps)
        if at:
            marks[at] = f"✗ post step {replay.stopped_at}"
        after = " Below the line: what the kernel does instead." if replay.instead_steps else ""
        divider = (at, f"✗ The post's step {replay.stopped_at} cannot happen on a real kernel: "
                       f"{replay.reason}{after}")
    name = getattr(replay.scenario, "name", replay.name)
    return swimlane(tr, ax, title=title if title is not None else name, state=state, marks=marks,
                    tags=tags, divider=divider)


def swimlane_legend(ax=None):
    """A small key for :func:`swimlane` (lane styles and the wake-up arrow)."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    if ax is None:
        _fig, ax = plt.subplots(figsize=(7.5, 0.5))
    ax.set_axis_off()
    woken = _LANE_STYLE[ThreadState.WOKEN][2]
    handles = [Line2D([], [], ls="-", lw=2.6, color=_LANE_STYLE[ThreadState.RUNNING][2], label="running"),
               Line2D([], [], ls="--", lw=2.0, color=woken, label="woken, not yet run"),
               Line2D([], [], ls=":", lw=1.4, color=_ASLEEP_STYLE[2], label="asleep"),
               Line2D([], [], marker=">", ls="-", lw=1.1, color="#d7301f", label="wake-up")]
    ax.legend(handles=handles, loc="center", ncol=4, frameon=False, fontsize="small")
    return ax
