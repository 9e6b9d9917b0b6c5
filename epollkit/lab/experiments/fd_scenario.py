"""Descriptor-mode scenarios on the real kernel: real ``os.dup``/``os.dup2``/``os.close``, and a second
process that holds the same descriptions under the same numbers (docs/scenario-descriptors.md).

What makes the numbers comparable with the model (:mod:`epollkit.sim.fdtable`):

- every descriptor the scenario does not name (the peer ends the "kernel" writes into, the helper
  process's sockets, an ``unopened`` object's description before its ``open``) lives at a HIGH number
  (``fcntl(F_DUPFD_CLOEXEC, high)``), so the named ones take consecutive low numbers in file order and
  a freed number is the lowest free one, as ``alloc_fd()`` hands it out;
- ``open`` of an unopened object is ``os.dup()`` of its hidden high descriptor followed by closing
  that one: a new number by ``alloc_fd()`` for a description nobody else refers to;
- the run's own /proc reads (is every thread asleep?) open files too, so they and every
  dup/open/close take one lock: no transient descriptor can steal the number the kernel would give;
- the second process is a fresh Python (``python -m epollkit.lab.children.fd_child``), started before the
  objects exist; after ``watch`` it receives every named descriptor and the epoll instances over
  ``SCM_RIGHTS`` (``socket.send_fds``) and ``dup2()``-s each to the parent's number: the table
  ``fork()`` would have given it (``dup_fd()``), without forking a multi-threaded process. Its
  threads execute the calls the parent sends them, one JSON message each way.

Nothing leaks: every number the run opened is closed at the end (ExitStack), the helper is told to
exit, then killed after a deadline, and reaped -- after an error or KeyboardInterrupt too.
"""

from __future__ import annotations

import errno
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from ...errors import HelperProcessError
from ...scenarios.calls import Close, Ctl, Dup, Dup2, EpollWait, Open, Read
from ..harness import WAIT_WCHANS, WorkerGroup, deferred_signals, reap_child, sleeps_in
from .scenario import _BLOCKED_MAYBE, RUNNERS, _flags, _mask, _Run

CALL_TYPES = {c.__name__: c for c in (EpollWait, Ctl, Read, Dup, Dup2, Close, Open)}
WAIT_JOIN_S = 3.0  # how long the helper process may take to exit before it is killed
CHILD_START_S = 10.0  # a fresh interpreter importing epollkit, on a loaded 2-core machine


def high_base() -> int:
    """Where hidden descriptors go: half the soft RLIMIT_NOFILE, at least 64 above the low ones."""
    import resource

    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    soft = 4096 if soft < 0 else soft
    return max(128, soft // 2)


def to_high(fd: int, base: int) -> int:
    """A copy of ``fd`` at ``base`` or above; the original is closed."""
    import fcntl

    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, base)
    os.close(fd)
    return new


def encode(call) -> str:
    d = call._asdict()
    for k, v in d.items():
        if isinstance(v, frozenset):
            d[k] = sorted(v)
    return json.dumps({"type": type(call).__name__, "args": d})


def decode(text: str):
    m = json.loads(text)
    cls = CALL_TYPES[m["type"]]
    args = m["args"]
    if "events" in args:
        args["events"] = frozenset(args["events"])
    return cls(**args)


