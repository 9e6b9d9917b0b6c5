"""The process variant of the io_uring accept experiment: ``workers`` processes
(``lab.children.uring_worker``), each with its own ring, inherit one listener on 127.0.0.1. Counted the
same way as the thread variant: the voluntary context switches of each worker process
(``/proc/<pid>/status``) between "all asleep" and the stop, CPU time from ``/proc/<pid>/schedstat``; who
accepted each connection comes from the workers' ``CLOCK_MONOTONIC`` timestamps (one clock for the
whole machine), merged in time order.

The workers are started one at a time and each prints ``ready`` after arming its accept, so the accepts
are armed -- appended to the listener's wait queue -- in worker order 0, 1, 2, ...
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

from ...analysis.uring import summarize_uring
from ...errors import ExperimentTimeout
from ...records.uring import UringAcceptResult
from ...system import kernel_release
from ..harness import (
    ClientProcess,
    Teardown,
    close_pipe,
    deferred_signals,
    kill_child,
    own,
    reap_child,
    settled,
)

HOST = "127.0.0.1"
BACKLOG = 4096


def _status(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1])
    raise RuntimeError(f"no {key} for process {pid}")


def _asleep(pid: int) -> bool:
    """The process's (single) thread sleeps, and not on a futex."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        wchan = Path(f"/proc/{pid}/wchan").read_text().strip()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2] in "SD" and "futex" not in wchan


def _all_asleep(pids, timeout: float, settle: float = 0.02) -> bool:
    return settled(lambda: all(_asleep(p) for p in pids), timeout=timeout, settle=settle)


def _cpu_ns(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _readline(proc: subprocess.Popen, timeout: float) -> str:
    poller = select.poll()
    poller.register(proc.stdout.fileno(), select.POLLIN)
    return proc.stdout.readline() if poller.poll(max(0.0, timeout) * 1000) else ""


class ProcRun:
    """One run with worker processes; every process is reaped and every fd closed, always."""

    def __init__(self, mode, workers, connections, rate, work_s, setup, deadline):
        self.mode, self.workers, self.connections = mode, workers, connections
        self.rate, self.work_s, self.setup, self.deadline = rate, work_s, setup, deadline
        self.procs: list[subprocess.Popen] = []

    def _reap(self) -> None:
        for p in self.procs:  # all killed first, then each waited for
            kill_child(p)
        for p in self.procs:
            reap_child(p, "io_uring worker process")
            for f in (p.stdout, p.stderr):
                if f is not None:
                    f.close()

    def execute(self) -> UringAcceptResult:
        with Teardown() as stack:
            stop_r, stop_w = own(stack, os.pipe, close_pipe)  # no fd between two bytecodes
            done_r, done_w = own(stack, os.pipe, close_pipe)
            lsock = own(stack, lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            lsock.bind((HOST, 0))
            lsock.listen(BACKLOG)
            lsock.setblocking(False)
            port = lsock.getsockname()[1]
            stack.callback(self._reap)
            env = dict(os.environ)
            root = str(Path(__file__).resolve().parents[2])
            env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
            for _ in range(self.workers):  # one at a time: arm order = worker order
                with deferred_signals():  # never a forked child without its Popen in self.procs
                    p = subprocess.Popen(
                        [sys.executable, "-m", "epollkit.lab.children.uring_worker", self.mode,
                         self.setup, str(lsock.fileno()), str(stop_r), str(done_w), repr(self.work_s)],
                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        text=True, env=env, pass_fds=(lsock.fileno(), stop_r, done_w))
                    self.procs.append(p)
                line = _readline(p, 10.0)
                if line.strip() != "ready":
                    why = line.strip() or "no output"
                    raise RuntimeError(f"io_uring worker process failed to start: {why}")
            client = own(stack, lambda: ClientProcess(
                "epollkit.lab.children.connect", ["connect", HOST, port, self.connections, self.rate]))
            client.wait_ready()
            pids = [p.pid for p in self.procs]
            if not _all_asleep(pids, 10.0):
                raise ExperimentTimeout("io_uring worker processes did not all reach their wait within 10 s")
            base = [_status(p, "voluntary_ctxt_switches:") for p in pids]
            cpu0 = [_cpu_ns(p) for p in pids]
            t0 = time.monotonic()
            client.go()
            got, limit = 0, t0 + self.deadline
            while got < self.connections and time.monotonic() < limit:
                poller = select.poll()
                poller.register(done_r, select.POLLIN)
                if poller.poll((limit - time.monotonic()) * 1000):
                    got += len(os.read(done_r, 65536))
            duration = time.monotonic() - t0
            _all_asleep(pids, 1.0)
            end = [_status(p, "voluntary_ctxt_switches:") for p in pids]
            cpu1 = [_cpu_ns(p) for p in pids]
            os.write(stop_w, b"x")
            results = []
            for p in self.procs:
                line = _readline(p, 5.0)
                doc = json.loads(line) if line.strip() else {"error": "no result line"}
                if "error" in doc:
                    raise RuntimeError(f"io_uring worker process {p.pid}: {doc['error']}")
                results.append(doc)
        stamped = sorted((t, i) for i, doc in enumerate(results) for t in doc["accepts"])
        per_worker = [{"worker": i, "ring": i, "accepts": len(d["accepts"]), "enters": d["enters"],
                       "cqes": d["cqes"], "empty_cqes": d["empty_cqes"], "kernel_wakeups": end[i] - base[i]}
                      for i, d in enumerate(results)]
        cpu = None if None in cpu0 + cpu1 else sum(b - a for a, b in zip(cpu0, cpu1, strict=True))
        params = {"rate": self.rate or None, "burst": self.rate == 0, "work_ms": self.work_s * 1000,
                  "deadline": self.deadline, "shared_ring": False, "process": True,
                  "arm_order": list(range(self.workers)), "cq_entries": results[0]["cq_entries"]}
        return summarize_uring(backend="real", mode=self.mode, rings=self.workers, setup=self.setup,
                               connections=self.connections, per_worker=per_worker,
                               accept_order=[i for _t, i in stamped],
                               rearms=sum(d["rearms"] for d in results), cpu_ns=cpu, params=params,
                               kernel=kernel_release(), duration_s=duration, process=True)
