"""The child side of the one helper-process protocol (the parent side is
:class:`epollkit.lab.harness.ClientProcess`): the child prints ``ready`` once it is set up, waits for
``go`` on stdin, does its work, and prints ONE JSON line with what it saw. Nothing else goes to stdout.
(The herd client repeats ``go`` -> one JSON line per connect, until ``quit``.)
"""

from __future__ import annotations

import json
import sys


def ready() -> bool:
    """Say ``ready``; True when the parent answers ``go`` (anything else: the experiment was stopped)."""
    print("ready", flush=True)
    return sys.stdin.readline().strip() == "go"


def report(doc: dict) -> None:
    """The child's one JSON line."""
    print(json.dumps(doc), flush=True)


def commands():
    """Say ``ready``, then yield each command line (stripped) until ``quit`` or end of input."""
    print("ready", flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "quit":
            return
        yield cmd
