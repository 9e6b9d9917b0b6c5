"""Ctrl-C at any moment leaves nothing behind: short windows in which a signal handler's exception
(KeyboardInterrupt from Ctrl-C or a notebook's stop button, anything a SIGALRM handler raises) waits
until the window closes.

A KeyboardInterrupt can land between any two bytecodes: between ``Popen()`` forking the child and the
``Popen`` object being stored (a zombie nobody reaps), between ``os.pipe()`` and registering the two
fds for closing, inside ``Popen.wait()`` of a teardown (the child is never reaped, the pipes stay
open). Blocking the signal with ``pthread_sigmask`` does not help in a threaded process: the kernel
then delivers a process-directed signal to another thread, whose C handler trips the flag the main
thread acts on. So the window swaps the *Python-level* handlers instead: while it is open, every
signal with a Python handler is recorded, and when it closes the original handlers are put back and
each recorded signal is handed to its original handler -- which raises KeyboardInterrupt then, after
the resource is registered for cleanup (or after the cleanup finished).

Keep the windows short (create + register, one teardown step): an interrupt waits for them.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from contextlib import ExitStack, contextmanager

_CATCHABLE = tuple(s for s in signal.valid_signals()
                   if s not in (getattr(signal, "SIGKILL", None), getattr(signal, "SIGSTOP", None)))


@contextmanager
def deferred_signals():
    """While open, Python-level signal handlers do not run; on close they run for what arrived."""
    if threading.current_thread() is not threading.main_thread():
        yield  # handlers run in the main thread only: nothing can interrupt this thread
        return
    pending: list = []

    def hold(sig, frame):
        pending.append((sig, frame))

    saved: dict = {}
    try:
        for s in _CATCHABLE:
            try:
                h = signal.getsignal(s)
            except (ValueError, OSError):  # pragma: no cover - a signal Python cannot query
                continue
            if callable(h):
                saved[s] = h  # remembered before it is swapped: a restore is always right
                signal.signal(s, hold)
    except BaseException:  # a signal struck while the window opened: close it, let it through
        _restore(saved)
        raise
    try:
        yield
    finally:
        late = _restore(saved)
        for sig, frame in pending:
            saved[sig](sig, frame)  # e.g. default_int_handler: KeyboardInterrupt, now
        if late is not None:
            raise late


def _restore(saved: dict) -> BaseException | None:
    """Put every saved handler back, even if one of them fires in between (its exception is
    returned, to be raised once all are back: a handler left swapped would swallow Ctrl-C for good)."""
    late = None
    for s, h in saved.items():
        while True:
            try:
                signal.signal(s, h)
                break
            except BaseException as exc:  # noqa: BLE001 - re-raised by the caller
                late = late or exc
    return late


def own(stack: ExitStack, make: Callable, close: Callable | None = None):
    """``make()`` a resource and register it on ``stack`` in one uninterruptible step: with
    ``close``, ``stack.callback(close, obj)``; otherwise ``stack.enter_context(obj)``."""
    with deferred_signals():
        obj = make()
        if close is not None:
            stack.callback(close, obj)
            return obj
        return stack.enter_context(obj)


def close_pipe(fds: tuple[int, int]) -> None:
    import os

    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def socket_pair(stack: ExitStack):
    """``socket.socketpair()`` registered on ``stack`` in one step. ``socketpair()`` is Python code
    (``_socket.socketpair`` then ``detach()`` into two objects): a Ctrl-C in between leaves a bare fd
    number that no garbage collector will ever close."""
    import socket

    with deferred_signals():
        a, b = socket.socketpair()
        stack.enter_context(a)
        stack.enter_context(b)
    return a, b


def accept_on(stack: ExitStack, sock, timeout: float):
    """Wait (interruptibly) until ``sock`` has a connection, then ``accept()`` and register it in one
    step: ``socket.accept()`` is Python code around a bare fd, like ``socketpair()``. Returns the
    connection, or raises TimeoutError after ``timeout`` s."""
    import select

    p = select.poll()
    p.register(sock.fileno(), select.POLLIN)
    if not p.poll(max(0.0, timeout) * 1000):
        raise TimeoutError(f"no connection within {timeout:.1f} s")
    with deferred_signals():
        conn, _ = sock.accept()
        stack.enter_context(conn)
    return conn


def uninterruptible(fn: Callable) -> Callable:
    """A teardown step that a Ctrl-C cannot cut in half (a stop flag set but its eventfd never
    written leaves the workers asleep for good): it runs with signals deferred; a Ctrl-C that struck
    as the window opened (or was delivered as it closed) runs it once more, deferred too (teardowns
    are idempotent), before it is let through."""
    import functools

    @functools.wraps(fn)
    def run(*args, **kwargs):
        try:
            with deferred_signals():
                return fn(*args, **kwargs)
        except KeyboardInterrupt:
            with deferred_signals():
                fn(*args, **kwargs)
            raise

    return run


class Teardown(ExitStack):
    """An ExitStack whose unwinding a signal cannot cut short. ``ExitStack.__exit__`` is Python code:
    ``cb = self._exit_callbacks.pop()`` comes two lines before the ``try:`` around ``cb()``, so a
    KeyboardInterrupt landing there loses that callback and leaves the loop, skipping every one
    registered before it (their fds, threads and children stay). Here the whole unwinding is
    :func:`uninterruptible`, and what arrived meanwhile is raised when it is done."""

    __exit__ = uninterruptible(ExitStack.__exit__)
