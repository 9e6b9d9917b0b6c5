"""The descriptor-vs-description chapter (notebook 08) in the view layer: the model's replay of a scenario,
the live record shown (or the recorded one, NOT LIVE), the playground and folded computed answers. The
picture of the three tables is :mod:`epollkit.view.plots.descriptors`; the playground's buttons are
:mod:`epollkit.view.widgets.descriptors`. matplotlib is imported inside functions.

The three tables: each process's **descriptor table** (number -> open file description), the
**descriptions** (with how many descriptors refer to each), and each epoll instance's **interest list**,
whose items are keyed by (description, number) -- ``struct epoll_filefd`` -- so an item can point at a
description through a number that no longer refers to it: a *ghost* (drawn red).
"""

from __future__ import annotations

import html

from .. import sim
from ..scenarios.calls import Close, Ctl, Dup, Open, Read
from ..sim import fdtable, rules
from ..sim.machine import Machine
from .plots.descriptors import draw_tables, tables_strip

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


def replay(name: str, *, cols: int = 2, kernel: str = "newest"):
    """Print the model's steps of scenario ``name`` and draw the tables after each one."""
    steps = model_steps(name, kernel)
    print(f"model ({sim.generation(kernel).describe()}), scenario {name}:")
    print_steps(steps)
    return tables_strip(steps, cols=cols, title=f"model: {sim.load(name).name}")


# ------------------------------------------------------------------------------------ live


def live_demos():
    """The chapter's live record (``epollkit descriptors``), or the recorded one, saying NOT LIVE."""
    from .live import live_or_recorded

    def run():
        from ..conformance import descriptor_demos

        return descriptor_demos()

    return live_or_recorded(run, "descriptors")


def source(rec) -> str:
    """Where ``rec`` comes from: "live, Linux X" or "NOT LIVE: recorded on Linux X (...)"."""
    from .live import live

    if live():
        return f"live, Linux {rec.kernel}"
    from .. import data

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
        from ..lab.experiments.descriptors import replay_on_kernel

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
    from .live import live

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
