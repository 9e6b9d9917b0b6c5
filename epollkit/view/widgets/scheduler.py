""""Be the scheduler" (notebook 03): the reader picks who moves next in the model and sees the state
after every step; a goal (a property, or a thread that must show it) is checked against every
interleaving. ipywidgets is imported on use."""

from __future__ import annotations

_PROP_STYLE = "color:#c51b7d;font-weight:bold"


def _as_trace(start):
    """A Trace from a Trace, a Setup, a Scenario (``sim.setup()``), a scenario name/path, or a
    PostReplay (its trace)."""
    from ... import sim

    if isinstance(start, sim.Trace):
        return start
    if isinstance(start, sim.Setup):
        return sim.start(start)
    if isinstance(start, sim.PostReplay):
        return start.trace
    if isinstance(start, str):
        return sim.start(sim.setup(start))
    if isinstance(start, sim.Scenario):
        return sim.start(sim.setup(start))
    raise ValueError(f"scheduler() takes a Trace, a Setup, a Scenario, a PostReplay or a scenario name, "
                     f"not {type(start).__name__}")


_GOAL_WORDS = {  # the model's definitions (epollkit.sim.properties); {call}: accept() / read()
    "eagain": "get <b>EAGAIN</b> from a {call} after its wait returned (<b>eagain</b>; the EAGAIN "
              "that ends a drain counts too)",
    "eagain-first": "get <b>EAGAIN</b> from its first {call} after its wait returned: woken for work "
                    "another thread took (<b>eagain-first</b>, the post's confused thread)",
    "wasted-wakeup": "be woken for nothing (<b>wasted-wakeup</b>)",
    "herd": "be woken together with another thread for one event (<b>herd</b>)",
}


def _goal_check(goal, setup=None):
    """``goal`` -> (predicate(trace) -> bool, description). ``setup``: the run's Setup, to name its
    call (accept() or read()) and to refuse a thread it does not have."""
    from ...sim import PROPERTIES

    if goal is None:
        return None, ""
    if callable(goal):
        return goal, getattr(goal, "__doc__", None) or "reach the goal"
    if isinstance(goal, str):
        goal = (goal, None)
    if isinstance(goal, tuple) and len(goal) == 2 and goal[0] in PROPERTIES:
        prop, actor = goal
        if actor is not None:
            who = actor.removeprefix("Thread ")
            if setup is not None and who not in setup.programs:
                raise ValueError(f"goal thread must be one of {', '.join(setup.programs)}, not {actor!r}")
            actor = f"Thread {who}"

        def reached(tr):
            if actor is None:
                return prop in tr.properties
            # step.exhibits names a thread's eagain / eagain-first / wasted-wakeup every time it happens
            # (step.shows only the first time in the run, whoever it was); herd: moved or was woken
            return any(prop in s.exhibits and (s.actor == actor or (prop == "herd" and who in s.woken))
                       for s in tr.steps)
        call = {"accept": "accept()", "read": "read()"}.get(getattr(setup, "kind", None), "accept()/read()")
        what = _GOAL_WORDS.get(prop, f"show <b>{prop}</b>").format(call=call)
        return reached, f"make {actor or 'some thread'} {what}"
    raise ValueError(f"goal must be a property name ({', '.join(PROPERTIES)}), a (property, thread) pair "
                     f"or a callable(trace) -> bool, not {goal!r}")


def _next_action(trace, move: str) -> str:
    """What a move would do, for its button: "Kernel: connection → l0", "Thread A: epoll_wait(e0)"."""
    m, st = trace.machine, trace.state
    from ...sim.state import ThreadState

    try:
        if move.startswith("Kernel"):
            ev = m.events[st.kpc]
            if ev[0] == "write":
                return f"{ev[2]} B → {ev[1]}"
            target = move.split("/", 1)[1] if "/" in move else ev[1]
            return f"connection → {target}"
        name = m.actor_of[move]
        t = st.threads[name]
        call = m.programs[name].call(t.local)
        what = call.label() if call is not None else "finish"
        return f"{'resume ' if t.state is ThreadState.WOKEN else ''}{what}"
    except Exception:  # a label only: never let it break the widget
        return ""


