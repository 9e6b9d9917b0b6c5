"""Shared test helpers: a snapshot of the process's fds, threads and child processes."""

from __future__ import annotations

import os
import select
import sys
import threading
import time
from dataclasses import dataclass

import pytest

linux_only = pytest.mark.skipif(
    not (sys.platform.startswith("linux") and hasattr(select, "epoll")),
    reason="needs Linux with select.epoll",
)


@dataclass(frozen=True)
class Resources:
    fds: frozenset
    threads: frozenset
    children: frozenset


def children() -> frozenset:
    kids = set()
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/children") as f:
                kids.update(int(p) for p in f.read().split())
        except OSError:
            pass
    return frozenset(kids)


def snapshot() -> Resources:
    fds = frozenset(os.listdir("/proc/self/fd"))
    return Resources(fds, frozenset(t.ident for t in threading.enumerate()), children())


def assert_same_resources(before: Resources, *, grace: float = 1.0) -> None:
    """The process has the same fds, threads and children as ``before`` (allowing ``grace`` s for
    a thread that is finishing its last bytecodes after join)."""
    deadline = time.monotonic() + grace
    while True:
        now = snapshot()
        if now == before or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert now.fds == before.fds, f"fds leaked: {sorted(now.fds - before.fds)}"
    assert now.threads == before.threads, f"threads leaked: {len(now.threads - before.threads)}"
    assert now.children == before.children, f"child processes leaked: {sorted(now.children)}"


@pytest.fixture
def no_leaks():
    """Asserts after the test that no fd, thread or child process was left behind."""
    before = snapshot()
    yield before
    assert_same_resources(before)


@pytest.fixture
def no_resources_created(monkeypatch):
    """Fails the test if it creates a socket, an epoll set, a pipe, an eventfd, a thread or a child
    process: for validation ("refused before anything starts") and for plots of recorded results
    ("without running anything")."""
    import socket
    import subprocess

    def forbidden(what):
        def refuse(*a, **k):
            raise AssertionError(f"{what} was created; nothing should be")
        return refuse

    monkeypatch.setattr(socket, "socket", forbidden("a socket"))
    monkeypatch.setattr(socket, "socketpair", forbidden("a socket pair"))
    monkeypatch.setattr(threading.Thread, "start", forbidden("a thread"))
    monkeypatch.setattr(subprocess, "Popen", forbidden("a child process"))
    monkeypatch.setattr(os, "pipe", forbidden("a pipe"))
    if hasattr(select, "epoll"):
        monkeypatch.setattr(select, "epoll", forbidden("an epoll set"))
    if hasattr(os, "eventfd"):
        monkeypatch.setattr(os, "eventfd", forbidden("an eventfd"))
