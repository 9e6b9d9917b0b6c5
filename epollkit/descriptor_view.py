"""View layer for the descriptor-vs-description chapter (notebook 08): the three tables drawn step by step,
the model's replay of a scenario, the live record shown (or the recorded one, NOT LIVE), a playground
widget and folded computed answers. matplotlib and ipywidgets are imported inside functions.

The three tables: each process's **descriptor table** (number -> open file description), the
**descriptions** (with how many descriptors refer to each), and each epoll instance's **interest list**,
whose items are keyed by (description, number) -- ``struct epoll_filefd`` -- so an item can point at a
description through a number that no longer refers to it: a *ghost* (drawn red).
"""

from __future__ import annotations

import html

from . import sim
from .sim import fdtable, rules
from .sim.fdtable import Close, Dup, Open
from .sim.machine import Machine
from .sim.threads import Ctl, Read

GHOST = "#c0392b"
LIVE_COLOUR = "#2c7fb8"
CHILD_COLOUR = "#7b3294"


# ------------------------------------------------------------------------------------ model replay


def model_steps(name: str, kernel: str = "newest", seed: int = 0) -> list:
    """One schedule of scenario ``name`` on the model, step by step: ``[{"index", "actor", "text",
    "tables"}, ...]``, step 0 being the state after setup (objects, ``watch``, fork)."""
    sc = sim.load(name)
    setup = sim.setup(sc, kernel)
    tr = sim.run(setup, seed)
    m = Machine(setup)
    st = setup.initial
    out = [{"index": 0, "actor": "setup", "text": _setup_text(sc), "tables": fdtable.snapshot(st)}]
    for step in tr.steps:
        st = m.apply(st, step.move)
        out.append({"index": step.index, "actor": step.actor, "text": step.text,
                    "tables": fdtable.snapshot(st)})
    out[-1]["outcome"] = tr.outcome
    return out


def _setup_text(sc) -> str:
    bits = [f"{', '.join(o for o in sc.objects if o not in sc.unopened)} open"]
    bits += [f"{ep} watches {fd}" for ep, fd, _ev in sc.watch]
    if sc.child:
        bits.append(f"fork(): Thread {', '.join(sc.child)} runs in the child")
    return "; ".join(bits)


def print_steps(steps: list) -> None:
    for s in steps:
        print(f"{s['index']:>2}. {s['actor']}: {s['text']}")
    if steps and steps[-1].get("outcome"):
        print(f"outcome: {steps[-1]['outcome']}")


# ------------------------------------------------------------------------------------ the picture


def _box(ax, x, y, text, colour="#444", fill="white", weight="normal", size=8):
    ax.text(x, y, text, ha="center", va="center", fontsize=size, weight=weight, color=colour,
            bbox={"boxstyle": "round,pad=0.3", "fc": fill, "ec": colour, "lw": 1})


