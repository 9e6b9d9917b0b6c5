"""Short texts for the notebooks: "what you saw" bullets, scenario outcomes side by side, timings.

The plumbing the notebooks used to carry as 13-33 lines of f-strings lives here, so a notebook's
"What you saw" cell is a few lines a reader can read. Every number printed comes from a record passed in:
nothing here measures, and nothing here is typed in.

Layering: this is a view-layer module. It imports the model (``epollkit.sim``) and
the lab (``epollkit.lab``) only inside :func:`scenario_rows`, so importing it needs no epoll.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["SUMMARY_COLUMNS", "bullets", "compare_throughput", "guide_saw", "loop_source",
           "model_read_verdicts", "outcome_text", "scenario_lines", "scenario_rows", "seconds",
           "summary_rows", "trigger_table", "verdict_lines", "which_to_use_runs"]


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
    from .. import sim

    rows = []
    for name in names:
        sc = sim.load(name)
        model = sim.explore(sim.setup(sc)).outcome_set()
        kernel, agree = "NOT LIVE (no epoll here)", None
        if live:
            from ..lab import run_scenario

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
    "wake-ups/conn": "kernel wake-ups per connection, paced (voluntary context switches: 02, Box 1)",
    "EAGAIN/conn": "accept() calls that found nothing, per connection, paced",
    "max share": "largest fraction of the connections one worker took, paced (1/workers is even)",
    "epoll_ctl/conn": "epoll_ctl() calls the workers made per connection after setup",
    "conn/s burst": "connections accepted per second, client connecting as fast as it can: median",
    "burst range": "min-max of conn/s over the burst repeats (the run-to-run spread)",
    "reads: model": "the same pattern serving read(): can the model split or reorder a stream?",
    "reads: live": "messages split / deliveries reordered in the live read races (all repeats)",
}


def model_read_verdicts(strategies: Iterable[str]) -> dict:
    """For each read strategy: the model's answer, over every interleaving of 2 readers and 2 chunks,
    to "can the stream be split or reordered?" (``sim.read(..., explore=True)``)."""
    from .. import sim

    out = {}
    for s in strategies:
        r = sim.read(s, readers=2, messages=2, message_size=2048, read_size=2048, explore=True)
        bad = sorted(set(r.witnesses or {}) & {"split", "reorder"})
        out[s] = "can " + " and ".join(bad) if bad else "never (every interleaving)"
    return out


def summary_rows(acc: dict, reads: dict | None, model: dict, read_of: dict) -> list[dict]:
    """Notebook 10's table: one row per accept strategy from ``guide_lab.accept_runs`` (``acc``), the
    live races of ``guide_lab.read_runs`` (``reads``, or None when not run) and ``model``
    (:func:`model_read_verdicts`), matched through ``read_of`` (accept strategy -> read strategy)."""
    from ..lab.experiments.guide import throughput

    rows = []
    for r in acc["paced"]:
        ctl = (r.params or {}).get("epoll_ctl")
        tp = throughput(acc["burst"][r.strategy])
        rd = read_of.get(r.strategy)
        live = "-"
        if rd and reads:
            live = (f"{sum(x.split_messages for x in reads[rd])} split / "
                    f"{sum(x.reordered for x in reads[rd])} reordered")
        rows.append({
            "strategy": r.strategy,
            "wake-ups/conn": round(r.kernel_wakeups_per_connection, 2),
            "EAGAIN/conn": round(r.eagain_per_connection, 2),
            "max share": round(r.max_share, 2),
            "epoll_ctl/conn": "-" if ctl is None else round(ctl / r.connections, 2),
            "conn/s burst": tp["median"],
            "burst range": f"{tp['min']}-{tp['max']}",
            "reads: model": f"{rd}: {model[rd]}" if rd else "- (accept only)",
            "reads: live": live,
        })
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


def loop_source(marker: str = "ep = self.epolls") -> str:
    """The epoll branch of the accept lab's worker loop, as the lab runs it (read from its source)."""
    import inspect

    from ..lab.experiments.accept import _AcceptRun

    src = inspect.getsource(_AcceptRun._loop).splitlines()
    start = next(i for i, line in enumerate(src) if marker in line)
    indent = len(src[start]) - len(src[start].lstrip())
    return "\n".join(line[indent:] for line in src[start:])


def _range(row: dict) -> tuple[int, int]:
    lo, hi = str(row["burst range"]).split("-")
    return int(lo), int(hi)


def compare_throughput(rows: Sequence[dict], a: str, b: str) -> str:
    """Is ``a``'s burst throughput lower than ``b``'s beyond the run-to-run spread? One paragraph."""
    ra, rb = (next(r for r in rows if r["strategy"] == s) for s in (a, b))
    (alo, ahi), (blo, bhi) = _range(ra), _range(rb)
    ma, mb = ra["conn/s burst"], rb["conn/s burst"]
    head = (f"{a}: median {ma} conn/s (range {alo}-{ahi}); {b}: median {mb} conn/s (range {blo}-{bhi}); "
            f"{a} / {b} = {ma / mb:.2f}.")
    if ahi < blo:
        tail = f"Every {a} run was slower than every {b} run: lower throughput, measured."
    elif alo > bhi:
        tail = f"Every {a} run was faster than every {b} run: the claim is not supported here."
    else:
        tail = "The ranges overlap: no throughput difference was measured in this setup."
    return head + "\n" + tail


