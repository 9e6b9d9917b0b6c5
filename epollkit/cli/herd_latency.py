"""``epollkit herd-latency``: connect() latency against the number of waiters on one listener."""

from __future__ import annotations

from . import emit, int_list

NAME = "herd-latency"
HELP = ("N threads wait on one loopback listener; a client process times a non-blocking connect() "
        "(Majkowski's experiment)")


def add_arguments(p) -> None:
    from ..lab.experiments.herd import DEFAULT_REPEATS, MAX_WAITERS, SUPPORTED

    p.add_argument("--strategy", required=True, choices=list(SUPPORTED), metavar="S",
                   help=f"one of: {', '.join(SUPPORTED)}")
    p.add_argument("--waiters", type=int_list, default=None, metavar="LIST",
                   help=f"comma-separated waiter counts, 0-{MAX_WAITERS} (default 0,16,64,256,512,1024)")
    p.add_argument("--repeats", type=int, default=DEFAULT_REPEATS,
                   help=f"connects per waiter count, 1-1000 (default {DEFAULT_REPEATS})")
    p.add_argument("--gap", type=float, default=None,
                   help="seconds of quiet before each connect, 0-10 (default 0.02)")
    p.add_argument("--deadline", type=float, default=60.0, help="seconds before giving up (default 60)")
    p.add_argument("--json", action="store_true", help="print one JSON document")


def table(r) -> str:
    """The text this command prints (one rendering per record: :mod:`epollkit.view.report`)."""
    from ..view.report import report

    return report(r)


def run(args) -> int:
    from ..lab.experiments.herd import DEFAULT_GAP, DEFAULT_WAITERS, herd_latency

    r = herd_latency(args.strategy, args.waiters or DEFAULT_WAITERS, args.repeats, deadline=args.deadline,
                     gap=DEFAULT_GAP if args.gap is None else args.gap)
    emit(r, args, table(r))
    return 0
