"""Kernel generations: which wake-up rules the model imitates for a kernel release (no measuring here).

The rules differ in one place, the level-triggered cascade (``ep_done_scan()`` waking one more sleeper
when items remain on the ready list). Mainline 5.5-5.12 lacked it (339ddb53d373 removed it,
7fab29e35630 "fs/epoll: restore waking from ep_done_scan()" restored it in 5.13) and the fix went to
the stable series still maintained in May 2021: 5.10.36 (checked in the 5.10.36 release announcement),
5.11.20 and 5.12.3 (the same stable batch). Vendor kernels ("5.10.0-21-amd64") do not show their
upstream patch level, so for them the release string cannot decide: the model then assumes the cascade
and says it is unsure. The measurement wins: ``epollkit scenario lt-one-write-two-threads --backend
real`` or :func:`epollkit.lab.detect_generation`. See docs/kernel-rules.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..system import this_release

# The first stable release of each series that carries 7fab29e35630 ("fs/epoll: restore waking from
# ep_done_scan()"): 5.10.36 per its release announcement (11 May 2021); 5.11.20 and 5.12.3 were
# released the same day from the same stable queue. 5.5-5.9 had reached end of life before the fix.
CASCADE_BACKPORTS = {10: 36, 11: 20, 12: 3}


@dataclass(frozen=True)
class Generation:
    """Which kernel rules the model imitates. ``kernel``: the release (or "newest", "no-cascade");
    ``cascade``: ``ep_done_scan()`` wakes one more sleeper when items remain; ``certain``: False when
    the release string cannot tell (vendor kernels); ``why``: one sentence."""

    kernel: str
    cascade: bool
    certain: bool = True
    why: str = ""
    source: str = "asked"  # "this machine" (its own release), "asked" (another release), "measured"

    def describe(self) -> str:
        rules = ("LT cascade: ep_done_scan() wakes one more sleeper" if self.cascade
                 else "no LT cascade (as 5.5-5.12 before 7fab29e35630)")
        return f"{self.kernel} ({self.source}): {rules}" + ("" if self.certain else f"; UNSURE: {self.why}")

    def to_dict(self) -> dict:
        return {"kernel": self.kernel, "cascade": self.cascade, "certain": self.certain,
                "source": self.source, "why": self.why, "rules": self.describe()}


def generation(release: str | Generation | None = "newest") -> Generation:
    """The rules to imitate for a kernel release (default "newest"; ``None``: this machine's release,
    :func:`epollkit.system.this_release` -- the one impure default, asked for explicitly).

    "newest"/"cascade" and "no-cascade" name a rule set directly. A release like "6.18.4", "5.10.20"
    or "5.10" (a series: its first release) is judged by the upstream history: 5.5-5.9 and 5.10-5.12
    below :data:`CASCADE_BACKPORTS` have no cascade. A vendor release whose patch level is 0
    ("5.10.0-21-amd64") hides the stable patches it carries: the cascade is assumed, ``certain`` is
    False, and only a measurement settles it (``epollkit.lab.detect_generation()``)."""
    if isinstance(release, Generation):
        return release  # e.g. what detect_generation() measured
    if release is None:
        release = this_release()
    text = str(release)
    source = "this machine" if text == this_release() else "asked"
    if text in ("newest", "cascade"):
        return Generation(text, True, True, "the newest rules", source)
    if text == "no-cascade":
        return Generation(text, False, True, "the rules of 5.5-5.12 before 7fab29e35630", source)
    m = re.match(r"^(\d+)\.(\d+)(?:\.(\d+))?(.*)$", text)
    if not m:
        raise ValueError(f"kernel release {release!r} is not like '5.10' or '6.18.4'; "
                         "or use 'newest', 'cascade', 'no-cascade'")
    major, minor = int(m.group(1)), int(m.group(2))
    patch = int(m.group(3)) if m.group(3) is not None else None
    vendor = bool(m.group(4))
    if not (major == 5 and 5 <= minor <= 12):
        return Generation(text, True, True, "outside 5.5-5.12: the cascade is there", source)
    fixed_in = CASCADE_BACKPORTS.get(minor)
    if fixed_in is None:
        return Generation(text, False, not vendor,
                          f"5.{minor} ended before the fix; a vendor kernel may still carry it", source)
    if patch is None:
        return Generation(text, False, False, f"'{text}' names a series: 5.{minor}.{fixed_in} and later "
                                              "have the cascade again; give the full release", source)
    if patch >= fixed_in:
        return Generation(text, True, True, f"5.{minor}.{fixed_in} and later carry 7fab29e35630", source)
    if vendor and patch == 0:
        why = (f"a vendor release string hides the stable patch level; most 5.{minor} vendor kernels are "
               f"past 5.{minor}.{fixed_in} (measure it: lab.detect_generation())")
        return Generation(text, True, False, why, source)
    return Generation(text, False, not vendor, f"before 5.{minor}.{fixed_in}, which restored the cascade",
                      source)
