"""``epollkit descriptors``: the descriptor-vs-description chapter's live demonstrations."""

from __future__ import annotations

from . import emit

NAME = "descriptors"
HELP = ("what close(), dup() and fork() do to an epoll registration: the chapter's scenarios on this "
        "kernel beside the model, selectors and asyncio with a socket closed behind their back, kcmp")


def add_arguments(p) -> None:
    p.add_argument("--repeat", type=int, default=1, help="runs of each scenario, 1-20 (default 1)")
    p.add_argument("--json", action="store_true", help="print one JSON document")


def table(r) -> str:
    """The text this command prints (one rendering per record: :mod:`epollkit.view.report`)."""
    from ..view.report import report

    return report(r)


def run(args) -> int:
    from ..validate import check_int

    check_int("repeat", args.repeat, 1, 20)
    from ..conformance import descriptor_demos

    r = descriptor_demos(repeat=args.repeat)
    emit(r, args, table(r))
    return 0
