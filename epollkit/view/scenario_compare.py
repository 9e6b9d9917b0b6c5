"""One scenario file, side by side: the model's outcomes and the kernel's (live, or recorded).

``compare(name)`` explores the scenario with the model (every interleaving, with the number of schedules
ending in each outcome) and runs it on this kernel ``repeat`` times; without epoll (another OS,
``EPOLLKIT_NO_EPOLL=1``) the kernel's outcomes come from ``data/reference/scenarios.json``, recorded on a
named Linux machine by :func:`record`, and are labelled so. The notebooks show these; the conformance
suite (``tests/test_conformance.py``) asserts the same thing for every file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .. import data
from .live import live

RECORDING = "scenarios"  # data/reference/scenarios.json


def _key(threads) -> str:
    return json.dumps(threads, sort_keys=True)


def short(result) -> str:
    """One call result in a few characters: reported fds ("e1", "s0 s2"), 0 for no events, poll's 1/0."""
    if isinstance(result, list):
        return " ".join(ev[0] for ev in result) if result else "0"
    return str(result)


def outcome_text(threads: dict) -> str:
    """``{"t0": [..], "t1": [..]}`` as ``t0: e1, 0 · t1: blocked``."""
    return " · ".join(f"{n}: {', '.join(short(r) for r in res)}" for n, res in threads.items())


@dataclass(frozen=True)
class Comparison:
    """A scenario on both backends. ``model``/``kernel``: lists of ``{"threads", "count"}`` (schedules for
    the model, runs for the kernel); ``backend``: "real" (measured now) or "recorded"; ``where``: the
    kernel release, or where the recording comes from."""

    scenario: str
    name: str
    model: list
    kernel: list
    backend: str
    where: str
    selftest: dict | None = field(default=None)

    @property
    def in_model(self) -> bool:
        """Every outcome the kernel produced is one the model allows."""
        allowed = {_key(o["threads"]) for o in self.model}
        return all(_key(o["threads"]) in allowed for o in self.kernel)

    def row(self) -> dict:
        st = self.selftest or {}
        return {
            "scenario": self.scenario,
            "kernel's assertion": st.get("assert", ""),
            "model (schedules)": "; ".join(f"{outcome_text(o['threads'])} ({o['count']})"
                                           for o in self.model),
            f"kernel ({self.backend}, runs)": "; ".join(f"{outcome_text(o['threads'])} ({o['count']})"
                                                       for o in self.kernel),
            "kernel in model": self.in_model,
        }

    def to_dict(self) -> dict:
        return {"scenario": self.scenario, "name": self.name, "model": self.model, "kernel": self.kernel,
                "backend": self.backend, "where": self.where, "selftest": self.selftest}


def _stem(sc) -> str:
    from pathlib import Path

    return Path(sc.path).stem if sc.path else sc.name


def compare(scenario, *, repeat: int = 3, kernel: str | None = None) -> Comparison:
    """The model's outcomes (newest rules unless ``kernel`` says otherwise) and the kernel's: measured
    ``repeat`` times when epoll is here, else the recording. ``scenario``: a name in data/scenarios, a
    path, a dict or JSON text."""
    from .. import sim

    sc = scenario if isinstance(scenario, sim.Scenario) else sim.load(scenario)
    model = sim.explore(sim.setup(sc, kernel or "newest")).scenario_outcomes()
    stem = _stem(sc)
    if live():
        from ..lab import run_scenario

        doc = run_scenario(sc, repeat=repeat)
        return Comparison(stem, sc.name, model, doc["outcomes"], "real", f"Linux {doc['kernel']}",
                          sc.raw.get("selftest"))
    rec = data.load(RECORDING)
    got = [r for r in rec["results"] if r["scenario"] == stem]
    if not got:
        raise FileNotFoundError(f"no recorded kernel outcomes for {stem!r} in "
                                f"data/reference/{RECORDING}.json")
    return Comparison(stem, sc.name, model, got[0]["kernel"], "recorded", data.describe(RECORDING),
                      sc.raw.get("selftest"))


# The scenarios the notebooks compare (recorded for machines without epoll).
RECORDED = (
    "selftest-epoll17-nested-lt-over-lt", "selftest-epoll18-nested-lt-over-et",
    "selftest-epoll19-nested-et-over-lt", "selftest-epoll20-nested-et-over-et",
    "selftest-epoll34-nested-lt-over-et-inner-and-outer",
    "selftest-epoll36-nested-et-over-et-inner-and-outer",
    "nested-eloop-loop", "nested-eloop-depth", "nested-einval-exclusive-epoll-target",
    "nested-three-levels-outer-et-two-writes",
)


def reference_runs(names=RECORDED, *, repeat: int = 10) -> list:
    """Each scenario ``repeat`` times on this kernel, as the rows of ``data/reference/scenarios.json``
    (``epollkit record --only scenarios``; Linux with epoll only)."""
    from .. import sim
    from ..lab import run_scenario

    results = []
    for name in names:
        sc = sim.load(name)
        doc = run_scenario(sc, repeat=repeat)
        results.append({"scenario": _stem(sc), "kernel": doc["outcomes"], "repeat": repeat})
    return results