def draw_tables(tables: dict, ax=None, title: str | None = None):
    """Processes' descriptor tables (left) -> open file descriptions (middle) <- epoll interest lists
    (right). Returns the Axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _fig, ax = plt.subplots(figsize=(7.5, 3.2))
    ax.set_axis_off()
    ax.set_xlim(-0.6, 2.6)
    descs = sorted(tables.get("descriptions", {}))
    # every description an item still points at is shown, even with no descriptor left
    for items in tables.get("interest", {}).values():
        for it in items:
            if it["description"] not in descs:
                descs.append(it["description"])
    rows = []
    for p, fds in tables.get("processes", {}).items():
        rows.append((p, None))
        rows += [(p, f) for f in fds if not f.get("epoll")]
    items = [(ep, it) for ep, its in tables.get("interest", {}).items() for it in its]
    n = max(len(rows), len(descs), len(items) + 1, 3)
    ax.set_ylim(-n + 0.3, 1.0)
    ypos = {}
    for i, d in enumerate(descs):
        y = -i * max(1, n // max(1, len(descs))) * 0.8
        refs = tables.get("descriptions", {}).get(d, 0)
        _box(ax, 1.0, y, f"{d}\n{refs} ref{'s' if refs != 1 else ''}",
             colour="#999" if refs == 0 else "#222", fill="#f4f4f4")
        ypos[d] = y
    ax.text(-0.3, 0.75, "descriptor tables", ha="center", fontsize=8, weight="bold")
    ax.text(1.0, 0.75, "open file descriptions", ha="center", fontsize=8, weight="bold")
    ax.text(2.2, 0.75, "epoll interest list", ha="center", fontsize=8, weight="bold")
    open_pairs = set()
    for i, (p, f) in enumerate(rows):
        y = -i * 0.8
        colour = CHILD_COLOUR if p != "parent" else LIVE_COLOUR
        if f is None:
            ax.text(-0.3, y, f"{p} process", ha="center", fontsize=8, color=colour, style="italic")
            continue
        _box(ax, -0.3, y, f"fd {f['number']} ({', '.join(f.get('names') or [f['label']])})", colour=colour)
        open_pairs.add((f["description"], f["number"]))
        if f["description"] in ypos:
            ax.annotate("", xy=(0.72, ypos[f["description"]]), xytext=(0.05, y),
                        arrowprops={"arrowstyle": "->", "color": colour, "lw": 0.9})
    for i, (ep, it) in enumerate(items):
        y = -i * 0.8
        ghost = (it["description"], it["number"]) not in open_pairs
        colour = GHOST if ghost else "#222"
        mark = " READY" if it["ready"] else ""
        text = f"{ep}: ({it['description']}, fd {it['number']}){mark}"
        text += "\nghost: fd closed" if ghost else ""
        _box(ax, 2.2, y, text, colour=colour)
        if it["description"] in ypos:
            ax.annotate("", xy=(1.28, ypos[it["description"]]), xytext=(1.78, y),
                        arrowprops={"arrowstyle": "->", "color": colour, "lw": 0.9, "ls": "--"})
    if not items:
        ax.text(2.2, 0, "(empty)", ha="center", fontsize=8, color="#777")
    if title:
        ax.set_title(title, fontsize=9, loc="left")
    return ax


def tables_strip(steps: list, *, cols: int = 2, title: str | None = None):
    """The three tables after each step of a model replay, one panel per step. Returns the Figure."""
    import matplotlib.pyplot as plt

    rows = (len(steps) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(7.5 * cols / 2 * 1.2, 2.9 * rows), squeeze=False)
    for ax, s in zip(axes.flat, steps, strict=False):
        draw_tables(s["tables"], ax, _wrap(f"{s['index']}. {s['actor']}: {s['text']}", 60))
    for ax in list(axes.flat)[len(steps):]:
        ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)[:3])


def replay(name: str, *, cols: int = 2, kernel: str = "newest"):
    """Print the model's steps of scenario ``name`` and draw the tables after each one."""
    steps = model_steps(name, kernel)
    print(f"model ({sim.generation(kernel).describe()}), scenario {name}:")
    print_steps(steps)
    return tables_strip(steps, cols=cols, title=f"model: {sim.load(name).name}")


# ------------------------------------------------------------------------------------ live


def live_demos():
    """The chapter's live record (``epollkit descriptors``), or the recorded one, saying NOT LIVE."""
    from . import fdrecord  # noqa: F401 -- registers the record type for data.find
    from .view.notebook import live_or_recorded

    def run():
        from .lab.descriptors_lab import run_all

        return run_all()

    return live_or_recorded(run, "descriptors")


def source(rec) -> str:
    """Where ``rec`` comes from: "live, Linux X" or "NOT LIVE: recorded on Linux X (...)"."""
    from .view.notebook import live

    if live():
        return f"live, Linux {rec.kernel}"
    from . import data

    return f"NOT LIVE: {data.describe('descriptors')}"


def show_demo(rec, name: str) -> None:
    """The kernel's outcome for scenario ``name`` beside the model's outcome set."""
    d = rec.demo(name)
    where = source(rec)
    print(f"{d['title']}")
    for o in d["kernel"]:
        print(f"  kernel ({where}): {o}")
    for o in d["model"]:
        print(f"  model:            {o}")
    print("  the kernel's outcome is in the model's set" if d["agree"] else "  KERNEL OUTSIDE THE MODEL")


def show_libraries(rec) -> None:
    s, a = rec.selectors, rec.asyncio
    au, al = s["after_unregister"], s["after_last_close"]
    print(f"selectors.EpollSelector ({source(rec)}):")
    print(f"  registered socket closed while a dup lives: select(0) reports {len(s['ghost_events'])} "
          f"event(s) for the closed number (same number: {all(e['same_number'] for e in s['ghost_events'])})")
    print(f"  sel.unregister(closed socket): {s['unregister_closed_socket']}")
    print(f"  then select({au['timeout_each_s']}) ran {au['select_calls']} times in {au['window_s']} s "
          f"(it should wait; after the dup's close: {al['select_calls']} times)")
    print(f"  a new socket on the freed number, register(): {s['register_new_socket_same_number']}")
    print(f"asyncio ({a['loop']} over {a['selector']}):")
    print(f"  add_reader, then close behind its back with a dup alive: {a['ghost_callbacks_in_window']} "
          f"callbacks in {a['window_s']} s")
    print(f"  remove_reader() -> {a['remove_reader']}; then the loop turned "
          f"{a['after_remove_reader']['selector_calls']} times in {a['window_s']} s "
          f"(after the dup's close: {a['after_last_close']['selector_calls']})")
    print(f"  the only descriptor closed, a new socket on the same number, add_reader: "
          f"{a['new_socket_callbacks_in_window']} callbacks for its data (after remove_reader + add_reader: "
          f"{a['new_socket_callbacks_after_re_add']})")