class Executor:
    """One process's view: descriptor name -> number, number -> label (the first name it had)."""

    def __init__(self, epolls: dict, stopfd: int, lock: threading.Lock):
        self.epolls = epolls  # epoll object name -> select.epoll
        self.names: dict = {}
        self.labels: dict = {}
        self.hidden: dict = {}  # unopened object -> its high descriptor (parent only)
        self.owned: set = set()  # numbers this run opened and has not closed
        self.stopfd = stopfd
        self.lock = lock
        self.deadline = 0.0

    def bind(self, name: str, num: int) -> str:
        self.names[name] = num
        self.labels.setdefault(num, name)
        return self.labels[num]

    def call(self, c):
        try:
            return self._call(c)
        except OSError as exc:
            return errno.errorcode.get(exc.errno, str(exc.errno))

    def _call(self, c):
        for attr in ("fd", "to"):
            if not isinstance(c, (EpollWait, Open)) and getattr(c, attr, None) is not None \
                    and getattr(c, attr) not in self.names:
                return "EBADF"  # a name this process never had: no number, nothing open there
        if isinstance(c, EpollWait):
            timeout = 0 if c.timeout == 0 else max(0.0, self.deadline - time.monotonic())
            evs = self.epolls[c.epoll].poll(timeout, c.maxevents)  # ONE blocking call: ep_poll()
            if any(fd == self.stopfd for fd, _ in evs):
                return _BLOCKED_MAYBE
            if not evs and c.timeout != 0:
                return _BLOCKED_MAYBE
            return [[self.labels.get(fd, f"#{fd}"), _flags(m)] for fd, m in evs]
        if isinstance(c, Ctl):
            ep, num = self.epolls[c.epoll], self.names[c.fd]
            if c.op == "add":
                ep.register(num, _mask(c.events))
            elif c.op == "mod":
                ep.modify(num, _mask(c.events))
            else:
                ep.unregister(num)
            return "ok"
        if isinstance(c, Read):
            try:
                return len(os.read(self.names[c.fd], c.nbytes))
            except BlockingIOError:
                return "EAGAIN"
        with self.lock:  # the calls that allocate or free a number
            if isinstance(c, Dup):
                new = os.dup(self.names[c.fd])  # alloc_fd(): the lowest free number
                self.owned.add(new)
                return self.bind(c.name, new)
            if isinstance(c, Open):
                hidden = self.hidden.pop(c.fd)
                new = os.dup(hidden)
                os.close(hidden)
                self.owned.add(new)
                return self.bind(c.fd, new)
            if isinstance(c, Close):
                num = self.names[c.fd]
                os.close(num)
                self.owned.discard(num)
                return "ok"
            if isinstance(c, Dup2):
                src, to = self.names[c.fd], self.names[c.to]
                os.fstat(src)  # EBADF first, as dup2() checks the old fd before touching the new one
                if src != to:
                    os.dup2(src, to, inheritable=False)
                    self.owned.add(to)
                self.names[c.to] = to
                return "ok"
        raise ValueError(f"unknown call {c!r}")

    def close_owned(self) -> None:
        for num in sorted(self.owned):
            try:
                os.close(num)
            except OSError:
                pass
        self.owned.clear()
        for fd in self.hidden.values():
            try:
                os.close(fd)
            except OSError:
                pass
        self.hidden.clear()


def _proc_state(pid: int, tid: int) -> tuple:
    base = Path(f"/proc/{pid}/task/{tid}")
    try:
        stat = (base / "stat").read_text()
        wchan = (base / "wchan").read_text().strip()
    except OSError:
        return "?", ""
    return stat[stat.rindex(")") + 2], wchan


