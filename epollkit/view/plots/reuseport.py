"""SO_REUSEPORT figures (notebook 05): reset-on-close, the hash's shares, SO_INCOMING_CPU."""

from __future__ import annotations

from collections.abc import Sequence

from ._style import _axes


def reuseport_close(result, ax=None):
    """Bars: connections queued on each listener before one closed; the closed one in red, with the
    resets the client counted."""
    ax = _axes(ax)
    n = len(result.per_listener)
    colours = ["#d62728" if i == result.closed_listener else "#1f78b4" for i in range(n)]
    ax.bar(range(n), result.per_listener, color=colours)
    ax.annotate(f"closed: {result.reset} reset", (result.closed_listener, result.on_closed),
                ha="center", va="bottom", fontsize="small", color="#d62728")
    ax.set_xticks(range(n))
    ax.set_xlabel("listener")
    ax.set_ylabel("connections queued")
    ax.set_title(f"{result.queued} queued on {n} SO_REUSEPORT listeners; "
                 f"tcp_migrate_req = {result.tcp_migrate_req}", fontsize="medium")
    return ax


def reuseport_shares(results: Sequence, ax=None, *, model: bool = True):
    """The busiest listener's share in each run (dots) for each steering, beside the balls-into-bins
    expectation (a dash) and 1/listeners (dotted)."""
    ax = _axes(ax)
    rs = list(results)
    for i, r in enumerate(rs):
        ax.plot([i] * len(r.max_share), r.max_share, "o", alpha=0.5,
                color={"hash": "#1f78b4", "random": "#33a02c", "cpu": "#e31a1c"}.get(r.steer, "C0"))
        if model:
            ax.plot([i - 0.3, i + 0.3], [r.balls_into_bins_mean_max_share] * 2, "k-",
                    label="balls into bins (mean)" if i == 0 else None)
    if rs:
        ax.axhline(1 / rs[0].listeners, color="grey", ls=":", lw=1, label=f"1/{rs[0].listeners}")
    ax.set_xticks(range(len(rs)))
    ax.set_xticklabels([f"{r.steer}\n{r.connections} conn x {r.runs} runs" for r in rs], fontsize="small")
    ax.set_ylabel("busiest listener's share")
    ax.set_title("how a reuseport group spreads connections", fontsize="medium")
    ax.legend(fontsize="small")
    return ax


def incoming_cpu(result, ax=None):
    """Connections each listener received from a client pinned to each CPU, without and with
    ``SO_INCOMING_CPU`` (listener i set to ``listener_cpu[i]``)."""
    ax = _axes(ax)
    rows = result.rows
    n = result.listeners
    width = 0.8 / n
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    for k, row in enumerate(rows):
        for i, count in enumerate(row["per_listener"]):
            ax.bar(k + (i - (n - 1) / 2) * width, count, width, color=cmap(i % 10),
                   label=f"listener {i} (cpu {result.listener_cpu[i]})" if k == 0 else None)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([f"client on cpu {row['client_cpu']}\n"
                        f"{'SO_INCOMING_CPU set' if row['incoming_cpu_set'] else 'not set'}" for row in rows],
                       fontsize="small")
    ax.set_ylabel("connections")
    ax.set_title("SO_INCOMING_CPU: the listener of the CPU that handled the SYN", fontsize="medium")
    ax.legend(fontsize="x-small")
    return ax
