"""Pictures of model traces (swimlane, text rendering) and the model-beside-lab figure."""

from __future__ import annotations

import subprocess
import sys

import matplotlib
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from epollkit import data, plots, sim  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def _eagain_witness():
    return sim.explore(sim.accept_setup("epoll-lt", 2, 1)).witnesses["eagain"]


def test_swimlane_has_one_lane_per_thread_plus_the_kernel():
    ax = plots.swimlane(sim.run(sim.accept_setup("select", 3, 1)))
    heads = [t for t in _texts(ax) if t.startswith(("Kernel", "Thread"))]
    assert heads == ["Kernel", "Thread A", "Thread B", "Thread C"]


def test_swimlane_numbers_every_step_downwards():
    tr = _eagain_witness()
    ax = plots.swimlane(tr)
    numbers = {t.get_text(): t.get_position()[1] for t in ax.texts if t.get_text().isdigit()}
    assert [int(k) for k in numbers] == list(range(1, len(tr) + 1))
    ys = [numbers[str(i)] for i in range(1, len(tr) + 1)]
    assert ys == sorted(ys)
    lo, hi = ax.get_ylim()
    assert lo > hi  # inverted: step 1 at the top


def test_swimlane_marks_the_step_where_a_property_first_shows():
    tr = _eagain_witness()
    step = next(s for s in tr.steps if "eagain" in s.shows)
    ax = plots.swimlane(tr)
    marks = [t for t in ax.texts if t.get_text().startswith("◀") and "eagain" in t.get_text()]
    assert len(marks) == 1
    number = next(t for t in ax.texts if t.get_text() == str(step.index))
    assert marks[0].get_position()[1] == number.get_position()[1]


def test_swimlane_draws_one_arrow_per_wake_up():
    # shared LT, one connection: the kernel wakes one sleeper, its harvest wakes the other
    tr = sim.replay(sim.accept_setup("epoll-lt", 2, 1), ["A", "B", "Kernel", "B", "A"])
    ax = plots.swimlane(tr)
    arrows = [c for c in ax.texts if isinstance(c, matplotlib.text.Annotation)]
    assert len(arrows) == 2


def test_select_herd_draws_an_arrow_to_every_sleeper_in_wake_order():
    tr = sim.replay(sim.accept_setup("select", 3, 1), ["A", "B", "C", "Kernel"])
    ax = plots.swimlane(tr)
    arrows = [c for c in ax.texts if isinstance(c, matplotlib.text.Annotation)]
    assert len(arrows) == 3
    assert "herd" in " ".join(_texts(ax))
    # top to bottom in the order the walk woke them (step.woken): C, B, A -> lanes 3, 2, 1
    by_height = sorted(arrows, key=lambda a: a.xy[1])
    assert [a.xy[0] for a in by_height] == [3, 2, 1] and tr.steps[-1].woken == ("C", "B", "A")


def test_a_rearm_wakeup_is_drawn_from_the_lane_of_the_thread_that_rearmed():
    tr = sim.replay(sim.accept_setup("epoll-oneshot", 2, 2, kernel="newest"),
                    ["A", "B", "Kernel", "B", "Kernel", "B", "B"])
    ax = plots.swimlane(tr)
    arrows = [c for c in ax.texts if isinstance(c, matplotlib.text.Annotation)]
    last = max(arrows, key=lambda a: a.xy[1])
    assert (last.xyann[0], last.xy[0]) == (2, 1)  # from Thread B's lane to Thread A's


def test_swimlane_shows_queue_ready_list_and_sleepers_in_wake_order():
    tr = sim.replay(sim.accept_setup("epoll-lt", 2, 1), ["A", "B", "Kernel"])
    ax = plots.swimlane(tr)
    # after step 2 both sleep, B last: B is woken first (ep->wq is LIFO); step 3 queues a connection
    assert "l0:0 | e0[] | wq e0:BA" in _texts(ax)
    assert "l0:1 | e0[l0] | wq e0:A" in _texts(ax)


def test_swimlane_stays_readable_for_25_steps():
    tr = sim.run(sim.accept_setup("epoll-lt", 3, 3))  # the canonical run: 33 steps
    tr = sim.replay(tr.machine.setup, tr.schedule[:25])
    ax = plots.swimlane(tr)
    w, h = ax.figure.get_size_inches()
    assert h < 11 and w < 12
    labels = [t for t in ax.texts if t.get_bbox_patch() is not None and t.get_text() not in ("",)]
    assert len(labels) == 25
    assert all(len(t.get_text()) <= 32 for t in labels)


def test_swimlane_draws_into_a_given_axes():
    _fig, ax = plt.subplots()
    assert plots.swimlane(_eagain_witness(), ax) is ax


