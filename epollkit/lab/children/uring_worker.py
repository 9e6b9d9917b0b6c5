"""One io_uring accept worker in a process of its own (the process variant of ``uring_accept``), run as
``python -m epollkit.lab.children.uring_worker MODE SETUP LISTEN_FD STOP_FD DONE_FD WORK_S``.

Protocol: set up a ring, arm a POLL_ADD on the inherited stop pipe and an accept (multishot or single-shot)
on the inherited listener, print ``ready``; then accept: close each connection at once, write one byte to
the done pipe, sleep ``WORK_S``. When the stop pipe becomes readable print one JSON line
``{"accepts": [monotonic ns of each accept], "enters", "cqes", "empty_cqes", "rearms", "cq_entries"}``
and exit.
"""

from __future__ import annotations

import errno
import json
import os
import sys
import time

from ..harness.uring_ring import CQE_F_MORE, Ring

STOP, ACCEPT = 1, 2


def serve(mode: str, setup: str, lfd: int, stop_fd: int, done_fd: int, work_s: float) -> dict:
    multishot = mode == "multishot"
    out = {"accepts": [], "enters": 0, "cqes": 0, "empty_cqes": 0, "rearms": 0}
    with Ring(64, setup) as ring:
        out["cq_entries"] = ring.cq_entries
        ring.prep_poll(stop_fd, user_data=STOP)
        ring.prep_accept(lfd, multishot=multishot, user_data=ACCEPT)
        ring.submit()
        print("ready", flush=True)
        try:
            while True:
                ring.submit(wait=1)
                out["enters"] += 1
                cqes = ring.reap()
                for ud, res, _fl in cqes:  # close every accepted fd first: nothing can leak it
                    if ud == ACCEPT and res >= 0:
                        os.close(res)
                for ud, res, flags in cqes:
                    if ud == STOP:
                        return out
                    out["cqes"] += 1
                    if res >= 0:
                        out["accepts"].append(time.monotonic_ns())
                        os.write(done_fd, b"a")
                        if work_s:
                            time.sleep(work_s)
                        if multishot and flags & CQE_F_MORE:
                            continue
                    else:
                        out["empty_cqes"] += 1
                        if res not in (-errno.EAGAIN, -errno.EINTR, -errno.ECANCELED):
                            raise OSError(-res, f"io_uring accept: {os.strerror(-res)}")
                    if multishot:
                        out["rearms"] += 1
                    ring.prep_accept(lfd, multishot=multishot, user_data=ACCEPT)
        finally:
            for ud, res, _fl in ring.reap():
                if ud == ACCEPT and res >= 0:
                    os.close(res)


def main(argv: list[str]) -> int:
    mode, setup = argv[0], argv[1]
    lfd, stop_fd, done_fd = int(argv[2]), int(argv[3]), int(argv[4])
    work_s = float(argv[5])
    try:
        result = serve(mode, setup, lfd, stop_fd, done_fd, work_s)
    except OSError as exc:
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
        return 1
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
