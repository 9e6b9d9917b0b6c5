"""ipywidgets front-ends over lab and sim. ipywidgets and matplotlib are imported inside functions, so
``import epollkit`` stays light. Sliders that start experiments use ``continuous_update=False``; every
widget cell in a notebook is followed by a static default result for readers who cannot run it.
"""

from __future__ import annotations


def accept_explorer(strategy: str = "epoll-lt", workers: int = 4, connections: int = 200):
    """Pick a strategy, workers and connections, press Run: the live accept experiment's table and
    per-worker bars (or, without epoll, the recorded result nearest to the choice)."""
    import ipywidgets as w
    import matplotlib.pyplot as plt
    from IPython.display import display

    from . import data, plots, strategies
    from .notebook import live

    strat = w.Dropdown(options=list(strategies.CONTRACT_ACCEPT), value=strategy, description="strategy")
    nworkers = w.IntSlider(value=workers, min=1, max=16, description="workers",
                           continuous_update=False)
    nconn = w.IntSlider(value=connections, min=20, max=1000, step=20, description="connections",
                        continuous_update=False)
    button = w.Button(description="Run", button_style="primary", icon="play")
    out = w.Output()

    def run(_=None):
        out.clear_output(wait=True)
        with out:
            if live():
                from .lab import accept

                r = accept(strat.value, nworkers.value, nconn.value)
                note = f"live, Linux {r.kernel}"
            else:
                rs = data.find("accept", strategy=strat.value)
                r = min(rs, key=lambda x: abs(x.workers - nworkers.value))
                note = f"NOT LIVE: recorded, {data.describe('accept')}"
            print(f"{r.strategy}, {r.workers} workers, {r.connections} connections ({note}): "
                  f"{r.kernel_wakeups_per_connection:.2f} kernel wake-ups, "
                  f"{r.returns_per_connection:.2f} returns, {r.eagain_per_connection:.2f} EAGAIN "
                  f"per connection; lost {r.lost}; busiest worker {r.max_share:.0%}")
            fig, ax = plt.subplots(figsize=(7, 3))
            plots.per_worker_accepts(r, ax)
            plt.show()
            plt.close(fig)

    button.on_click(run)
    box = w.VBox([w.HBox([strat, button]), w.HBox([nworkers, nconn]), out])
    display(box)
    return box
