"""The io_uring accept chapter's widget: pick the mode, the rings, the rate and the work; Run shows who
accepted each connection beside the model's prediction (live, or the closest recorded run)."""

from __future__ import annotations


def uring_explorer(mode: str = "multishot", rings: int = 4, rate: float = 400.0, work_ms: float = 0.0,
                   connections: int = 100):
    """Pick the io_uring mode (or an epoll strategy), the rings (= worker threads), the rate and the work
    per connection; Run shows who accepted each connection, next to the model's prediction."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    from ...sim.uring import predict
    from ..uring import run_or_recorded, unavailable
    from .panels import _run_panel, _show

    pick = w.Dropdown(options=["multishot", "single-shot"], value=mode, description="mode")
    n = w.IntSlider(value=rings, min=1, max=8, description="rings", continuous_update=False)
    pace = w.FloatLogSlider(value=rate, base=10, min=2, max=3.6, description="conn/s",
                            continuous_update=False)
    work = w.FloatSlider(value=work_ms, min=0.0, max=10.0, step=0.5, description="work ms",
                         continuous_update=False)

    def draw():
        r = run_or_recorded(pick.value, n.value, connections, rate=round(pace.value), work_ms=work.value)
        arm = r.params.get("arm_order")
        p = predict(r.mode, r.workers, r.connections, rate=r.params.get("rate"),
                    work_ms=r.params.get("work_ms", 0.0), arm_order=arm,
                    cq_entries=r.params.get("cq_entries", 128))
        live = "live" if unavailable() is None else "NOT LIVE, see above"
        print(f"{r.strategy} ({live}, Linux {r.kernel}): {r.workers} rings, busiest {r.max_share:.0%}, "
              f"{r.kernel_wakeups_per_connection:.2f} wake-ups/connection; model: busiest {p.max_share:.0%}")
        fig, ax = plt.subplots(figsize=(8, 1.9))
        ax.scatter(range(len(r.accept_order)), r.accept_order, s=8, label="measured")
        ax.scatter(range(len(p.accept_order)), [y + 0.25 for y in p.accept_order], s=8, marker="x",
                   label="model (+0.25)")
        ax.set_xlabel("connection")
        ax.set_ylabel("worker")
        ax.set_yticks(range(r.workers))
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        ax.set_title("who accepted each connection")
        fig.tight_layout()
        _show(fig)

    return _run_panel([[pick], [n, pace, work]], draw)
