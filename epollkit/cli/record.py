"""``epollkit record``: refresh the reference results under ``data/reference/``.

Each experiment module exposes ``reference_runs()``; this command runs them and saves each list with
the machine's facts (kernel release, CPU model and count, Python version, date). Notebooks show these
files -- labelled as recorded -- where epoll is not available.
"""

from __future__ import annotations

import importlib
import sys
import time

from ..validate import shown

NAME = "record"
HELP = "run the reference experiments and write data/reference/*.json"

# file name under data/reference -> "module:function" returning a list of records
RECORDERS = {
    "accept": "epollkit.lab.experiments.accept:reference_runs",
    "accept_fixes": "epollkit.lab.experiments.sweeps:reference_runs",
    "accept_latency": "epollkit.lab.experiments.latency:reference_runs",
    "reuseport": "epollkit.lab.experiments.reuseport:reference_runs",
    "read": "epollkit.lab.experiments.read_runs:reference_runs",
    "serve": "epollkit.lab.experiments.serve:reference_runs",
    "scenarios": "epollkit.view.scenario_compare:reference_runs",
    "multiplex": "epollkit.lab.experiments.multiplex:reference_runs",
    "herd_latency": "epollkit.lab.experiments.herd:reference_runs",
    "uring_accept": "epollkit.lab.experiments.uring_accept:reference_runs",
    "descriptors": "epollkit.conformance:descriptor_reference_runs",
    "worker": "epollkit.lab.experiments.worker:reference_runs",
    "select_terms": "epollkit.lab.experiments.course_demos:select_terms_runs",
    "epoll_primer": "epollkit.lab.experiments.course_demos:epoll_primer_runs",
    "which_to_use": "epollkit.view.report_text:which_to_use_runs",
}


def add_arguments(p) -> None:
    p.add_argument("--out", default=None, help="output folder (default: data/reference)")
    p.add_argument("--only", default=None,
                   help=f"comma-separated subset of: {', '.join(RECORDERS)}")
    p.add_argument("--json", action="store_true", help="print one JSON document listing the files")


def check_out_dir(out) -> None:
    """``out`` is (or can be made) a writable folder: ValueError naming it otherwise."""
    import os
    from pathlib import Path

    p = Path(out)
    if str(out) == "":
        raise ValueError("--out must name a folder, not ''")
    probe = p
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent  # the nearest existing ancestor must be a writable folder
    if not probe.is_dir():
        raise ValueError(f"--out {shown(str(out))}: {shown(str(probe))} is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ValueError(f"--out {shown(str(out))}: {shown(str(probe))} is not writable")


def run(args) -> int:
    from .. import data
    from . import emit

    names = list(RECORDERS)
    if args.only is not None:  # "" or ",," names nothing: refused, never "record everything"
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        bad = [n for n in names if n not in RECORDERS]
        if bad:
            raise ValueError(f"unknown recording {shown(bad[0])}; valid: {', '.join(RECORDERS)}")
        if not names:
            raise ValueError(f"--only names no recording; give one or more of: {', '.join(RECORDERS)}")
    out = data.REFERENCE_DIR if args.out is None else args.out
    check_out_dir(out)  # before the first experiment: a bad folder must not throw the results away
    written = {}
    for name in names:
        module, func = RECORDERS[name].split(":")
        t0 = time.monotonic()
        records = getattr(importlib.import_module(module), func)()
        path = data.save(name, records, out)
        written[name] = str(path)
        if not args.json:
            sys.stderr.write(f"recorded {len(records)} result(s) in {path} ({time.monotonic() - t0:.1f} s)\n")
    emit({"written": written}, args, "\n".join(written.values()))
    return 0
