"""Real experiments on the running kernel: real sockets and threads on 127.0.0.1, real ``select.epoll``.

Linux only. Each experiment validates its parameters before it creates anything, has a deadline, and
leaves the process with the same fds, threads and child processes it had before -- after success, an
exception, a deadline or KeyboardInterrupt.

Layout: ``harness/`` (what every experiment shares: platform checks, workers, /proc, helper
processes), ``experiments/`` (one module per experiment: only its physics), ``children/`` (the helper
processes' ``main()``). The public names below load on first use, so ``import epollkit.lab`` imports
nothing Unix-only.
"""

from __future__ import annotations

import importlib

# public name -> module that defines it (imported on first use). The experiment modules live one level
# down (lab/experiments/accept.py), so importing one binds ``experiments.accept`` -- never the package
# attribute ``accept``, which stays the function.
_EXPORTS = {
    "accept": "experiments.accept",
    "read": "experiments.read",
    "multiplex": "experiments.multiplex",
    "herd_latency": "experiments.herd",
    "run_scenario": "experiments.scenario",
    "detect_generation": "experiments.scenario",
    "serve": "experiments.serve",
    "reuseport_close": "experiments.reuseport",
    "accept_latency": "experiments.latency",
    "refusals": "experiments.refusals",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'epollkit.lab' has no attribute {name!r}")
