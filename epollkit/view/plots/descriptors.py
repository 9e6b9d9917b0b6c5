"""The three tables of the descriptor-vs-description chapter (notebook 08), drawn: each process's
descriptor table (number -> open file description), the descriptions with their reference counts, and
each epoll instance's interest list keyed by (description, number) -- ``struct epoll_filefd`` -- with a
registration whose number no longer refers to its description drawn red (a *ghost*). Input: the plain
data of :func:`epollkit.sim.fdtable.snapshot`. matplotlib is imported inside functions.
"""

from __future__ import annotations

GHOST = "#c0392b"
LIVE_COLOUR = "#2c7fb8"
CHILD_COLOUR = "#7b3294"


def _box(ax, x, y, text, colour="#444", fill="white", weight="normal", size=8):
    ax.text(x, y, text, ha="center", va="center", fontsize=size, weight=weight, color=colour,
            bbox={"boxstyle": "round,pad=0.3", "fc": fill, "ec": colour, "lw": 1})


def draw_tables(tables: dict, ax=None, title: str | None = None):
    """Processes' descriptor tables (left) -> open file descriptions (middle) <- epoll interest lists
    (right). Returns the Axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _fig, ax = plt.subplots(figsize=(7.5, 3.2))
    ax.set_axis_off()
    ax.set_xlim(-0.6, 2.6)
    descs = sorted(tables.get("descriptions", {}))
    # every description an item still points at is shown, even with no descriptor left
    for items in tables.get("interest", {}).values():
        for it in items:
            if it["description"] not in descs:
                descs.append(it["description"])
    rows = []
    for p, fds in tables.get("processes", {}).items():
        rows.append((p, None))
        rows += [(p, f) for f in fds if not f.get("epoll")]
    items = [(ep, it) for ep, its in tables.get("interest", {}).items() for it in its]
    n = max(len(rows), len(descs), len(items) + 1, 3)
    ax.set_ylim(-n + 0.3, 1.0)
    ypos = {}
    for i, d in enumerate(descs):
        y = -i * max(1, n // max(1, len(descs))) * 0.8
        refs = tables.get("descriptions", {}).get(d, 0)
        _box(ax, 1.0, y, f"{d}\n{refs} ref{'s' if refs != 1 else ''}",
             colour="#999" if refs == 0 else "#222", fill="#f4f4f4")
        ypos[d] = y
    ax.text(-0.3, 0.75, "descriptor tables", ha="center", fontsize=8, weight="bold")
    ax.text(1.0, 0.75, "open file descriptions", ha="center", fontsize=8, weight="bold")
    ax.text(2.2, 0.75, "epoll interest list", ha="center", fontsize=8, weight="bold")
    open_pairs = set()
    for i, (p, f) in enumerate(rows):
        y = -i * 0.8
        colour = CHILD_COLOUR if p != "parent" else LIVE_COLOUR
        if f is None:
            ax.text(-0.3, y, f"{p} process", ha="center", fontsize=8, color=colour, style="italic")
            continue
        _box(ax, -0.3, y, f"fd {f['number']} ({', '.join(f.get('names') or [f['label']])})", colour=colour)
        open_pairs.add((f["description"], f["number"]))
        if f["description"] in ypos:
            ax.annotate("", xy=(0.72, ypos[f["description"]]), xytext=(0.05, y),
                        arrowprops={"arrowstyle": "->", "color": colour, "lw": 0.9})
    for i, (ep, it) in enumerate(items):
        y = -i * 0.8
        ghost = (it["description"], it["number"]) not in open_pairs
        colour = GHOST if ghost else "#222"
        mark = " READY" if it["ready"] else ""
        text = f"{ep}: ({it['description']}, fd {it['number']}){mark}"
        text += "\nghost: fd closed" if ghost else ""
        _box(ax, 2.2, y, text, colour=colour)
        if it["description"] in ypos:
            ax.annotate("", xy=(1.28, ypos[it["description"]]), xytext=(1.78, y),
                        arrowprops={"arrowstyle": "->", "color": colour, "lw": 0.9, "ls": "--"})
    if not items:
        ax.text(2.2, 0, "(empty)", ha="center", fontsize=8, color="#777")
    if title:
        ax.set_title(title, fontsize=9, loc="left")
    return ax


def tables_strip(steps: list, *, cols: int = 2, title: str | None = None):
    """The three tables after each step of a model replay, one panel per step. Returns the Figure."""
    import matplotlib.pyplot as plt

    rows = (len(steps) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(7.5 * cols / 2 * 1.2, 2.9 * rows), squeeze=False)
    for ax, s in zip(axes.flat, steps, strict=False):
        draw_tables(s["tables"], ax, _wrap(f"{s['index']}. {s['actor']}: {s['text']}", 60))
    for ax in list(axes.flat)[len(steps):]:
        ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)[:3])
