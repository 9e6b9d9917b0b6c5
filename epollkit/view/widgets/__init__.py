"""ipywidgets front-ends over lab and sim. ipywidgets and matplotlib are imported inside functions, so
``import epollkit`` stays light. Sliders that start experiments use ``continuous_update=False``; every
widget cell in a notebook is followed by a static default result for readers who cannot run it.
"""

from __future__ import annotations


def accept_explorer(strategy: str = "epoll-lt", workers: int = 4, connections: int = 200):
    """Pick a strategy, workers and connections, press Run: the live accept experiment's table and
    per-worker bars (or, without epoll, the recorded result nearest to the choice)."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    from ... import data, strategies
    from .. import plots
    from ..notebook import live

    strat = w.Dropdown(options=list(strategies.CONTRACT_ACCEPT), value=strategy, description="strategy")
    nworkers = w.IntSlider(value=workers, min=1, max=16, description="workers",
                           continuous_update=False)
    nconn = w.IntSlider(value=connections, min=20, max=1000, step=20, description="connections",
                        continuous_update=False)

    def draw():
        if live():
            from ...lab import accept

            r = accept(strat.value, nworkers.value, nconn.value)
            note = f"live, Linux {r.kernel}"
        else:
            rs = data.find("accept", strategy=strat.value)
            r = min(rs, key=lambda x: abs(x.workers - nworkers.value))
            note = f"NOT LIVE: recorded, {data.describe('accept')}"
        print(f"{r.strategy}, {r.workers} workers, {r.connections} connections ({note}): "
              f"{r.kernel_wakeups_per_connection:.2f} kernel wake-ups, "
              f"{r.returns_per_connection:.2f} returns, {r.eagain_per_connection:.2f} EAGAIN "
              f"per connection; lost {r.lost}; busiest worker {r.max_share:.0%}")
        fig, ax = plt.subplots(figsize=(7, 3))
        plots.per_worker_accepts(r, ax)
        _show(fig)

    return _run_panel([[strat], [nworkers, nconn]], draw)


def read_race_explorer(strategy: str = "lt", readers: int = 2, think_us: int = 0,
                       message_size: int = 64, messages: int = 20_000):
    """Pick a read strategy, readers, think time and message size, press Run: the live read
    experiment's split/reorder counts (or, without epoll, the nearest recorded result)."""
    import ipywidgets as w

    from ... import data
    from ...lab.experiments.read import SUPPORTED
    from ..notebook import live

    strat = w.Dropdown(options=list(SUPPORTED), value=strategy, description="strategy")
    nreaders = w.IntSlider(value=readers, min=1, max=8, description="readers", continuous_update=False)
    think = w.IntSlider(value=think_us, min=0, max=2000, step=50, description="think us",
                        continuous_update=False)
    msize = w.Dropdown(options=[16, 64, 100, 1000, 4096], value=message_size, description="msg bytes")

    def draw():
        if live():
            from ...lab import read

            r = read(strat.value, nreaders.value, messages, message_size=msize.value,
                     think_us=think.value)
            note = f"live, Linux {r.kernel}"
        else:
            rs = data.find("read", strategy=strat.value) or data.find("read")
            r = min(rs, key=lambda x: (abs(x.readers - nreaders.value),
                                       abs((x.params or {}).get("think_us", 0) - think.value),
                                       abs(x.message_size - msize.value)))
            note = f"NOT LIVE: nearest recorded run, {data.describe('read')}"
        p = r.params or {}
        print(f"{r.strategy}, {r.readers} readers, {r.messages} x {r.message_size} B, think "
              f"{p.get('think_us', 0):g} us ({note})\n"
              f"  lost bytes {r.lost_bytes}; split messages {r.split_messages}; reordered deliveries "
              f"{r.reordered} of {p.get('chunks')}; stream in order: {r.in_order}\n"
              f"  {p.get('messages_per_s', 0):,.0f} messages/s; wake-ups {r.kernel_wakeups}, "
              f"EAGAIN {r.eagain}, epoll_ctl re-arms {p.get('epoll_ctl', 0)}")

    return _run_panel([[strat, msize], [nreaders, think]], draw)


