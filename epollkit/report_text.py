"""Short texts for the notebooks: "what you saw" bullets, scenario outcomes side by side, timings.

The plumbing the notebooks used to carry as 13-33 lines of f-strings lives here, so a notebook's
"What you saw" cell is a few lines a reader can read. Every number printed comes from a record passed in:
nothing here measures, and nothing here is typed in.

Layering: this is a view-layer module. It imports the model (``epollkit.sim``) at module level (pure) and
the lab (``epollkit.lab``) only inside :func:`scenario_rows`, so importing it needs no epoll.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["bullets", "outcome_text", "scenario_rows", "trigger_table", "accept_summary_rows",
           "SUMMARY_COLUMNS", "scenario_lines", "seconds"]


def bullets(lines: Iterable[str]) -> str:
    """``lines`` as a markdown-style bullet list (one string, for ``print``)."""
    return "\n".join(f"- {line}" for line in lines)


def _events(result) -> str:
    """One epoll_wait result of a scenario outcome: ``[["s0", ["EPOLLIN"]]]`` -> ``"s0: EPOLLIN"``."""
    if isinstance(result, str):  # "blocked", "ok", "EAGAIN", "EINVAL", ...
        return {"blocked": "still asleep (no event)", "ok": "ok"}.get(result, result)
    if not result:
        return "nothing"
    return ", ".join(f"{fd}: {'|'.join(flags)}" for fd, flags in result)


def outcome_text(outcome: dict) -> str:
    """A scenario outcome ``{thread: [result, ...]}`` as one line: ``A: s0: EPOLLIN; then nothing``."""
    return " / ".join(f"{t}: " + "; then ".join(_events(r) for r in results)
                      for t, results in sorted(outcome.items()))


def scenario_rows(names: Sequence[str], *, live: bool, repeat: int = 3) -> list[dict]:
    """For each scenario in ``data/scenarios``: its title, the model's outcome(s) over every interleaving
    (``sim.explore``), and the kernel's (``lab.run_scenario``, ``repeat`` runs) -- or ``NOT LIVE``.

    One row per scenario: ``{"scenario", "what", "model", "kernel", "agree"}``; ``agree`` is None when
    the kernel was not run.
    """
    from . import sim

    rows = []
    for name in names:
        sc = sim.load(name)
        model = sim.explore(sc.setup()).outcome_set()
        kernel, agree = "NOT LIVE (no epoll here)", None
        if live:
            from .lab import run_scenario

            seen = [o["threads"] for o in run_scenario(name, repeat=repeat)["outcomes"]]
            kernel = " | ".join(outcome_text(o) for o in seen)
            agree = all(o in model for o in seen)
        rows.append({"scenario": name, "what": sc.name,
                     "model": " | ".join(outcome_text(o) for o in model), "kernel": kernel,
                     "agree": agree})
    return rows


def trigger_table(results: dict, steps: Sequence[str]) -> list[dict]:
    """The primer's live run as rows: ``results`` maps a mode name to the event counts its waits got,
    one per ``"wait"`` in ``steps``. Returns one row per mode, one column per step (``-`` where the step
    is not a wait)."""
    rows = []
    for mode, counts in results.items():
        it = iter(counts)
        row = {"mode": mode}
        for i, step in enumerate(steps, 1):
            row[f"{i}. {step}"] = next(it) if step == "wait" else "-"
        rows.append(row)
    return rows


# ------------------------------------------------------------------------- the closing summary table

#: the columns of notebook 10's summary table, in order, with what each one measures
SUMMARY_COLUMNS = {
    "strategy": "how each worker waits (epollkit.strategies)",
    "wake-ups/conn": "kernel wake-ups per connection (voluntary context switches of the workers)",
    "EAGAIN/conn": "accept() calls that found nothing, per connection",
    "max share": "largest fraction of the connections one worker took (1/workers is even)",
    "epoll_ctl/conn": "epoll_ctl() calls the workers made per connection after setup",
    "conn/s (burst)": "connections accepted per second when the client connects as fast as it can",
    "max in flight": "most workers inside accept() at the same moment, in the burst",
}


def _in_flight(trace) -> int:
    """Largest number of accept() calls overlapping in time, from a lab trace."""
    edges = sorted([(t_call, 1) for _w, _p, t_call, _t_ret, _d in trace]
                   + [(t_ret, -1) for _w, _p, _t_call, t_ret, _d in trace])
    best = cur = 0
    for _t, step in edges:
        cur += step
        best = max(best, cur)
    return best


def accept_summary_rows(paced: Sequence, burst: Sequence, traces: dict | None = None) -> list[dict]:
    """One row per strategy from a paced run (wake-ups, EAGAIN, fairness, epoll_ctl) and a burst run
    (throughput) of the same strategy; ``traces`` maps strategy -> the burst run's accept trace."""
    by_burst = {r.strategy: r for r in burst}
    rows = []
    for r in paced:
        b = by_burst.get(r.strategy)
        ctl = (r.params or {}).get("epoll_ctl")
        row = {
            "strategy": r.strategy,
            "wake-ups/conn": round(r.kernel_wakeups_per_connection, 2),
            "EAGAIN/conn": round(r.eagain_per_connection, 2),
            "max share": round(r.max_share, 2),
            "epoll_ctl/conn": "-" if ctl is None else round(ctl / r.connections, 2),
            "conn/s (burst)": (round(b.accepted / b.duration_s) if b is not None and b.duration_s
                               else None),
            "max in flight": (_in_flight(traces[r.strategy]) if traces and r.strategy in traces
                              else None),
        }
        rows.append(row)
    return rows


def seconds(s: float) -> str:
    """A duration for a reader: ``0.4 s``, ``12 s``, ``2 min``."""
    if s < 10:
        return f"{s:.1f} s"
    if s < 120:
        return f"{s:.0f} s"
    return f"{s / 60:.0f} min"


def scenario_lines(rows: Sequence[dict]) -> str:
    """:func:`scenario_rows` as text a reader can scan: the scenario's title, then model and kernel."""
    out = []
    for r in rows:
        verdict = {True: "agree", False: "DISAGREE", None: ""}[r["agree"]]
        out.append(f"{r['scenario']}: {r['what']}\n    model : {r['model']}\n"
                   f"    kernel: {r['kernel']}  {verdict}".rstrip())
    return "\n".join(out)