def show_kcmp(rec) -> None:
    k = rec.kcmp
    if not k.get("live"):
        print(f"kcmp(KCMP_EPOLL_TFD): NOT LIVE ({k.get('why')})")
        return
    print(f"kcmp(KCMP_EPOLL_TFD) ({source(rec)}; {k['meaning']}):")
    print(f"  registered fd vs its own registration:            {k['registered_vs_itself']}")
    print(f"  the dup vs the registration, after close(fd):     {k['dup_vs_registered_after_close']}")
    print(f"  another socket vs that registration:              {k['other_file_vs_registered']}")


def folded(title: str, text: str):
    """A computed answer, folded: an HTML ``<details>`` block."""
    from IPython.display import HTML

    body = html.escape(text).replace("\n", "<br>")
    return HTML(f"<details><summary>{html.escape(title)}</summary><p>{body}</p></details>")


# ------------------------------------------------------------------------------------ playground


class Playground:
    """dup / close / open / fork / epoll_ctl / write / epoll_wait / read, one call at a time, on the
    model: one epoll instance ``e0``, one stream ``s0`` registered EPOLLIN, and spare streams a
    later ``open`` takes (n0, n1, ...). ``log``: one line per call."""

    SPARE = 4

    def __init__(self):
        objects = {"e0": "epoll", "s0": "stream", **{f"n{i}": "stream" for i in range(self.SPARE)}}
        doc = {"name": "playground", "objects": objects,
               "unopened": [f"n{i}" for i in range(self.SPARE)],
               "watch": [{"epoll": "e0", "fd": "s0", "events": ["EPOLLIN"]}],
               "threads": {"A": [{"call": "open", "fd": f"n{i}"} for i in range(self.SPARE)]}}
        setup = sim.setup(doc, "newest")
        self.world = setup.world
        self.st = setup.initial.copy()
        self.st.fdt = self.st.fdt._replace(proc_of=(("A", "parent"), ("C", "child")))
        self.threads = {"parent": self.st.threads["A"], "child": self.st.threads["A"]._replace(name="C")}
        self.log: list = []
        self.history: list = []  # (process, kind, args, model result): what check_on_kernel() replays
        self.ndup = 0
        self.nopen = 0
        self.forked = False

    def names(self, proc: str = "parent") -> list:
        if proc not in dict(self.st.fdt.procs):
            return []
        t = self.st.fdt.proc(proc)
        return [n for n, _num in t.names if n != "e0"]

    def _note(self, proc: str, kind: str, args: tuple, result) -> None:
        self.history.append((proc, kind, args, result))

    def _do(self, proc: str, call, kind: str = "", args: tuple = ()) -> object:
        if proc == "child" and not self.forked:
            self.log.append("child: there is no child yet (press fork)")
            return None
        st = self.st.copy()
        log: list = []
        _t, res = fdtable.execute(self.world, st, self.threads[proc], call, log)
        if _t is fdtable.NOT_MINE:  # a read through the number
            got = rules.take_bytes(st, res, 64)
            res = "EAGAIN" if got is None else got[1] - got[0]
        self.st = st
        self.log.append(f"{proc}: {call.label()} -> {res}" + (f"  ({'; '.join(log)})" if log else ""))
        self._note(proc, kind, args, res)
        return res

    def dup(self, fd: str, proc: str = "parent"):
        name = f"d{self.ndup}"
        self.ndup += 1
        return self._do(proc, Dup(fd, name), "dup", (fd, name))

    def close(self, fd: str, proc: str = "parent"):
        return self._do(proc, Close(fd), "close", (fd,))

    def open(self, proc: str = "parent"):
        if self.nopen >= self.SPARE:
            self.log.append(f"{proc}: open: the playground has only {self.SPARE} spare streams")
            return None
        name = f"n{self.nopen}"
        self.nopen += 1
        return self._do(proc, Open(name), "open", (name,))

    def ctl(self, op: str, fd: str, proc: str = "parent"):
        events = frozenset({"EPOLLIN"}) if op != "del" else frozenset()
        return self._do(proc, Ctl(op, "e0", fd, events), "ctl", (op, fd))

    def read(self, fd: str, proc: str = "parent"):
        return self._do(proc, Read(fd, 64), "read", (fd,))

    def fork(self):
        if self.forked:
            self.log.append("fork: this playground forks once")
            return None
        self.st = self.st.copy()
        self.st.fdt = fdtable.fork(self.st.fdt)
        self.forked = True
        self.log.append("fork(): the child gets a copy of the parent's table (dup_fd)")
        self._note("parent", "fork", (), "ok")
        return "ok"

    def write(self, stream: str = "s0"):
        """The peer writes one byte into ``stream``'s description (whatever numbers point at it)."""
        st = self.st.copy()
        log: list = []
        rules.bytes_arrive(st, stream, 1, log, None)
        self.st = st
        self.log.append(f"kernel: {'; '.join(log)}")
        self._note("kernel", "write", (stream,), "sent")

    def wait(self, proc: str = "parent"):
        """``epoll_wait(e0, 8, timeout=0)`` in ``proc``: the events, each named by its number's label."""
        st = self.st.copy()
        evs = ()
        if rules.ep_events_available(st, "e0"):
            evs = rules.ep_send_events(self.world, st, "e0", 8, None)
            evs = fdtable.label_events(st, "A" if proc == "parent" else "C", evs)
        self.st = st
        shown = [[n, list(b)] for n, b in evs]
        self.log.append(f"{proc}: epoll_wait(e0, timeout=0) -> {shown}")
        self._note(proc, "wait", (), shown)
        return shown

    def check_on_kernel(self) -> list:
        """The same calls again on this kernel, from scratch: ``[(call, model, kernel), ...]`` up to the
        first fork (a forked child is checked by the fork scenarios, not here). Linux with epoll only."""
        from .lab.descriptors_lab import replay_on_kernel

        todo = []
        for proc, kind, args, res in self.history:
            if kind == "fork" or proc == "child":
                break
            todo.append((kind, args, res))
        got = replay_on_kernel([(k, a) for k, a, _r in todo], spare=self.SPARE)
        return [(f"{k} {' '.join(a)}".strip(), r, g) for (k, a, r), g in zip(todo, got, strict=True)]

    def tables(self) -> dict:
        return fdtable.snapshot(self.st)


