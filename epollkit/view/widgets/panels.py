"""Run panels: a few controls, a Run button, the figure of the run below them -- live, or recorded results
saying NOT LIVE (notebooks 02, 04, 05, 06). ipywidgets and matplotlib are imported on use."""

from __future__ import annotations


def accept_explorer(strategy: str = "epoll-lt", workers: int = 4, connections: int = 200):
    """Pick a strategy, workers and connections, press Run: the live accept experiment's table and
    per-worker bars (or, without epoll, the recorded result nearest to the choice)."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    from ... import strategies
    from .. import plots, report
    from ..live import live, recorded

    strat = w.Dropdown(options=list(strategies.CONTRACT_ACCEPT), value=strategy, description="strategy")
    nworkers = w.IntSlider(value=workers, min=1, max=16, description="workers",
                           continuous_update=False)
    nconn = w.IntSlider(value=connections, min=20, max=1000, step=20, description="connections",
                        continuous_update=False)

    def draw():
        if live():
            from ...lab import accept

            r = accept(strat.value, nworkers.value, nconn.value)
        else:
            r, = recorded("accept", strategy=strat.value, nearest=lambda x: abs(x.workers - nworkers.value))
        print(report.summary(r))
        fig, ax = plt.subplots(figsize=(7, 3))
        plots.per_worker_accepts(r, ax)
        _show(fig)

    return _run_panel([[strat], [nworkers, nconn]], draw)


def read_race_explorer(strategy: str = "lt", readers: int = 2, think_us: int = 0,
                       message_size: int = 64, messages: int = 20_000):
    """Pick a read strategy, readers, think time and message size, press Run: the live read
    experiment's split/reorder counts (or, without epoll, the nearest recorded result)."""
    import ipywidgets as w

    from ...lab.experiments.read import SUPPORTED
    from .. import report
    from ..live import live, recorded

    strat = w.Dropdown(options=list(SUPPORTED), value=strategy, description="strategy")
    nreaders = w.IntSlider(value=readers, min=1, max=8, description="readers", continuous_update=False)
    think = w.IntSlider(value=think_us, min=0, max=2000, step=50, description="think us",
                        continuous_update=False)
    msize = w.Dropdown(options=[16, 64, 100, 1000, 4096], value=message_size, description="msg bytes")

    def draw():
        if live():
            from ...lab import read

            r = read(strat.value, nreaders.value, messages, message_size=msize.value,
                     think_us=think.value)
        else:
            r, = recorded("read", nearest=lambda x: (  # this strategy first, then the nearest settings
                x.strategy != strat.value, abs(x.readers - nreaders.value),
                abs((x.params or {}).get("think_us", 0) - think.value), abs(x.message_size - msize.value)))
        print(report.summary(r))

    return _run_panel([[strat, msize], [nreaders, think]], draw)