class Scheduler:
    """The "be the scheduler" widget's state and its callbacks (testable without a browser).

    ``trace``           the run so far (an ``epollkit.sim.Trace``); ``move(m)``, ``undo()``,
                        ``restart()`` and ``explore()`` are what the buttons call
    ``move_buttons``    move -> Button; only the enabled moves are shown
    ``last_exploration`` the Exploration from the last "all outcomes from here"
    """

    def __init__(self, start, *, goal=None, budget: int = 200_000, title: str | None = None):
        import ipywidgets as w

        from ... import sim

        self._sim = sim
        self.root = _as_trace(start)
        self.trace = self.root
        self.budget = budget
        self.goal, self.goal_text = _goal_check(goal, self.root.machine.setup)
        self.goal_reached_at = None
        self.last_exploration = None
        self.move_buttons: dict = {}
        self.witness_buttons: dict = {}
        self.witness_runs: dict = {}
        self.title = w.HTML(f"<b>{_esc(title or self.root.machine.setup.name)}</b>")
        self.moves = w.HBox()
        self.undo_button = w.Button(description="Undo", icon="undo", tooltip="take back the last step")
        self.restart_button = w.Button(description="Restart", icon="refresh")
        self.explore_button = w.Button(description="All outcomes from here", icon="sitemap",
                                       layout=w.Layout(width="auto"),
                                       tooltip="explore every interleaving from this state")
        self.undo_button.on_click(lambda _b: self.undo())
        self.restart_button.on_click(lambda _b: self.restart())
        self.explore_button.on_click(lambda _b: self.explore())
        self.status = w.HTML()
        self.board = w.Output()  # the state and the trace so far (an Output, so it reads as the widget's
        self.state_html = self.steps_html = ""  # content in JupyterLab and in the static notebook)
        self.outcomes_view = w.HTML()
        self.witnesses = w.HBox()
        self.box = w.VBox([
            self.title, self.status,
            w.HBox([w.HTML("<b>next:</b>&nbsp;"), self.moves]),
            w.HBox([self.undo_button, self.restart_button, self.explore_button]),
            self.board,
            self.outcomes_view, self.witnesses,
        ])
        self.refresh()

    # ------------------------------------------------------------------------- the callbacks

    def move(self, move: str) -> None:
        """Let ``move`` ("Kernel", "Thread A", ...) take one step."""
        try:
            self.trace = self.trace.then(move)
        except ValueError as exc:
            self._message(str(exc))
            return
        self.refresh()

    def undo(self) -> None:
        if self.trace.steps:
            self.trace = self.trace.undo()
            self.goal_reached_at = None if (self.goal_reached_at or 0) > len(self.trace) else \
                self.goal_reached_at
        self.refresh()

    def restart(self) -> None:
        self.trace = self.root
        self.goal_reached_at = None
        self.refresh()

    def explore(self):
        """Every interleaving from the current state: outcomes (with how many schedules end in each)
        and, for each property some of them show, a button that jumps to its shortest run."""
        import dataclasses
        import time

        import ipywidgets as w

        sim = self._sim
        setup = self.trace.machine.setup
        here = dataclasses.replace(setup, initial=self.trace.state)
        t0 = time.perf_counter()
        try:
            ex = sim.explore(here, budget=self.budget)
        except sim.StateBudgetExceeded as exc:
            self.outcomes_view.value = f"<i>{_esc(str(exc))}</i>"
            return None
        ms = 1e3 * (time.perf_counter() - t0)
        self.last_exploration = ex
        prefix = list(self.trace.schedule)
        self.witness_runs = {p: sim.replay(setup, prefix + list(t.schedule)) for p, t in ex.witnesses.items()}
        self.outcomes_view.value = _outcomes_html(setup, ex, ms, len(prefix))
        buttons = []
        for p, tr in self.witness_runs.items():
            b = self.witness_buttons.get(p)
            if b is None:
                b = w.Button(description=f"show {p}", layout=w.Layout(width="auto"))
                b.on_click(lambda _b, p=p: self.show_witness(p))
                self.witness_buttons[p] = b
            b.tooltip = f"jump to the shortest run from here that shows {p} ({len(tr)} steps)"
            buttons.append(b)
        self.witnesses.children = buttons
        return ex

    def show_witness(self, prop: str) -> None:
        """Jump to the shortest run (from the state explored) that shows ``prop``."""
        self.trace = self.witness_runs[prop]
        self.refresh()

    # ----------------------------------------------------------------------------- rendering

    def refresh(self) -> None:
        import ipywidgets as w

        tr = self.trace
        buttons = []
        for mv in tr.enabled:
            b = self.move_buttons.get(mv)
            if b is None:
                b = w.Button(layout=w.Layout(width="auto"),
                             button_style="warning" if mv.startswith("Kernel") else "info")
                b.on_click(lambda _b, mv=mv: self.move(mv))
                self.move_buttons[mv] = b
            what = _next_action(tr, mv)
            b.description = f"{mv}: {what}" if what else mv
            buttons.append(b)
        self.moves.children = buttons
        self.undo_button.disabled = not tr.steps
        self.state_html, self.steps_html = _view_html(tr), _steps_html(tr)
        board = (f"<div style='display:flex;flex-wrap:wrap;align-items:flex-start'>{self.state_html}"
                 f"{self.steps_html}</div>")
        # Output.outputs is set directly (no capture context): it works without a front end, and fast
        self.board.outputs = ({"output_type": "display_data", "metadata": {},
                               "data": {"text/html": board, "text/plain": tr.text() or "(no steps yet)"}},)
        if self.goal is not None and self.goal_reached_at is None and self.goal(tr):
            self.goal_reached_at = len(tr)
        self._message("")

    def _message(self, text: str) -> None:
        tr = self.trace
        parts = []
        if self.goal_text:
            if self.goal_reached_at is not None:
                parts.append(f"<span style='color:#1a9850'>✔ Goal reached in {self.goal_reached_at} steps: "
                             f"{self.goal_text}.</span>")
            else:
                parts.append(f"Goal: {self.goal_text}.")
        if tr.done:
            props = ", ".join(tr.properties) or "none"
            parts.append(f"<b>Finished</b> after {len(tr)} steps; properties shown: {props}.")
        elif not tr.steps:
            parts.append("Pick who moves next.")
        if text:
            parts.append(f"<span style='color:#d7301f'>{_esc(text)}</span>")
        self.status.value = " ".join(parts)

    def _repr_mimebundle_(self, **kw):
        return self.box._repr_mimebundle_(**kw)


