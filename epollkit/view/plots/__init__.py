"""matplotlib figures: take results (+ optional ax), return the Axes; matplotlib imported lazily inside
functions. Plots never run experiments and never call ``plt.show()``.

Each function accepts live records or recorded ones (``epollkit.data``) alike. One module per subject:
``accept``, ``read``, ``queueing``, ``reuseport``, ``history`` (select), ``traces`` (the model's runs),
``compare`` (model beside lab); ``_style`` holds the one colour per strategy.
"""

from __future__ import annotations

from ...analysis.tables import ACCEPT_METRICS, outcome_ranges
from ._style import API_COLORS, STRATEGY_COLORS, color
from .accept import (
    accept_order_strip,
    accept_sweep,
    max_share_sweep,
    oneshot_price,
    per_worker_accepts,
    rotate_cost,
)
from .compare import model_vs_lab
from .history import herd_latency_curve, multiplex_cost
from .queueing import accept_latency, serve_latency, serve_percentiles
from .read import read_races, read_throughput
from .reuseport import incoming_cpu, reuseport_close, reuseport_shares
from .traces import post_swimlane, step_label, swimlane, swimlane_legend, trace_text, view_line

__all__ = [
    "ACCEPT_METRICS",
    "API_COLORS",
    "STRATEGY_COLORS",
    "accept_latency",
    "accept_order_strip",
    "accept_sweep",
    "color",
    "herd_latency_curve",
    "incoming_cpu",
    "max_share_sweep",
    "model_vs_lab",
    "multiplex_cost",
    "oneshot_price",
    "outcome_ranges",
    "per_worker_accepts",
    "post_swimlane",
    "read_races",
    "read_throughput",
    "reuseport_close",
    "reuseport_shares",
    "rotate_cost",
    "serve_latency",
    "serve_percentiles",
    "step_label",
    "swimlane",
    "swimlane_legend",
    "trace_text",
    "view_line",
]
