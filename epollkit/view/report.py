"""One text rendering per record type: ``report(record)`` is what the command line prints (a header and
a table), ``summary(record)`` one line for a widget or a notebook's "what you saw" cell. Both take live,
recorded and model records alike (``backend`` says which). Plain text; no matplotlib or pandas.
"""

from __future__ import annotations

from ..records import (
    AcceptLatencyResult,
    AcceptResult,
    EpollRefusalResult,
    HerdLatencyResult,
    IncomingCpuResult,
    MultiplexResult,
    ReadResult,
    Record,
    ReuseportCloseResult,
    ReuseportDistributionResult,
    ServeResult,
)


def _source(r) -> str:
    """Where a record's numbers come from: "Linux 6.18.4" or "model, <rules>"."""
    if getattr(r, "backend", "real") == "sim":
        p = getattr(r, "params", None) or {}
        return f"model, {p.get('rules') or p.get('kernel') or 'newest rules'}"
    return f"Linux {r.kernel}"


# ------------------------------------------------------------------------------------------ accept


def _accept_report(r: AcceptResult) -> str:
    if r.backend == "sim":
        return _sim_report(r)
    lines = [
        f"accept  strategy={r.strategy}  workers={r.workers}  connections={r.connections}  "
        f"kernel={r.kernel}  {r.duration_s:.2f} s",
        f"accepted {r.accepted}, lost {r.lost}; per connection: returns {r.returns_per_connection:.2f}, "
        f"EAGAIN {r.eagain_per_connection:.2f}, kernel wake-ups {r.kernel_wakeups_per_connection:.2f}; "
        f"max share {r.max_share:.0%}",
        f"{'worker':>6} {'accepts':>8} {'returns':>8} {'eagain':>7} {'wakeups':>8}",
    ]
    for w in r.per_worker:
        lines.append(f"{w.worker:>6} {w.accepts:>8} {w.returns:>8} {w.eagain:>7} {w.kernel_wakeups:>8}")
    return "\n".join(lines)


def _accept_summary(r: AcceptResult) -> str:
    return (f"{r.strategy}, {r.workers} workers, {r.connections} connections ({_source(r)}): "
            f"{r.kernel_wakeups_per_connection:.2f} kernel wake-ups, {r.returns_per_connection:.2f} returns, "
            f"{r.eagain_per_connection:.2f} EAGAIN per connection; lost {r.lost}; "
            f"busiest worker {r.max_share:.0%}")


# -------------------------------------------------------------------------------------------- read


def _read_report(r: ReadResult) -> str:
    if r.backend == "sim":
        return _sim_report(r)
    p = r.params or {}
    lines = [
        f"read  strategy={r.strategy}  readers={r.readers}  messages={r.messages} x {r.message_size} B  "
        f"read_size={r.read_size}  think_us={p.get('think_us', 0):g}  kernel={r.kernel}  "
        f"{r.duration_s:.3f} s",
        f"delivered {r.bytes_delivered} of {r.bytes_sent} bytes (lost {r.lost_bytes}); "
        f"split messages {r.split_messages}; reordered deliveries {r.reordered} of {p.get('chunks')}; "
        f"in order: {'yes' if r.in_order else 'NO'}",
        f"{p.get('messages_per_s', 0):,.0f} messages/s, {p.get('mb_per_s', 0):.1f} MB/s; "
        f"returns {r.returns}, EAGAIN {r.eagain}, kernel wake-ups {r.kernel_wakeups} "
        f"({p.get('think_sleeps', 0)} think sleeps not counted), epoll_ctl re-arms {p.get('epoll_ctl', 0)}; "
        f"sender: {p.get('sender', '?')}",
        f"{'reader':>6} {'reads':>7} {'bytes':>10} {'returns':>8} {'eagain':>7} {'wakeups':>8}",
    ]
    for w in r.per_reader:
        lines.append(f"{w.reader:>6} {w.reads:>7} {w.bytes:>10} {w.returns:>8} {w.eagain:>7} "
                     f"{w.kernel_wakeups:>8}")
    return "\n".join(lines)


def _read_summary(r: ReadResult) -> str:
    p = r.params or {}
    return (f"{r.strategy}, {r.readers} readers, {r.messages} x {r.message_size} B, think "
            f"{p.get('think_us', 0):g} us ({_source(r)})\n"
            f"  lost bytes {r.lost_bytes}; split messages {r.split_messages}; reordered deliveries "
            f"{r.reordered} of {p.get('chunks')}; stream in order: {r.in_order}\n"
            f"  {p.get('messages_per_s', 0):,.0f} messages/s; wake-ups {r.kernel_wakeups}, "
            f"EAGAIN {r.eagain}, epoll_ctl re-arms {p.get('epoll_ctl', 0)}")


