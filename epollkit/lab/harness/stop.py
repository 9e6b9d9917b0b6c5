"""The stop signal every experiment registers in every wait set: an eventfd, poked until all joined.

The workers never use a timeout (a timeout would re-enter the wait and move the thread in
``ep->wq``), so teardown must WAKE them. The signal is an eventfd registered level-triggered
(``EPOLLIN``) in every epoll set -- and in every select()/poll() set -- before a worker starts, and it
is never read, so once written it stays readable.

One write is not always enough. ``eventfd_write()`` (fs/eventfd.c) calls ``wake_up_locked_poll()`` on
every write, which runs ``ep_poll_callback()`` once per epoll instance watching it; that wakes ONE
sleeper of the instance's ``ep->wq`` (``ep_poll()`` waits exclusively). The others are woken by the
level-triggered re-queue in ``ep_send_events()`` and the ``ep_done_scan()`` cascade -- which mainline
5.5-5.12 lacked until 7fab29e35630 ("fs/epoll: restore waking from ep_done_scan()"). On such a kernel
one write stops one worker of a shared instance and the rest sleep on. So :meth:`WorkerGroup.join`
writes again every :data:`REPOKE_S` until every worker has joined. (An eventfd rather than a pipe:
``pipe_write()`` wakes readers only when the pipe was empty on some releases; every eventfd write
runs the wake-up.) The protocol is checked with the model on both kernel generations:
:mod:`epollkit.sim.stop`, tests/test_stop_protocol.py.
"""

from __future__ import annotations

import os
import select
import threading

REPOKE_S = 0.05  # how long a join waits before the stop eventfd is written again


class StopSignal:
    """The stop flag and its eventfd. Use as a context manager (the fd is closed on exit).

    ``watch(ep)`` registers it in an epoll set; ``fileno()`` goes into select()/poll() sets;
    ``set()`` raises the flag and writes the eventfd; ``poke()`` writes it again; ``pokes`` counts the
    writes (a test can see the re-pokes)."""

    def __init__(self):
        self.flag = threading.Event()
        self.pokes = 0
        self._fd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)

    def __enter__(self) -> StopSignal:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def fileno(self) -> int:
        return self._fd

    def watch(self, ep) -> None:
        """Register in an epoll set: level-triggered, never read, so it stays ready once written."""
        ep.register(self._fd, select.EPOLLIN)

    def is_set(self) -> bool:
        return self.flag.is_set()

    def set(self) -> None:
        """Raise the flag, then write the eventfd (a worker that wakes checks the flag first)."""
        self.flag.set()
        self.poke()

    def poke(self) -> None:
        """Write the eventfd once more: one more ``ep_poll_callback()`` per instance watching it."""
        if self._fd >= 0:
            os.eventfd_write(self._fd, 1)
            self.pokes += 1