def queue_explorer(workers: int = 4, utilization: float = 0.8, cv: float = 1.0, requests: int = 1500,
                   service_ms: float = 2.0):
    """Sliders for workers N, load and service-time spread (cv): Run serves the same requests from one
    shared ONESHOT epoll set and from per-worker shares, and plots the latency percentiles beside the
    formulas. Without epoll it shows the formulas only."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    from ...analysis import queueing
    from .. import plots
    from ..live import live

    nworkers = w.IntSlider(value=workers, min=1, max=16, description="workers N", continuous_update=False)
    load = w.FloatSlider(value=utilization, min=0.1, max=0.95, step=0.05, description="load rho",
                         continuous_update=False)
    spread = w.FloatSlider(value=cv, min=0.0, max=3.0, step=0.25, description="service cv",
                           continuous_update=False)

    def draw():
        n, u, c = nworkers.value, load.value, spread.value
        cmp = queueing.compare(u, n, service_ms, cv=c)
        rows = {}
        if live():
            from ...lab.experiments.serve import serve

            for s in ("shared", "sharded"):
                r = serve(s, n, u, requests=requests, service_ms=service_ms, cv=c)
                rows[s] = r.latency_ms
            print(f"live, Linux {r.kernel}: {requests} requests, mean service {service_ms} ms, cv {c}")
        else:
            print("NOT LIVE (no epoll here): formulas only")
        fig, ax = plt.subplots(figsize=(7, 3))
        keys = ["mean", "p50", "p90", "p99"]
        for k, s in enumerate(("shared", "sharded")):
            form = [cmp[s]["mean_response"]] + [cmp[s].get(f"response_p{q}") for q in (50, 90, 99)]
            xs = [i + (k - 0.5) * 0.4 for i in range(4)]
            if s in rows:
                ax.bar(xs, [rows[s][q] for q in keys], 0.4, color=plots.color(s), label=f"{s}, measured")
            ax.plot(xs, [f if f is not None else float("nan") for f in form], "k_", markersize=18,
                    label="formula" if k == 0 else None)
            print(f"  {s:8} formula ({cmp[s]['name']}): mean {cmp[s]['mean_response']:.2f} ms"
                  + (f"; measured mean {rows[s]['mean']:.2f}, p99 {rows[s]['p99']:.2f} ms" if s in rows
                     else ""))
        ax.set_xticks(range(4))
        ax.set_xticklabels(keys)
        ax.set_ylabel("response time (ms)")
        ax.set_title(f"{n} workers at load {u:.2f}, cv {c:g}", fontsize="medium")
        ax.legend(fontsize="small")
        _show(fig)

    return _run_panel([[nworkers], [load, spread]], draw)


def _run_panel(rows, draw):
    """The shape every experiment widget shares: rows of controls, a Run button at the end of the first
    row, and an output area that ``draw()`` refills on each click."""
    import ipywidgets as w
    from IPython.display import display

    button = w.Button(description="Run", button_style="primary", icon="play")
    out = w.Output()

    def run(_=None):
        out.clear_output(wait=True)
        with out:
            draw()

    button.on_click(run)
    first, *rest = rows
    box = w.VBox([w.HBox([*first, button]), *(w.HBox(r) for r in rest), out])
    display(box)
    return box


def _show(fig) -> None:
    """Show a finished figure in the current output and free it (the next click draws a new one)."""
    import matplotlib.pyplot as plt

    plt.show()
    plt.close(fig)


def wake_order_explorer(strategy: str = "epoll-exclusive", workers: int = 4, connections: int = 60,
                        work_ms: float = 0.0, rate: float = 400.0):
    """Pick a strategy, workers, per-connection work (a sleep) and the connection rate; Run shows which
    worker accepted each connection and each worker's share (live; without epoll, the recorded order
    of the same strategy)."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    from .. import plots, report
    from ..live import live, recorded

    names = ["blocking", "epoll-lt", "epoll-et", "epoll-oneshot", "epoll-exclusive",
             "epoll-exclusive-rotate", "reuseport", "reuseport-cbpf-random"]
    strat = w.Dropdown(options=names, value=strategy, description="strategy")
    nworkers = w.IntSlider(value=workers, min=2, max=8, description="workers", continuous_update=False)
    nconn = w.IntSlider(value=connections, min=10, max=200, step=10, description="connections",
                        continuous_update=False)
    work = w.FloatSlider(value=work_ms, min=0.0, max=20.0, step=0.5, description="work ms",
                         continuous_update=False)
    pace = w.FloatLogSlider(value=rate, base=10, min=1.5, max=3.7, description="conn/s",
                            continuous_update=False)

    def draw():
        if live():
            from ...lab.experiments.sweeps import work_sweep

            (r,) = work_sweep(strat.value, (work.value,), workers=nworkers.value,
                              connections=nconn.value, rate=pace.value)
        else:  # this strategy's first recorded run, else the first recorded run
            r, = recorded("accept_fixes", experiment="accept", nearest=lambda x: x.strategy != strat.value)
        print(report.summary(r))
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 2.6), gridspec_kw={"width_ratios": [3, 1]})
        plots.accept_order_strip([r], a1, title="who accepted each connection")
        plots.per_worker_accepts(r, a2, title="per worker")
        fig.tight_layout()
        _show(fig)

    return _run_panel([[strat], [nworkers, nconn], [work, pace]], draw)


def reuseport_explorer(listeners: int = 2, queued: int = 50):
    """Sliders for listeners and queued connections: Run closes listener 0 of a fresh reuseport group
    and shows what was queued where and how many connections the client saw reset (live only; without
    epoll the recorded run)."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    from .. import plots, report
    from ..live import live, recorded

    nlisteners = w.IntSlider(value=listeners, min=2, max=8, description="listeners", continuous_update=False)
    nqueued = w.IntSlider(value=queued, min=10, max=500, step=10, description="queued",
                          continuous_update=False)

    def draw():
        if live():
            from ...lab.experiments.reuseport import reuseport_close

            r = reuseport_close(nlisteners.value, nqueued.value)
        else:
            r, = recorded("reuseport", experiment="reuseport-close", nearest=lambda x: 0)
        print(report.summary(r))
        fig, ax = plt.subplots(figsize=(6, 2.8))
        plots.reuseport_close(r, ax)
        _show(fig)

    return _run_panel([[nlisteners, nqueued]], draw)
