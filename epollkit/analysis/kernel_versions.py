"""The kernel releases that changed how Linux spreads accept() and wakes epoll waiters, and what a given
release has (pure: no I/O; the live checks live in the notebook that shows them).

Each row names the commit and the kernel function where the rule lives. Releases are compared as
(major, minor, patch); a row may list stable backports (``"5.10.36"``): a release of that stable series at or
above the backport has the change too. Distribution kernels backport more than this table knows: the answer
for a vendor kernel is "probably", and the live cells of notebook 10 measure what they can.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Change", "CHANGES", "parse_release", "has", "table_for"]


@dataclass(frozen=True)
class Change:
    """One kernel change. ``since``: first mainline release with it; ``until``: first release without it
    (for a regression that was later undone), else None; ``backports``: stable releases that have it."""

    key: str
    since: str
    what: str
    where: str
    until: str | None = None
    backports: tuple[str, ...] = ()


CHANGES: tuple[Change, ...] = (
    Change("EPOLLEXCLUSIVE", "4.5", "EPOLLEXCLUSIVE: an exclusive epoll entry on the source's wait queue; "
           "the first registered instance with a sleeper wakes",
           "df0108c5da56; fs/eventpoll.c ep_ptable_queue_proc(), ep_poll_callback()"),
    Change("REUSEPORT_CBPF", "4.5", "SO_ATTACH_REUSEPORT_CBPF / _EBPF: a BPF program picks the listener",
           "538950a1b752; net/core/sock_reuseport.c run_bpf_filter()"),
    Change("INCOMING_CPU_BROKEN", "4.6", "SO_INCOMING_CPU does nothing for a SO_REUSEPORT group: the fast "
           "group selection ignores compute_score()'s CPU bonus", "c125e80b8868 (breaks), net/ipv4/"
           "inet_hashtables.c inet_lhash2_lookup()", until="6.2", backports=("6.1.2", "6.0.16")),
    Change("NO_CASCADE", "5.5", "no wake-up at the end of a harvest: one shared level-triggered instance "
           "wakes one thread, not a second one", "339ddb53d373 (removes), 7fab29e35630 (restores); "
           "fs/eventpoll.c ep_done_scan()", until="5.13", backports=("5.10.36", "5.11.20", "5.12.3")),
    Change("LOST_WAKEUP", "5.5", "a woken epoll_wait() entry stays queued; wake-ups can be lost "
           "(the post's 'only one is notified' can happen)",
           "fixed by 412895f03cbf; fs/eventpoll.c ep_poll()", until="5.7"),
    Change("TCP_MIGRATE_REQ", "5.14", "net.ipv4.tcp_migrate_req: a closing SO_REUSEPORT listener's queue "
           "can move to a sibling instead of being reset", "f9ac779f881c; net/core/sock_reuseport.c "
           "reuseport_migrate_sock()"),
    Change("MULTISHOT_ACCEPT", "5.19", "io_uring multishot accept (IORING_ACCEPT_MULTISHOT)",
           "io_uring/net.c io_accept()"),
    Change("INCOMING_CPU_FIXED", "6.2", "SO_INCOMING_CPU picks within a SO_REUSEPORT group",
           "b261eda84ec1; net/core/sock_reuseport.c reuseport_select_sock_by_hash()",
           backports=("6.1.2", "6.0.16")),
)

_RELEASE = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?")


def parse_release(release: str) -> tuple[int, int, int]:
    """``"6.18.44-fc-v657"`` -> ``(6, 18, 44)``. Raises ValueError naming the bad value."""
    m = _RELEASE.match(str(release))
    if not m:
        raise ValueError(f"not a kernel release: {release!r} (expected e.g. '6.1.2' or '5.10.36-generic')")
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def _backported(v: tuple[int, int, int], backports: tuple[str, ...]) -> bool:
    return any(v[:2] == b[:2] and v >= b for b in map(parse_release, backports))


def has(change: Change, release: str) -> bool:
    """Whether ``release`` has ``change`` (for a regression with ``until``: whether it still has it)."""
    v = parse_release(release)
    started = v >= parse_release(change.since)
    if change.until is None:
        return started or _backported(v, change.backports)
    ended = v >= parse_release(change.until) or _backported(v, change.backports)
    return started and not ended


def table_for(release: str) -> list[dict]:
    """One row per change: since, until, what, where, and whether ``release`` has it ("yes"/"no")."""
    return [{"since": c.since, "until": c.until or "", "change": c.what, "commit / function": c.where,
             f"Linux {release}": "yes" if has(c, release) else "no"} for c in CHANGES]
