"""Published figures to set beside live measurements, as data, each with its source.

Every published table the notebooks cite is here exactly as published (numbers are never
rounded, filled in or "corrected"; a figure the source does not give is ``None``). Each :class:`Table`
names its ``source`` (a URL), who published it and when, and what was measured, so a notebook can put
"Majkowski (2017): 2.383 ms" beside "this kernel: ..." and let the reader follow the link.

Plain Python only: no pandas unless ``Table.to_frame()`` is called.

    >>> from epollkit.analysis.published import MAJKOWSKI_SELECT
    >>> MAJKOWSKI_SELECT.lookup("waiters", 1024)["avg_ms"]
    2.383
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Table:
    """A published table: ``columns`` names, ``rows`` of values (``None`` = not published).

    name      short identifier (the module attribute, lower-case)
    title     what the table shows, in a sentence
    source    URL of the publication
    author    who published it, and when (``"Marek Majkowski, 2017-01-06"``)
    setup     how the figures were obtained, as the source describes it
    units     column -> unit (``"ms"``, ``"%"``...), for axis labels
    notes     anything a reader must know to compare (e.g. "avg is a mean, not a median")
    code      where the source's code lives, if published
    """

    name: str
    title: str
    source: str
    author: str
    columns: tuple[str, ...]
    rows: tuple[tuple, ...]
    setup: str = ""
    units: dict = field(default_factory=dict)
    notes: str = ""
    code: str = ""

    def __post_init__(self):
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(f"{self.name}: row {row!r} does not match columns {self.columns!r}")

    def records(self) -> list[dict[str, Any]]:
        """The rows as dicts keyed by column name."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def column(self, name: str) -> list:
        """One column's values, in row order."""
        if name not in self.columns:
            raise ValueError(f"{self.name} has no column {name!r}; columns: {', '.join(self.columns)}")
        i = self.columns.index(name)
        return [row[i] for row in self.rows]

    def lookup(self, key: str, value) -> dict[str, Any]:
        """The first row whose ``key`` column equals ``value``, as a dict."""
        for rec in self.records():
            if rec.get(key) == value:
                return rec
        raise KeyError(f"{self.name}: no row with {key} = {value!r}")

    def citation(self) -> str:
        """One line naming the source: ``"Marek Majkowski, 2017-01-06: <url>"``."""
        return f"{self.author}: {self.source}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "title": self.title, "source": self.source, "author": self.author,
            "setup": self.setup, "units": dict(self.units), "notes": self.notes, "code": self.code,
            "columns": list(self.columns), "rows": [list(r) for r in self.rows],
        }

    def to_frame(self):
        """A pandas DataFrame of the rows (imports pandas lazily)."""
        import pandas as pd

        return pd.DataFrame(self.records(), columns=list(self.columns))


@dataclass(frozen=True)
class Finding:
    """A published result that is a statement rather than a table of numbers."""

    name: str
    claim: str
    source: str
    author: str
    figures: dict = field(default_factory=dict)
    code: str = ""

    def citation(self) -> str:
        return f"{self.author}: {self.source}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "claim": self.claim, "source": self.source, "author": self.author,
                "figures": dict(self.figures), "code": self.code}


# ------------------------------------------------------------------------- Majkowski, select (2017)

MAJKOWSKI_SELECT_URL = "https://idea.popcount.org/2017-01-06-select-is-fundamentally-broken/"
MAJKOWSKI_EPOLL_1_URL = "https://idea.popcount.org/2017-02-20-epoll-is-fundamentally-broken-12/"
MAJKOWSKI_EPOLL_2_URL = "https://idea.popcount.org/2017-03-20-epoll-is-fundamentally-broken-22/"
SELECT_HISTORY_URL = "https://idea.popcount.org/2016-11-01-a-brief-history-of-select2/"

