"""``epollkit descriptors``: the descriptor-vs-description chapter's live demonstrations."""

from __future__ import annotations

import json

from . import emit

NAME = "descriptors"
HELP = ("what close(), dup() and fork() do to an epoll registration: the chapter's scenarios on this "
        "kernel beside the model, selectors and asyncio with a socket closed behind their back, kcmp")


def add_arguments(p) -> None:
    p.add_argument("--repeat", type=int, default=1, help="runs of each scenario, 1-20 (default 1)")
    p.add_argument("--json", action="store_true", help="print one JSON document")


def table(r) -> str:
    lines = [f"descriptors  kernel={r.kernel}  {r.duration_s} s"]
    for d in r.demos:
        lines.append(f"  {'agrees' if d['agree'] else 'DIFFERS'}  {d['scenario']}: kernel "
                     f"{json.dumps(d['kernel'][0])}")
    s, a, k = r.selectors, r.asyncio, r.kcmp
    lines.append(f"selectors: ghost events after close {len(s['ghost_events'])}; unregister of the closed "
                 f"socket {s['unregister_closed_socket']}; then {s['after_unregister']['select_calls']} "
                 f"select({s['after_unregister']['timeout_each_s']}) calls in "
                 f"{s['after_unregister']['window_s']} s "
                 f"(after the last close: {s['after_last_close']['select_calls']}); new socket on the same "
                 f"number: {s['register_new_socket_same_number']}")
    lines.append(f"asyncio: {a['ghost_callbacks_in_window']} ghost callbacks in {a['window_s']} s; after "
                 f"remove_reader the loop turns {a['after_remove_reader']['selector_calls']} times in "
                 f"{a['window_s']} s (after the last close {a['after_last_close']['selector_calls']}); a new "
                 f"socket on the same number: {a['new_socket_callbacks_in_window']} callbacks")
    lines.append("kcmp(KCMP_EPOLL_TFD): " + (f"dup vs the registration after close = "
                                             f"{k['dup_vs_registered_after_close']} (0: same file)"
                                             if k.get("live") else f"NOT LIVE ({k['why']})"))
    return "\n".join(lines)


def run(args) -> int:
    from ..validate import check_int

    check_int("repeat", args.repeat, 1, 20)
    from ..conformance import descriptor_demos

    r = descriptor_demos(repeat=args.repeat)
    emit(r, args, table(r))
    return 0
