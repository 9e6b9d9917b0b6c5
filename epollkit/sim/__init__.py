"""epollkit.sim: a pure model of how Linux wakes threads (the rules and their kernel functions:
docs/kernel-rules.md).

No threads, sockets, clocks, printing or global ``random``: a run is a list of *moves*, and the same
moves always give the same steps. Modules, one per concept: ``state`` (objects, ``ThreadState``, the
checked ``transition``), ``rules`` (the kernel functions: ``ep_poll_callback``, ``__wake_up_common``,
``ep_send_events``/``ep_done_scan``, ``ep_insert``/``ep_modify``, ``inet_csk_accept``, ...),
``threads`` (calls, scenario programs, one thread step), ``machine`` (who may move, what a move does),
``trace`` (steps and views), ``explore`` (every interleaving), ``build`` (a scenario's Setup; the file
format itself is :mod:`epollkit.scenarios`),
``programs`` (the strategies as loops; ``accept()``/``read()``), ``post`` (the seed post's six traces),
``properties`` (the contract properties).

The trace API (stable: plots, widgets and notebooks build on it)
-----------------------------------------------------------------

Build a scenario and step through it::

    from epollkit import sim
    sc = sim.load("post-lt-accept-wasted-wakeup")   # a name in data/scenarios, a path, JSON text or a dict
    setup = sim.setup(sc)                # the model of it, with the newest kernel rules;
                                         # sim.setup(sc, kernel="5.10") imitates 5.5-5.12,
                                         # kernel=system.this_release() this machine's
    tr = sim.start(setup)                # an empty Trace
    tr.enabled                           # ("Thread A", "Thread B"): who can move next (widget buttons)
    tr = tr.then("Thread B")             # one step longer (a NEW Trace; "B" works too). A move that
                                         # is not enabled raises ValueError with the reason.
    tr = sim.replay(setup, ["B", "A", "Kernel", "A", "B"])   # the same, from a schedule
    tr = tr.undo()                       # undo = replay the prefix (the model is deterministic)
    tr.done, tr.outcome                  # no move left?  {thread: [result, ...]} (scenarios)
    print(tr.text())                     # "1. **Thread B:** calls epoll_wait(e0): ..." numbered lines
    tr.to_list()                         # [{"actor": "Kernel" | "Thread A" | ..., "text": ...}, ...]

Each ``tr.steps[i]`` is a :class:`Step`: ``index`` (1-based), ``actor`` ("Kernel" or "Thread A"),
``move`` (the schedule entry), ``text``, ``shows`` (the properties first shown at this step, e.g.
``("herd",)``), ``woken`` (the threads this step woke, in wake order: ``("B", "A")``), ``exhibits``
(``shows`` plus the moving thread's own ``eagain`` / ``eagain-first`` / ``wasted-wakeup`` every time
they happen, not only the first time in the run) and ``view``, the state after the step, a
:class:`View`:

- ``view.threads``   {"A": "asleep in epoll_wait", "B": "woken, runnable", ...} (``ThreadState`` values)
- ``view.queued``    {"l0": 1, "s0": 0}: connections in a listener's accept queue, bytes in a stream
- ``view.ready``     {"e0": ("l0",)}: each epoll instance's ready list, head first
- ``view.sleepers``  {"e0": ("B", "A"), "l0": ("C",)}: who a wake-up takes, in order (``ep->wq`` is
                     LIFO; blocked acceptors FIFO)
- ``view.waiters``   {"l0": ("e0", "e1 (exclusive)", "Thread C (accept)")}: a source's wait queue
                     in walk order
- ``view.disarmed``  ("e0/l0",): ONESHOT items waiting for EPOLL_CTL_MOD

Explore, run at random, and the strategies::

    ex = sim.explore(setup)              # every interleaving (states de-duplicated)
    ex.schedules, ex.states              # complete interleavings, distinct states
    ex.outcome_set()                     # [{thread: [result, ...]}, ...] (scenarios)
    ex.outcomes                          # [(outcome, count), ...] most frequent first
    ex.witnesses["herd"]                 # the shortest complete Trace that shows "herd"
    sim.run(setup, seed=3)               # one seeded random interleaving (a Trace)
    sim.run(setup)                       # the canonical run: the first enabled move each time
    sim.run(setup, policy="paced")       # a paced client on one CPU: each kernel event finds every
                                         # thread asleep; the woken run one at a time in wake order
                                         # (Step.woken), each until it sleeps again

    r = sim.accept("epoll-lt", workers=2, connections=1, explore=True)   # an AcceptResult, backend="sim"
    r = sim.read("et", readers=2, messages=2, message_size=2048, read_size=2048, seed=1)
    r = sim.accept("epoll-lt", 4, 20, schedule="paced")   # the paced run's record (params["schedule"])
    sim.accept_setup("epoll-et", 2, 2)   # the Setup behind it: step it with sim.start / sim.replay

Kernel rules (the one place they differ by release: the level-triggered cascade of ``ep_done_scan()``,
absent from 5.5-5.12 until 7fab29e35630, backported to 5.10.36 / 5.11.20 / 5.12.3): every setup takes
``kernel=`` -- default "newest" (the model never looks at the host), or "cascade", "no-cascade",
"5.10.20", ``system.this_release()`` ... ::

    g = sim.generation("5.10.20")        # a Generation: .kernel, .cascade, .certain, .why, .describe()
    g = lab.detect_generation()          # MEASURED on this kernel (epollkit.lab: runs
                                         # lt-one-write-two-threads live); pass it on:
                                         # sim.accept(..., kernel=g)
    setup.world.generation               # the rules a setup imitates; records say it in params["rules"]

The seed post's traces: ``sim.post_replay(name)`` (names in ``sim.POST_TRACES``) gives a
:class:`PostReplay` with the post's steps matched to model steps, and where the kernel cannot do what
the post says, ``stopped_at``, ``reason`` and the kernel's own continuation.

Properties (contract names, :mod:`epollkit.sim.properties`): ``herd``, ``wasted-wakeup``, ``eagain``,
``starvation``, ``split``, ``reorder``, ``stuck``; and one more, ``eagain-first`` (the first
accept()/read() after a wait found nothing: the post's "confused" thread). ``sim.PROPERTIES`` lists
all of them, contract names first.
"""

from __future__ import annotations

from ..scenarios.format import Scenario, load
from ..scenarios.generation import Generation, generation
from .build import setup
from .explore import DEFAULT_BUDGET, Exploration, StateBudgetExceeded, explore
from .machine import KERNEL, Machine, Setup
from .post import POST_TRACES, PostReplay, post_replay
from .programs import accept, accept_setup, read, read_setup
from .properties import NAMES as PROPERTIES
from .state import ThreadState
from .trace import POLICIES, Step, Trace, View, replay, run

start = Trace.start

__all__ = [
    "DEFAULT_BUDGET",
    "KERNEL",
    "POLICIES",
    "POST_TRACES",
    "PROPERTIES",
    "Exploration",
    "Generation",
    "Machine",
    "PostReplay",
    "Scenario",
    "Setup",
    "StateBudgetExceeded",
    "Step",
    "ThreadState",
    "Trace",
    "View",
    "accept",
    "accept_setup",
    "explore",
    "generation",
    "load",
    "post_replay",
    "read",
    "read_setup",
    "replay",
    "run",
    "setup",
    "start",
]
