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


def simulate(sc, *, explore: bool = False, seed: int | None = None, kernel: str | None = None) -> dict:
    """The model's answer in the scenario JSON form (DESIGN.md)."""
    from .. import sim

    setup = sc.setup(kernel)
    rules = setup.world.generation.to_dict()
    if explore:
        ex = sim.explore(setup)
        return {"scenario": sc.name, "backend": "sim", "outcomes": ex.scenario_outcomes(),
                "schedules": ex.schedules, "states": ex.states,
                "properties": list(ex.properties), "witnesses": ex.witness_lists(), "rules": rules}
    tr = sim.run(setup, seed)
    return {"scenario": sc.name, "backend": "sim", "outcomes": [{"threads": tr.outcome, "count": 1}],
            "trace": tr.to_list(), "rules": rules}


# The model comparison of a real run is bounded (two explorations, one per rule set): past these the
# kernel's result is reported alone, saying the comparison was skipped.
JUDGE_BUDGET = 200_000
JUDGE_MEMORY = 128 * 1024 * 1024


def _key(threads) -> str:
    return json.dumps(threads, sort_keys=True)


def judge(sc, doc: dict) -> dict:
    """Hold a real run against the model: which kernel rules (cascade or not) admit every outcome the
    kernel produced. Added to the real document as ``model``: ``{"rules": this kernel's rules as the
    release string reads them, "in_model": bool, "outside": [...], "consistent_with": ["cascade",
    "no-cascade"], "cascade": the measurement's verdict when the two rule sets disagree here}``."""
    from .. import sim

    gen = sim.generation(None)
    try:  # bounded: a kernel run of 0.1 s must not wait minutes for the model, nor be thrown away
        sets = {g: {_key(o) for o in sim.explore(sc.setup(g), JUDGE_BUDGET, max_memory=JUDGE_MEMORY)
                    .outcome_set()} for g in ("cascade", "no-cascade")}
    except sim.StateBudgetExceeded as exc:
        return {"rules": gen.to_dict(), "skipped": f"the model was not compared: {exc}"}
    mine = sets["cascade" if gen.cascade else "no-cascade"]
    real = [o["threads"] for o in doc["outcomes"]]
    out = {"rules": gen.to_dict(), "in_model": all(_key(t) in mine for t in real),
           "outside": [t for t in real if _key(t) not in mine],
           "consistent_with": [g for g, ok in sets.items() if all(_key(t) in ok for t in real)]}
    if sets["cascade"] != sets["no-cascade"] and len(out["consistent_with"]) == 1:
        out["cascade"] = out["consistent_with"] == ["cascade"]  # this scenario tells them apart
    return out


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
    from ..sim.scenario import load

    sc = load(args.file)
    if args.backend == "real":
        if args.explore or args.seed is not None or args.kernel:
            raise ValueError("--explore, --seed and --kernel are for --backend sim")
        from ..lab.scenario import run_scenario

        doc = run_scenario(sc, repeat=args.repeat)
        doc["model"] = judge(sc, doc)
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
