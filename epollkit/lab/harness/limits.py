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


def check_fd_budget(needed: int, what: str):
    """Raise ResourceLimit (before anything is created) if ``needed`` more fds cannot fit under the
    HARD ``RLIMIT_NOFILE``; return the context manager that raises the soft limit for the run and puts
    it back (:func:`raised_fd_limit`). Every experiment does the same as herd and multiplex: with the
    common soft 1024 / hard 524288, ``accept --workers 512`` runs instead of being refused."""
    check_fd_room(needed, what)
    if fd_limits()[0] < 0:  # no resource module (not POSIX): nothing to raise
        return contextlib.nullcontext()
    return raised_fd_limit(needed)


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


THREAD_HEADROOM = 64  # tasks left for everything else on the machine (kernel.threads-max, kernel.pid_max)
OWN_HEADROOM = 8  # tasks left for this user / this cgroup besides the experiment (RLIMIT_NPROC, pids.max)


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


def _user_tasks(uid: int) -> int | None:
    """Tasks (threads) of the processes whose real uid is ``uid``, from /proc/<pid>/status."""
    total = 0
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return None
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                text = f.read()
        except OSError:
            continue  # gone meanwhile
        real = threads = None
        for line in text.splitlines():
            if line.startswith("Uid:"):
                real = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
        if real == uid and threads:
            total += threads
    return total


WORKER_STACK = 256 * 1024  # bytes of stack per worker thread (WorkerGroup); frames live on the heap


def _address_space_left() -> tuple[int, int] | None:
    """(bytes of address space this process may still map under RLIMIT_AS, the limit), or None."""
    import resource

    limit, _ = resource.getrlimit(resource.RLIMIT_AS)
    if limit == resource.RLIM_INFINITY:
        return None
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return limit - int(line.split()[1]) * 1024, limit
    except OSError:
        pass
    return None


def check_thread_room(threads: int, what: str, *, stack: int = WORKER_STACK) -> None:
    """Raise :class:`ResourceLimit` before anything starts if ``threads`` more threads (or helper
    processes, which count the same) cannot start here: kernel.threads-max, kernel.pid_max,
    RLIMIT_NPROC (this user's tasks), the cgroup's pids.max -- and RLIMIT_AS for their stacks."""
    if os.name != "posix":
        return
    room, desc = thread_room()
    if threads > room:
        raise ResourceLimit(f"{what} needs {threads} threads, but only {room} more are allowed here: {desc}")
    left = _address_space_left()
    need = threads * (stack + 64 * 1024) + (64 << 20)  # stacks, guard pages, the heap's own growth
    if left is not None and need > left[0]:
        raise ResourceLimit(f"{what} needs about {need >> 20} MiB of address space for {threads} thread "
                            f"stacks and more, but RLIMIT_AS leaves {max(0, left[0]) >> 20} MiB "
                            f"(limit {left[1] >> 20} MiB); ask for fewer, or raise ulimit -v")


FD_SETSIZE = 1024  # glibc's fd_set holds fds 0..1023 (select() refuses higher ones: ValueError)


def check_select_fds(fds, what: str) -> None:
    """select() can watch only fds below FD_SETSIZE: ResourceLimit naming the fd, before any thread
    starts (in a process that already holds 1024 fds, the new ones are numbered 1024 and up)."""
    high = max(fds)
    if high >= FD_SETSIZE:
        raise ResourceLimit(f"{what}: select() cannot watch fd {high}: this process already uses fd "
                            f"numbers up to FD_SETSIZE ({FD_SETSIZE}); use poll or epoll, or close fds")


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
        # RLIMIT_NPROC counts the tasks of this process's REAL user (copy_process() checks
        # task_rlimit(p, RLIMIT_NPROC) against the user's ucounts), not every task on the machine
        mine = _user_tasks(os.getuid())
        limits["RLIMIT_NPROC"] = nproc - (mine if mine is not None else tasks)
    pids_max = _cgroup_pids_max()
    if pids_max is not None:
        limits["cgroup pids.max"] = pids_max - own
    if not limits:
        return NO_LIMIT, "no limit found"
    rooms = {k: v - (THREAD_HEADROOM if k.startswith("kernel.") else OWN_HEADROOM) for k, v in limits.items()}
    name = min(rooms, key=rooms.get)
    room = max(0, rooms[name])
    desc = ", ".join(f"{k} leaves {v}" for k, v in limits.items())
    return room, f"{desc} ({tasks} tasks running; the tightest is {name})"