def queue_explorer(workers: int = 4, utilization: float = 0.8, cv: float = 1.0, requests: int = 1500,
                   service_ms: float = 2.0):
    """Sliders for workers N, load and service-time spread (cv): Run serves the same requests from one
    shared ONESHOT epoll set and from per-worker shares, and plots the latency percentiles beside the
    formulas. Without epoll it shows the formulas only."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    from ...analysis import queueing
    from .. import plots
    from ..notebook import live

    nworkers = w.IntSlider(value=workers, min=1, max=16, description="workers N", continuous_update=False)
    load = w.FloatSlider(value=utilization, min=0.1, max=0.95, step=0.05, description="load rho",
                         continuous_update=False)
    spread = w.FloatSlider(value=cv, min=0.0, max=3.0, step=0.25, description="service cv",
                           continuous_update=False)

    def draw():
        n, u, c = nworkers.value, load.value, spread.value
        cmp = queueing.compare(u, n, service_ms, cv=c)
        rows = {}
        if live():
            from ...lab.experiments.serve import serve

            for s in ("shared", "sharded"):
                r = serve(s, n, u, requests=requests, service_ms=service_ms, cv=c)
                rows[s] = r.latency_ms
            print(f"live, Linux {r.kernel}: {requests} requests, mean service {service_ms} ms, cv {c}")
        else:
            print("NOT LIVE (no epoll here): formulas only")
        fig, ax = plt.subplots(figsize=(7, 3))
        keys = ["mean", "p50", "p90", "p99"]
        for k, s in enumerate(("shared", "sharded")):
            form = [cmp[s]["mean_response"]] + [cmp[s].get(f"response_p{q}") for q in (50, 90, 99)]
            xs = [i + (k - 0.5) * 0.4 for i in range(4)]
            if s in rows:
                ax.bar(xs, [rows[s][q] for q in keys], 0.4, color=plots.color(s), label=f"{s}, measured")
            ax.plot(xs, [f if f is not None else float("nan") for f in form], "k_", markersize=18,
                    label="formula" if k == 0 else None)
            print(f"  {s:8} formula ({cmp[s]['name']}): mean {cmp[s]['mean_response']:.2f} ms"
                  + (f"; measured mean {rows[s]['mean']:.2f}, p99 {rows[s]['p99']:.2f} ms" if s in rows
                     else ""))
        ax.set_xticks(range(4))
        ax.set_xticklabels(keys)
        ax.set_ylabel("response time (ms)")
        ax.set_title(f"{n} workers at load {u:.2f}, cv {c:g}", fontsize="medium")
        ax.legend(fontsize="small")
        _show(fig)

    return _run_panel([[nworkers], [load, spread]], draw)


def _run_panel(rows, draw):
    """The shape every experiment widget shares: rows of controls, a Run button at the end of the first
    row, and an output area that ``draw()`` refills on each click."""
    import ipywidgets as w
    from IPython.display import display

    button = w.Button(description="Run", button_style="primary", icon="play")
    out = w.Output()

    def run(_=None):
        out.clear_output(wait=True)
        with out:
            draw()

    button.on_click(run)
    first, *rest = rows
    box = w.VBox([w.HBox([*first, button]), *(w.HBox(r) for r in rest), out])
    display(box)
    return box


def _show(fig) -> None:
    """Show a finished figure in the current output and free it (the next click draws a new one)."""
    import matplotlib.pyplot as plt

    plt.show()
    plt.close(fig)


# ------------------------------------------------------------ accept fixes and SO_REUSEPORT (04, 05)


def wake_order_explorer(strategy: str = "epoll-exclusive", workers: int = 4, connections: int = 60,
                        work_ms: float = 0.0, rate: float = 400.0):
    """Pick a strategy, workers, per-connection work (a sleep) and the connection rate; Run shows which
    worker accepted each connection and each worker's share (live; without epoll, the recorded order
    of the same strategy)."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    from ... import data
    from .. import plots
    from ..notebook import live

    names = ["blocking", "epoll-lt", "epoll-et", "epoll-oneshot", "epoll-exclusive",
             "epoll-exclusive-rotate", "reuseport", "reuseport-cbpf-random"]
    strat = w.Dropdown(options=names, value=strategy, description="strategy")
    nworkers = w.IntSlider(value=workers, min=2, max=8, description="workers", continuous_update=False)
    nconn = w.IntSlider(value=connections, min=10, max=200, step=10, description="connections",
                        continuous_update=False)
    work = w.FloatSlider(value=work_ms, min=0.0, max=20.0, step=0.5, description="work ms",
                         continuous_update=False)
    pace = w.FloatLogSlider(value=rate, base=10, min=1.5, max=3.7, description="conn/s",
                            continuous_update=False)

    def draw():
        if live():
            from ...lab.experiments.sweeps import work_sweep

            (r,) = work_sweep(strat.value, (work.value,), workers=nworkers.value,
                              connections=nconn.value, rate=pace.value)
            note = f"live, Linux {r.kernel}"
        else:
            rs = data.find("accept_fixes", strategy=strat.value) or data.find("accept_fixes")
            r = rs[0]
            note = f"NOT LIVE: recorded, {data.describe('accept_fixes')}"
        print(f"{r.strategy}: {r.workers} workers, {r.connections} connections, "
              f"work {(r.params or {}).get('work_ms', 0)} ms ({note}); busiest worker {r.max_share:.0%}")
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 2.6), gridspec_kw={"width_ratios": [3, 1]})
        plots.accept_order_strip([r], a1, title="who accepted each connection")
        plots.per_worker_accepts(r, a2, title="per worker")
        fig.tight_layout()
        _show(fig)

    return _run_panel([[strat], [nworkers, nconn], [work, pace]], draw)


def reuseport_explorer(listeners: int = 2, queued: int = 50):
    """Sliders for listeners and queued connections: Run closes listener 0 of a fresh reuseport group
    and shows what was queued where and how many connections the client saw reset (live only; without
    epoll the recorded run)."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    from ... import data
    from .. import plots
    from ..notebook import live

    nlisteners = w.IntSlider(value=listeners, min=2, max=8, description="listeners", continuous_update=False)
    nqueued = w.IntSlider(value=queued, min=10, max=500, step=10, description="queued",
                          continuous_update=False)

    def draw():
        if live():
            from ...lab.experiments.reuseport import reuseport_close

            r = reuseport_close(nlisteners.value, nqueued.value)
            note = f"live, Linux {r.kernel}"
        else:
            r = data.find("reuseport", experiment="reuseport-close")[0]
            note = f"NOT LIVE: recorded, {data.describe('reuseport')}"
        print(f"{r.queued} queued on {r.listeners} listeners ({note}): listener {r.closed_listener} "
              f"held {r.on_closed}; closing it reset {r.reset}, the others accepted {r.accepted}, "
              f"lost {r.lost}")
        fig, ax = plt.subplots(figsize=(6, 2.8))
        plots.reuseport_close(r, ax)
        _show(fig)

    return _run_panel([[nlisteners, nqueued]], draw)


# ----------------------------------------------------------------- "be the scheduler" (notebook 03)

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
        return f"{'resume ' if t.state.value.startswith('woken') else ''}{what}"
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