class FdRun(_Run):
    """One execution of a descriptor-mode scenario."""

    def __init__(self, sc, stack):
        super().__init__(sc, stack)
        self.high = high_base()
        self.lock = threading.Lock()
        self.parent = Executor(self.fds, self.stopfd, self.lock)
        stack.callback(self.parent.close_owned)
        self.child = None
        self.child_socks: dict = {}
        self.child_tids: dict = {}
        self.ctl_sock = None

    # ---------------------------------------------------------------------------- the helper process
    def start_child(self) -> None:
        socks = {}
        ends = []
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        # One deferred window from the first socketpair() to the child's stop being registered: a
        # Ctrl-C in between would leave a bare fd, or a forked child without its Popen (a zombie).
        with deferred_signals():
            try:
                for name in ("_control", *self.sc.child):
                    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                    ours = socket.socket(fileno=to_high(a.detach(), self.high))
                    self.stack.callback(ours.close)
                    socks[name] = ours
                    ends.append((name, to_high(b.detach(), self.high)))
                spec = json.dumps({n: fd for n, fd in ends})
                self.child = subprocess.Popen(
                    [sys.executable, "-m", "epollkit.lab.children.fd_child", spec],
                    pass_fds=[fd for _n, fd in ends],
                    env=env, stdin=subprocess.DEVNULL, close_fds=True)
                self.stack.callback(self.stop_child)
            finally:
                for _n, fd in ends:
                    os.close(fd)
        self.ctl_sock = socks.pop("_control")
        self.child_socks = socks
        self.ctl_sock.settimeout(CHILD_START_S)
        try:
            hello = json.loads(self.ctl_sock.recv(65536))
        except (OSError, ValueError) as exc:  # TimeoutError is an OSError
            raise HelperProcessError(f"{self.sc.name}: the second process did not say hello within "
                                     f"{CHILD_START_S:g} s ({type(exc).__name__})") from None
        self.child_tids = hello["tids"]

    def stop_child(self) -> None:
        if self.child is None:
            return
        try:
            self.ctl_sock.settimeout(0.5)
            self.ctl_sock.send(b'{"exit": true}')
        except OSError:
            pass
        reap_child(self.child, "the second process", grace=WAIT_JOIN_S)
        self.child = None

    def fork(self) -> None:
        """Hand the parent's named descriptors and epoll instances to the helper, same numbers."""
        epolls = {name: ep.fileno() for name, ep in self.fds.items() if isinstance(ep, select.epoll)}
        nums = sorted({n for n in self.parent.names.values() if _is_open(n)} - set(epolls.values()))
        msg = {"names": self.parent.names, "labels": {str(k): v for k, v in self.parent.labels.items()},
               "nums": nums + sorted(epolls.values()), "epolls": epolls, "stopfd": self.stopfd}
        socket.send_fds(self.ctl_sock, [json.dumps(msg).encode()], msg["nums"])
        reply = json.loads(self.ctl_sock.recv(65536))
        if reply.get("error"):
            raise HelperProcessError(f"{self.sc.name}: the second process could not take the descriptors: "
                                  f"{reply['error']}")

    # ---------------------------------------------------------------------------- objects
    def build(self) -> None:
        if self.sc.child:
            self.start_child()
        with deferred_signals():  # no bare number (detach(), to_high()) between two bytecodes
            for name, kind in self.sc.objects.items():
                if kind == "epoll":
                    with self.lock:
                        ep = select.epoll()
                    self.stack.callback(ep.close)
                    self.stop.watch(ep)
                    self.fds[name] = ep
                    self.parent.bind(name, ep.fileno())
                elif kind == "stream":
                    with self.lock:
                        ours, peer = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
                        ours.setblocking(False)
                        peer = socket.socket(fileno=to_high(peer.detach(), self.high))
                        self.stack.callback(peer.close)
                        self.peers[name] = peer
                        num = ours.detach()
                        if name in self.sc.unopened:
                            self.parent.hidden[name] = to_high(num, self.high)
                        else:
                            self.parent.owned.add(num)
                            self.parent.bind(name, num)
                else:
                    raise ValueError(f"{self.sc.name}: descriptor-mode scenarios take epoll and stream "
                                     "objects")
        for ep, fd, events in self.sc.watch:
            self.fds[ep].register(self.parent.names[fd], _mask(events))
        if self.sc.child:
            self.fork()

    # ---------------------------------------------------------------------------- calls
    def call(self, c):
        name = self._thread_of_call()
        if name in self.child_socks:
            sock = self.child_socks[name]
            sock.settimeout(max(0.5, self.hard_deadline - time.monotonic() + 2.0))
            left = self.hard_deadline - time.monotonic()
            sock.send(json.dumps({"call": encode(c), "deadline_s": left}).encode())
            reply = json.loads(sock.recv(65536))
            if reply.get("error"):
                raise HelperProcessError(f"{self.sc.name}: thread {name} in the second process: "
                                      f"{reply['error']}")
            return _BLOCKED_MAYBE if reply.get("blocked") else reply["result"]
        self.parent.deadline = self.hard_deadline
        return self.parent.call(c)

    def _thread_of_call(self) -> str:
        me = threading.current_thread().name  # "epollkit-scenario-<index>"
        return self.thread_names[int(me.rsplit("-", 1)[1])]

    def _asleep(self, group: WorkerGroup, i: int) -> bool:
        if self.done[i]:
            return True
        ph = self.phase[i]
        if ph is None or ph[1] != "EpollWait":
            return False  # every other call returns at once
        name = self.thread_names[i]
        with self.lock:  # reading /proc opens a file: not while a dup/open/close runs
            if name in self.child_tids:
                state, wchan = _proc_state(self.child.pid, self.child_tids[name])
                return state in "SD" and (wchan in ("", "0")
                                          or wchan.split(".", 1)[0] in WAIT_WCHANS["epoll_wait"])
            tid = group.tids[i]
            return bool(tid) and sleeps_in(tid, "epoll_wait")

    def fire(self, ev) -> None:
        try:
            self.peers[ev[1]].sendall(b"x" * ev[2])  # unix_stream_sendmsg(): one wake-up
        except (BrokenPipeError, ConnectionResetError):
            pass  # every descriptor of our end is closed: the bytes go nowhere (so does the model's)

    def teardown(self, group: WorkerGroup) -> None:
        # set() writes the stop eventfd and group.join() writes it again while a thread is alive
        # (harness.StopSignal); the instances are shared, so this wakes the helper's waits too
        self.stop.set()
        for g in self.gates:
            g.set()
        group.join()


RUNNERS["descriptors"] = FdRun  # run_scenario() runs descriptor-mode files with it


def _is_open(num: int) -> bool:
    try:
        os.fstat(num)
    except OSError:
        return False
    return True
