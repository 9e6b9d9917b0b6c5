"""Reading a scenario file defensively: the bytes and the JSON, before the format's own checks.

A scenario file comes from the reader (a path on the command line, a name, a widget), so it may be
anything: a directory, a FIFO (``open()`` would block forever), ``/dev/zero`` (``read()`` never
ends), a 200 MB file, UTF-16, 100 000 nested arrays (``json`` raises RecursionError), a 5000-digit
integer, duplicate keys (``json`` keeps the last one silently), NaN. Each of these is refused here
with ONE ``ValueError`` line naming the file, before anything is parsed into a scenario:

- the path must name a regular file (checked with ``stat()``, which does not open it) of at most
  :data:`MAX_BYTES` bytes; at most ``MAX_BYTES + 1`` bytes are ever read (``/proc`` files say size 0);
- the text must be UTF-8 (a BOM is allowed), the JSON at most :data:`MAX_DEPTH` levels deep, with no
  duplicate keys, no NaN/Infinity and no integer longer than :data:`MAX_INT_DIGITS` digits.

The same limits hold for JSON text and for dicts given to ``sim.load()`` (:func:`check_tree`).
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

from ..validate import one_line, shown

MAX_BYTES = 256 * 1024  # the largest file in data/scenarios is under 5 KB
MAX_DEPTH = 12  # a scenario needs 6 levels (expect -> outcome -> thread -> results -> result)
MAX_INT_DIGITS = 12
MAX_NODES = 20_000  # values in one document (lists, dicts, strings, numbers)

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(r"[\[\]{}]")


def display_name(path: str) -> str:
    """A file's name as an error message shows it: the last part, control characters escaped, short."""
    name = Path(path).name or path
    return shown(name) if not name.isprintable() or len(name) > 60 else name


def read_file(path: str) -> str:
    """The text of a scenario file, or ValueError (one line naming the file) if it is not a readable
    regular UTF-8 file of at most MAX_BYTES bytes. Never blocks on a FIFO, never reads without end."""
    where = display_name(path)
    if path == "":
        raise ValueError("a scenario file name cannot be empty")
    try:
        st = os.stat(path)
    except OSError as exc:
        raise ValueError(f"{where}: cannot read the scenario file: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise ValueError(f"{where}: is a directory, not a scenario file")
    if not stat.S_ISREG(st.st_mode):
        kind = "a FIFO" if stat.S_ISFIFO(st.st_mode) else "a device" if (
            stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)) else "a socket" if stat.S_ISSOCK(
            st.st_mode) else "not a regular file"
        raise ValueError(f"{where}: is {kind}; a scenario is a regular file of at most {MAX_BYTES} bytes")
    if st.st_size > MAX_BYTES:
        raise ValueError(f"{where}: {st.st_size} bytes is too large for a scenario file "
                         f"(at most {MAX_BYTES})")
    try:
        # O_NONBLOCK: should the path have become a FIFO since stat(), open() still returns at once
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise ValueError(f"{where}: cannot read the scenario file: {exc.strerror}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"{where}: is not a regular file")
        chunks, total = [], 0
        while total <= MAX_BYTES:
            chunk = os.read(fd, MAX_BYTES + 1 - total)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise ValueError(f"{where}: cannot read the scenario file: {exc.strerror}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > MAX_BYTES:
        raise ValueError(f"{where}: more than {MAX_BYTES} bytes is too large for a scenario file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{where}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                         "save the scenario as UTF-8") from None


def parse(text: str, where: str):
    """JSON text -> Python values, refusing what a scenario never needs (see the module docstring)."""
    if len(text) > MAX_BYTES:
        raise ValueError(f"{where}: {len(text)} characters is too large for a scenario (at most {MAX_BYTES})")
    depth = deepest = 0
    for m in _BRACKET.finditer(_STRING.sub('""', text)):
        depth += 1 if m.group() in "[{" else -1
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            raise ValueError(f"{where}: nested more than {MAX_DEPTH} levels deep; a scenario needs at most 6")

    def pairs(items):
        out = {}
        for k, v in items:
            if k in out:
                raise ValueError(f"{where}: duplicate key {shown(k)} in one object")
            out[k] = v
        return out

    def integer(s):
        if len(s.lstrip("-")) > MAX_INT_DIGITS:
            raise ValueError(f"{where}: an integer of {len(s.lstrip('-'))} digits; at most {MAX_INT_DIGITS}")
        return int(s)

    def constant(s):
        raise ValueError(f"{where}: {s} is not a number a scenario can hold")

    try:
        return json.loads(text, object_pairs_hook=pairs, parse_int=integer, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:  # pragma: no cover - the depth scan above refuses it first
        raise ValueError(f"{where}: nested too deeply") from None


def check_tree(data, where: str) -> None:
    """A document given as Python values (a dict for ``sim.load()``): the same limits as a file's."""
    stack = [(data, 1)]
    nodes = 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise ValueError(f"{where}: more than {MAX_NODES} values; a scenario is small")
        if depth > MAX_DEPTH and isinstance(value, (dict, list, tuple)):  # as the text scan counts
            raise ValueError(f"{where}: nested more than {MAX_DEPTH} levels deep; a scenario needs at most 6")
        if isinstance(value, dict):
            for k, v in value.items():
                if not isinstance(k, str):
                    raise ValueError(f"{where}: key {shown(k)} is not a string")
                stack.append((v, depth + 1))
        elif isinstance(value, (list, tuple)):
            stack.extend((v, depth + 1) for v in value)
        elif isinstance(value, str):
            if len(value) > MAX_BYTES:
                raise ValueError(f"{where}: a string of {len(value)} characters; a scenario is small")
        elif isinstance(value, bool) or value is None:
            pass
        elif isinstance(value, int):
            if value.bit_length() > 40:
                raise ValueError(f"{where}: the integer {shown(value)} is too large for a scenario")
        elif isinstance(value, float):
            pass
        else:
            raise ValueError(f"{where}: {shown(value)} ({type(value).__name__}) is not a JSON value")


def printable(where: str, value: str) -> str:
    """A string shown on a terminal (a name, a description): no control or bidi characters."""
    bad = next((c for c in value if not c.isprintable() and c not in "\n\t"), None)
    if bad is not None:
        raise ValueError(one_line(f"{where}: {shown(value)} holds the control character {bad!r}; "
                                  "use printable text"))
    return value