def _esc(text: str) -> str:
    import html

    return html.escape(str(text), quote=False)


def _view_html(tr) -> str:
    v = tr.view
    rows = [f"<tr><td>Thread {n}</td><td>{_esc(s)}</td></tr>" for n, s in v.threads.items()]
    for n, q in v.queued.items():
        unit = "connection(s) queued" if n in tr.state.listeners else "byte(s) queued"
        rows.append(f"<tr><td>{n}</td><td>{q} {unit}</td></tr>")
    for n, r in v.ready.items():
        rows.append(f"<tr><td>{n} ready list</td><td>[{', '.join(r)}]</td></tr>")
    for n, s in v.sleepers.items():
        if s:
            rows.append(f"<tr><td>{n} sleepers</td><td>{' → '.join(s)} (first woken first)</td></tr>")
    if v.disarmed:
        rows.append(f"<tr><td>disarmed</td><td>{', '.join(v.disarmed)}</td></tr>")
    style = "font-size:90%;border-collapse:collapse"
    return (f"<div style='min-width:300px;margin-right:16px'><b>State</b><table style='{style}'>"
            + "".join(rows) + "</table></div>")


def _steps_html(tr) -> str:
    items = []
    for s in tr.steps:
        mark = f" <span style='{_PROP_STYLE}'>← {', '.join(s.shows)}</span>" if s.shows else ""
        items.append(f"<li><b>{_esc(s.actor)}:</b> {_esc(s.text)}{mark}</li>")
    body = "".join(items) or "<li style='list-style:none'><i>no steps yet</i></li>"
    return f"<div><b>Trace</b><ol style='font-size:90%;margin-top:2px'>{body}</ol></div>"


