"""The package's own exception types (small on purpose).

Bad parameters raise the built-in :class:`ValueError` (naming the bad value and the valid ones) before
anything starts; kernel errors pass through as :class:`OSError` with their errno.
"""

from __future__ import annotations


class EpollkitError(Exception):
    """Base class for run-time failures of an experiment (the CLI maps these to exit status 1)."""


class UnsupportedPlatform(EpollkitError):
    """The running system lacks what a live experiment needs (Linux, ``select.epoll``, a flag)."""


class ExperimentTimeout(EpollkitError):
    """An experiment passed its deadline and was stopped."""


class LeakError(EpollkitError):
    """Teardown could not stop a thread or a child process: something would be left behind."""


class HelperProcessError(EpollkitError):
    """A helper process (a client, a sender, a generator) failed to start, died or broke the protocol."""


class ResourceLimit(EpollkitError):
    """A parameter would need more of a resource (fds, threads) than this process may have."""