def test_step_labels_name_the_call_and_its_result():
    labels = [plots.step_label(s) for s in _eagain_witness().steps]
    assert "epoll_wait(e0) → sleeps" in labels
    assert "conn 1 → l0" in labels
    assert "accept(l0) → EAGAIN" in labels
    assert "accept(l0) → conn 1" in labels
    assert "epoll_wait(e0) → l0 ready" in labels


def test_read_step_labels_count_bytes():
    tr = sim.run(sim.read_setup("et", 2, 1, 2048, 2048))
    labels = [plots.step_label(s) for s in tr.steps]
    assert "+2048 B → s0" in labels
    assert "read(s0, 2048) → 2048 B" in labels
    assert "deliver → 2048 B" in labels


def test_trace_text_numbers_every_step_and_gives_the_state_after_it():
    tr = _eagain_witness()
    text = plots.trace_text(tr)
    lines = text.splitlines()
    assert lines[0].startswith("0. start")
    assert len(lines) == 1 + 2 * len(tr)
    for s in tr.steps:
        assert s.line() in lines
    assert plots.trace_text(tr, state=False) == tr.text()


def test_post_swimlane_marks_where_the_post_parts_from_the_kernel():
    rep = sim.post_replay("et-accept-starvation")
    assert rep.stopped_at is not None
    ax = plots.post_swimlane(rep)
    joined = " ".join(_texts(ax))
    assert f"✗ post step {rep.stopped_at}" in joined
    assert "cannot happen on a real kernel" in joined
    # the kernel's own continuation is drawn under the line
    numbers = [t.get_text() for t in ax.texts if t.get_text().isdigit()]
    assert len(numbers) == len(rep.instead.steps)


def test_post_swimlane_tags_each_model_step_with_its_post_step():
    rep = sim.post_replay("lt-accept-wasted-wakeup")
    ax = plots.post_swimlane(rep)
    tags = [t.get_text() for t in ax.texts if t.get_text().startswith("P") and t.get_text()[1:].isdigit()]
    assert len(tags) == len(rep.trace.steps)
    assert "✗" not in " ".join(_texts(ax))


def test_outcome_ranges_span_every_outcome_the_explorer_reaches():
    r = sim.accept("epoll-lt", 2, 1, explore=True, kernel="newest")
    rng = plots.outcome_ranges(r)
    assert rng["kernel_wakeups_per_connection"] == (2, 2)
    assert rng["returns_per_connection"] == (1, 2)
    assert rng["eagain_per_connection"] == (0, 1)
    with pytest.raises(ValueError, match="explore=True"):
        plots.outcome_ranges(sim.accept("epoll-lt", 2, 1))


def test_model_vs_lab_draws_a_panel_per_metric():
    names = ["epoll-lt", "epoll-exclusive"]
    real = [r for r in data.find("accept") if r.strategy in names and r.workers == 2]
    model = [sim.accept(s, 2, 4, schedule="paced") for s in names]
    ranges = {s: plots.outcome_ranges(sim.accept(s, 2, 1, explore=True, kernel="newest")) for s in names}
    axes = plots.model_vs_lab(real, model, ranges)
    assert len(axes) == len(plots.ACCEPT_METRICS)
    assert [t.get_text() for t in axes[0].get_xticklabels()] == names
    assert "model, paced run" in [t.get_text() for t in axes[0].get_legend().get_texts()]


def test_import_epollkit_plots_does_not_import_matplotlib():
    code = "import sys, epollkit, epollkit.view.plots, epollkit.sim; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_step_labels_come_from_the_steps_fields_not_from_their_prose():
    """A step whose prose says nothing the old regexes knew still gets its label from its fields."""
    import dataclasses

    tr = sim.run(sim.accept_setup("epoll-lt", 2, 2))
    labels = [plots.step_label(dataclasses.replace(s, text="(prose withheld)")) for s in tr.steps]
    assert labels == [plots.step_label(s) for s in tr.steps]
    assert "conn 1 → l0" in labels and "accept(l0) → conn 1" in labels and "accept(l0) → EAGAIN" in labels
    kernel = [s for s in tr.steps if s.actor == "Kernel"]
    assert kernel[0].event == {"kind": "connect", "target": "l0", "number": 1} and kernel[0].call is None
    woken = next(s for s in tr.steps if s.resumed)
    assert woken.call.label() == "epoll_wait(e0)" and woken.result == [["l0", ["EPOLLIN"]]]
    assert any(s.wasted for s in tr.steps) and tr.steps[0].result == "sleeps"


def test_a_cbpf_kernel_step_and_a_blocking_accept_are_labelled_like_the_others():
    tr = sim.run(sim.accept_setup("reuseport-cbpf-cpu", 2, 2))
    assert [plots.step_label(s) for s in tr.steps if s.actor == "Kernel"][0].startswith("conn 1 → l")
    tr = sim.run(sim.accept_setup("blocking", 2, 1))
    assert "accept(l0) → sleeps" in [plots.step_label(s) for s in tr.steps]
