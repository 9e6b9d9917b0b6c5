"""Notebook 09's check of the io_uring prototype's findings: records in, one line per finding out.

Pure formatting over records already measured (or recorded) in the notebook; nothing measured here.
"""

from __future__ import annotations

from collections.abc import Sequence


def _only(records: Sequence, strategy: str):
    for r in records:
        if r.strategy == strategy:
            return r
    raise ValueError(f"no record for strategy {strategy!r}; have {[r.strategy for r in records]}")


def prototype_findings(*, multishot, single, overflow, loads: Sequence, procs: Sequence, shared: Sequence,
                       private_lt) -> str:
    """One bullet per finding of the prototype, each with this run's numbers: ``multishot``/``single``
    (a ring per worker thread, light load), ``overflow`` (multishot at overload), ``loads`` (section 4's
    load sweep), ``procs`` (a process per ring), ``shared`` (one ring shared by threads; must hold
    ``uring-single-shot-shared-ring``) and ``private_lt`` (epoll, private instances without EXCLUSIVE)."""
    m, s, om, lt = multishot, single, overflow, private_lt
    sr = _only(shared, "uring-single-shot-shared-ring")
    ms = [r.max_share for r in loads if r.mode == "multishot"]
    if not ms:
        raise ValueError("loads holds no multishot run")
    pm = [r for r in procs if r.mode == "multishot"]
    return "\n".join([
        f"- no herd with a ring per worker: {m.kernel_wakeups_per_connection:.2f} (multishot) and "
        f"{s.kernel_wakeups_per_connection:.2f} (single-shot) wake-ups per connection "
        f"(Linux {m.kernel}) -- confirmed;",
        f"- multishot: busiest ring {m.max_share:.0%} at light load and {min(ms):.0%} to {max(ms):.0%} "
        f"under the {len(ms)} loads of section 4 -- confirmed, and it holds under load too, until the "
        f"leading ring's CQ overflows ({om.rearms} re-arm(s), busiest {om.max_share:.0%} at overload);",
        f"- single-shot: busiest ring {s.max_share:.0%} (round robin in arm order) -- confirmed;",
        f"- with a process per ring instead of a thread, multishot's busiest ring: "
        f"{', '.join(f'{r.max_share:.0%}' for r in pm)} -- the same;",
        f"- epoll, private instances without EXCLUSIVE: {lt.kernel_wakeups_per_connection:.2f} wake-ups per "
        f"connection -- confirmed; but a ring shared by 4 threads herds as well: "
        f"{sr.kernel_wakeups_per_connection:.2f}.",
    ])
