"""Build the model of a scenario file: the one bridge from the neutral format to the model."""

from __future__ import annotations

from ..scenarios.format import Scenario, load
from ..scenarios.generation import generation
from . import rules
from .machine import Setup
from .state import Epoll, State, Thread, ThreadState, World
from .threads import CallList


def setup(scenario, kernel="newest") -> Setup:
    """The model of a scenario: its world, initial state (every ``watch`` registered through
    ``epoll_ctl``), one :class:`CallList` program per thread and the kernel events.

    ``scenario``: a :class:`~epollkit.scenarios.format.Scenario`, or anything :func:`load` takes (a
    name in data/scenarios, a path, JSON text, a dict). ``kernel``: the rules to imitate -- "newest"
    (default: the model is pure, it does not look at the host), a release such as "5.10.20",
    "cascade" / "no-cascade", or a :class:`Generation` (e.g. one measured by
    :func:`epollkit.lab.detect_generation`). Pass :func:`epollkit.system.this_release` for this
    machine's rules."""
    sc = scenario if isinstance(scenario, Scenario) else load(scenario)
    gen = generation(kernel)
    label, cascade = gen.kernel, gen.cascade
    bounds: dict = {}
    for ev in sc.kernel:
        if ev[0] == "write":
            prev = bounds.get(ev[1], (0,))
            bounds[ev[1]] = prev + (prev[-1] + ev[2],)
    world = World(kinds=dict(sc.objects), boundaries={k: v[1:] for k, v in bounds.items()},
                  cascade=cascade, kernel=label, generation=gen)
    st = State()
    for o, kind in sc.objects.items():
        if kind == "epoll":
            st.epolls[o] = Epoll()
        elif kind == "stream":
            st.streams[o] = (0, 0)
        else:
            st.listeners[o] = (0, 0)
    programs = {n: CallList(calls) for n, calls in sc.threads.items()}
    for n, p in programs.items():
        st.threads[n] = Thread(n, ThreadState.RUNNING, p.start())
    for ep, fd, ev in sc.watch:
        rules.epoll_ctl(world, st, "add", ep, fd, ev, None)
    return Setup(sc.name, world, st, programs, sc.kernel, sc.order, "scenario", sc, sc.start)
