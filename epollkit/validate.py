"""Parameter checks shared by every live experiment: one line naming the bad value and the valid range,
raised as ``ValueError`` before any socket or thread exists."""

from __future__ import annotations

import math


def check_int(name: str, value, lo: int, hi: int) -> int:
    """``value`` is an int (not a bool) with ``lo <= value <= hi``."""
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer from {lo} to {hi}, not {shown(value)}")
    return value


def check_number(name: str, value, lo: float, hi: float, *, open_low: bool = False,
                 open_hi: bool = False) -> float:
    """``value`` is a finite int or float between ``lo`` and ``hi`` (each end closed unless open)."""
    ok = (not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
          and (lo < value if open_low else lo <= value) and (value < hi if open_hi else value <= hi))
    if not ok:
        low = f"> {lo:g}" if open_low else f">= {lo:g}"
        high = f"< {hi:g}" if open_hi else f"<= {hi:g}"
        raise ValueError(f"{name} must be a number {low} and {high}, not {shown(value)}")
    return float(value)


def check_deadline(value) -> float:
    """A deadline in seconds: > 0 and at most an hour."""
    return check_number("deadline", value, 0, 3600, open_low=True)


# ------------------------------------------------------------------ showing a bad value (one short line)

SHOWN_MAX = 60  # characters of a bad value echoed in an error message


def shown(value, limit: int = SHOWN_MAX) -> str:
    """``repr(value)`` for an error message: at most ``limit`` characters (a 10 MB value is not echoed
    back), control characters escaped (``repr`` does that for strings), never an exception (a
    5000-digit int has no ``repr`` under Python's int/str limit, a hostile ``__repr__`` may raise)."""
    if isinstance(value, str) and len(value) > limit:
        return repr(value[:limit])[:-1] + f"...' ({len(value)} characters)"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 4 * limit:
        return f"<an integer of about {int(value.bit_length() * 0.30103) + 1} digits>"
    try:
        import reprlib

        r = reprlib.Repr()
        r.maxstring, r.maxother, r.maxlist, r.maxdict, r.maxlevel = limit, limit, 6, 4, 3
        text = r.repr(value)
    except Exception:  # noqa: BLE001 - a value that cannot even be shown
        text = f"<a {type(value).__name__}>"
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= limit + 20 else text[:limit] + f"... ({len(text)} characters)"


def one_line(message: str, limit: int = 400) -> str:
    """An error message as ONE short terminal line: control characters (a newline in a file name,
    U+202E) escaped, cut to ``limit`` characters."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(message))
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def check_bool(name: str, value) -> bool:
    """``value`` is True or False (not "no", not 0)."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, not {shown(value)}")
    return value


def check_callable(name: str, value, *, optional: bool = True):
    """``value`` is callable (or None when ``optional``)."""
    if value is None and optional:
        return None
    if not callable(value):
        raise ValueError(f"{name} must be a function{' or None' if optional else ''}, not {shown(value)}")
    return value


def check_each(name: str, values, check) -> list:
    """Every element of a sweep's list checked BEFORE the first run: ``check(f"{name}[i]", v)`` for
    each; ``values`` must be a non-empty list or tuple (a string is not a list of names)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)) or not values:
        raise ValueError(f"{name} must be a non-empty list, not {shown(values)}")
    return [check(f"{name}[{i}]", v) for i, v in enumerate(values)]
