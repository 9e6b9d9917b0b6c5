"""``epollkit sim accept|read``: the accept and read experiments on the model (``epollkit.sim``)."""

from __future__ import annotations

from . import emit

NAME = "sim"
HELP = "run the accept or read experiment on the model: one schedule (--seed) or every one (--explore)"


def add_arguments(p) -> None:
    from ..strategies import ACCEPT, READ

    sub = p.add_subparsers(dest="experiment", metavar="EXPERIMENT", parser_class=type(p))
    sub.required = True
    a = sub.add_parser("accept", help="workers share one listener (the model)")
    a.add_argument("--strategy", required=True, choices=list(ACCEPT), metavar="S",
                   help=f"one of: {', '.join(ACCEPT)}")
    a.add_argument("--workers", type=int, default=2, help="worker threads, 1-8 (default 2)")
    a.add_argument("--connections", type=int, default=2, help="connections, 1-64 (default 2)")
    a.add_argument("--rotate-every", type=int, default=16,
                   help="epoll-exclusive-rotate: re-add the listener every K accepts (default 16)")
    r = sub.add_parser("read", help="readers share one stream (the model)")
    r.add_argument("--strategy", required=True, choices=list(READ), metavar="S",
                   help=f"one of: {', '.join(READ)}")
    r.add_argument("--readers", type=int, default=2, help="reader threads, 1-8 (default 2)")
    r.add_argument("--messages", type=int, default=2, help="messages (writes), 1-64 (default 2)")
    r.add_argument("--message-size", type=int, default=64, help="bytes per message (default 64)")
    r.add_argument("--read-size", type=int, default=2048, help="bytes per read() (default 2048)")
    for q in (a, r):
        how = q.add_mutually_exclusive_group()
        how.add_argument("--explore", action="store_true", help="explore every interleaving")
        how.add_argument("--seed", type=int, default=None,
                         help="one random interleaving from this seed (default: the canonical one)")
        how.add_argument("--paced", action="store_true",
                         help="the schedule of a paced client: every event finds all threads asleep, "
                              "woken threads run one at a time in wake order (the lab's light load)")
        q.add_argument("--kernel", default=None,
                       help="kernel release whose rules to imitate, e.g. 5.10.20, newest, no-cascade "
                            "(default: this machine's)")
        q.add_argument("--json", action="store_true", help="print one JSON document")


def table(r) -> str:
    """The text this command prints (one rendering per record: :mod:`epollkit.view.report`)."""
    from ..view.report import report

    return report(r)


def run(args) -> int:
    from .. import sim
    from ..system import this_release

    kernel = args.kernel or this_release()  # the model is pure; the CLI asks for this machine's rules

    schedule = "paced" if args.paced else None
    if args.experiment == "accept":
        r = sim.accept(args.strategy, args.workers, args.connections, seed=args.seed, explore=args.explore,
                       kernel=kernel, rotate=args.rotate_every, schedule=schedule)
    else:
        r = sim.read(args.strategy, args.readers, args.messages, args.message_size, args.read_size,
                     seed=args.seed, explore=args.explore, kernel=kernel, schedule=schedule)
    emit(r, args, table(r))
    return 0
