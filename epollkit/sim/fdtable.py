"""File descriptors vs open file descriptions: per-process descriptor tables in the model.

The rest of the model names *descriptions* (the kernel's ``struct file``): a stream or a listener is one
open file description. This module adds what a process holds: a **descriptor table** mapping small
numbers to descriptions, and the calls that change it. epoll keys a registration by the pair
(description, number) -- ``struct epoll_filefd`` in ``fs/eventpoll.c`` -- and that is what makes a
registration outlive ``close()``.

Rules, each with the kernel function it models:

- ``epoll_ctl()`` resolves the number first: ``fdget(fd)`` fails -> ``EBADF`` (``do_epoll_ctl()``); then
  ``ep_find(ep, file, fd)`` looks the PAIR up, comparing ``ep_cmp_ffd()`` (file pointer, then number):
  ADD of a present pair -> ``EEXIST``, DEL/MOD of an absent pair -> ``ENOENT``. A DEL through a dup's
  number names another pair: ``ENOENT``, although the description is registered.
- A new descriptor takes the **lowest free number** (``alloc_fd()`` via ``__get_unused_fd_flags()``,
  ``find_next_fd()`` from ``files->next_fd``): ``dup()``, ``open``/``socket()``/``accept()`` alike.
- ``dup2(old, new)`` closes whatever ``new`` held, silently, and points ``new`` at ``old``'s description
  (``do_dup2()``).
- ``close()`` drops one reference (``close_fd()`` -> ``filp_close()`` -> ``fput()``). Only the LAST
  reference runs ``__fput()`` -> ``eventpoll_release()`` -> ``eventpoll_release_file()``, which walks
  the file's ``f_ep_links`` and ``ep_remove()``-s every registration of the description, whatever
  number it was registered under. Until then the registration stays, and ``epoll_wait()`` keeps
  reporting the data it was registered with -- the CLOSED number.
- ``fork()`` copies the table (``dup_fd()``): the child's numbers refer to the same descriptions, so
  each description has one more reference, and the child's DEL with the same number matches the pair.

A scenario that uses any of this runs in *descriptor mode*: the State carries an :class:`FdTables`,
epoll items carry ``data`` (the registered number), and ``epoll_wait()`` results name the number by
its **label**: the first descriptor name bound to that number in the harvesting process (so a reused
number shows up under the name of the descriptor that first had it -- "the same number twice").
Numbers start at :data:`BASE` (0-2 are taken), objects get theirs in file order.
"""

from __future__ import annotations

from typing import NamedTuple

from ..scenarios.calls import Close, Ctl, Dup, Dup2, Open, Read
from . import rules
from .state import ModelError, State, Thread

BASE = 3  # 0, 1, 2 are stdin, stdout, stderr
PARENT = "parent"
CHILD = "child"


# the descriptor calls (the scenario vocabulary, epollkit.scenarios.calls) the model executes
CALLS = (Dup, Dup2, Close, Open)


def describe(call, result) -> str:
    if result == "EBADF":
        return "fails with EBADF"
    if isinstance(call, (Dup, Open)):
        return f"gets the number labelled {result}" if result != call_name(call) else "gets a new number"
    return "succeeds"


def call_name(call) -> str:
    return call.name if isinstance(call, Dup) else call.fd


# ------------------------------------------------------------------------------------ the tables


class Proc(NamedTuple):
    """One process's descriptor table (``struct files_struct``/``fdtable``), as immutable tuples."""

    fds: tuple = ()  # (number, description), sorted by number
    names: tuple = ()  # (descriptor name, number): what each name the scenario uses points at
    labels: tuple = ()  # (number, label): the first name bound to each number in this process

    def desc(self, num: int) -> str | None:
        for n, d in self.fds:
            if n == num:
                return d
        return None

    def num(self, name: str) -> int | None:
        for nm, n in self.names:
            if nm == name:
                return n
        return None

    def label(self, num: int) -> str:
        for n, lab in self.labels:
            if n == num:
                return lab
        return f"#{num}"

    def lowest_free(self) -> int:
        """``alloc_fd()``: the lowest number not in use, from BASE up."""
        used = {n for n, _d in self.fds}
        n = BASE
        while n in used:
            n += 1
        return n

    def bind(self, name: str, num: int, desc: str | None) -> Proc:
        """Bind ``name`` to ``num``; install ``desc`` there (None: leave the table alone)."""
        fds = self.fds
        if desc is not None:
            fds = tuple(sorted([p for p in fds if p[0] != num] + [(num, desc)]))
        names = tuple(p for p in self.names if p[0] != name) + ((name, num),)
        labels = self.labels if any(n == num for n, _l in self.labels) else self.labels + ((num, name),)
        return Proc(fds, names, labels)

    def drop(self, num: int) -> Proc:
        return self._replace(fds=tuple(p for p in self.fds if p[0] != num))


