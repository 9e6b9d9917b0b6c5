"""Real experiments on the running kernel: real sockets and threads on 127.0.0.1, real ``select.epoll``.

Linux only. Each experiment validates its parameters before it creates anything, has a deadline, and
leaves the process with the same fds, threads and child processes it had before -- after success, an
exception, a deadline or KeyboardInterrupt.
"""

from __future__ import annotations

import importlib

# public name -> module that defines it (imported on first use)
_EXPORTS = {
    "accept": "accept",
    "read": "read",
    "multiplex": "multiplex",
    "herd_latency": "herd",
    "run_scenario": "scenario",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'epollkit.lab' has no attribute {name!r}")
