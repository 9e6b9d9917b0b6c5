"""``epollkit multiplex``: the per-call cost of select, poll and epoll against the number of watched fds."""

from __future__ import annotations

from . import emit, int_list

NAME = "multiplex"
HELP = "time one select/poll/epoll call watching N idle fds plus one ready fd; show the FD_SETSIZE wall"


def add_arguments(p) -> None:
    p.add_argument("--fds", type=int_list, default=None, metavar="LIST",
                   help="comma-separated idle fd counts, 1-100000 (default 1,10,100,300,1000,3000)")
    p.add_argument("--apis", default="select,poll,epoll",
                   help="comma-separated subset of select,poll,epoll (default all three)")
    p.add_argument("--calls", type=int, default=None, help="timed calls per point, 5-100000 (default 201)")
    p.add_argument("--deadline", type=float, default=60.0, help="seconds before giving up (default 60)")
    p.add_argument("--json", action="store_true", help="print one JSON document")


def table(r, wall=None) -> str:
    """The text this command prints (one rendering per record: :mod:`epollkit.view.report`)."""
    from ..view.report import report

    return report(r, wall=wall)


def run(args) -> int:
    from ..lab.experiments.multiplex import DEFAULT_CALLS, DEFAULT_FDS, fd_setsize_wall, multiplex

    apis = [a.strip() for a in args.apis.split(",") if a.strip()]
    r = multiplex(args.fds or DEFAULT_FDS, apis, calls=args.calls or DEFAULT_CALLS, deadline=args.deadline)
    emit(r, args, None if args.json else table(r, fd_setsize_wall()))
    return 0
