"""RLIMIT_NPROC as an unprivileged user sees it (finding F15 of the December 2026 reliability campaign).

Root is exempt from RLIMIT_NPROC (``copy_process()`` in kernel/fork.c counts the new task against its real
user's ``UCOUNT_RLIMIT_NPROC`` and lets it past when that user is ``INIT_USER`` or the task has
CAP_SYS_RESOURCE or CAP_SYS_ADMIN), so a test run as root cannot meet the limit by lowering it. Here a
forked child first becomes an ordinary user (``nobody``, when the tests run as root; the same user
otherwise), lowers its RLIMIT_NPROC to a few more tasks than that user runs, and asks the CLI for more
worker threads than that: one line naming the limit, exit 1, and nothing started (no socket, no process).
Everything the child runs is imported before the fork: ``nobody`` may not be able to read the
interpreter's own files.
"""

from __future__ import annotations

import json
import os
import sys

import pytest

from .conftest import linux_only

NOBODY = 65534


def _as_unprivileged_user(argv: list[str], room: int) -> dict:
    """Run ``epollkit <argv>`` in a forked child as an unprivileged user whose RLIMIT_NPROC leaves about
    ``room`` more tasks; return its exit code, its stderr and how many sockets/processes it started."""
    import io
    import resource
    import select

    from epollkit import cli
    from epollkit.lab.experiments import accept, read  # noqa: F401  (imported before the fork)
    from epollkit.lab.harness import limits

    cli.build_parser()  # imports every command module now, as root
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report one JSON line on the pipe, never return into pytest
        out = {"code": 99}
        try:
            os.close(r)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setresgid(NOBODY, NOBODY, NOBODY)
                os.setresuid(NOBODY, NOBODY, NOBODY)
            mine = limits._user_tasks(os.getuid()) or 1
            resource.setrlimit(resource.RLIMIT_NPROC, (mine + room, mine + room))
            err = io.StringIO()
            sys.stderr = err
            before = cli._started[0]
            out = {"code": cli.main(argv), "stderr": err.getvalue(), "started": cli._started[0] - before,
                   "uid": os.getuid(), "nproc": mine + room, "room": limits.thread_room()[0]}
        except BaseException as exc:  # noqa: BLE001 - anything at all goes back to the test
            out = {"code": 99, "stderr": f"{type(exc).__name__}: {exc}"}
        finally:
            os.write(w, json.dumps(out).encode() + b"\n")
            os._exit(0)
    os.close(w)
    try:
        ready, _, _ = select.select([r], [], [], 60)
        data = os.read(r, 1 << 20) if ready else b""
    finally:
        os.close(r)
        _, status = os.waitpid(pid, 0)
    assert data, "the child gave no answer within 60 s"
    assert os.waitstatus_to_exitcode(status) == 0
    return json.loads(data)


@linux_only
@pytest.mark.parametrize("argv, threads", [  # workers or readers, and the client process
    (["accept", "--strategy", "epoll-lt", "--workers", "64", "--connections", "10", "--burst"], 65),
    (["read", "--strategy", "lt", "--readers", "32"], 33),
])
def test_an_unprivileged_user_over_rlimit_nproc_gets_one_line_naming_it_and_nothing_starts(argv, threads):
    from epollkit.lab.harness.limits import OWN_HEADROOM

    got = _as_unprivileged_user(argv, room=40)
    assert got["code"] == 1, got
    assert got["uid"] != 0
    line = got["stderr"]
    assert line.count("\n") == 1 and "Traceback" not in line, line
    assert f"needs {threads} threads, but only {40 - OWN_HEADROOM} more" in line, line
    assert "RLIMIT_NPROC leaves 40" in line and "the tightest is RLIMIT_NPROC" in line, line
    assert got["started"] == 0, f"{got['started']} sockets or processes were started before the refusal"
    # this user's own tasks are counted, not the machine's (the campaign's nproc=100 refused 8 waiters)
    assert got["room"] == 40 - OWN_HEADROOM