# --------------------------------------------------------------------------------------- the model


def _sim_report(r) -> str:
    p = r.params or {}
    how = "every schedule" if r.schedules is not None else (
        "paced schedule" if p.get("schedule") == "paced" else
        "canonical schedule" if p.get("seed") is None else f"seed {p['seed']}")
    if r.experiment == "accept":
        lines = [f"sim accept  strategy={r.strategy}  workers={r.workers}  connections={r.connections}  "
                 f"({how})", f"kernel rules: {p.get('rules') or p.get('kernel')}",
                 f"accepted {r.accepted}, lost {r.lost}; per connection: returns "
                 f"{r.returns_per_connection:.2f}, EAGAIN {r.eagain_per_connection:.2f}, kernel wake-ups "
                 f"{r.kernel_wakeups_per_connection:.2f}; max share {r.max_share:.0%}; "
                 f"accept order {r.accept_order}"]
    else:
        lines = [f"sim read  strategy={r.strategy}  readers={r.readers}  messages={r.messages} x "
                 f"{r.message_size} B  read_size={r.read_size}  ({how})",
                 f"kernel rules: {p.get('rules') or p.get('kernel')}",
                 f"delivered {r.bytes_delivered} of {r.bytes_sent} bytes; split {r.split_messages}; "
                 f"reordered {r.reordered}; returns {r.returns}, EAGAIN {r.eagain}, "
                 f"kernel wake-ups {r.kernel_wakeups}"]
    if r.schedules is not None:
        lines.append(f"explored {r.schedules} schedules, {r.states} states, {len(r.outcomes)} outcomes; "
                     f"properties: {', '.join(r.witnesses) or 'none'}")
        for prop, steps in r.witnesses.items():
            lines.append(f"-- shortest trace showing {prop}:")
            lines.extend(f"  {i}. {s['actor']}: {s['text']}" for i, s in enumerate(steps, 1))
    return "\n".join(lines)


# ----------------------------------------------------------------------------------- timing sweeps


def _multiplex_report(r: MultiplexResult, wall=None) -> str:
    lines = [f"multiplex  kernel={r.kernel}  {r.duration_s:.2f} s  (µs per call: median / p90 / min)",
             f"{'api':>6} {'fds':>7} {'median':>10} {'p90':>10} {'min':>10}"]
    for p in r.points:
        u = p["us_per_call"]
        lines.append(f"{p['api']:>6} {p['fds']:>7} {u['median']:>10.2f} {u['p90']:>10.2f} {u['min']:>10.2f}")
    for note in r.notes or ():
        lines.append(f"note: {note}")
    if wall is not None:
        lines.append(f"FD_SETSIZE wall, fd {wall.fd}: select -> {wall.select}; poll -> {wall.poll}; "
                     f"epoll -> {wall.epoll}")
    return "\n".join(lines)


def _multiplex_summary(r: MultiplexResult) -> str:
    most = max((p["fds"] for p in r.points), default=0)
    at = {p["api"]: p["us_per_call"]["median"] for p in r.points if p["fds"] == most}
    return (f"µs per call with {most} fds watched ({_source(r)}): "
            + ", ".join(f"{api} {us:.2f}" for api, us in at.items()))


def _herd_report(r: HerdLatencyResult) -> str:
    lines = [
        f"herd-latency  strategy={r.strategy}  repeats={r.repeats}  kernel={r.kernel}  "
        f"{r.duration_s:.2f} s  peak RSS {r.peak_rss_kib / 1024:.1f} MiB",
        f"{'waiters':>7} {'median µs':>10} {'p90 µs':>10} {'min µs':>10} {'woken/connect':>14} "
        f"{'returns/connect':>16}",
    ]
    for p in r.points:
        c = p["connect_us"]
        woken = p.get("kernel_wakeups_per_connect")  # absent from records made before it was measured
        lines.append(f"{p['waiters']:>7} {c['median']:>10.1f} {c['p90']:>10.1f} {c['min']:>10.1f} "
                     f"{'-' if woken is None else f'{woken:.2f}':>14} {p['returns_per_connect']:>16.2f}")
    lines.append("woken: waiters the kernel woke (their voluntary context switches moved); returns: woken "
                 "waiters whose wait returned to Python")
    return "\n".join(lines)