class FdTables(NamedTuple):
    """Every process's table and which process each thread belongs to."""

    procs: tuple = ()  # (process name, Proc)
    proc_of: tuple = ()  # (thread name, process name)

    def proc(self, name: str) -> Proc:
        for p, t in self.procs:
            if p == name:
                return t
        raise ModelError(f"no process {name!r}")

    def of(self, thread: str) -> str:
        for t, p in self.proc_of:
            if t == thread:
                return p
        return PARENT

    def set(self, name: str, table: Proc) -> FdTables:
        return self._replace(procs=tuple((p, table if p == name else t) for p, t in self.procs))

    def refs(self, desc: str) -> int:
        """References to a description from every table (``file->f_count`` as far as fds go)."""
        return sum(1 for _p, t in self.procs for _n, d in t.fds if d == desc)


def initial(objects: dict, unopened, child_threads, threads) -> FdTables:
    """The parent's table after setup: every object but the unopened ones, numbered in file order."""
    parent = Proc()
    n = BASE
    for name in objects:
        if name in unopened:
            continue
        parent = parent.bind(name, n, name)
        n += 1
    proc_of = tuple((t, CHILD if t in child_threads else PARENT) for t in threads)
    return FdTables(((PARENT, parent),), proc_of)


def fork(fdt: FdTables) -> FdTables:
    """``fork()`` -> ``copy_process()`` -> ``dup_fd()``: the child gets a copy of the table; every
    description gains a reference."""
    return FdTables(fdt.procs + ((CHILD, fdt.proc(PARENT)),), fdt.proc_of)


# ------------------------------------------------------------------------------------ executing


def _release(st: State, desc: str, log: list | None) -> None:
    """``__fput()`` -> ``eventpoll_release()`` -> ``eventpoll_release_file()``: the last reference is
    gone; ``ep_remove()`` every registration of the description, on every instance."""
    for ep, e in list(st.epolls.items()):
        for it in e.items:
            if it.fd == desc:
                _ep_remove(st, ep, desc)
                if log is not None:
                    log.append(f"last reference to {desc} gone: eventpoll_release_file() "
                               f"removes it from {ep}")


def _ep_remove(st: State, ep: str, desc: str) -> None:
    """``ep_remove()``: off the interest list, the ready list and the source's wait queue."""
    e = st.epolls[ep]
    keep = [(f, c) for f, c in zip(e.rdllist, e.rdcause, strict=True) if f != desc]
    st.epolls[ep] = e._replace(items=tuple(i for i in e.items if i.fd != desc),
                               rdllist=tuple(f for f, _c in keep), rdcause=tuple(c for _f, c in keep))
    st.queues[desc] = tuple(x for x in st.queues.get(desc, ())
                            if not (x.kind == "epoll" and x.who == ep))


def _close_num(st: State, pname: str, num: int, log: list | None) -> None:
    """``filp_close()`` -> ``fput()``: drop one reference; the last one releases the description."""
    table = st.fdt.proc(pname)
    desc = table.desc(num)
    st.fdt = st.fdt.set(pname, table.drop(num))
    if desc is not None and st.fdt.refs(desc) == 0:
        _release(st, desc, log)
    elif desc is not None and log is not None:
        log.append(f"{desc} still has {st.fdt.refs(desc)} reference(s): nothing is removed")


NOT_MINE = object()


