"""The collection's own strategies written as reader's workers (:mod:`epollkit.scenarios.worker`).

Each is the loop of a strategy of ``epollkit/strategies.py``, line for line what the built-in model
program (:mod:`epollkit.sim.programs`) and the lab's worker (:mod:`epollkit.lab.experiments.accept`,
``read``) do; ``tests/test_worker.py`` checks that the model gives exactly the same outcomes for both.
``LOOPS`` maps a strategy name to ``(loop, flags, topology)``: the setup the strategy registers.
"""

from __future__ import annotations

from .worker import EAGAIN, OK, accept, deliver, epoll_ctl, epoll_wait, read


def epoll_lt():
    """Level-triggered: one accept() per wake-up."""
    while True:
        yield epoll_wait()
        yield accept()


def epoll_et():
    """Edge-triggered: accept() until EAGAIN -- the queue must be empty before the next wait."""
    while True:
        yield epoll_wait()
        while (yield accept()) != EAGAIN:
            pass


def epoll_oneshot():
    """ET + ONESHOT: one accept(), then re-arm the item (EPOLL_CTL_MOD)."""
    while True:
        yield epoll_wait()
        yield accept()
        yield epoll_ctl("mod")


def epoll_et_once():
    """WRONG on purpose: edge-triggered with a single accept() per wake-up."""
    while True:
        yield epoll_wait()
        yield accept()


def epoll_exclusive_rotate(k: int = 1):
    """EPOLLEXCLUSIVE, and every ``k`` accepts remove and re-add the listener (nginx 1.21.6): the
    re-added entry goes to the tail of the listener's wait queue."""
    n = 0
    while True:
        yield epoll_wait()
        if (yield accept()) == OK:
            n += 1
        if n >= k:
            yield epoll_ctl("del")
            yield epoll_ctl("add")
            n = 0


def lt(n: int = 100):
    """Level-triggered reads: one read() per wake-up, delivered at once."""
    while True:
        yield epoll_wait()
        if (yield read(n)) != EAGAIN:
            yield deliver()


def et(n: int = 100):
    """Edge-triggered reads: read() and deliver until EAGAIN."""
    while True:
        yield epoll_wait()
        while (yield read(n)) != EAGAIN:
            yield deliver()


def oneshot(n: int = 100):
    """ET + ONESHOT: read until EAGAIN, deliver it all, then re-arm."""
    while True:
        yield epoll_wait()
        while (yield read(n)) != EAGAIN:
            pass
        yield deliver()
        yield epoll_ctl("mod")


def oneshot_early_rearm(n: int = 100):
    """WRONG on purpose: ONESHOT that re-arms before it delivers."""
    while True:
        yield epoll_wait()
        while (yield read(n)) != EAGAIN:
            pass
        yield epoll_ctl("mod")
        yield deliver()


def et_once(n: int = 100):
    """WRONG on purpose: edge-triggered with a single read() per wake-up."""
    while True:
        yield epoll_wait()
        if (yield read(n)) != EAGAIN:
            yield deliver()


ET = ("EPOLLIN", "EPOLLET")
ONESHOT = ("EPOLLIN", "EPOLLET", "EPOLLONESHOT")
EXCLUSIVE = ("EPOLLIN", "EPOLLEXCLUSIVE")

#: strategy name -> (loop, flags, topology)
ACCEPT_LOOPS = {
    "epoll-lt": (epoll_lt, ("EPOLLIN",), "shared"),
    "epoll-et": (epoll_et, ET, "shared"),
    "epoll-oneshot": (epoll_oneshot, ONESHOT, "shared"),
    "epoll-lt-private": (epoll_lt, ("EPOLLIN",), "private"),
    "epoll-et-private": (epoll_et, ET, "private"),
    "epoll-exclusive": (epoll_lt, EXCLUSIVE, "private"),
    "epoll-et-once": (epoll_et_once, ET, "shared"),
    "epoll-exclusive-rotate": (epoll_exclusive_rotate, EXCLUSIVE, "private"),
}
READ_LOOPS = {
    "lt": (lt, ("EPOLLIN",), "shared"),
    "et": (et, ET, "shared"),
    "lt-exclusive": (lt, EXCLUSIVE, "private"),
    "oneshot": (oneshot, ONESHOT, "shared"),
    "oneshot-early-rearm": (oneshot_early_rearm, ONESHOT, "shared"),
    "et-once": (et_once, ET, "shared"),
}
LOOPS = {"accept": ACCEPT_LOOPS, "read": READ_LOOPS}