MAJKOWSKI_SELECT = Table(
    name="majkowski_select",
    title="Latency of one non-blocking connect() against the number of processes blocked in select() "
          "on the listening socket",
    source=MAJKOWSKI_SELECT_URL,
    author="Marek Majkowski, 2017-01-06",
    columns=("waiters", "min_ms", "avg_ms", "sd_ms"),
    rows=(
        (0, None, 0.067, None),
        (128, None, 0.503, None),
        (256, None, 0.874, None),
        (512, None, 1.252, None),
        (1024, 1.810, 2.383, 0.142),
        (2048, 3.456, 3.983, 0.435),
        (4096, 7.754, 8.966, 1.158),
        (8192, 14.838, 16.973, 1.713),
        (16384, 27.672, 33.586, 2.725),
    ),
    setup="A server forks N processes, each blocked in select() on one loopback listening socket; a "
          "client times a non-blocking connect(), which dispatches the wake-ups inline. 16 connects "
          "per point, 1 s apart.",
    units={"min_ms": "ms", "avg_ms": "ms", "sd_ms": "ms"},
    notes="avg is a mean over 16 connects (epollkit reports medians); waiters are processes, "
          "not threads; the cost grows linearly with the number of waiters.",
    code="https://github.com/majek/dump/tree/master/select-sucks",
)

MAJKOWSKI_SELECT_WIDE = Table(
    name="majkowski_select_wide",
    title="The same connect() latency when every process also watches 1019 extra (idle) fds",
    source=MAJKOWSKI_SELECT_URL,
    author="Marek Majkowski, 2017-01-06",
    columns=("waiters", "extra_fds", "avg_ms"),
    rows=((1024, 1019, 100.9), (16384, 1019, 1545.7)),
    setup="As majkowski_select, with 1019 dup()ed pipe fds added to each select() set.",
    units={"avg_ms": "ms"},
    notes="The cost is linear in waiters times watched fds.",
    code="https://github.com/majek/dump/tree/master/select-sucks",
)

MAJKOWSKI_EPOLL_DUP_CLOSE = Finding(
    name="majkowski_epoll_dup_close",
    claim="dup() + close() of a registered fd leaves an epoll subscription that can no longer be "
          "removed: events keep arriving for the closed fd number.",
    source=MAJKOWSKI_EPOLL_2_URL,
    author="Marek Majkowski, 2017-03-20",
    code="https://github.com/majek/dump/blob/master/epoll/epoll-dup-example.c",
)

# ----------------------------------------------------------------------- Cloudflare accept (2017)

CLOUDFLARE_URL = "https://blog.cloudflare.com/the-sad-state-of-linux-socket-balancing/"
CLOUDFLARE_CODE = "https://github.com/cloudflare/cloudflare-blog/tree/master/2017-10-accept-balancing"

CLOUDFLARE_ACCEPT_ORDER = Table(
    name="cloudflare_accept_order",
    title="Which of 3 forked workers accepted each of 6 sequential connections",
    source=CLOUDFLARE_URL,
    author="Cloudflare (Marek Majkowski), 2017-10-23",
    columns=("strategy", "workers", "connections", "order"),
    rows=(
        ("blocking", 3, 6, "2 1 0 2 1 0"),
        ("epoll-exclusive", 3, 6, "0 0 0 0 0 0"),
    ),
    setup="Workers all blocked in accept() (FIFO, round robin), or each in its own epoll with "
          "EPOLLIN|EPOLLEXCLUSIVE (the same worker every time).",
    notes="order: worker index per connection, as published (a string of space-separated indices).",
    code=CLOUDFLARE_CODE,
)

CLOUDFLARE_CPU_SHARE = Table(
    name="cloudflare_cpu_share",
    title="CPU use of the busiest and the least busy NGINX worker in production",
    source=CLOUDFLARE_URL,
    author="Cloudflare (Marek Majkowski), 2017-10-23",
    columns=("setup", "busiest_pct", "least_busy_pct"),
    rows=(
        ("shared queue", 30.0, None),
        ("SO_REUSEPORT", 13.2, 9.3),
    ),
    units={"busiest_pct": "%", "least_busy_pct": "%"},
    notes="shared queue: the busiest worker 'near 30%', the last 'almost none' (no figure published).",
    code=CLOUDFLARE_CODE,
)

