"""The record of the descriptor-vs-description chapter's live run (``epollkit descriptors --json``).

``demos``: one row per scenario, ``{"scenario", "title", "kernel": [outcome, ...], "model": [outcome, ...],
"agree"}`` (``model`` and ``agree`` are added by :func:`epollkit.conformance.descriptor_demos`; the
lab's own ``run_all()`` measures the kernel only); ``selectors``, ``asyncio``: what those libraries
did with a registered socket closed behind their back; ``kcmp``: ``kcmp(KCMP_EPOLL_TFD)`` answers, or
``{"live": false, "why": ...}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .base import Record


@dataclass(frozen=True)
class DescriptorDemos(Record):
    """One run of the chapter's demonstrations on this kernel."""

    EXPERIMENT = "descriptors"

    experiment: str = "descriptors"
    backend: str = "real"
    demos: list = field(default_factory=list)
    selectors: dict = field(default_factory=dict)
    asyncio: dict = field(default_factory=dict)
    kcmp: dict = field(default_factory=dict)
    kernel: str | None = None
    duration_s: float | None = None
    _rows_field = "demos"

    def demo(self, scenario: str) -> dict:
        for d in self.demos:
            if d["scenario"] == scenario:
                return d
        raise KeyError(f"no demo {scenario!r}; recorded: {', '.join(d['scenario'] for d in self.demos)}")

