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
    migrate = {None: "missing (kernel < 5.14)", 0: "0 (reset)", 1: "1 (migrate)"}.get(
        r.tcp_migrate_req, str(r.tcp_migrate_req))
    return "\n".join([
        f"reuseport-close  listeners={r.listeners}  queued={r.queued}  kernel={r.kernel}  "
        f"net.ipv4.tcp_migrate_req={migrate}",
        f"queued per listener before the close: {r.per_listener}",
        f"closed listener {r.closed_listener} (it held {r.on_closed}): reset {r.reset}, "
        f"accepted by the others {r.accepted}, lost {r.lost}",
    ])


def run(args) -> int:
    from ..lab.experiments.reuseport import reuseport_close

    r = reuseport_close(args.listeners, args.queued, close=args.close, deadline=args.deadline)
    emit(r, args, table(r))
    return 0
