"""How a notebook shows a call the kernel refuses: live, as Python raised it; not live, as recorded.

The live demos keep their raw ``select.epoll`` calls in the cell; these helpers hold only the
try/except, the errno naming and the NOT LIVE fallback, so each cell stays short.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager


def attempt(call: Callable[[], object]) -> str:
    """Run ``call``: ``"ok"`` if it returns, else the errno's name (``"EINVAL"``) of the OSError it raises."""
    try:
        call()
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc.errno))
    return "ok"


def oserror_text(exc: OSError) -> str:
    """``OSError: [Errno 22: EINVAL] Invalid argument`` -- the exception with its errno named."""
    name = errno.errorcode.get(exc.errno, "?")
    return f"{type(exc).__name__}: [Errno {exc.errno}: {name}] {exc.strerror}"


def attempt_text(call: Callable[[], object]) -> str:
    """Run ``call``: ``"was accepted: ..."`` if it returns, else ``"raised "`` + :func:`oserror_text`."""
    try:
        call()
    except OSError as exc:
        return f"raised {oserror_text(exc)}"
    return "was accepted: this kernel does not refuse it"


@contextmanager
def pipe() -> Iterator[tuple[int, int]]:
    """``os.pipe()`` whose two ends are closed on leaving the block, whatever happened inside it."""
    r, w = os.pipe()
    try:
        yield r, w
    finally:
        os.close(r)
        os.close(w)


def recorded_refusal(refused, case: str, run: str) -> str:
    """The NOT LIVE line for ``case`` of a recorded refusals record (``refused.cases``), from run ``run``."""
    found = [c for c in refused.cases if c["case"] == case]
    if not found:
        known = ", ".join(repr(c["case"]) for c in refused.cases)
        raise ValueError(f"case {case!r} is not in the recorded refusals; known cases: {known}")
    return f"NOT LIVE: {found[0]['call']} gave {found[0]['errno']} in the run {run}"