CLOUDFLARE_LATENCY = Table(
    name="cloudflare_latency",
    title="Request latency, 100k CPU-heavy requests, 200 concurrent, no keepalive, 12 workers",
    source=CLOUDFLARE_URL,
    author="Cloudflare (Marek Majkowski), 2017-10-23",
    columns=("setup", "avg_ms", "median_ms", "max_ms", "sd_ms"),
    rows=(
        ("shared queue", 30.39, 30.28, 72.65, 1.58),
        ("SO_REUSEPORT", 31.37, 24.67, 144.55, 25.27),
    ),
    units={"avg_ms": "ms", "median_ms": "ms", "max_ms": "ms", "sd_ms": "ms"},
    notes="A shared queue keeps the spread small; per-worker queues let a busy worker's queue grow "
          "while others idle.",
    code=CLOUDFLARE_CODE,
)

# --------------------------------------------------------------------------------- other figures

LWN_REUSEPORT_URL = "https://lwn.net/Articles/542629/"
EPOLLEXCLUSIVE_COMMIT_URL = "https://github.com/torvalds/linux/commit/df0108c5da56"
NGINX_REUSEPORT_URL = "https://www.nginx.com/blog/socket-sharding-nginx-release-1-9-1/"
NODE_CLUSTER_URL = "https://nodejs.org/api/cluster.html"
LTP_EPOLL_WAIT_URL = "https://github.com/linux-test-project/ltp/tree/master/testcases/kernel/syscalls/epoll_wait"
YELP_URL = "https://engineeringblog.yelp.com/2015/04/true-zero-downtime-haproxy-reloads.html"

NGINX_REUSEPORT = Table(
    name="nginx_reuseport",
    title="NGINX 1.9.1 socket sharding: latency without and with the reuseport option",
    source=NGINX_REUSEPORT_URL,
    author="NGINX, Inc., 2015",
    columns=("setup", "latency_mean_ms", "latency_sd_ms"),
    rows=(("default (shared listener)", 15.65, 26.59), ("reuseport", 12.35, 3.15)),
    units={"latency_mean_ms": "ms", "latency_sd_ms": "ms"},
    notes="The same post reports 2-3x more requests/s with reuseport.",
)

LTP_EPOLL_WAIT = Table(
    name="ltp_epoll_wait",
    title="LTP epoll_wait15/16: processes woken by one write to a pipe each watches in its own epoll (ET)",
    source=LTP_EPOLL_WAIT_URL,
    author="Linux Test Project",
    columns=("test", "flags", "processes", "woken_per_write"),
    rows=(
        ("epoll_wait15", "EPOLLIN|EPOLLET", 8, 8),
        ("epoll_wait16", "EPOLLIN|EPOLLET|EPOLLEXCLUSIVE", 8, 1),
    ),
)

OTHER_FINDINGS = (
    Finding(
        name="lwn_reuseport",
        claim="An application accepting 40,000 connections/s: blocking accept() showed up to a 3:1 "
              "imbalance between threads; with SO_REUSEPORT the spread was uniform (4-tuple hash). "
              "Defect: when a listener closes, connections in its queue (and mid-handshake) are reset.",
        source=LWN_REUSEPORT_URL,
        author="LWN (Michael Kerrisk), 2013",
        figures={"connections_per_s": 40_000, "blocking_imbalance": "3:1"},
    ),
    Finding(
        name="epollexclusive_commit",
        claim="EPOLLEXCLUSIVE (Linux 4.5): one workload went from 860 s to 24 s.",
        source=EPOLLEXCLUSIVE_COMMIT_URL,
        author="Jason Baron, kernel commit df0108c5da56 (2016)",
        figures={"before_s": 860, "after_s": 24},
    ),
    Finding(
        name="node_cluster",
        claim="With the operating system balancing connections, over 70% of connections landed on "
              "2 of 8 processes.",
        source=NODE_CLUSTER_URL,
        author="Node.js documentation (cluster module)",
        figures={"share_pct": 70, "processes": 2, "of": 8},
    ),
    Finding(
        name="yelp_haproxy",
        claim="HAProxy reloads: SYNs queued on the old process's SO_REUSEPORT socket when it closes "
              "are reset; the workaround holds SYNs during the reload.",
        source=YELP_URL,
        author="Yelp Engineering, 2015-04",
    ),
)

