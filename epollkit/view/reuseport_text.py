"""Notebook 06's "What you saw": the SO_REUSEPORT records it measured in, one bullet per finding out.

Pure formatting over records already measured (or recorded); nothing measured or typed in here.
"""

from __future__ import annotations

from collections.abc import Sequence


def _steer(steered: Sequence, how: str):
    for r in steered:
        if r.steer == how:
            return r
    raise ValueError(f"no steering run {how!r}; have {[r.steer for r in steered]}")


def reuseport_saw(*, hashed, closed, resets: Sequence[int], steer_cpu, steered: Sequence) -> str:
    """``hashed``: the 4-tuple hash runs; ``closed``: one close-a-listener run, ``resets`` the resets
    of every such run; ``steer_cpu``: the SO_INCOMING_CPU run; ``steered``: the CBPF steering runs
    (must hold ``random`` and ``cpu``)."""
    if not resets:
        raise ValueError("resets is empty: at least one close-a-listener run is needed")
    rnd, cpu_run = _steer(steered, "random"), _steer(steered, "cpu")
    set_rows = [row for row in steer_cpu.rows if row["incoming_cpu_set"]]
    own = sum(row["per_listener"][steer_cpu.listener_cpu.index(row["client_cpu"])] for row in set_rows)
    every = "all" if closed.reset == closed.on_closed else "not all"
    return "\n".join([
        f"- 400 connections over 4 listeners by the 4-tuple hash: the busiest listener took "
        f"{hashed.mean_max_share:.1%} on average over {hashed.runs} runs; balls into bins predicts "
        f"{hashed.balls_into_bins_mean_max_share:.1%}; a random CBPF program {rnd.mean_max_share:.1%}.",
        f"- Closing one of {closed.listeners} listeners with {closed.queued} queued reset {closed.reset} "
        f"connections ({every} of the {closed.on_closed} it "
        f"held); over {len(resets)} runs the mean was "
        f"{sum(resets) / len(resets):.1f}. net.ipv4.tcp_migrate_req = {closed.tcp_migrate_req}.",
        f"- With SO_INCOMING_CPU set, {own} of {steer_cpu.connections * len(set_rows)} connections went to "
        f"the listener of the CPU that handled them (Linux {steer_cpu.kernel}).",
        f"- Steering by CPU put {max(cpu_run.counts[0])} of {cpu_run.connections} connections on one "
        "listener.",
    ])
