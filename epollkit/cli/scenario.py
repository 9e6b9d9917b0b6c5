"""``epollkit scenario FILE``: run a scenario file on the model (``--backend sim``) or the kernel."""

from __future__ import annotations

import json
import sys

NAME = "scenario"
HELP = "run a scenario file on the model (every interleaving with --explore) or on the real kernel"


def add_arguments(p) -> None:
    p.add_argument("file", metavar="FILE", help="a scenario file (or the name of one in data/scenarios)")
    p.add_argument("--backend", choices=["sim", "real"], default="sim", help="sim (default) or real")
    p.add_argument("--explore", action="store_true", help="sim: explore every interleaving")
    p.add_argument("--seed", type=int, default=None, help="sim: one random interleaving from this seed")
    p.add_argument("--repeat", type=int, default=1, help="real: runs, 1-1000 (default 1)")
    p.add_argument("--kernel", default=None,
                   help="sim: kernel release whose rules to imitate, e.g. 5.10.20, newest, no-cascade "
                        "(default: this machine's)")
    p.add_argument("--trace", action="store_true", help="sim: print the steps of the run")
    p.add_argument("--json", action="store_true", help="print one JSON document")


def table(doc: dict, expect) -> str:
    lines = [f"{doc['scenario']}  backend={doc['backend']}"
             + (f"  kernel={doc['kernel']}" if "kernel" in doc else "")
             + (f"  {doc['schedules']} schedules, {doc['states']} states" if "schedules" in doc else "")]
    if "rules" in doc:
        lines.append(f"kernel rules: {doc['rules']['rules']}")
    newest = doc.get("rules", {}).get("cascade", True)
    for o in doc["outcomes"]:
        mark = ""
        if expect is not None:
            mark = "  (expected)" if o["threads"] in expect else (
                "  (NOT in expect)" if newest else "  (NOT in expect, which is written for the newest rules)")
        lines.append(f"  {o['count']:>6} x {json.dumps(o['threads'])}{mark}")
    if doc.get("properties"):
        lines.append(f"properties: {', '.join(doc['properties'])}")
    if "trace" in doc:
        lines.extend(f"  {i}. {s['actor']}: {s['text']}" for i, s in enumerate(doc["trace"], 1))
    if "model" in doc and "skipped" in doc["model"]:
        lines.append(doc["model"]["skipped"])
    elif "model" in doc:
        m = doc["model"]
        lines.append(f"model with this kernel's rules ({m['rules']['rules']}): "
                     + ("every outcome is in its set" if m["in_model"]
                        else f"OUTSIDE the model: {json.dumps(m['outside'])}"))
        if "cascade" in m:
            lines.append("this scenario tells the rule sets apart -- measured: "
                         + ("the LT cascade is there (ep_done_scan() wakes one more sleeper)" if m["cascade"]
                            else "NO LT cascade (as 5.5-5.12 before 7fab29e35630)")
                         + ("" if m["cascade"] == m["rules"]["cascade"]
                            else "; the release string said otherwise: the measurement wins"))
        elif not m["consistent_with"]:
            lines.append("no kernel rule set of the model admits these outcomes")
    return "\n".join(lines)


def run(args) -> int:
    from ..conformance import judge, simulate
    from ..scenarios.format import load
    from ..system import this_release

    sc = load(args.file)
    if args.backend == "real":
        if args.explore or args.seed is not None or args.kernel:
            raise ValueError("--explore, --seed and --kernel are for --backend sim")
        from ..lab import run_scenario

        doc = run_scenario(sc, repeat=args.repeat)
        doc["model"] = judge(sc, doc)
    else:
        if args.repeat != 1:
            raise ValueError("--repeat is for --backend real")
        doc = simulate(sc, explore=args.explore, seed=args.seed, kernel=args.kernel or this_release())
        if not args.trace:
            doc.pop("trace", None)
    if args.json:
        sys.stdout.write(json.dumps(doc) + "\n")
    else:
        sys.stdout.write(table(doc, sc.expect) + "\n")
    return 0
