"""Property-based: generated command lines and scenario documents, valid and broken, each held to the
contract -- exit 0, 1 or 2 (130 only for Ctrl-C); on failure exactly ONE short line on stderr and no
traceback; a bad argument (exit 2) started nothing (no socket, no process, no thread); and after every
run the process has the same fds, threads and children as before.

Budget: ``EPOLLKIT_FUZZ_EXAMPLES`` examples per property (default 25: a few seconds in ``make test``);
``make fuzz`` runs 400 (minutes). Valid commands are drawn with small sizes so they run in well under
a second; the bad ones are drawn from the kinds of value the December 2026 campaign found trouble
with (huge, negative, non-ASCII digits, NaN, control characters, wrong JSON types, deep nesting).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import threading
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from epollkit import cli as cli_pkg  # noqa: E402
from epollkit import sim  # noqa: E402
from epollkit.strategies import ACCEPT, READ  # noqa: E402
from epollkit.system import has_epoll  # noqa: E402

from .conftest import assert_same_resources, snapshot  # noqa: E402

EXAMPLES = int(os.environ.get("EPOLLKIT_FUZZ_EXAMPLES", "25"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 25,
                suppress_health_check=list(HealthCheck), database=None)
SCENARIOS = sorted(p.stem for p in (Path(__file__).resolve().parents[1] / "data/scenarios").glob("*.json"))
LIVE = has_epoll() and os.environ.get("EPOLLKIT_NO_EPOLL") != "1"

NASTY = st.sampled_from([
    "", " ", "0", "-0", "-1", "-5", "1e400", "nan", "inf", "-inf", "1.5", "\u0663", "1_0", "\uff14", "0x10",
    "1e3", "9" * 30, "x" * 3000, "\n", "a\u202eb", "--json", "1,", ",", "0,-1", "1,x", "10**9", "1000000000",
    "100001", "513", "65", "3601", "0.0", "1e-300",
]) | st.text(max_size=12).filter(lambda s: "\x00" not in s)


def opt(flag: str, valid):
    """``[flag, value]``: nothing (1 in 5), a valid value (3 in 5) or a nasty one (1 in 5), so about a
    quarter of the generated command lines are entirely valid and run."""
    return st.sampled_from(["none", "valid", "valid", "valid", "nasty"]).flatmap(
        lambda how: st.just([]) if how == "none" else valid.map(lambda v: [flag, str(v)])
        if how == "valid" else NASTY.map(lambda v: [flag, v]))


def flag(name: str):
    return st.sampled_from([[], [name]])


def command(name: str, *parts):
    return st.tuples(*parts).map(lambda ps: [name] + [x for p in ps for x in p])


COMMANDS = ("accept", "read", "multiplex", "herd-latency", "reuseport-close", "sim", "scenario", "record",
            "info")
SMALL_F = st.sampled_from(["0.001", "0.5", "5", "10"])
ARGV = st.one_of(
    command("accept", st.sampled_from(list(ACCEPT)).map(lambda s: ["--strategy", s]) | NASTY.map(
        lambda v: ["--strategy", v]),
        opt("--workers", st.integers(1, 3)), opt("--connections", st.integers(1, 8)),
        st.one_of(opt("--rate", st.sampled_from([200, 2000])), flag("--burst")),
        opt("--deadline", st.sampled_from([5, 10])), opt("--rotate-every", st.integers(1, 4)),
        flag("--json")),
    command("read", st.sampled_from(list(READ)).map(lambda s: ["--strategy", s]),
            opt("--readers", st.integers(1, 3)), st.sampled_from([["--messages", "50"]]).map(list)
            | NASTY.map(lambda v: ["--messages", v]), opt("--message-size", st.integers(1, 256)),
            opt("--read-size", st.integers(1, 4096)), opt("--think-us", st.sampled_from([0, 10])),
            opt("--sender", st.sampled_from(["thread", "process"])), opt("--deadline", SMALL_F),
            flag("--json")),
    command("multiplex", st.sampled_from([["--fds", "1,10"]]) | NASTY.map(lambda v: ["--fds", v]),
            st.sampled_from([["--calls", "5"]]) | NASTY.map(lambda v: ["--calls", v]),
            opt("--apis", st.sampled_from(["select", "poll,epoll"])), flag("--json")),
    command("herd-latency", st.sampled_from(["select", "epoll-exclusive"]).map(lambda s: ["--strategy", s]),
            st.sampled_from([["--waiters", "0,2"]]) | NASTY.map(lambda v: ["--waiters", v]),
            st.sampled_from([["--repeats", "2"]]) | NASTY.map(lambda v: ["--repeats", v]),
            opt("--gap", st.sampled_from(["0", "0.001"])), opt("--deadline", SMALL_F), flag("--json")),
    command("reuseport-close", opt("--listeners", st.integers(2, 3)), opt("--queued", st.integers(0, 5)),
            opt("--close", st.integers(0, 1)), opt("--deadline", SMALL_F), flag("--json")),
    command("sim", st.just(["accept"]), st.sampled_from(list(ACCEPT)).map(lambda s: ["--strategy", s]),
            opt("--workers", st.integers(1, 2)), opt("--connections", st.integers(1, 2)),
            st.one_of(flag("--explore"), opt("--seed", st.integers(0, 9)), flag("--paced")),
            opt("--kernel", st.sampled_from(["newest", "5.10.20", "no-cascade"])), flag("--json")),
    command("sim", st.just(["read"]), st.sampled_from(list(READ)).map(lambda s: ["--strategy", s]),
            opt("--readers", st.integers(1, 2)), opt("--messages", st.integers(1, 2)),
            opt("--message-size", st.integers(1, 100)), opt("--read-size", st.integers(1, 100)),
            st.one_of(flag("--explore"), opt("--seed", st.integers(0, 9)), flag("--paced")),
            opt("--kernel", st.sampled_from(["newest", "5.10.20", "no-cascade"])), flag("--json")),
    command("scenario", st.sampled_from(SCENARIOS).map(lambda s: [s]) | NASTY.map(lambda v: [v]),
            opt("--backend", st.sampled_from(["sim", "real"])), flag("--explore"),
            opt("--seed", st.integers(0, 3)), opt("--repeat", st.integers(1, 2)), flag("--json")),
    command("record", NASTY.map(lambda v: ["--only", v]), opt("--out", st.just("/dev/null/x"))),
    command("info", flag("--json")),
    st.lists(NASTY, max_size=4),
)


def _held_to_the_contract(argv, run) -> tuple[int, str, str]:
    """Run ``run()`` (which calls the CLI) and check the contract; returns (code, stdout, stderr)."""
    before = snapshot()
    threads_before = threading.active_count()
    started_before = cli_pkg._started[0]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run()
    text = err.getvalue()
    lines = [ln for ln in text.split("\n") if ln]
    assert code in (0, 1, 2), (argv, code, text[:300])
    assert "Traceback" not in text, (argv, text[:500])
    if code != 0:
        assert len(lines) == 1, (argv, code, text[:500])
        assert len(lines[0]) <= 500, (argv, len(lines[0]))
        assert lines[0].startswith("epollkit"), (argv, lines[0][:200])
    if code == 2:
        assert cli_pkg._started[0] == started_before, f"{argv}: exit 2 after a socket or process was made"
        assert threading.active_count() == threads_before, f"{argv}: exit 2 after a thread was started"
    if code == 0 and "--json" in argv:
        json.loads(out.getvalue())
    assert_same_resources(before, grace=2.0)
    if os.environ.get("EPOLLKIT_FUZZ_LOG"):
        with open(os.environ["EPOLLKIT_FUZZ_LOG"], "a") as log:
            log.write(json.dumps([code, argv[:6], lines[:1]])[:400] + "\n")
    event(f"{argv[0] if argv and argv[0] in COMMANDS else 'no command'} exit {code}")
    return code, out.getvalue(), text


@FUZZ
@given(ARGV)
def test_every_generated_command_line_keeps_the_contract(argv):
    if not LIVE and argv and argv[0] in ("accept", "read", "multiplex", "herd-latency", "reuseport-close"):
        argv = argv + ["--help-is-not-an-option"]  # bad args only, where nothing can run live
    _held_to_the_contract(argv, lambda: cli_pkg.main(argv))


# ------------------------------------------------------------------------------ scenario documents

JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-2, 70), st.integers(),
                      st.floats(allow_nan=False),
                      st.text(max_size=8), st.sampled_from(["e0", "s0", "l0", "A", "EPOLLIN", "EPOLLET",
                                                            "EPOLLEXCLUSIVE", "read", "accept", "x" * 500]))
JSON = st.recursive(JSON_LEAF, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(
    st.text(max_size=6) | st.sampled_from(["call", "fd", "epoll", "events", "bytes", "write", "connect"]),
    kids, max_size=4), max_leaves=12)
BASES = [json.loads((Path(__file__).resolve().parents[1] / f"data/scenarios/{n}.json").read_text())
         for n in SCENARIOS]


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


@st.composite
def documents(draw):
    """A scenario document: one of data/scenarios, unchanged (valid) or with a few mutations (most
    of them broken): a value replaced by generated JSON, a key deleted, a list made a string, deep
    nesting, or raw text that is not JSON at all."""
    d = json.loads(json.dumps(draw(st.sampled_from(BASES))))
    for _ in range(draw(st.integers(0, 3))):
        paths = [p for p in _paths(d) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        node = d
        for k in path[:-1]:
            node = node[k]
        how = draw(st.sampled_from(["replace", "delete", "stringify", "deepen", "multiply"]))
        last = path[-1]
        if how == "replace":
            node[last] = draw(JSON)
        elif how == "delete" and isinstance(node, dict):
            del node[last]
        elif how == "stringify":
            node[last] = json.dumps(node[last])[:20]
        elif how == "deepen":
            v = node[last]
            for _ in range(draw(st.integers(1, 40))):
                v = [v]
            node[last] = v
        elif how == "multiply" and isinstance(node[last], list):
            node[last] = node[last] * draw(st.integers(2, 80))
    raw = draw(st.sampled_from(["json", "json", "json", "json", "text"]))
    if raw == "text":
        return draw(st.sampled_from(["", "{", "[]", "{\"name\": NaN}", "\ufeff{}", "\x00\xff"]))
    return d


@FUZZ
@given(documents(), st.sampled_from(["sim", "sim", "explore", "real"]))
def test_every_generated_scenario_document_keeps_the_contract(document, how):
    # the loader: a Scenario or ONE ValueError line, nothing else
    try:
        sc = sim.load(document if isinstance(document, dict) else document or "{}")
    except ValueError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 500, str(exc)[:500]
        sc = None
    # the command line, from a file
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "generated.json")
        with open(path, "w", encoding="utf-8", errors="surrogatepass") as f:
            f.write(document if isinstance(document, str) else json.dumps(document))
        argv = ["scenario", path, "--json"]
        if how == "explore":
            argv.append("--explore")
        elif how == "real":
            if not LIVE:
                return
            argv += ["--backend", "real"]
        code, out, err = _held_to_the_contract(argv, lambda: cli_pkg.main(argv))
    if sc is None:
        assert code == 2, (code, err)
    elif code == 0:
        assert json.loads(out)["scenario"] == sc.name
