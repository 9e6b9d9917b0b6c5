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
    p.add_argument("--kernel", default=None, help="sim: kernel release to imitate (default: newest rules)")
    p.add_argument("--trace", action="store_true", help="sim: print the steps of the run")
    p.add_argument("--json", action="store_true", help="print one JSON document")


def simulate(sc, *, explore: bool = False, seed: int | None = None, kernel: str | None = None) -> dict:
    """The model's answer in the scenario JSON form (DESIGN.md)."""
    from .. import sim

    setup = sc.setup(kernel)
    if explore:
        ex = sim.explore(setup)
        return {"scenario": sc.name, "backend": "sim", "outcomes": ex.scenario_outcomes(),
                "schedules": ex.schedules, "states": ex.states,
                "properties": list(ex.properties), "witnesses": ex.witness_lists()}
    tr = sim.run(setup, seed)
    return {"scenario": sc.name, "backend": "sim", "outcomes": [{"threads": tr.outcome, "count": 1}],
            "trace": tr.to_list()}


def table(doc: dict, expect) -> str:
    lines = [f"{doc['scenario']}  backend={doc['backend']}"
             + (f"  kernel={doc['kernel']}" if "kernel" in doc else "")
             + (f"  {doc['schedules']} schedules, {doc['states']} states" if "schedules" in doc else "")]
    for o in doc["outcomes"]:
        mark = ""
        if expect is not None:
            mark = "  (expected)" if o["threads"] in expect else "  (NOT in expect)"
        lines.append(f"  {o['count']:>6} x {json.dumps(o['threads'])}{mark}")
    if doc.get("properties"):
        lines.append(f"properties: {', '.join(doc['properties'])}")
    if "trace" in doc:
        lines.extend(f"  {i}. {s['actor']}: {s['text']}" for i, s in enumerate(doc["trace"], 1))
    return "\n".join(lines)


def run(args) -> int:
    from ..sim.scenario import load

    sc = load(args.file)
    if args.backend == "real":
        if args.explore or args.seed is not None or args.kernel:
            raise ValueError("--explore, --seed and --kernel are for --backend sim")
        from ..lab.scenario import run_scenario

        doc = run_scenario(sc, repeat=args.repeat)
    else:
        if args.repeat != 1:
            raise ValueError("--repeat is for --backend real")
        doc = simulate(sc, explore=args.explore, seed=args.seed, kernel=args.kernel)
        if not args.trace:
            doc.pop("trace", None)
    if args.json:
        sys.stdout.write(json.dumps(doc) + "\n")
    else:
        sys.stdout.write(table(doc, sc.expect) + "\n")
    return 0
