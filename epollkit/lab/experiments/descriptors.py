"""The descriptor-vs-description chapter, live: its scenarios on this kernel, what
Python's ``selectors`` and ``asyncio`` do when a registered socket is closed behind their back, and
``kcmp(KCMP_EPOLL_TFD)``. The lab only measures: :func:`epollkit.conformance.descriptor_demos` puts
the model's outcome set beside each scenario (``epollkit descriptors --json`` prints that record).

Every measurement here opens a few sockets, holds them for at most a few tenths of a second and closes
them in ``finally`` blocks; the scenarios run through :func:`epollkit.lab.run_scenario`, whose second
process is reaped on every path.
"""

from __future__ import annotations

import asyncio
import os
import platform
import selectors
import socket
import threading
import time
from contextlib import ExitStack

from ...errors import ExperimentTimeout
from ...records.descriptors import DescriptorDemos
from ..harness import Teardown, deferred_signals

DEMOS = (
    "fd-ghost-event-after-dup-close",
    "fd-del-closed-number-ebadf",
    "fd-del-through-dup-enoent",
    "fd-same-number-twice-after-reuse",
    "fork-parent-close-keeps-registration",
    "fork-child-deletes-registration",
    "fd-safe-del-before-close",
)
KCMP_EPOLL_TFD = 7  # include/uapi/linux/kcmp.h
KCMP_NR = {"x86_64": 312, "aarch64": 272, "i686": 349, "armv7l": 378, "riscv64": 272, "ppc64le": 354,
           "s390x": 343}
WINDOW_S = 0.1  # how long each selectors/asyncio observation watches
# The selectors, kcmp and replay measurements hold bare numbers from dup() and detach() between two
# bytecodes; they are short and never block, so each runs with signals deferred (harness.interrupts):
# a Ctrl-C waits for it to finish and close everything, then lands.
ASYNCIO_DEADLINE_S = 10.0


# ------------------------------------------------------------------------------------ scenarios


def run_demos(names=DEMOS, *, repeat: int = 1) -> list:
    """Each scenario once (or ``repeat`` times) on the kernel: ``[{"scenario", "title", "kernel"}]``
    (the model's side is added by :func:`epollkit.conformance.descriptor_demos`)."""
    from ...scenarios.format import load
    from .scenario import run_scenario

    rows = []
    for name in names:
        sc = load(name)
        real = run_scenario(sc, repeat=repeat)
        rows.append({"scenario": name, "title": sc.name, "kernel": [o["threads"] for o in real["outcomes"]]})
    return rows


# ------------------------------------------------------------------------------------ selectors


def _reuse_number(num: int, stack: ExitStack) -> tuple:
    """A new socket pair whose first end has the number ``num`` (just freed). Returns (sock, peer, how):
    how is "lowest free" when the kernel handed ``num`` out by itself, "dup2" when a lower number was
    free in this process and the number had to be asked for."""
    c, p = socket.socketpair()
    stack.callback(p.close)
    if c.fileno() == num:
        stack.callback(c.close)
        return c, p, "lowest free"
    os.dup2(c.fileno(), num, inheritable=False)
    c.close()
    s = socket.socket(fileno=num)
    stack.callback(s.close)
    return s, p, "dup2"


def _close_all(fds: list) -> None:
    while fds:
        os.close(fds.pop())


def _select_calls(sel) -> dict:
    """How many ``sel.select(timeout)`` calls return in WINDOW_S: WINDOW_S / timeout when each one
    waits; thousands when the kernel keeps reporting an event the selector has no key for (it drops
    it and returns an empty list at once: a busy loop)."""
    timeout = WINDOW_S / 5
    calls = 0
    t0 = time.monotonic()
    c0 = time.thread_time()
    while time.monotonic() - t0 < WINDOW_S:
        sel.select(timeout)
        calls += 1
    return {"select_calls": calls, "timeout_each_s": timeout, "window_s": WINDOW_S,
            "cpu_s": round(time.thread_time() - c0, 4)}


