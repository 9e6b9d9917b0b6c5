"""Real experiments on the running kernel: real sockets and threads on 127.0.0.1, real ``select.epoll``.

Linux only. Each experiment validates its parameters before it creates anything, has a deadline, and
leaves the process with the same fds, threads and child processes it had before -- after success, an
exception, a deadline or KeyboardInterrupt.
"""

from __future__ import annotations

import importlib

# public name -> module that defines it (imported on first use). A module must NOT be named like the
# function it exports (lab/accept.py exporting accept()): importing the submodule would bind the
# package attribute `accept` to the module and shadow the function. Hence the `_lab` suffixes.
_EXPORTS = {
    "accept": "accept_lab",
    "read": "read_lab",
    "multiplex": "multiplex_lab",
    "herd_latency": "herd",
    "run_scenario": "scenario",
    "serve": "serve_lab",
    "reuseport_close": "reuseport_lab",
    "accept_latency": "latency_lab",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'epollkit.lab' has no attribute {name!r}")
