"""The command line (contract: docs/architecture.md, "The command line").

Each subcommand lives in a module of this package with ``NAME``, ``HELP``, ``add_arguments(parser)``
and ``run(args) -> int``. Conventions, shared by all of them:

- ``--json`` prints exactly one JSON document on stdout;
- exit 2 with one line on stderr (no traceback) for bad arguments (argparse errors and ``ValueError``);
- exit 1 with one line for a failure at run time (no epoll here, fd limit, deadline passed);
- parameters are validated before any socket or thread is created.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys

from ..errors import EpollkitError
from ..validate import one_line, shown

# Subcommand modules, in the order `epollkit --help` lists them.
COMMANDS = (
    "accept",
    "read",
    "multiplex",
    "herd_latency",
    "reuseport_close",
    "uring_accept",
    "sim",
    "scenario",
    "descriptors",
    "record",
    "info",
)


class UsageError(Exception):
    """Bad command-line arguments (exit status 2)."""


_INT = re.compile(r"^[+-]?[0-9]+$")
_FLOAT = re.compile(r"^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$")


def strict_int(text: str) -> int:
    """An ASCII decimal integer: ``int()`` would also take "1_0", a full-width "４" or an Arabic "٣"."""
    if not _INT.match(text) or len(text) > 20:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a whole number")
    return int(text)


def strict_float(text: str) -> float:
    """An ASCII decimal number (no nan, inf, "1_0" or hex)."""
    if not _FLOAT.match(text) or len(text) > 40:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a number")
    return float(text)


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2, with no usage dump; ``type=int`` and
    ``type=float`` are strict (ASCII digits only), and a bad value's message ends with the option's
    help, which names its valid range ("worker threads, 1-512 (default 4)")."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register("type", int, strict_int)
        self.register("type", float, strict_float)

    def error(self, message):  # noqa: D401 - argparse API
        m = re.match(r"argument ([^:]+): ", message)
        if m and "invalid choice" not in message and "expected one argument" not in message:
            names = set(m.group(1).split("/"))
            for action in self._actions:
                if names & set(action.option_strings or [action.dest]) and action.help:
                    message = f"{message} (valid: {action.help})"
                    break
        raise UsageError(one_line(f"{self.prog}: {message}"))


def int_list(text: str) -> list[int]:
    """Parse a comma-separated list of integers, e.g. ``0,16,256,1024``."""
    try:
        values = [strict_int(x.strip()) for x in text.split(",") if x.strip() != ""]
    except (ValueError, argparse.ArgumentTypeError):
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list of integers, e.g. 0,16,256; got {text!r}"
        ) from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one integer")
    return values


def emit(record, args, table: str | None = None) -> None:
    """Print a record: one JSON document with ``--json``, else the readable table."""
    data = record.to_dict() if hasattr(record, "to_dict") else record
    if getattr(args, "json", False):
        sys.stdout.write(json.dumps(data) + "\n")
    else:
        sys.stdout.write((table if table is not None else json.dumps(data, indent=2)) + "\n")


def _load(name: str):
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"{__name__}.{name}":
            return None  # a command that has not been built yet
        raise


def build_parser() -> tuple[Parser, dict]:
    parser = Parser(
        prog="epollkit",
        description="Measure and model how Linux wakes threads (select, poll, epoll, accept, read).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    modules = {}
    for name in COMMANDS:
        mod = _load(name)
        if mod is None:
            continue
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        modules[mod.NAME] = mod
    return parser, modules


# What a run has started, seen through audit events: a ValueError raised after a socket or a process
# was made is a run-time failure (exit 1), not a bad argument (exit 2). Installed once per process.
_STARTS = frozenset({"socket.__new__", "subprocess.Popen", "os.fork", "os.forkpty", "os.posix_spawn",
                     "os.spawn", "os.exec"})
_started = [0]
_hooked = [False]


def _audit(event: str, _args) -> None:
    if event in _STARTS:
        _started[0] += 1


def _say(text: str) -> None:
    err = sys.stderr
    if err is None:  # stderr closed too: the exit status is all we can give
        return
    try:
        err.write(one_line(text) + "\n")
        err.flush()
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> int:
    if not _hooked[0]:
        sys.addaudithook(_audit)
        _hooked[0] = True
    try:
        parser, modules = build_parser()
        args = parser.parse_args(argv)
        if not args.command:
            raise UsageError(f"epollkit: choose a command: {', '.join(modules)}")
        if sys.stdout is None or getattr(sys.stdout, "closed", False):
            raise EpollkitError("standard output is closed: there is nowhere to print the result")
        started = _started[0]
        try:
            code = int(modules[args.command].run(args) or 0)
            sys.stdout.flush()
            return code
        except UnicodeEncodeError as exc:  # printing the result, after the run
            enc = getattr(sys.stdout, "encoding", "?")
            raise EpollkitError(f"cannot print the result: the output encoding {enc} cannot show "
                                f"{exc.object[exc.start:exc.end]!r}; set PYTHONIOENCODING=utf-8") from None
        except ValueError as exc:
            if _started[0] != started:  # something had started: not a bad argument
                raise EpollkitError(f"{type(exc).__name__}: {exc}") from None
            raise
    except (UsageError, ValueError) as exc:
        _say(f"{exc}" if str(exc).startswith("epollkit") else f"epollkit: {exc}")
        return 2
    except (EpollkitError, OSError) as exc:
        _say(f"epollkit: error: {exc}")
        return 1
    except KeyboardInterrupt:
        _say("epollkit: interrupted")
        return 130
    except Exception as exc:  # any other run-time failure: one line, never a traceback
        _say(f"epollkit: error: {type(exc).__name__}: {exc}")
        return 1