def measure_selectors() -> dict:
    """``selectors.EpollSelector`` with a registered socket closed behind its back."""
    out: dict = {}
    # 1. a dup keeps the description alive: the ghost
    with deferred_signals(), Teardown() as stack:  # bounded (≤ 3 WINDOW_S): Ctrl-C waits for it
        sel = selectors.EpollSelector()
        stack.callback(sel.close)
        a, b = socket.socketpair()
        stack.callback(b.close)
        stack.callback(a.close)
        num = a.fileno()
        sel.register(a, selectors.EVENT_READ, "a")
        dup = [os.dup(num)]
        stack.callback(_close_all, dup)
        a.close()  # behind the selector's back
        b.send(b"x")
        evs = sel.select(0)
        out["ghost_events"] = [{"data": k.data, "fd": k.fd, "same_number": k.fd == num} for k, _m in evs]
        try:
            sel.unregister(a)
            out["unregister_closed_socket"] = "returned (no error)"
        except Exception as exc:  # noqa: BLE001 -- what it raises is the measurement
            out["unregister_closed_socket"] = f"{type(exc).__name__}: {exc}"
        out["after_unregister"] = _select_calls(sel)
        _close_all(dup)  # the last reference: eventpoll_release_file() removes the ghost
        out["after_last_close"] = _select_calls(sel)
    # 2. the only descriptor: the kernel forgets, the selector does not
    with deferred_signals(), Teardown() as stack:  # bounded (≤ 3 WINDOW_S): Ctrl-C waits for it
        sel = selectors.EpollSelector()
        stack.callback(sel.close)
        a, b = socket.socketpair()
        stack.callback(b.close)
        num = a.fileno()
        sel.register(a, selectors.EVENT_READ, "a")
        a.close()
        c, _p, how = _reuse_number(num, stack)
        out["reused_number_by"] = how
        try:
            sel.register(c, selectors.EVENT_READ, "c")
            out["register_new_socket_same_number"] = "registered"
        except Exception as exc:  # noqa: BLE001
            out["register_new_socket_same_number"] = f"{type(exc).__name__}: {exc}"
    return out


# ------------------------------------------------------------------------------------ asyncio


async def _loop_turns(loop) -> dict:
    """Selector calls the loop makes while this coroutine sleeps WINDOW_S: one or two when it waits,
    thousands when the kernel keeps reporting an event the selector has no key for (a busy loop)."""
    sel = loop._selector
    plain = sel.select
    calls = [0]

    def counting(timeout=None):
        calls[0] += 1
        return plain(timeout)

    sel.select = counting
    t0 = time.thread_time()
    try:
        await asyncio.sleep(WINDOW_S)
    finally:
        del sel.select  # back to the class's method
    return {"selector_calls": calls[0], "window_s": WINDOW_S, "cpu_s": round(time.thread_time() - t0, 4)}


