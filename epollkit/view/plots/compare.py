"""The model's prediction beside the lab (notebook 03)."""

from __future__ import annotations

from ...analysis.tables import ACCEPT_METRICS
from ._style import color

_METRIC_TITLES = {
    "returns_per_connection": "wait returns / connection",
    "eagain_per_connection": "EAGAIN / connection",
    "kernel_wakeups_per_connection": "kernel wake-ups / connection",
    "max_share": "busiest worker's share",
}


def model_vs_lab(real, model, ranges: dict | None = None, metrics=ACCEPT_METRICS, axes=None, *,
                 title: str | None = None):
    """One figure, a panel per metric, a group per strategy: the lab's measurement (bar), the model's
    run (black diamond; usually the paced one, ``sim.accept(..., schedule="paced")``) and, if ``ranges``
    (strategy -> :func:`outcome_ranges`) is given, the span of every outcome the model's explorer
    reaches (grey bar).

    real, model  AcceptResult records (one per strategy; same workers) from the lab and the model; the
                 legend names the model's schedule (``params["schedule"]``)
    Returns the array of Axes.
    """
    import matplotlib.pyplot as plt

    real = {r.strategy: r for r in real}
    model = {r.strategy: r for r in model}
    names = [s for s in model if s in real] or list(model)
    metrics = tuple(metrics)
    if axes is None:
        _fig, axes = plt.subplots(1, len(metrics), figsize=(3.0 * len(metrics), 3.6), squeeze=False)
        axes = axes[0]
    xs = range(len(names))
    schedules = sorted({(model[s].params or {}).get("schedule", "") for s in names} - {""})
    for ax, m in zip(axes, metrics, strict=True):
        ys = [getattr(real[s], m) if s in real else float("nan") for s in names]
        ax.bar(xs, ys, 0.7, color=[color(s) or "C0" for s in names], alpha=0.75,
               label="lab (measured)")
        if ranges:
            for i, s in enumerate(names):
                if s in ranges:
                    lo, hi = ranges[s][m]
                    ax.plot([i + 0.28, i + 0.28], [lo, hi], "-", color="#555555", lw=4, alpha=0.45,
                            solid_capstyle="butt", label="model, every interleaving" if i == 0 else None)
        ax.plot(list(xs), [getattr(model[s], m) for s in names], "D", color="black", ms=5,
                label=f"model, {' / '.join(schedules) or 'one'} run")
        ax.set_xticks(list(xs))
        ax.set_xticklabels(names, rotation=60, ha="right", fontsize="x-small")
        ax.set_title(_METRIC_TITLES.get(m, m), fontsize="small")
        ax.set_ylim(bottom=0)
    axes[0].legend(fontsize="x-small", loc="upper left")
    some = next(iter(real.values()), None) or next(iter(model.values()))
    fig = axes[0].figure
    fig.suptitle(title or f"{some.workers} workers: the lab's measurement beside the model's prediction",
                 fontsize="medium")
    fig.tight_layout()
    return axes
