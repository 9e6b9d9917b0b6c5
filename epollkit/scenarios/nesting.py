"""Nested epoll: what ``do_epoll_ctl()`` refuses when an epoll fd is the target (pure checks, shared by
the scenario loader and the model, :mod:`epollkit.sim.nested`).

- ``EINVAL``: an epoll fd added to, modified in or deleted from itself (``f.file == tf.file``), and
  ``EPOLLEXCLUSIVE`` on an epoll target (``is_file_epoll(tf.file)``);
- ``ELOOP``: ``ep_loop_check()`` -- the target can reach the instance it is added to (a loop), or the
  longest chain of epoll-in-epoll links through the new one would exceed ``EP_MAX_NESTS``
  (``ep_loop_check_proc()`` below the target, ``ep_get_upwards_depth_proc()`` above the instance; the
  upward half since "eventpoll: Fix semi-unbounded recursion", Linux 6.17).
"""

from __future__ import annotations

from .calls import EPOLLEXCLUSIVE

EP_MAX_NESTS = 4  # fs/eventpoll.c: "Maximum number of nesting allowed inside epoll sets"


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
