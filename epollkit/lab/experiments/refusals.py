"""What ``epoll_ctl()`` refuses: each flag combination the model's ``ctl_error()`` rules on, asked of
the real kernel (``do_epoll_ctl()`` in fs/eventpoll.c)."""

from __future__ import annotations

import errno
import os
import select

from ...records import EpollRefusalResult
from ...system import kernel_release
from ..harness import deferred_signals, require_linux


def refusals() -> EpollRefusalResult:
    """Ask the kernel for the combinations ``do_epoll_ctl()`` refuses, and one it accepts, on a pipe.

    Each case is ``{"case", "call", "errno"}`` with ``errno`` the errno name or ``"ok"``.
    """
    require_linux(flag="EPOLLEXCLUSIVE")
    EX, IN = select.EPOLLEXCLUSIVE, select.EPOLLIN
    cases = []

    def attempt(case: str, call: str, fn) -> None:
        try:
            fn()
            result = "ok"
        except OSError as exc:
            result = errno.errorcode.get(exc.errno, str(exc.errno))
        cases.append({"case": case, "call": call, "errno": result})

    with deferred_signals():  # the two fds and the try that closes them, in one step
        r, w = os.pipe()
    try:
        with select.epoll() as ep, select.epoll() as inner:
            attempt("EPOLLEXCLUSIVE | EPOLLONESHOT", "register(fd, EPOLLIN|EPOLLEXCLUSIVE|EPOLLONESHOT)",
                    lambda: ep.register(r, IN | EX | select.EPOLLONESHOT))
            attempt("EPOLLEXCLUSIVE | EPOLLET (allowed)", "register(fd, EPOLLIN|EPOLLEXCLUSIVE|EPOLLET)",
                    lambda: ep.register(r, IN | EX | select.EPOLLET))
            attempt("modify() of an exclusive registration", "modify(fd, EPOLLIN)",
                    lambda: ep.modify(r, IN))
            attempt("modify() asking for EPOLLEXCLUSIVE", "modify(fd, EPOLLIN|EPOLLEXCLUSIVE)",
                    lambda: ep.modify(r, IN | EX))
            attempt("EPOLLEXCLUSIVE on an epoll fd", "register(epoll_fd, EPOLLIN|EPOLLEXCLUSIVE)",
                    lambda: ep.register(inner.fileno(), IN | EX))
            attempt("unregister + register (the rotation's way)", "unregister(fd); register(fd, ...)",
                    lambda: (ep.unregister(r), ep.register(r, IN | EX)))
    finally:
        os.close(r)
        os.close(w)
    return EpollRefusalResult(experiment="epoll-refusals", backend="real", cases=cases,
                              kernel=kernel_release())
