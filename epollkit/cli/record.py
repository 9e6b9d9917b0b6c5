"""``epollkit record``: refresh the reference results under ``data/reference/``.

Each experiment module exposes ``reference_runs()``; this command runs them and saves each list with
the machine's facts (kernel release, CPU model and count, Python version, date). Notebooks show these
files -- labelled as recorded -- where epoll is not available.
"""

from __future__ import annotations

import importlib
import sys
import time

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
    "multiplex": "epollkit.lab.experiments.multiplex:reference_runs",
    "herd_latency": "epollkit.lab.experiments.herd:reference_runs",
    "worker": "epollkit.lab.experiments.worker:reference_runs",
}


def add_arguments(p) -> None:
    p.add_argument("--out", default=None, help="output folder (default: data/reference)")
    p.add_argument("--only", default=None,
                   help=f"comma-separated subset of: {', '.join(RECORDERS)}")
    p.add_argument("--json", action="store_true", help="print one JSON document listing the files")


def run(args) -> int:
    from .. import data
    from . import emit

    names = list(RECORDERS)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        bad = [n for n in names if n not in RECORDERS]
        if bad:
            raise ValueError(f"unknown recording {bad[0]!r}; valid: {', '.join(RECORDERS)}")
    out = args.out or data.REFERENCE_DIR
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
