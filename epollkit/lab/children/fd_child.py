"""The second process of a descriptor-mode scenario (``epollkit.lab.experiments.fd_scenario``).

Started with one JSON argument, ``{"_control": fd, "<thread>": fd, ...}``: SOCK_SEQPACKET sockets
inherited at high numbers. It starts one thread per scenario thread, says hello (its thread ids), then
receives the parent's descriptors over SCM_RIGHTS and ``dup2()``-s each to the parent's number -- the
table ``fork()`` would have copied (``dup_fd()``). Each thread then runs the calls its socket brings,
one JSON reply per call. ``{"exit": true}`` on the control socket, or its EOF, ends the process.
"""

from __future__ import annotations

import json
import os
import select
import socket
import sys
import threading
import time

HIGH = 512  # received descriptors wait here until each is dup2()-ed to the parent's number


def _take(ctl: socket.socket, ex) -> None:
    raw, fds, _flags, _addr = socket.recv_fds(ctl, 65536, 64)
    msg = json.loads(raw)
    try:
        import fcntl

        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, HIGH) for fd in fds]
        for fd in fds:
            os.close(fd)
        for want, fd in zip(msg["nums"], high, strict=True):
            try:
                os.fstat(want)
            except OSError:
                pass
            else:
                what = os.readlink(f"/proc/self/fd/{want}")
                raise RuntimeError(f"number {want} is taken in the second process (by {what})")
            os.dup2(fd, want, inheritable=False)
            os.close(fd)
        ex.names.update(msg["names"])
        ex.labels.update({int(k): v for k, v in msg["labels"].items()})
        ex.stopfd = msg["stopfd"]
        for name, num in msg["epolls"].items():
            ex.epolls[name] = select.epoll.fromfd(num)
        ctl.send(b'{"ok": true}')
    except Exception as exc:  # reported to the parent, which raises it
        ctl.send(json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode())


def _serve(sock: socket.socket, ex, ready: threading.Event, tids: dict, name: str) -> None:
    from epollkit.lab.experiments.fd_scenario import decode
    from epollkit.lab.experiments.scenario import _BLOCKED_MAYBE

    tids[name] = threading.get_native_id()
    ready.set()
    while True:
        raw = sock.recv(65536)
        if not raw:
            return
        msg = json.loads(raw)
        try:
            ex.deadline = time.monotonic() + msg["deadline_s"]
            res = ex.call(decode(msg["call"]))
            out = {"blocked": True} if res is _BLOCKED_MAYBE else {"result": res}
        except Exception as exc:
            out = {"error": f"{type(exc).__name__}: {exc}"}
        sock.send(json.dumps(out).encode())


def main() -> None:
    from epollkit.lab.experiments.fd_scenario import Executor

    spec = json.loads(sys.argv[1])
    ctl = socket.socket(fileno=spec.pop("_control"))
    ex = Executor({}, -1, threading.Lock())
    tids: dict = {}
    threads = []
    for name, fd in spec.items():
        ready = threading.Event()
        t = threading.Thread(target=_serve, args=(socket.socket(fileno=fd), ex, ready, tids, name),
                             daemon=True)
        t.start()
        ready.wait(5)
        threads.append(t)
    ctl.send(json.dumps({"tids": tids}).encode())
    _take(ctl, ex)
    while True:
        raw = ctl.recv(65536)
        if not raw or json.loads(raw).get("exit"):
            break
    ex.close_owned()


if __name__ == "__main__":
    main()