def playground_script(lines) -> Playground:
    """Run a list of playground calls such as ``["dup s0", "close s0", "write", "wait"]``; returns it."""
    pg = Playground()
    for line in lines:
        words = line.split()
        op, args = words[0], words[1:]
        if op in ("add", "del", "mod"):
            pg.ctl(op, *args)
        else:
            getattr(pg, op)(*args)
    return pg


def show_playground(pg: Playground, title: str = "the tables now"):
    import matplotlib.pyplot as plt

    print("\n".join(pg.log))
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    draw_tables(pg.tables(), ax, title)
    return fig


def check(pg: Playground) -> None:
    """Print the playground's calls as the model and this kernel answered them (NOT LIVE without epoll)."""
    from .view.notebook import live

    if not live():
        print("kernel check: NOT LIVE (no epoll here); the model's answers are above")
        return
    rows = pg.check_on_kernel()
    same = sum(m == k for _c, m, k in rows)
    print(f"kernel check (live): {same} of {len(rows)} calls answered as the model answered"
          + ("" if len(rows) == len(pg.history)
             else "; the calls after fork() are checked by the fork scenarios"))
    for c, m, k in rows:
        print(f"  {c:<14} model {m!s:<28} kernel {k}" + ("" if m == k else "   <- DIFFERENT"))


