"""Nested epoll: an epoll instance watched by another instance, or ``poll()``-ed by a thread.

The kernel's rules (``fs/eventpoll.c``), one function each:

- **Readiness of an epoll fd** (``rules.eventpoll_poll``, ``__ep_eventpoll_poll()``): the instance is
  readable when its ready list holds an item that still polls ready (``ep_item_poll()`` with depth + 1,
  so an inner epoll fd is asked the same question, recursively). The scan stops at the first ready item;
  items before it that no longer poll ready are *dropped* from the ready list (a side effect of merely
  looking). The scan ends in ``ep_done_scan()``, which -- like the end of a harvest -- wakes one
  ``epoll_wait()`` sleeper of that instance if its ready list is not empty (not on 5.5-5.12). A poll
  consumes nothing: an edge-triggered item stays on the inner ready list until the inner instance itself
  is harvested. The mask is ``EPOLLIN`` only.
- **Who watches an epoll fd** (its ``ep->poll_wait`` queue, kept in ``State.queues[epoll name]`` like a
  socket's wait queue): an outer instance's item (``ep_insert()`` -> ``ep_item_poll()`` ->
  ``poll_wait()`` -> ``ep_ptable_queue_proc()``: ``add_wait_queue()``, never exclusive) and threads in
  ``poll()``/``select()`` on it (``poll_wait()``).
- **Wake-up of the watchers** (``rules.ep_poll_safewake``): when ``ep_poll_callback()`` has queued an
  item (or found it queued) it wakes ``ep->wq`` and then, if anyone polls the instance,
  ``ep_poll_safewake()`` -> ``wake_up_poll(&ep->poll_wait, EPOLLIN)``: every entry runs -- an outer
  instance's ``ep_poll_callback()`` for its item on this epoll fd (which queues that item, wakes one of
  its own sleepers and wakes *its* watchers in turn), a ``poll()`` caller's ``pollwake()``. The same
  happens when ``ep_insert()`` / ``ep_modify()`` queue a ready item.
- **Links at each level** are ordinary items: an outer level-triggered item on an epoll fd is re-queued
  after each report and keeps reporting while the inner instance polls ready; an outer edge-triggered
  item reports once per wake-up of the inner instance (each ``ep_poll_callback()`` on the inner one).
- **Refusals** (``do_epoll_ctl()``), in the kernel's order: adding an epoll fd to itself is ``EINVAL``
  (``f.file == tf.file``); ``EPOLLEXCLUSIVE`` on an epoll target is ``EINVAL`` (``is_file_epoll(tf.file)``
  in the ``EPOLLEXCLUSIVE`` block); then, for ``EPOLL_CTL_ADD`` of an epoll fd, ``ep_loop_check()``:
  ``ELOOP`` when the target can reach the instance it is added to (a loop), or when the longest chain
  of epoll-in-epoll links through the new one would exceed ``EP_MAX_NESTS`` = 4
  (``ep_loop_check_proc()`` measures the depth below the target, ``ep_get_upwards_depth_proc()`` the
  height above the instance: ``depth + 1 + upwards > EP_MAX_NESTS``). The upward half came with "eventpoll:
  Fix semi-unbounded recursion" (Linux 6.17, sent to the stable kernels); older kernels checked only
  the depth below the target -- the model implements the newest rule. ``EEXIST`` / ``ENOENT`` come after.
"""

from __future__ import annotations

from ..scenarios.nesting import EP_MAX_NESTS, ctl_refusal, loop_refusal
from .state import State

# The two rules that recurse through ep_item_poll() -- __ep_eventpoll_poll() and ep_poll_safewake() -- are
# in epollkit.sim.rules (rules.eventpoll_poll, rules.ep_poll_safewake): readiness of an epoll fd polls its
# items, which may be epoll fds again. This module holds the rest: the epoll-in-epoll graph, the
# refusals (shared with the scenario loader) and the judgement of a final state.
__all__ = ["EP_MAX_NESTS", "children", "ctl_refusal", "holds_data", "loop_refusal"]

def holds_data(st: State, ep: str, _seen: tuple = ()) -> bool:
    """Some armed ``EPOLLIN`` item of ``ep`` watches a source that holds a connection or bytes, at any
    depth (for judging a final state: "stuck" -- queued data that no wake-up will announce)."""
    for it in st.epolls[ep].items:
        if not it.armed or "EPOLLIN" not in it.events:
            continue
        if it.fd in st.epolls:
            if it.fd not in _seen and holds_data(st, it.fd, _seen + (ep,)):
                return True
        elif st.queued(it.fd):
            return True
    return False


# ------------------------------------------------------------------------------------- epoll_ctl


def children(st: State) -> dict:
    """The epoll-in-epoll graph: instance -> the epoll fds it watches."""
    return {name: tuple(it.fd for it in e.items if it.fd in st.epolls) for name, e in st.epolls.items()}


# loop_refusal() and ctl_refusal() are pure checks the scenario loader uses too: they live in
# epollkit.scenarios.nesting and are re-exported here.
