"""``epollkit info``: what this machine supports."""

from __future__ import annotations

from . import emit

NAME = "info"
HELP = "print the kernel release and what live experiments this machine supports"


def add_arguments(p) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON document")


def run(args) -> int:
    from ..system import capabilities

    caps = capabilities()
    emit(caps, args, "\n".join(f"{k:16} {v}" for k, v in caps.items()))
    return 0
