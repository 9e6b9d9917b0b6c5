"""How a worker waits, one small class per kind, in the spirit of CPython's ``selectors``: the kinds
differ in the call they make, and the experiments keep one loop.

``wait()`` blocks WITHOUT a timeout (a timeout would re-enter the wait and move the thread in the
kernel's queues: ``ep->wq`` is LIFO) and returns True when the worker's own fd was reported ready,
False when only the stop signal was. The caller checks the stop flag right after every return.
Every kind watches the stop signal (:class:`~epollkit.lab.harness.stop.StopSignal`) beside its fd.

- :class:`SelectWait`  ``select()``: ``do_select()`` -> ``poll_wait()``: not exclusive, always woken
- :class:`PollWait`    ``poll()``: ``do_poll()`` -> ``poll_wait()``: the same
- :class:`EpollWait`   ``epoll_wait(maxevents=EVENTS_PER_WAIT)`` on the worker's (maybe shared)
  instance: ``ep_poll()``, exclusive on ``ep->wq``
- blocking ``accept()`` needs no class: the wait IS the accept (``inet_csk_wait_for_connect()``), and
  ``shutdown()`` of the listener is what ends it.
"""

from __future__ import annotations

import select

from ...strategies import EVENTS_PER_WAIT


class Wait:
    """A worker's wait on ``fd`` (and the stop signal)."""

    kind = ""  # the strategy's ``wait`` value this class implements

    def __init__(self, fd: int, stop_fd: int):
        self.fd, self.stop_fd = fd, stop_fd

    def wait(self) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError


class SelectWait(Wait):
    kind = "select"

    def wait(self) -> bool:
        readable, _, _ = select.select([self.fd, self.stop_fd], [], [])  # no timeout
        return self.fd in readable


class PollWait(Wait):
    kind = "poll"

    def __init__(self, fd: int, stop_fd: int):
        super().__init__(fd, stop_fd)
        self._poller = select.poll()  # not select(): fd numbers may be 1024 or more
        self._poller.register(fd, select.POLLIN)
        self._poller.register(stop_fd, select.POLLIN)

    def wait(self) -> bool:
        return any(fd == self.fd for fd, _ in self._poller.poll())  # no timeout


class EpollWait(Wait):
    """``ep`` is the worker's instance (shared or its own), with ``fd`` and the stop fd registered."""

    kind = "epoll_wait"

    def __init__(self, fd: int, stop_fd: int, ep):
        super().__init__(fd, stop_fd)
        self.ep = ep

    def wait(self) -> bool:
        # maxevents = EVENTS_PER_WAIT: the worker's fd and the stop fd (epoll_wait() needs maxevents > 0)
        return any(fd == self.fd for fd, _ in self.ep.poll(-1, EVENTS_PER_WAIT))


WAITS = {cls.kind: cls for cls in (SelectWait, PollWait, EpollWait)}


def wait_for(kind: str, fd: int, stop_fd: int, ep=None) -> Wait:
    """The Wait of a strategy's ``wait`` kind (``"select"``, ``"poll"``, ``"epoll_wait"``)."""
    cls = WAITS.get(kind)
    if cls is None:
        raise ValueError(f"no Wait for {kind!r}; valid: {', '.join(WAITS)} "
                         "(a blocking accept() is its own wait)")
    return cls(fd, stop_fd, ep) if cls is EpollWait else cls(fd, stop_fd)
