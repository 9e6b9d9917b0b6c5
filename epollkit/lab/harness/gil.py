"""Stopping thousands of threads at once without a herd on the GIL.

Teardown wakes every worker with one write of the stop eventfd (or one ``shutdown()`` of the listener);
the kernel wakes them all, and every one of them then needs Python's GIL to return from its wait and
leave. CPython's GIL is a mutex with a condition variable (``take_gil()`` in Python/ceval_gil.c,
ceval_gil.h up to 3.11): a thread that wants it waits on the condition for
``sys.getswitchinterval()`` (5 ms by default), and each time that wait times out it asks the holder
to drop the GIL. With N threads waiting, that is N / 0.005 s time-outs per second -- 3.3 million for
16 384 threads -- and a forced switch each time, so a thread that holds a lock on its way out
(``threading``'s ``_active_limbo_lock`` in ``Thread._delete()``, the group's counter lock) loses the
GIL half-way and every other thread queues on the lock behind it. Measured here (Linux 6.18, 2 CPUs,
epoll waiters in private instances): 2048 woken workers took up to 6 s to stop, 4096 up to 44 s,
8192 over four minutes, and the main thread itself waited most of that for the GIL back after its
``eventfd_write()``.

While :func:`patient_gil` is open the switch interval is long enough that the waiters wake up
rarely on their own (at most :data:`GIL_TIMEOUTS_PER_S` time-outs per second in all); the GIL then
passes from each exiting thread to the next when it drops it (``drop_gil()`` signals the condition),
and 16 384 workers stop in one to two seconds. It is only for teardown, where nobody measures
anything: the interval is process-wide, so it is put back on exit, and it grows with the number of
threads (a few hundred keep the default 5 ms, 16 384 get 0.82 s, none more than
:data:`MAX_INTERVAL_S`), so that a CPU-bound thread elsewhere in the process cannot hold up a small
teardown for long.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager

GIL_TIMEOUTS_PER_S = 20_000  # what N waiting threads may cost in GIL time-outs per second, in all
MAX_INTERVAL_S = 1.0


def teardown_interval(threads: int) -> float:
    """The switch interval for stopping ``threads`` threads at once: ``threads / GIL_TIMEOUTS_PER_S``
    seconds, at most :data:`MAX_INTERVAL_S`."""
    return min(MAX_INTERVAL_S, max(0, threads) / GIL_TIMEOUTS_PER_S)


@contextmanager
def patient_gil(threads: int):
    """While open, ``sys.getswitchinterval()`` is at least :func:`teardown_interval` (``threads``);
    the old value is put back on exit."""
    old = sys.getswitchinterval()
    want = teardown_interval(threads)
    if want <= old:
        yield
        return
    sys.setswitchinterval(want)
    try:
        yield
    finally:
        sys.setswitchinterval(old)