def measure_asyncio() -> dict:
    """asyncio's selector loop (``add_reader``) with a registered socket closed behind its back."""

    async def main() -> dict:
        loop = asyncio.get_running_loop()
        out: dict = {"loop": type(loop).__name__, "selector": type(loop._selector).__name__}
        with Teardown() as stack:
            a, b = socket.socketpair()
            stack.callback(b.close)
            stack.callback(a.close)
            a.setblocking(False)
            num = a.fileno()
            calls = []
            loop.add_reader(num, calls.append, 1)
            dup = os.dup(num)
            closed = [False]

            def close_dup():
                if not closed[0]:
                    closed[0] = True
                    os.close(dup)

            stack.callback(close_dup)
            a.close()  # behind asyncio's back; the dup keeps the description (and registration)
            b.send(b"x")
            await asyncio.sleep(WINDOW_S)
            out["ghost_callbacks_in_window"] = len(calls)
            out["window_s"] = WINDOW_S
            out["remove_reader"] = loop.remove_reader(num)
            out["after_remove_reader"] = await _loop_turns(loop)
            close_dup()  # the last reference: eventpoll_release_file() removes the registration
            out["after_last_close"] = await _loop_turns(loop)
        with Teardown() as stack:
            a, b = socket.socketpair()
            stack.callback(b.close)
            num = a.fileno()
            loop.add_reader(num, lambda: None)
            a.close()  # the only reference: the kernel drops the registration, asyncio keeps its key
            c, peer, how = _reuse_number(num, stack)
            c.setblocking(False)
            got = []
            loop.add_reader(c.fileno(), got.append, 1)
            stack.callback(loop.remove_reader, c.fileno())
            peer.send(b"y")
            await asyncio.sleep(WINDOW_S)
            out["reused_number_by"] = how
            out["new_socket_callbacks_in_window"] = len(got)
            loop.remove_reader(c.fileno())  # the control: forget the stale key, register afresh
            again = []
            loop.add_reader(c.fileno(), again.append, 1)
            await asyncio.sleep(WINDOW_S / 10)
            out["new_socket_callbacks_after_re_add"] = min(len(again), 1)
        return out

    # its own thread: asyncio.run() refuses to start inside a running loop (a Jupyter kernel has one)
    box: dict = {}

    def target():
        try:
            box["out"] = asyncio.run(main())
        except BaseException as exc:  # re-raised below, in the caller's thread
            box["exc"] = exc

    t = threading.Thread(target=target, name="epollkit-asyncio-probe", daemon=True)
    t.start()
    t.join(ASYNCIO_DEADLINE_S)
    if t.is_alive():
        raise ExperimentTimeout(f"the asyncio measurement did not finish within {ASYNCIO_DEADLINE_S} s")
    if "exc" in box:
        raise box["exc"]
    return box["out"]


# ------------------------------------------------------------------------------------ kcmp


def measure_kcmp() -> dict:
    """``kcmp(pid, pid, KCMP_EPOLL_TFD, fd, {epfd, tfd, 0})``: is the file registered under number
    ``tfd`` in ``epfd`` the file ``fd`` refers to? 0 = the same (``kcmp_epoll_target()``, 4.13+,
    CONFIG_KCMP; containers often forbid kcmp in seccomp)."""
    import ctypes
    import select

    nr = KCMP_NR.get(platform.machine())
    if nr is None:
        return {"live": False, "why": f"no kcmp syscall number known for {platform.machine()}"}
    libc = ctypes.CDLL(None, use_errno=True)
    pid = os.getpid()
    with deferred_signals(), Teardown() as stack:  # bounded (≤ 3 WINDOW_S): Ctrl-C waits for it
        ep = select.epoll()
        stack.callback(ep.close)
        a, b = socket.socketpair()
        stack.callback(b.close)
        stack.callback(a.close)
        num = a.fileno()
        ep.register(num, select.EPOLLIN)
        dup = os.dup(num)
        stack.callback(os.close, dup)

        def kcmp(fd: int, tfd: int) -> int:
            slot = (ctypes.c_uint32 * 3)(ep.fileno(), tfd, 0)
            r = libc.syscall(nr, pid, pid, KCMP_EPOLL_TFD, fd, ctypes.byref(slot))
            if r < 0:
                e = ctypes.get_errno()
                raise OSError(e, os.strerror(e))
            return r

        try:
            before = kcmp(num, num)
        except OSError as exc:
            return {"live": False, "why": f"kcmp failed: {exc.strerror} (errno {exc.errno})"}
        a.close()  # behind epoll's back; the dup keeps the file
        dup_vs_registered = kcmp(dup, num)
        other = kcmp(b.fileno(), num)
    return {"live": True, "registered_vs_itself": before, "dup_vs_registered_after_close": dup_vs_registered,
            "other_file_vs_registered": other,
            "meaning": "0: the same file; 1 or 2: different files (ordered by kernel pointer)"}


