"""``epollkit reuseport-close``: the SO_REUSEPORT reset-on-close defect, counted live."""

from __future__ import annotations

from . import emit

NAME = "reuseport-close"
HELP = ("queue connections on a SO_REUSEPORT group, close one listener, count the connections the "
        "client sees reset")


def add_arguments(p) -> None:
    p.add_argument("--listeners", type=int, default=2, help="listeners in the group, 2-64 (default 2)")
    p.add_argument("--queued", type=int, default=50,
                   help="connections queued before the close, 1-2000 (default 50)")
    p.add_argument("--close", type=int, default=0, help="index of the listener to close (default 0)")
    p.add_argument("--deadline", type=float, default=10.0, help="seconds before giving up (default 10)")
    p.add_argument("--json", action="store_true", help="print one JSON document")


def table(r) -> str:
    """The text this command prints (one rendering per record: :mod:`epollkit.view.report`)."""
    from ..view.report import report

    return report(r)


def run(args) -> int:
    from ..lab.experiments.reuseport import reuseport_close

    r = reuseport_close(args.listeners, args.queued, close=args.close, deadline=args.deadline)
    emit(r, args, table(r))
    return 0
