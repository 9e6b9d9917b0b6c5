"""The model against the kernel on the same scenario file: the model's answer in the scenario JSON form
(:func:`simulate`) and the verdict on a real run (:func:`judge`: which kernel rule sets admit every
outcome the kernel produced). Used by ``epollkit scenario`` and tests/test_conformance.py."""

from __future__ import annotations

import json

from . import sim
from .system import this_release


def simulate(sc, *, explore: bool = False, seed: int | None = None, kernel="newest") -> dict:
    """The model's answer in the scenario JSON form (docs/architecture.md, "Scenario files").
    ``kernel``: the rules to imitate (default "newest"; the CLI passes this machine's release)."""
    setup = sim.setup(sc, kernel)
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
# kernel's result is reported alone, saying the comparison was skipped (a 0.1 s kernel run must not
# wait minutes for the model, nor be thrown away).
JUDGE_BUDGET = 200_000
JUDGE_MEMORY = 128 * 1024 * 1024


def _key(threads) -> str:
    return json.dumps(threads, sort_keys=True)


def judge(sc, doc: dict) -> dict:
    """Hold a real run against the model: which kernel rules (cascade or not) admit every outcome the
    kernel produced. Added to the real document as ``model``: ``{"rules": this kernel's rules as the
    release string reads them, "in_model": bool, "outside": [...], "consistent_with": ["cascade",
    "no-cascade"], "cascade": the measurement's verdict when the two rule sets disagree here}``."""
    gen = sim.generation(this_release())
    try:
        sets = {g: {_key(o) for o in sim.explore(sim.setup(sc, g), JUDGE_BUDGET, max_memory=JUDGE_MEMORY)
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


def descriptor_demos(*, demos=None, repeat: int = 1):
    """The descriptor-vs-description chapter (``epollkit descriptors``): everything
    :func:`epollkit.lab.experiments.descriptors.run_all` measures on this kernel, each scenario's row
    with the model's outcome set for this machine's release (``model``) and whether it holds every
    outcome the kernel produced (``agree``). Linux with epoll only."""
    from dataclasses import replace

    from .lab.experiments.descriptors import DEMOS, run_all

    rec = run_all(demos=DEMOS if demos is None else demos, repeat=repeat)
    rows = []
    for d in rec.demos:
        model = sim.explore(sim.setup(d["scenario"], this_release())).outcome_set()
        rows.append({**d, "model": model, "agree": all(k in model for k in d["kernel"])})
    return replace(rec, demos=rows)


def descriptor_reference_runs() -> list:
    """What ``epollkit record`` saves as data/reference/descriptors.json (shown NOT LIVE elsewhere)."""
    return [descriptor_demos(repeat=3)]