def run_all(*, demos=DEMOS, repeat: int = 1) -> DescriptorDemos:
    """Everything the chapter measures, on this kernel (Linux with epoll only); the demos' rows carry
    the kernel's outcomes only (:func:`epollkit.conformance.descriptor_demos` adds the model's)."""
    from ...validate import check_int
    from ..harness import require_linux

    check_int("repeat", repeat, 1, 20)
    require_linux(epoll=True)
    t0 = time.monotonic()
    rows = run_demos(demos, repeat=repeat)
    return DescriptorDemos(demos=rows, selectors=measure_selectors(), asyncio=measure_asyncio(),
                           kcmp=measure_kcmp(), kernel=platform.release(),
                           duration_s=round(time.monotonic() - t0, 3))


# ------------------------------------------------------------------------------------ playground, live


descriptors = run_all  # the lab's public name (epollkit.lab.descriptors), like epollkit.lab.accept


def replay_on_kernel(history, spare: int = 4) -> list:
    """Run a playground's parent-process calls again on this kernel, from scratch, with real
    descriptors: ``history`` is a list of ``(kind, args)`` -- ``("dup", ("s0", "d0"))``, ``("close",
    ("s0",))``, ``("open", ("n0",))``, ``("ctl", ("add", "n0"))``, ``("write", ("s0",))``, ``("wait",
    ())``, ``("read", ("s0",))``. Returns the kernel's result for each call, in the playground's
    terms. Everything opened here is closed before it returns (``ExitStack``)."""
    import select

    from ..harness import StopSignal, require_linux
    from .fd_scenario import Executor, high_base, to_high

    require_linux(epoll=True)
    high = high_base()
    lock = threading.Lock()
    out = []
    with deferred_signals(), Teardown() as stack:  # bounded (≤ 3 WINDOW_S): Ctrl-C waits for it
        stop = stack.enter_context(StopSignal())  # the waits here never block (timeout 0)
        ep = select.epoll()
        stack.callback(ep.close)
        ex = Executor({"e0": ep}, stop.fileno(), lock)
        stack.callback(ex.close_owned)
        ex.bind("e0", ep.fileno())
        peers = {}
        for i, name in enumerate(["s0"] + [f"n{k}" for k in range(spare)]):
            ours, peer = socket.socketpair()
            ours.setblocking(False)
            peer = socket.socket(fileno=to_high(peer.detach(), high))
            stack.callback(peer.close)
            peers[name] = peer
            num = ours.detach()
            if i == 0:
                ex.owned.add(num)
                ex.bind(name, num)
            else:
                ex.hidden[name] = to_high(num, high)
        ep.register(ex.names["s0"], select.EPOLLIN)
        ex.deadline = time.monotonic()
        for kind, args in history:
            if kind == "write":
                try:
                    peers[args[0]].send(b"x")
                    out.append("sent")
                except OSError as exc:
                    out.append(type(exc).__name__)
                continue
            out.append(ex.call(_playground_call(kind, args)))
    return out


def _playground_call(kind: str, args: tuple):
    """A playground call (``replay_on_kernel``) as the scenario call type the Executor runs."""
    from ...scenarios.calls import Close, Ctl, Dup, EpollWait, Open, Read

    if kind == "dup":
        return Dup(args[0], args[1])
    if kind == "close":
        return Close(args[0])
    if kind == "open":
        return Open(args[0])
    if kind == "ctl":
        return Ctl(args[0], "e0", args[1], frozenset() if args[0] == "del" else frozenset({"EPOLLIN"}))
    if kind == "wait":
        return EpollWait("e0", 8, 0)
    if kind == "read":
        return Read(args[0], 64)
    raise ValueError(f"unknown playground call {kind!r}; valid: dup, close, open, ctl, wait, read, write")
