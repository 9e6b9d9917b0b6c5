"""Bounds over every reachable state of a strategy's model (pure): e.g. the most threads between
"my wait returned" and "my accept() is done" at once."""

from __future__ import annotations

from .explore import StateBudgetExceeded
from .machine import Machine
from .programs import accept_setup


def model_max_accepting(strategy: str, workers: int = 3, connections: int = 3, *,
                        budget: int = 200_000) -> dict:
    """Pure (the model, no sockets): over EVERY reachable state of ``epollkit.sim``'s accept
    experiment, the most threads that are at once between "my wait returned" and "my accept() is
    done" (a worker program's ``accept`` phase). Returns ``{"strategy", "workers", "connections",
    "states", "max_accepting"}``; raises ``StateBudgetExceeded`` past ``budget`` states (a shared
    level-triggered instance at 3 x 3 has over a million). ET + ONESHOT keeps it at 1:
    ``ep_send_events()`` disarms the item when it reports it, and only the thread's own
    ``EPOLL_CTL_MOD`` re-arms it."""
    setup = accept_setup(strategy, workers, connections)
    m = Machine(setup)
    seen = {setup.initial.key()}
    todo = [setup.initial]
    best = 0
    while todo:
        st = todo.pop()
        best = max(best, sum(1 for t in st.threads.values() if t.local[0] == "accept"))
        for move in m.enabled(st):
            nxt = m.apply(st, move)
            k = nxt.key()
            if k not in seen:
                seen.add(k)
                todo.append(nxt)
                if len(seen) > budget:
                    raise StateBudgetExceeded(f"{strategy} x{workers}, {connections} connections has "
                                              f"more than {budget} states; use fewer")
    return {"strategy": strategy, "workers": workers, "connections": connections, "states": len(seen),
            "max_accepting": best}