# -------------------------------------------------------------- queueing (computed, not measured)

QUEUEING_URL = "https://en.wikipedia.org/wiki/M/M/c_queue"

QUEUEING = Table(
    name="queueing",
    title="Mean time in system (W) and waiting (Wq): one shared queue (M/M/c) vs a queue per worker "
          "(c x M/M/1), in mean service times (mu = 1)",
    source=QUEUEING_URL,
    author="standard queueing theory (Erlang C); the formulas of epollkit.analysis.queueing",
    columns=("c", "rho", "W_shared", "W_per_worker", "Wq_shared", "Wq_per_worker"),
    rows=(
        (2, 0.8, 2.78, 5.00, 1.78, 4.00),
        (4, 0.8, 1.75, 5.00, 0.75, 4.00),
        (12, 0.8, 1.15, 5.00, 0.15, 4.00),
        (12, 0.9, 1.53, 10.0, 0.53, 9.00),
    ),
    setup="Computed: per-worker W = 1/(mu - lambda/c); shared Wq = C(c, A)/(c mu - lambda), "
          "W = Wq + 1/mu, with C the Erlang C formula.",
    notes="Computed values, not measurements.",
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        MAJKOWSKI_SELECT, MAJKOWSKI_SELECT_WIDE, CLOUDFLARE_ACCEPT_ORDER, CLOUDFLARE_CPU_SHARE,
        CLOUDFLARE_LATENCY, NGINX_REUSEPORT, LTP_EPOLL_WAIT, QUEUEING,
    )
}

FINDINGS: dict[str, Finding] = {f.name: f for f in (MAJKOWSKI_EPOLL_DUP_CLOSE, *OTHER_FINDINGS)}


def cloudflare_order(strategy: str) -> list[int]:
    """Cloudflare's published accept order for ``blocking`` or ``epoll-exclusive`` as a list of ints."""
    return [int(x) for x in CLOUDFLARE_ACCEPT_ORDER.lookup("strategy", strategy)["order"].split()]


def majkowski_select_ms(waiters: int) -> float:
    """Majkowski's published mean connect() latency (ms) at ``waiters`` processes in select()."""
    return MAJKOWSKI_SELECT.lookup("waiters", waiters)["avg_ms"]


def erlang_c_table(c: int, rho: float, mu: float = 1.0) -> dict[str, float]:
    """W and Wq for one shared queue (M/M/c, Erlang C) and for c queues of one worker each (pure).

    Used to check the QUEUEING table; also handy to extend it.
    """
    if not (isinstance(c, int) and c >= 1):
        raise ValueError(f"c must be an integer >= 1, not {c!r}")
    if not 0 < rho < 1:
        raise ValueError(f"rho must be in (0, 1), not {rho!r}")
    lam = rho * c * mu
    a = lam / mu
    term, total = 1.0, 0.0
    for n in range(c):  # sum_{n<c} A^n / n!
        total += term
        term *= a / (n + 1)
    top = term / (1 - rho)  # A^c / c! / (1 - rho)
    erlang_c = top / (total + top)
    wq_shared = erlang_c / (c * mu - lam)
    w_per = 1 / (mu - lam / c)
    return {
        "W_shared": wq_shared + 1 / mu,
        "W_per_worker": w_per,
        "Wq_shared": wq_shared,
        "Wq_per_worker": w_per - 1 / mu,
    }
