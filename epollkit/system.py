"""What this machine is and what it supports: kernel release, epoll and its flags, CPUs, fd limits.

``EPOLLKIT_NO_EPOLL=1`` in the environment makes the package behave as if ``select.epoll`` did not
exist (as on macOS or Windows), so the no-epoll path of every notebook can be tested on Linux.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import select
import sys

NO_EPOLL_ENV = "EPOLLKIT_NO_EPOLL"


def epoll_hidden() -> bool:
    """True when ``EPOLLKIT_NO_EPOLL`` asks us to pretend there is no epoll."""
    return os.environ.get(NO_EPOLL_ENV, "").strip() not in ("", "0")


def has_epoll() -> bool:
    """True when live epoll experiments can run here (Linux with ``select.epoll``, not hidden)."""
    return sys.platform.startswith("linux") and hasattr(select, "epoll") and not epoll_hidden()


def kernel_release() -> str:
    """``platform.release()``: the kernel every real measurement is tagged with."""
    return platform.release()


def this_release() -> str:
    """The running kernel's release on Linux; "newest" elsewhere (the model's rules for a reader on
    macOS or Windows). Pass it as ``kernel=`` to the model to imitate THIS machine's kernel."""
    return platform.release() if platform.system() == "Linux" else "newest"


def cpu_model() -> str:
    """The CPU model name from ``/proc/cpuinfo`` (or ``platform.processor()`` elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def fd_limits() -> tuple[int, int]:
    """``RLIMIT_NOFILE`` as (soft, hard); (-1, -1) where the resource module is missing."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return (-1, -1)
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def machine() -> dict:
    """The facts recorded beside every reference result."""
    return {
        "kernel": kernel_release(),
        "system": platform.system(),
        "machine": platform.machine(),
        "cpu_model": cpu_model(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d"),
    }


def capabilities() -> dict:
    """What live experiments this machine supports, as plain facts for notebook 00 and the CLI."""
    soft, hard = fd_limits()
    epoll = has_epoll()
    return {
        "linux": sys.platform.startswith("linux"),
        "epoll": epoll,
        "epoll_hidden": epoll_hidden(),
        "EPOLLEXCLUSIVE": epoll and hasattr(select, "EPOLLEXCLUSIVE"),
        "SO_REUSEPORT": hasattr(__import__("socket"), "SO_REUSEPORT"),
        "kernel": kernel_release(),
        "cpus": os.cpu_count(),
        "fd_soft_limit": soft,
        "fd_hard_limit": hard,
    }


def somaxconn() -> int:
    """``net.core.somaxconn``: the kernel's cap on every listen() backlog (4096 on recent kernels)."""
    try:
        with open("/proc/sys/net/core/somaxconn") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 4096


def tcp_migrate_req() -> int | None:
    """``net.ipv4.tcp_migrate_req`` (read only, never changed): 1 means connections queued on a closing
    reuseport listener migrate to a sibling; 0 (the default) means they are reset. None before 5.14."""
    try:
        with open("/proc/sys/net/ipv4/tcp_migrate_req") as f:
            return int(f.read())
    except (OSError, ValueError):
        return None
