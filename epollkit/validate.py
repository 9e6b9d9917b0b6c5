"""Parameter checks shared by every live experiment: one line naming the bad value and the valid range,
raised as ``ValueError`` before any socket or thread exists."""

from __future__ import annotations

import math


def check_int(name: str, value, lo: int, hi: int) -> int:
    """``value`` is an int (not a bool) with ``lo <= value <= hi``."""
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer from {lo} to {hi}, not {value!r}")
    return value


def check_number(name: str, value, lo: float, hi: float, *, open_low: bool = False,
                 open_hi: bool = False) -> float:
    """``value`` is a finite int or float between ``lo`` and ``hi`` (each end closed unless open)."""
    ok = (not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
          and (lo < value if open_low else lo <= value) and (value < hi if open_hi else value <= hi))
    if not ok:
        low = f"> {lo:g}" if open_low else f">= {lo:g}"
        high = f"< {hi:g}" if open_hi else f"<= {hi:g}"
        raise ValueError(f"{name} must be a number {low} and {high}, not {value!r}")
    return float(value)


def check_deadline(value) -> float:
    """A deadline in seconds: > 0 and at most an hour."""
    return check_number("deadline", value, 0, 3600, open_low=True)