def verdict_lines(rows: Sequence[dict]) -> str:
    """The post's failures and remedies, each with the table's numbers, as bullets."""
    by = {r["strategy"]: r for r in rows}

    def w(s):
        return by[s]["wake-ups/conn"]

    lines = [
        f"LT on one shared instance (the post's first failure): {w('epoll-lt')} wake-ups per connection, "
        f"{by['epoll-lt']['EAGAIN/conn']} EAGAIN: a second thread is woken, mostly inside the kernel.",
        f"Private LT instances (the post's 'neither will ...'): {w('epoll-lt-private')} wake-ups "
        "per connection (a herd is one per worker).",
        f"ET on one shared instance: {w('epoll-et')} wake-ups, max share {by['epoll-et']['max share']} "
        "(1.0 = one worker took every connection).",
        f"EPOLLEXCLUSIVE: {w('epoll-exclusive')} wake-ups, max share {by['epoll-exclusive']['max share']} "
        f"(rotated every 16 accepts: {by['epoll-exclusive-rotate']['max share']}, at "
        f"{by['epoll-exclusive-rotate']['epoll_ctl/conn']} epoll_ctl per connection).",
        f"ET + ONESHOT: {w('epoll-oneshot')} wake-ups at {by['epoll-oneshot']['epoll_ctl/conn']} epoll_ctl "
        "per connection.",
        f"Blocking accept(), no epoll at all: {w('blocking')} wake-ups, "
        f"max share {by['blocking']['max share']}.",
    ]
    return bullets(lines)


def guide_saw(rows: Sequence[dict], release: str) -> str:
    """Notebook 10's "what you saw": which strategies woke one worker, which were fair, which are safe
    for reads, on which kernel."""
    one = [r["strategy"] for r in rows if r["wake-ups/conn"] <= 1.2]
    fair = [r["strategy"] for r in rows if r["max share"] <= 0.4]
    safe = [r["strategy"] for r in rows if "never" in str(r["reads: model"])]
    return bullets([
        f"Woke about one worker per connection (<= 1.2): {', '.join(one)}.",
        f"Shared the load at light traffic (max share <= 0.4 with 4 workers): {', '.join(fair)}.",
        f"Safe for reads on a shared set in the model: {', '.join(safe) or 'none'}.",
        f"Kernel: Linux {release}.",
    ])


# ------------------------------------------------------------------------------------ the herd's cost


def _point(result, n: int) -> dict:
    return next(p for p in result.points if p["waiters"] == n)


def herd_detail(herds: dict, top: int, recorded: Sequence | None = None) -> str:
    """For each herd-latency record at ``top`` waiters: how many the kernel woke, how many came back to
    Python, when the connection was taken, the connect() time, and every sleep; then the same two counts
    of ``recorded`` runs (when this one ran live) for comparison."""
    lines = []
    for s, r in herds.items():
        p, zero = _point(r, top), _point(r, 0)
        lines.append(
            f"{s:>16}: woke {p['kernel_wakeups_per_connect']:g} of {top}, {p['returns_per_connect']:g} came "
            f"back to Python ({p['eagain_per_connect']:g} to find nothing); taken "
            f"{p['accepted_at_us'] / 1000:.2f} ms after connect() began, which took "
            f"{p['connect_us']['median'] / 1000:.2f} ms (no waiter: {zero['connect_us']['median'] / 1000:.3f}"
            f" ms); {p['voluntary_switches_per_connect']:g} sleeps in all")
    if recorded:
        lines.append("the recorded run, for comparison:")
        for r in recorded:
            if r.strategy in herds and any(p["waiters"] == top for p in r.points):
                p = _point(r, top)
                lines.append(f"{r.strategy:>16}: woke {p['kernel_wakeups_per_connect']:g}, "
                             f"{p['returns_per_connect']:g} came back")
    return "\n".join(lines)


def select_terms_text(terms: dict) -> str:
    """The two terms of a select() call's cost from three measured calls (keys: ``low``, ``high``, ``many``,
    each ``{"fds": [numbers], "us": µs per call}``)."""
    low, high, many = terms["low"], terms["high"], terms["many"]
    per_fd_ns = (many["us"] - low["us"]) / (len(many["fds"]) - 1) * 1000
    per_word_ns = (high["us"] - low["us"]) / ((high["fds"][0] - low["fds"][0]) / 64) * 1000
    return bullets([
        f"one fd numbered {low['fds'][0]}: {low['us']:.2f} µs per call",
        f"one fd numbered {high['fds'][0]}: {high['us']:.2f} µs per call -> about {per_word_ns:.1f} ns per "
        "64 descriptor numbers below the highest (one word of each set to copy and scan)",
        f"{len(many['fds'])} fds (highest {max(many['fds'])}): {many['us']:.2f} µs per call -> about "
        f"{per_fd_ns:.0f} ns per watched descriptor (its ->poll(), and CPython's own work to build the "
        "bitmap; with timeout 0 no wait-queue entry is hung)",
    ])


def which_to_use_runs(workers: int = 4) -> list[dict]:
    """What ``data/reference/which_to_use.json`` holds: notebook 10's table, measured here (every accept
    strategy paced and in bursts, every read pattern racing) beside the model's read verdicts."""
    from ..lab.experiments.guide import READ_OF, accept_runs, read_runs

    rows = summary_rows(accept_runs(workers), read_runs(), model_read_verdicts(READ_OF.values()), READ_OF)
    return [{"experiment": "which_to_use", "backend": "real", "workers": workers, "rows": rows}]
