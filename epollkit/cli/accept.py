"""``epollkit accept``: the live accept experiment."""

from __future__ import annotations

from . import emit

NAME = "accept"
HELP = "workers share one listener on 127.0.0.1; a client process connects; count who woke and who accepted"


def add_arguments(p) -> None:
    from ..strategies import ACCEPT

    p.add_argument("--strategy", required=True, choices=list(ACCEPT), metavar="S",
                   help=f"one of: {', '.join(ACCEPT)}")
    p.add_argument("--workers", type=int, default=4, help="worker threads, 1-512 (default 4)")
    p.add_argument("--connections", type=int, default=300, help="connections, 1-100000 (default 300)")
    pace = p.add_mutually_exclusive_group()
    pace.add_argument("--rate", type=float, default=None,
                      help="connections per second (default 400)")
    pace.add_argument("--burst", action="store_true", help="connect as fast as possible")
    p.add_argument("--deadline", type=float, default=30.0, help="seconds before giving up (default 30)")
    p.add_argument("--rotate-every", type=int, default=16,
                   help="epoll-exclusive-rotate: re-add the listener every K accepts (default 16)")
    p.add_argument("--json", action="store_true", help="print one JSON document")


def table(r) -> str:
    """The text this command prints (one rendering per record: :mod:`epollkit.view.report`)."""
    from ..view.report import report

    return report(r)


def run(args) -> int:
    from ..lab.experiments.accept import DEFAULT_RATE, accept

    r = accept(args.strategy, args.workers, args.connections,
               rate=DEFAULT_RATE if args.rate is None else args.rate, burst=args.burst,
               deadline=args.deadline, rotate_every=args.rotate_every)
    emit(r, args, table(r))
    if r.lost:
        import sys

        sys.stderr.write(f"epollkit: error: deadline passed: {r.lost} of {r.connections} connections "
                         "were never accepted\n")
        return 1
    return 0
