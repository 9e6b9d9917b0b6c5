"""``epollkit uring-accept``: the live io_uring accept experiment (or the comparison with epoll)."""

from __future__ import annotations

import sys

from . import emit

NAME = "uring-accept"
HELP = ("worker threads accept from one listener through io_uring (multishot or single-shot); count who "
        "woke and who accepted; --mode compare adds the epoll strategies")


def add_arguments(p) -> None:
    p.add_argument("--mode", default="multishot", choices=["multishot", "single-shot", "compare"],
                   help="multishot, single-shot, or compare (both modes, then epoll-lt-private and "
                        "epoll-exclusive at the same load)")
    p.add_argument("--workers", type=int, default=4, help="worker threads, 1-64 (default 4)")
    p.add_argument("--connections", type=int, default=300, help="connections, 1-100000 (default 300)")
    pace = p.add_mutually_exclusive_group()
    pace.add_argument("--rate", type=float, default=None, help="connections per second (default 400)")
    pace.add_argument("--burst", action="store_true", help="connect as fast as possible")
    p.add_argument("--work-ms", type=float, default=0.0, help="per-connection work (a sleep), 0-1000 ms")
    p.add_argument("--setup", default="defer-taskrun", choices=["plain", "single-issuer", "defer-taskrun"],
                   help="ring setup flags (default defer-taskrun = SINGLE_ISSUER | DEFER_TASKRUN)")
    p.add_argument("--shared-ring", action="store_true",
                   help="one ring for all workers (needs --setup plain)")
    p.add_argument("--processes", action="store_true",
                   help="a worker process per ring instead of a thread")
    p.add_argument("--deadline", type=float, default=30.0, help="seconds before giving up (default 30)")
    p.add_argument("--json", action="store_true", help="print one JSON document")


def table(records) -> str:
    from ..analysis.uring import row

    lines = [f"{'strategy':<30} {'setup':<14} {'workers':>7} {'rate':>7} {'work_ms':>7} {'wake/conn':>9} "
             f"{'max_share':>9}  accepts per worker"]
    for r in records:
        x = row(r)
        rate = "burst" if x["rate"] is None else f"{x['rate']:.0f}"
        lines.append(f"{x['strategy']:<30} {x['setup']:<14} {x['workers']:>7} {rate:>7} {x['work_ms']:>7g} "
                     f"{x['wakeups/conn']:>9.2f} {x['max_share']:>9.0%}  {x['accepts']}")
    kernel = records[0].kernel if records else "?"
    lines.append(f"kernel {kernel}; wake/conn = the workers' voluntary context switches per connection "
                 "(a work sleep adds one)")
    return "\n".join(lines)


def run(args) -> int:
    from ..lab.experiments.uring_accept import DEFAULT_RATE, compare, uring_accept, validate

    rate = DEFAULT_RATE if args.rate is None else args.rate
    mode = "multishot" if args.mode == "compare" else args.mode
    validate(mode, args.workers, args.connections, None if args.burst else rate, args.work_ms, args.setup,
             args.shared_ring, args.deadline, args.processes)
    if args.mode == "compare":
        if args.burst or args.shared_ring or args.processes:
            raise ValueError("--mode compare takes --rate, not --burst, --shared-ring or --processes")
        records = compare(args.workers, args.connections, rate=rate, work_ms=args.work_ms, setup=args.setup)
        emit({"results": [r.to_dict() for r in records]}, args, table(records))
    else:
        records = [uring_accept(mode, args.workers, args.connections, rate=rate, burst=args.burst,
                                work_ms=args.work_ms, setup=args.setup, shared_ring=args.shared_ring,
                                process=args.processes, deadline=args.deadline)]
        emit(records[0], args, table(records))
    lost = sum(r.lost for r in records)
    if lost:
        sys.stderr.write(f"epollkit: error: deadline passed: {lost} connection(s) were never accepted\n")
        return 1
    return 0
