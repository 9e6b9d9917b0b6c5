"""Helpers for the notebooks themselves: the one setup call, live-or-recorded (:mod:`.live`, re-exported
here), and executing notebooks in place (``make execute``: ``python -m epollkit.view.notebook execute
notebooks/*.ipynb``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from .. import system
from .live import accept_sweep, live, live_or_recorded, live_or_recorded_list, recorded  # noqa: F401


def setup(*, quiet: bool = False) -> bool:
    """Plot style (white figures that read in dark themes too) and a one-line check of this machine.

    Returns True when live experiments can run here.
    """
    import matplotlib as mpl

    mpl.rcParams.update(
        {
            "figure.facecolor": "white",
            "axes.facecolor": "white",
            "savefig.facecolor": "white",
            "figure.figsize": (7.5, 3.8),
            "figure.dpi": 90,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    ok = system.has_epoll()
    if not quiet:
        caps = system.capabilities()
        if ok:
            print(f"Live: Linux {caps['kernel']}, {caps['cpus']} CPUs, epoll available "
                  f"(EPOLLEXCLUSIVE: {'yes' if caps['EPOLLEXCLUSIVE'] else 'no'}).")
        else:
            why = "EPOLLKIT_NO_EPOLL is set" if caps["epoll_hidden"] else f"no epoll on {sys.platform}"
            print(f"NOT LIVE ({why}): experiment cells show recorded reference results from data/; "
                  "model cells still run.")
    return ok


# --------------------------------------------------------------------------- executing in place


def strip_widget_state(nb) -> None:
    """Drop ``metadata.widgets`` (GitHub refuses to render a notebook whose widget state lacks
    ``state``) and widget views from outputs that have a text fallback."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        for out in cell.get("outputs", []):
            d = out.get("data")
            if d and "application/vnd.jupyter.widget-view+json" in d and len(d) > 1:
                d.pop("application/vnd.jupyter.widget-view+json")


#: the longest one wait for a kernel message may sleep before it looks again (see notebook_client)
MESSAGE_SLICE_S = 1.0


def _sliced(get_msg):
    """``get_msg(timeout)`` as a loop of waits of at most MESSAGE_SLICE_S, each ending with a look."""

    async def get(timeout=None):
        from queue import Empty

        end = None if timeout is None else time.monotonic() + timeout
        while True:
            left = MESSAGE_SLICE_S if end is None else min(MESSAGE_SLICE_S, end - time.monotonic())
            try:
                return await get_msg(timeout=max(0.0, left))
            except Empty:
                if end is not None and time.monotonic() >= end:
                    raise

    return get


def notebook_client(nb, **kwargs):
    """An ``nbclient.NotebookClient`` whose waits for kernel messages cannot oversleep.

    A lost wake-up, of the edge-triggered kind this course is about: nbclient waits for a cell's reply
    with one ``shell_channel.get_msg(timeout=cell timeout)``, which is pyzmq's asyncio ``poll()``: an
    ``add_reader()`` on the socket's ``ZMQ_FD``, a descriptor that signals *edges* (the socket's state
    changed), plus one real look when the timeout fires. In about 1 run in 45 of the cell that presses widget
    buttons (tests/test_no_epoll.py's probe), the reply was already queued but no edge came: the kernel
    was idle after 4 s, and the wait returned the reply -- no error -- at its 180 s deadline (the open
    upstream report is jupyter/nbclient#312). Cut into waits of MESSAGE_SLICE_S, each ending with
    that real look, a missed edge costs at most a second.
    """
    from nbclient import NotebookClient, client

    class _Client(NotebookClient):
        async def async_start_new_kernel_client(self):
            kc = await super().async_start_new_kernel_client()
            for channel in (kc.shell_channel, kc.iopub_channel):
                channel.get_msg = _sliced(channel.get_msg)
            return kc

        # setup_kernel() calls the synchronous twin, bound to the base class's coroutine
        start_new_kernel_client = client.run_sync(async_start_new_kernel_client)

    return _Client(nb, **kwargs)


def execute(paths: list[str], timeout: int = 300) -> None:
    """Execute notebooks top to bottom in their own folder, headless, and save them with outputs."""
    import nbformat

    for p in paths:
        path = Path(p)
        nb = nbformat.read(path, as_version=4)
        notebook_client(nb, timeout=timeout, kernel_name="python3",
                        resources={"metadata": {"path": str(path.parent)}}).execute()
        strip_widget_state(nb)
        nbformat.write(nb, path)
        print(f"executed {path}")


def _main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "execute":
        print("usage: python -m epollkit.view.notebook execute NOTEBOOK.ipynb ...", file=sys.stderr)
        return 2
    execute(argv[1:])
    return 0


def capability_report(caps: dict | None = None) -> str:
    """Say, in sentences, what will and won't run on this machine."""
    caps = caps or system.capabilities()
    lines = []
    if caps["epoll"]:
        lines.append(f"Linux {caps['kernel']} with epoll: every live experiment can run here.")
        if not caps["EPOLLEXCLUSIVE"]:
            lines.append("EPOLLEXCLUSIVE is missing (Linux < 4.5?): its cells show recorded results.")
    elif caps["epoll_hidden"]:
        lines.append("EPOLLKIT_NO_EPOLL is set: live cells show recorded results; the model runs.")
    else:
        lines.append("No epoll on this system: live cells show recorded results from data/reference; "
                     "the model (epollkit.sim) runs.")
    if caps["cpus"] and caps["cpus"] < 2:
        lines.append("One CPU: herd effects still show, but wake-ups cannot run in parallel.")
    soft = caps["fd_soft_limit"]
    if 0 <= soft < 2100:
        lines.append(f"fd limit {soft}: notebook 01's 1024-waiter sweep may be cut short "
                     "(raise it with `ulimit -n`).")
    else:
        lines.append(f"fd limit {soft}: enough for every sweep.")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
