"""``epollkit read``: the live read experiment (readers share one connected socket)."""

from __future__ import annotations

import sys

from . import emit

NAME = "read"
HELP = ("reader threads share one connected socket on 127.0.0.1; a sender writes numbered messages; "
        "count split and reordered deliveries")


def add_arguments(p) -> None:
    from ..lab.experiments.read import SUPPORTED

    p.add_argument("--strategy", required=True, choices=list(SUPPORTED), metavar="S",
                   help=f"one of: {', '.join(SUPPORTED)}")
    p.add_argument("--readers", type=int, default=2, help="reader threads, 1-64 (default 2)")
    p.add_argument("--messages", type=int, default=20_000, help="messages, 1-1000000 (default 20000)")
    p.add_argument("--message-size", type=int, default=64, help="bytes per message, 1-1048576 (default 64)")
    p.add_argument("--read-size", type=int, default=2048,
                   help="bytes per read(), 1-1048576 (default 2048)")
    p.add_argument("--think-us", type=float, default=0.0,
                   help="microseconds between a reader's wake-up and its read(), 0-100000 (default 0)")
    p.add_argument("--per-send", type=int, default=1, help="messages per send() (default 1)")
    p.add_argument("--pace-us", type=float, default=0.0,
                   help="microseconds the sender sleeps between send() calls (default 0)")
    p.add_argument("--sender", choices=["thread", "process"], default="process",
                   help="run the sender in a process of its own (default: outside the readers' GIL) or in "
                        "a thread of this process")
    p.add_argument("--deadline", type=float, default=60.0, help="seconds before giving up (default 60)")
    p.add_argument("--json", action="store_true", help="print one JSON document")


def table(r) -> str:
    """The text this command prints (one rendering per record: :mod:`epollkit.view.report`)."""
    from ..view.report import report

    return report(r)


def run(args) -> int:
    from ..lab.experiments.read import read

    r = read(args.strategy, args.readers, args.messages, message_size=args.message_size,
             read_size=args.read_size, think_us=args.think_us, per_send=args.per_send,
             pace_us=args.pace_us, sender=args.sender, deadline=args.deadline)
    emit(r, args, table(r))
    if r.lost_bytes:
        sys.stderr.write(f"epollkit: error: {r.lost_bytes} bytes were never delivered\n")
        return 1
    return 0