def playground_widget():
    """Buttons: dup / close / open / fork / ADD / DEL / write / epoll_wait / read, on the model. Shows
    the three tables and what epoll_wait reports after every press."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    pg = Playground()
    proc = w.ToggleButtons(options=["parent", "child"], value="parent", description="process")
    fd = w.Dropdown(options=pg.names(), value="s0", description="descriptor")
    out = w.Output()
    buttons = {k: w.Button(description=k, layout=w.Layout(width="88px")) for k in
               ("dup", "close", "open", "fork", "ADD", "DEL", "write s0", "epoll_wait", "read",
                "check on this kernel")}

    def refresh():
        names = pg.names(proc.value) or ["s0"]
        fd.options = names
        if fd.value not in names:
            fd.value = names[0]
        out.clear_output(wait=True)
        with out:
            print("\n".join(pg.log[-8:]) or "press a button (the model: fdtable.py rules)")
            fig, ax = plt.subplots(figsize=(7.5, 3.2))
            draw_tables(pg.tables(), ax, "model: the tables now")
            plt.show()
            plt.close(fig)

    def press(name):
        def go(_b):
            p, f = proc.value, fd.value
            {"dup": lambda: pg.dup(f, p), "close": lambda: pg.close(f, p), "open": lambda: pg.open(p),
             "fork": pg.fork, "ADD": lambda: pg.ctl("add", f, p), "DEL": lambda: pg.ctl("del", f, p),
             "write s0": lambda: pg.write("s0"), "epoll_wait": lambda: pg.wait(p),
             "read": lambda: pg.read(f, p), "check on this kernel": lambda: None}[name]()
            refresh()
            if name == "check on this kernel":
                with out:
                    check(pg)
        return go

    for k, b in buttons.items():
        b.on_click(press(k))
    proc.observe(lambda _c: refresh(), names="value")
    refresh()
    return w.VBox([w.HBox([proc, fd]), w.HBox(list(buttons.values())[:5]), w.HBox(list(buttons.values())[5:]),
                   out])


# ------------------------------------------------------------------------------------ computed answers


def _outcome(name: str) -> dict:
    return model_steps(name)[-1]["outcome"]


def answer_same_number() -> str:
    o = _outcome("fd-same-number-twice-after-reuse")["A"]
    return (f"The model (and the kernel above): open gave the number labelled {o[2]!r}, the ADD answered "
            f"{o[3]!r}, and one epoll_wait returned {o[4]}. ep_find() looks up the pair (file, number): the "
            "new file under the old number is a different pair from the ghost (old file, same number), so "
            "ADD inserts a second item, and both report the same data.")


def answer_fork_dup() -> str:
    o = _outcome("fork-parent-closes-all-child-deletes")
    return (f"Parent: {o['A']}; child: {o['C']}. The parent's dup and its two closes leave the child's copy "
            "as "
            "the last reference, so the registration stays (the parent's epoll_wait still gets the event); "
            "the child's EPOLL_CTL_DEL with s0's number matches the registered pair and removes it.")


def answer_dup2() -> str:
    o = _outcome("fd-dup2-over-registered-number-keeps-ghost")["A"]
    return (f"The model gives {o}: DEL of s0 {o[3]}, DEL of d0 {o[4]}. dup2() closes what s0's number held "
            "(one reference; d0 keeps the old file alive) and points the number at n0's file, so through s0 "
            "the kernel finds the pair (n0's file, number) -- not registered -- and d0 names (old file, d0's "
            "number) -- never registered. The ghost still reports the old number: " + str(o[5]) + ".")


def answer_selectors(rec) -> str:
    s = rec.selectors
    au = s["after_unregister"]
    return ("The kernel still has the registration (the dup keeps the description), so epoll_wait returns "
            "the ghost event at once; EpollSelector.select() looks the number up, finds no key (unregister() "
            "removed it, swallowing the EPOLL_CTL_DEL error) and drops the event, returning [] without "
            f"waiting. Measured ({source(rec)}): {s['after_unregister']['select_calls']} calls in "
            f"{s['after_unregister']['window_s']} s instead of about "
            f"{round(au['window_s'] / au['timeout_each_s'])}; after the "
            f"dup's close, {s['after_last_close']['select_calls']}.")


def what_you_saw(rec) -> None:
    """The chapter's numbers, from ``rec`` (live or recorded)."""
    ghost = rec.demo("fd-ghost-event-after-dup-close")["kernel"][0]["A"][-1]
    twice = rec.demo("fd-same-number-twice-after-reuse")["kernel"][0]["A"][-1]
    s, a = rec.selectors, rec.asyncio
    au, al = s["after_unregister"], s["after_last_close"]
    print(f"- {source(rec)}: after dup+close, epoll_wait returned {ghost}; after the number's reuse, "
          f"{twice}.")
    print(f"- selectors.select({au['timeout_each_s']}) ran {au['select_calls']} times in {au['window_s']} s "
          f"with the ghost, {al['select_calls']} without.")
    print(f"- asyncio: {a['ghost_callbacks_in_window']} ghost callbacks in {a['window_s']} s; a new socket "
          f"on the reused number got {a['new_socket_callbacks_in_window']}.")
    print(f"- {sum(d['agree'] for d in rec.demos)} of {len(rec.demos)} scenarios: the kernel's outcome is in "
          "the model's set.")