def _outcomes_html(setup, ex, ms: float, prefix: int) -> str:
    from ...sim import PROPERTIES
    from ...sim.programs import outcome_dict

    head = (f"<b>From step {prefix}:</b> {ex.schedules:,} schedule(s) to the end, "
            f"{len(ex.outcomes)} distinct outcome(s), {ex.states:,} states ({ms:.0f} ms). "
            "Properties reachable: "
            f"<span style='{_PROP_STYLE}'>{', '.join(ex.properties) or 'none'}</span>")
    names = list(setup.programs)
    rows = []
    for key, count in ex.outcomes[:12]:
        if setup.kind == "scenario":
            desc = "; ".join(f"{n}: {', '.join(map(str, res))}" for n, res in key)
            props = ""
        else:
            d = outcome_dict(setup, key, count)
            if setup.kind == "accept":
                order = "".join(names[i] for i in d["accept_order"]) or "-"
                desc = (f"accept order {order}; EAGAIN {d['eagain']}; wake-ups {d['kernel_wakeups']} "
                        f"({d['wasted_wakeups']} wasted); lost {d['lost']}")
            else:
                desc = (f"split {d['split_messages']}; reordered {d['reordered']}; "
                        f"EAGAIN {d['eagain']}; wake-ups {d['kernel_wakeups']} "
                        f"({d['wasted_wakeups']} wasted); lost {d['lost_bytes']}")
            props = ", ".join(p for p in PROPERTIES if p in d["properties"])
        rows.append(f"<tr><td>{count:,}</td><td>{_esc(desc)}</td><td style='{_PROP_STYLE}'>{props}</td></tr>")
    more = f"<i>… and {len(ex.outcomes) - 12} more</i>" if len(ex.outcomes) > 12 else ""
    return (head + "<table style='font-size:90%'><tr><th>schedules</th><th>outcome</th><th>properties</th>"
            "</tr>" + "".join(rows) + "</table>" + more)


def scheduler(setup_or_trace, *, goal=None, title: str | None = None, budget: int = 200_000,
              show: bool = True) -> Scheduler:
    """"Be the scheduler": you pick who moves next in a model run and watch the state and the trace grow.

    setup_or_trace  an ``epollkit.sim`` Setup (e.g. ``sim.accept_setup("epoll-lt", 2, 1)``), a Trace to
                    continue, a scenario name/Scenario, or a ``sim.post_replay(...)``
    goal            optional exercise: a property (``"eagain"``), a ``(property, thread)`` pair
                    (``("eagain-first", "B")``: Thread B returns from its wait and its first accept()
                    finds nothing; ``("eagain", "B")``: any EAGAIN of B after a wait, a drain's last
                    included) or ``callable(trace) -> bool``
    budget          state budget of "All outcomes from here"

    Buttons appear only for the actors that can move now (the kernel's button names the next event);
    Undo takes back a step; "All outcomes from here" explores every interleaving from the current state
    and offers a button per property that jumps to its shortest run. Returns the :class:`Scheduler`
    (its methods are the button callbacks); ``show=False`` does not display it.
    """
    from IPython.display import display

    s = Scheduler(setup_or_trace, goal=goal, budget=budget, title=title)
    if show:
        display(s.box)
    return s
