"""The playground's buttons (notebook 08): dup / close / open / fork / ADD / DEL / write / epoll_wait /
read on the model (:class:`epollkit.view.descriptors.Playground`), and a check of the same calls on this
kernel. ipywidgets and matplotlib are imported inside the function."""

from __future__ import annotations

from ..descriptors import Playground, check
from ..plots.descriptors import draw_tables


def playground_widget():
    """Buttons: dup / close / open / fork / ADD / DEL / write / epoll_wait / read, on the model. Shows
    the three tables and what epoll_wait reports after every press."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    pg = Playground()
    proc = w.ToggleButtons(options=["parent", "child"], value="parent", description="process")
    fd = w.Dropdown(options=pg.names(), value="s0", description="descriptor")
    out = w.Output()
    buttons = {k: w.Button(description=k, layout=w.Layout(width="88px")) for k in
               ("dup", "close", "open", "fork", "ADD", "DEL", "write s0", "epoll_wait", "read",
                "check on this kernel")}

    def refresh():
        names = pg.names(proc.value) or ["s0"]
        fd.options = names
        if fd.value not in names:
            fd.value = names[0]
        out.clear_output(wait=True)
        with out:
            print("\n".join(pg.log[-8:]) or "press a button (the model: fdtable.py rules)")
            fig, ax = plt.subplots(figsize=(7.5, 3.2))
            draw_tables(pg.tables(), ax, "model: the tables now")
            plt.show()
            plt.close(fig)

    def press(name):
        def go(_b):
            p, f = proc.value, fd.value
            {"dup": lambda: pg.dup(f, p), "close": lambda: pg.close(f, p), "open": lambda: pg.open(p),
             "fork": pg.fork, "ADD": lambda: pg.ctl("add", f, p), "DEL": lambda: pg.ctl("del", f, p),
             "write s0": lambda: pg.write("s0"), "epoll_wait": lambda: pg.wait(p),
             "read": lambda: pg.read(f, p), "check on this kernel": lambda: None}[name]()
            refresh()
            if name == "check on this kernel":
                with out:
                    check(pg)
        return go

    for k, b in buttons.items():
        b.on_click(press(k))
    proc.observe(lambda _c: refresh(), names="value")
    refresh()
    return w.VBox([w.HBox([proc, fd]), w.HBox(list(buttons.values())[:5]), w.HBox(list(buttons.values())[5:]),
                   out])