def _herd_summary(r: HerdLatencyResult) -> str:
    last = r.points[-1] if r.points else None
    if last is None:
        return f"{r.strategy}: no points ({_source(r)})"
    return (f"{r.strategy}: connect() takes {last['connect_us']['median']:.1f} µs (median) with "
            f"{last['waiters']} waiters ({_source(r)})")


# --------------------------------------------------------------------------------------- reuseport


def _reuseport_close_report(r: ReuseportCloseResult) -> str:
    migrate = {None: "missing (kernel < 5.14)", 0: "0 (reset)", 1: "1 (migrate)"}.get(
        r.tcp_migrate_req, str(r.tcp_migrate_req))
    return "\n".join([
        f"reuseport-close  listeners={r.listeners}  queued={r.queued}  kernel={r.kernel}  "
        f"net.ipv4.tcp_migrate_req={migrate}",
        f"queued per listener before the close: {r.per_listener}",
        f"closed listener {r.closed_listener} (it held {r.on_closed}): reset {r.reset}, "
        f"accepted by the others {r.accepted}, lost {r.lost}",
    ])


def _reuseport_close_summary(r: ReuseportCloseResult) -> str:
    return (f"{r.queued} queued on {r.listeners} listeners ({_source(r)}): listener {r.closed_listener} "
            f"held {r.on_closed}; closing it reset {r.reset}, the others accepted {r.accepted}, "
            f"lost {r.lost}")


def _distribution_summary(r: ReuseportDistributionResult) -> str:
    return (f"{r.connections} connections over {r.listeners} listeners, {r.runs} runs, steer "
            f"{r.steer} ({_source(r)}): largest share {r.mean_max_share:.0%} on average "
            f"(balls into bins: {r.balls_into_bins_mean_max_share:.0%})")


def _incoming_cpu_summary(r: IncomingCpuResult) -> str:
    return (f"SO_INCOMING_CPU on {r.listeners} listeners, clients pinned to CPUs {r.cpus} ({_source(r)}): "
            f"{len(r.rows)} rows")


# ---------------------------------------------------------------------------------------- queueing


def _serve_summary(r: ServeResult) -> str:
    lat = r.latency_ms
    return (f"{r.strategy}, {r.workers} workers at load {r.utilization:.2f} ({_source(r)}): response "
            f"mean {lat['mean']} ms, p99 {lat['p99']} ms over {r.completed} requests")


def _latency_summary(r: AcceptLatencyResult) -> str:
    return (f"{r.strategy}, {r.workers} workers at load {r.utilization:.2f} ({_source(r)}): connect to "
            f"done mean {r.latency_ms['mean']} ms, p99 {r.latency_ms['p99']} ms; busiest worker "
            f"{r.max_share:.0%}")


def _refusal_summary(r: EpollRefusalResult) -> str:
    return f"epoll_ctl() on {_source(r)}: " + "; ".join(f"{c['case']}: {c['errno']}" for c in r.cases)


_REPORTS = {AcceptResult: _accept_report, ReadResult: _read_report, MultiplexResult: _multiplex_report,
            HerdLatencyResult: _herd_report, ReuseportCloseResult: _reuseport_close_report}
_SUMMARIES = {AcceptResult: _accept_summary, ReadResult: _read_summary, MultiplexResult: _multiplex_summary,
              HerdLatencyResult: _herd_summary, ReuseportCloseResult: _reuseport_close_summary,
              ReuseportDistributionResult: _distribution_summary, IncomingCpuResult: _incoming_cpu_summary,
              ServeResult: _serve_summary, AcceptLatencyResult: _latency_summary,
              EpollRefusalResult: _refusal_summary}


def register(cls: type, *, summary=None, report=None) -> None:
    """Give a record type defined elsewhere its one-line summary and/or its full report."""
    if summary is not None:
        _SUMMARIES[cls] = summary
    if report is not None:
        _REPORTS[cls] = report


def summary(record: Record) -> str:
    """One line (two or three for a read run) saying what a record shows and where it comes from."""
    fn = _SUMMARIES.get(type(record))
    if fn is None:
        return f"{record.EXPERIMENT or type(record).__name__} ({_source(record)})"
    return fn(record)


def report(record: Record, file=None, **extra) -> str:
    """The command line's text for a record (a header line and a table; a record type without a table
    gets its summary). Written to ``file`` too when one is given. ``extra``: e.g. ``wall=`` for
    multiplex (the FD_SETSIZE demo)."""
    fn = _REPORTS.get(type(record))
    text = fn(record, **extra) if fn is not None else summary(record)
    if file is not None:
        print(text, file=file)
    return text
