"""What this process may still open and start: file descriptors (``RLIMIT_NOFILE``) and threads
(``kernel.threads-max``, ``kernel.pid_max``, ``RLIMIT_NPROC``, the cgroup's ``pids.max``).

Every check runs BEFORE an experiment creates anything and raises :class:`ResourceLimit` naming the
limit. ``resource`` is imported inside the functions (it does not exist on Windows).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

from ...errors import ResourceLimit
from ...system import fd_limits

NO_LIMIT = 1 << 30  # thread_room() when no limit could be read


def check_fd_budget(needed: int, what: str) -> None:
    """Raise ResourceLimit if ``needed`` more fds would pass RLIMIT_NOFILE (with headroom)."""
    soft, _hard = fd_limits()
    if soft < 0:
        return
    in_use = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 64
    if in_use + needed + 16 > soft:
        raise ResourceLimit(
            f"{what} needs about {needed} file descriptors but RLIMIT_NOFILE is {soft} "
            f"({in_use} in use); lower it or raise the limit (ulimit -n)"
        )


FD_HEADROOM = 32  # fds kept free for everything else the process does


def fds_in_use() -> int:
    """How many fds this process has open now."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:  # pragma: no cover - no /proc
        return 64


def check_fd_room(needed: int, what: str) -> None:
    """Raise :class:`ResourceLimit` (before anything is created) if ``needed`` more fds cannot fit
    under the *hard* ``RLIMIT_NOFILE``, even after raising the soft limit (see :func:`raised_fd_limit`)."""
    soft, hard = fd_limits()
    if soft < 0:
        return
    ceiling = hard if hard != _infinity() else max(soft, 1 << 20)
    total = fds_in_use() + needed + FD_HEADROOM
    if total > ceiling:
        raise ResourceLimit(
            f"{what} needs about {needed} more file descriptors, {total} in all, but the hard "
            f"RLIMIT_NOFILE is {hard} (soft {soft}); ask for fewer, or raise the hard limit "
            "(ulimit -Hn, /etc/security/limits.conf)"
        )


def _infinity() -> int:
    import resource

    return resource.RLIM_INFINITY


@contextlib.contextmanager
def raised_fd_limit(needed: int) -> Iterator[tuple[int, int]]:
    """Raise the soft ``RLIMIT_NOFILE`` (never above the hard limit) so that ``needed`` more fds fit,
    and ALWAYS put the original soft limit back on the way out (success, exception, Ctrl-C).

    Yields the (soft, hard) limits in force inside the block. Call :func:`check_fd_room` first.
    """
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = fds_in_use() + needed + FD_HEADROOM
    changed = False
    if soft != resource.RLIM_INFINITY and want > soft:
        new = want if hard == resource.RLIM_INFINITY else min(hard, want)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        changed = True
    try:
        yield resource.getrlimit(resource.RLIMIT_NOFILE)
    finally:
        if changed:
            # Lowering the soft limit never fails, even with fds above it still open: they stay
            # valid (the limit only bounds new allocations, alloc_fd() -> expand_files()).
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


THREAD_HEADROOM = 64  # tasks left for everything else on the machine


def _read_int(path: str) -> int | None:
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _tasks_now() -> int | None:
    """Tasks (threads) on the whole machine now: the 4th field of /proc/loadavg is running/total."""
    try:
        with open("/proc/loadavg") as f:
            return int(f.read().split()[3].split("/")[1])
    except (OSError, IndexError, ValueError):
        return None


def _cgroup_pids_max() -> int | None:
    """The pids.max of this process's cgroup (v2 or v1), if one is set."""
    try:
        with open("/proc/self/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        _id, controllers, path = line.split(":", 2)
        if controllers == "":
            base = "/sys/fs/cgroup"
        elif "pids" in controllers.split(","):
            base = "/sys/fs/cgroup/pids"
        else:
            continue
        value = _read_int(f"{base}{path.rstrip('/')}/pids.max")
        if value is not None:
            return value
    return None


def thread_room() -> tuple[int, str]:
    """How many more threads this process may start here, and the limits that decide it (one line)."""
    import resource

    tasks = _tasks_now() or 0
    own = threading.active_count()
    limits: dict[str, int] = {}
    for name, path in (("kernel.threads-max", "/proc/sys/kernel/threads-max"),
                       ("kernel.pid_max", "/proc/sys/kernel/pid_max")):
        value = _read_int(path)
        if value is not None:
            limits[name] = value - tasks
    nproc, _ = resource.getrlimit(resource.RLIMIT_NPROC)
    if nproc != resource.RLIM_INFINITY and os.geteuid() != 0:  # root is exempt from RLIMIT_NPROC
        limits["RLIMIT_NPROC"] = nproc - tasks  # counts all of this user's tasks: tasks is an upper bound
    pids_max = _cgroup_pids_max()
    if pids_max is not None:
        limits["cgroup pids.max"] = pids_max - own
    if not limits:
        return NO_LIMIT, "no limit found"
    name = min(limits, key=limits.get)
    room = max(0, limits[name] - THREAD_HEADROOM)
    desc = ", ".join(f"{k} leaves {v}" for k, v in limits.items())
    return room, f"{desc} ({tasks} tasks running; the tightest is {name})"