def execute(w, st: State, t: Thread, call, log: list | None):
    """Run a descriptor-mode call for thread ``t``; ``NOT_MINE`` when the caller should run it."""
    pname = st.fdt.of(t.name)
    table = st.fdt.proc(pname)
    if isinstance(call, Dup):
        num = table.num(call.fd)
        desc = table.desc(num) if num is not None else None
        if desc is None:
            return t, "EBADF"
        new = table.lowest_free()  # alloc_fd()
        table = table.bind(call.name, new, desc)
        st.fdt = st.fdt.set(pname, table)
        return t, table.label(new)
    if isinstance(call, Open):
        if st.fdt.refs(call.fd) or any(nm == call.fd for _p, tb in st.fdt.procs for nm, _n in tb.names):
            raise ModelError(f"{call.fd} is opened twice")
        new = table.lowest_free()
        table = table.bind(call.fd, new, call.fd)
        st.fdt = st.fdt.set(pname, table)
        return t, table.label(new)
    if isinstance(call, Close):
        num = table.num(call.fd)
        if num is None or table.desc(num) is None:
            return t, "EBADF"  # close_fd(): no file at that number
        _close_num(st, pname, num, log)
        return t, "ok"
    if isinstance(call, Dup2):
        num = table.num(call.fd)
        desc = table.desc(num) if num is not None else None
        to = table.num(call.to)
        if desc is None or to is None:
            return t, "EBADF"
        if to != num:
            if table.desc(to) is not None:
                _close_num(st, pname, to, log)  # do_dup2(): the old file is closed silently
            table = st.fdt.proc(pname)
            st.fdt = st.fdt.set(pname, table.bind(call.to, to, desc))
        return t, "ok"
    if isinstance(call, Ctl):
        num = table.num(call.fd)
        desc = table.desc(num) if num is not None else None
        if desc is None:
            return t, "EBADF"  # do_epoll_ctl(): fdget(fd) fails
        e = st.epolls[call.epoll]
        it = e.item(desc)
        if it is not None and it.data != num:
            if call.op == "add":
                raise ModelError(f"{call.epoll}: a second registration of {desc} "
                                 f"(numbers {it.data} and {num}) "
                                 "is legal in the kernel but not modelled")
            return t, "ENOENT"  # ep_find(): the pair (file, this number) is not there
        return t, rules.epoll_ctl(w, st, call.op, call.epoll, desc, call.events, log, data=num)
    if isinstance(call, Read):
        num = table.num(call.fd)
        desc = table.desc(num) if num is not None else None
        if desc is None:
            return t, "EBADF"
        if desc not in st.streams:
            raise ModelError(f"read of {call.fd}: {desc} is not a stream")
        return NOT_MINE, desc
    return NOT_MINE, None


def label_events(st: State, thread: str, evs: tuple) -> tuple:
    """``epoll_wait()`` hands back the registered data, a number; name it as the harvesting process
    knows it (its label), as the real backend does."""
    table = st.fdt.proc(st.fdt.of(thread))
    return tuple((table.label(d) if isinstance(d, int) else d, bits) for d, bits in evs)


def watch_all(w, st: State, watch) -> None:
    """The scenario's ``watch`` registrations in descriptor mode: data = the object's number."""
    table = st.fdt.proc(PARENT)
    for ep, fd, ev in watch:
        rules.epoll_ctl(w, st, "add", ep, fd, ev, None, data=table.num(fd))


def snapshot(st: State) -> dict:
    """The three tables, as plain data (for pictures and widgets): per process number -> description,
    then per epoll instance its interest list as (description, number label, events)."""
    if st.fdt is None:
        return {}
    procs = {p: [{"number": n, "label": t.label(n), "description": d, "epoll": d in st.epolls,
                  "names": [nm for nm, num in t.names if num == n]}
                 for n, d in t.fds] for p, t in st.fdt.procs}
    parent = st.fdt.proc(PARENT)
    interest = {ep: [{"description": it.fd, "number": it.data,
                      "label": parent.label(it.data) if isinstance(it.data, int) else it.fd,
                      "events": sorted(it.events), "ready": it.fd in e.rdllist}
                     for it in e.items] for ep, e in st.epolls.items()}
    refs = {}
    for _p, t in st.fdt.procs:
        for _n, d in t.fds:
            if d not in st.epolls:
                refs[d] = refs.get(d, 0) + 1
    return {"processes": procs, "descriptions": refs, "interest": interest}
