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
import sys

from ..errors import EpollkitError

# Subcommand modules, in the order `epollkit --help` lists them.
COMMANDS = (
    "accept",
    "read",
    "multiplex",
    "herd_latency",
    "reuseport_close",
    "sim",
    "scenario",
    "record",
    "info",
)


class UsageError(Exception):
    """Bad command-line arguments (exit status 2)."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2, with no usage dump."""

    def error(self, message):  # noqa: D401 - argparse API
        raise UsageError(f"{self.prog}: {message}")


def int_list(text: str) -> list[int]:
    """Parse a comma-separated list of integers, e.g. ``0,16,256,1024``."""
    try:
        values = [int(x) for x in text.split(",") if x.strip() != ""]
    except ValueError:
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


def main(argv: list[str] | None = None) -> int:
    parser, modules = build_parser()
    try:
        args = parser.parse_args(argv)
        if not args.command:
            raise UsageError(f"epollkit: choose a command: {', '.join(modules)}")
        return int(modules[args.command].run(args) or 0)
    except (UsageError, ValueError) as exc:
        sys.stderr.write(f"{exc}\n" if str(exc).startswith("epollkit") else f"epollkit: {exc}\n")
        return 2
    except (EpollkitError, OSError) as exc:
        sys.stderr.write(f"epollkit: error: {exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("epollkit: interrupted\n")
        return 130
    except Exception as exc:  # any other run-time failure: one line, never a traceback
        sys.stderr.write(f"epollkit: error: {type(exc).__name__}: {exc}\n")
        return 1
