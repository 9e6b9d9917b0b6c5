"""The one skeleton of every live experiment's workers: start them so that they always stop, and stop
them in one order.

An experiment (``lab/experiments/*.py``) keeps only its physics. Inside its ``ExitStack``, after it
has validated its parameters (``validate.py``, before anything exists), checked the platform and its
fd/thread budget (:func:`require_linux`, :mod:`.limits`) and made its sockets and epoll sets with the
:class:`StopSignal` registered in every one, it calls :func:`start_workers`, which

1. makes the :class:`WorkerGroup` (the stop signal's flag is the group's stop flag),
2. registers the teardown on the stack FIRST, so that it runs whatever happens next,
3. starts the workers and waits until every one is asleep in its wait call (``/proc/.../wchan``),
   raising :class:`ExperimentTimeout` if that takes longer than ``asleep_within``.

The teardown (:func:`stop_workers`) is the one order: set the stop signal (flag, then the eventfd) ->
``shutdown()`` every listener (wakes threads blocked in ``accept()``: ``inet_shutdown()`` ->
``inet_csk_listen_stop()``; ``close()`` alone does not) -> the experiment's own ``then`` (e.g. stop
a sender) -> join, writing the stop eventfd again while a worker is still asleep -> the stack closes
everything else in reverse -> :class:`LeakError` if a thread is left. From the stop signal to the
last join the GIL's switch interval is raised with the number of workers (:mod:`.gil`).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from contextlib import ExitStack

from ...errors import ExperimentTimeout
from .core import WorkerGroup
from .gil import patient_gil
from .interrupts import uninterruptible
from .stop import StopSignal


@uninterruptible
def stop_workers(stop: StopSignal, *groups: WorkerGroup, listeners: Sequence[socket.socket] = (),
                 then: Callable[[], None] | None = None) -> None:
    """Stop every worker of ``groups`` in the one order (see the module docstring), with the GIL
    patient while they all leave at once (:mod:`.gil`: thousands of woken threads would otherwise
    take minutes to hand it round)."""
    with patient_gil(sum(g.count for g in groups)):
        stop.set()
        for sock in listeners:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes threads blocked in accept() (EINVAL)
            except OSError:
                pass
        if then is not None:
            then()
        for group in groups:
            group.join()  # re-pokes the stop eventfd while a worker is alive


def start_workers(stack: ExitStack, count: int, target: Callable[[int, WorkerGroup], None], *, name: str,
                  stop: StopSignal, listeners: Sequence[socket.socket] = (),
                  then: Callable[[], None] | None = None, asleep_within: float = 10.0,
                  what: str = "workers") -> WorkerGroup:
    """Start ``count`` workers running ``target(index, group)`` whose teardown is already on ``stack``,
    and return once every one is asleep in its wait call."""
    group = WorkerGroup(count, target, name=name, stop=stop)
    stack.callback(stop_workers, stop, group, listeners=listeners, then=then)
    group.start()
    if not group.wait_blocked(timeout=asleep_within):
        raise ExperimentTimeout(f"{what} did not all reach their wait within {asleep_within:g} s")
    return group
