"""Nested epoll: an epoll instance watched by another instance, or ``poll()``-ed by a thread.

The kernel's rules (``fs/eventpoll.c``), one function each:

- **Readiness of an epoll fd** (:func:`eventpoll_poll`, ``__ep_eventpoll_poll()``): the instance is
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
- **Wake-up of the watchers** (:func:`ep_poll_safewake`): when ``ep_poll_callback()`` has queued an
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

from . import rules
from .state import EPOLLEXCLUSIVE, State, World

EP_MAX_NESTS = 4  # fs/eventpoll.c: "Maximum number of nesting allowed inside epoll sets"

_NONE = frozenset()
_IN = frozenset({"EPOLLIN"})


def eventpoll_poll(w: World | None, st: State, ep: str, log: list | None) -> frozenset:
    """``__ep_eventpoll_poll()``: ``{EPOLLIN}`` if ``ep``'s ready list holds an item that still polls
    ready (``ep_item_poll(epi, &pt, depth + 1)``), else empty. Scans head first and stops at the first
    ready item; drops the not-ready items it passed (``list_del_init(&epi->rdllink)``); then
    ``ep_done_scan()`` wakes one ``ep->wq`` sleeper if the ready list is not empty. ``w`` None: the
    newest rules (the wake-up at the end of the scan is there)."""
    e = st.epolls[ep]
    if not e.rdllist:
        return _NONE
    items = {it.fd: it for it in e.items}
    passed = 0
    ready = False
    for fd in e.rdllist:
        if rules.item_poll(st, items[fd], w, log):
            ready = True
            break
        passed += 1
    e = st.epolls[ep]  # an inner poll changes only inner instances; read again all the same
    if passed:
        dropped = e.rdllist[:passed]
        e = e._replace(rdllist=e.rdllist[passed:], rdcause=e.rdcause[passed:])
        st.epolls[ep] = e
        if log is not None:
            log.append(f"poll of {ep}: {', '.join(dropped)} no longer ready (ep_item_poll), dropped")
    if e.rdllist and e.wq and (w is None or w.cascade):
        rules.wake_ep_sleeper(st, ep, log, f"ep_done_scan after a poll of {ep}: its ready list is not empty",
                              rules._cascade_cause(e))
    return _IN if ready else _NONE


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


def ep_poll_safewake(st: State, ep: str, log: list | None, cause: int | None) -> None:
    """``ep_poll_safewake()`` -> ``wake_up_poll(&ep->poll_wait, EPOLLIN)``: wake whoever polls the
    instance -- outer instances (their ``ep_poll_callback()`` for the item on ``ep``) and threads in
    ``poll()`` on it. Nothing on ``poll_wait`` is exclusive (``EPOLLEXCLUSIVE`` on an epoll target is
    refused), so every entry runs."""
    if log is not None:
        log.append(f"{ep} wakes its poll_wait (ep_poll_safewake)")
    rules.wake_up_source(st, ep, log, cause)


# ------------------------------------------------------------------------------------- epoll_ctl


def children(st: State) -> dict:
    """The epoll-in-epoll graph: instance -> the epoll fds it watches."""
    return {name: tuple(it.fd for it in e.items if it.fd in st.epolls) for name, e in st.epolls.items()}


def loop_refusal(graph: dict, ep: str, to: str) -> bool:
    """``ep_loop_check(ep, to)`` for ``EPOLL_CTL_ADD`` of epoll fd ``to`` into ``ep``: True (``ELOOP``)
    when ``ep`` is reachable from ``to`` (a loop), or when ``depth(to) + 1 + upwards(ep) > EP_MAX_NESTS``
    (``ep_loop_check_proc()`` / ``ep_get_upwards_depth_proc()``). ``graph``: instance -> watched epolls."""
    big = EP_MAX_NESTS + 100

    def down(node: str, seen: frozenset) -> int:
        best = 0
        for child in graph.get(node, ()):
            if child == ep or child in seen:
                return big  # ep_tovisit == inserting_into: a loop
            best = max(best, down(child, seen | {child}) + 1)
        return best

    def up(node: str, seen: frozenset) -> int:
        best = 0
        for parent, kids in graph.items():
            if node in kids and parent not in seen:
                best = max(best, up(parent, seen | {parent}) + 1)
        return best

    depth = down(to, frozenset({to}))
    if depth > EP_MAX_NESTS:
        return True
    return depth + 1 + up(ep, frozenset({ep})) > EP_MAX_NESTS


def ctl_refusal(op: str, ep: str, fd: str, events: frozenset, target_is_epoll: bool) -> str | None:
    """The ``EINVAL`` cases of ``do_epoll_ctl()`` that nesting adds, checked before the others:
    an epoll fd added to (or modified/deleted in) itself, and ``EPOLLEXCLUSIVE`` on an epoll target."""
    if fd == ep:
        return "EINVAL"  # do_epoll_ctl(): f.file == tf.file
    if op == "add" and target_is_epoll and EPOLLEXCLUSIVE in events:
        return "EINVAL"  # do_epoll_ctl(): EPOLLEXCLUSIVE and is_file_epoll(tf.file)
    return None
