"""The kernel's wake-up rules (docs/kernel-rules.md, which names the kernel function behind each), one
function per rule.

Each function changes a :class:`~epollkit.sim.state.State` in place (the caller passes a copy) and,
when ``log`` is a list, appends one short phrase saying what the kernel did; exploration passes
``log=None`` and pays for no text. Each names the kernel function it models.
"""

from __future__ import annotations

from . import nested
from .state import (
    EPOLLET,
    EPOLLEXCLUSIVE,
    EPOLLIN,
    EPOLLONESHOT,
    EPOLLOUT,
    EVENT_BITS,
    Entry,
    Item,
    State,
    ThreadState,
    World,
    transition,
)

# --------------------------------------------------------------------------------------- readiness


def poll_mask(st: State, fd: str, w: World | None = None, log: list | None = None) -> frozenset:
    """What the file's ``->poll()`` reports now: ``inet_csk_listen_poll()`` for a listener (EPOLLIN
    when the accept queue is not empty, never EPOLLOUT), ``unix_poll()`` for our end of an AF_UNIX
    stream pair (EPOLLIN with bytes queued; EPOLLOUT always: we never fill the peer), and
    ``__ep_eventpoll_poll()`` for an epoll fd (:func:`eventpoll_poll` below, which may
    drop stale items and wake a sleeper: ``w`` and ``log`` are for it)."""
    if fd in st.epolls:
        return eventpoll_poll(w, st, fd, log)
    if fd in st.listeners:
        return _IN if st.queued(fd) else _NONE
    return _IN_OUT if st.queued(fd) else _OUT


_NONE = frozenset()
_IN = frozenset({EPOLLIN})
_OUT = frozenset({EPOLLOUT})
_IN_OUT = frozenset({EPOLLIN, EPOLLOUT})


def item_poll(st: State, it: Item, w: World | None = None, log: list | None = None) -> tuple:
    """``ep_item_poll()``: the reported bits, in a fixed order; a disarmed item reports nothing. An
    epoll target is polled with ``__ep_eventpoll_poll()`` (``w``, ``log``: see :func:`poll_mask`)."""
    if not it.armed:
        return ()
    mask = poll_mask(st, it.fd, w, log)
    bits = _BITS.get((mask, it.events))
    if bits is None:
        bits = _BITS[(mask, it.events)] = tuple(b for b in EVENT_BITS if b in mask and b in it.events)
    return bits


_BITS: dict = {}  # (poll mask, requested events) -> reported bits: a handful of pairs, asked for often


# ------------------------------------------------------------------------------------------ wake-ups


def wake_thread(st: State, name: str, log: list | None, how: str, cause: int | None) -> None:
    """``try_to_wake_up()``: a sleeping thread becomes runnable. It does not return to user space
    yet: it re-polls when it runs (``ep_poll()`` loop, ``inet_csk_wait_for_connect()``, ``do_poll()``).

    ``cause``: the kernel event (1, 2, ...) this wake-up belongs to -- the event whose wake-up walk
    runs, or, for an ``ep_done_scan()`` wake-up, the event that queued the ready item -- or None for a
    wake-up that ``epoll_ctl()`` made (``ep_insert()``/``ep_modify()`` of a ready fd). Two different
    threads woken with one cause show "herd"; wake-ups without a cause never do."""
    t = st.threads[name]
    st.threads[name] = transition(t, ThreadState.WOKEN, wakeups=t.wakeups + 1, cycle=1, tried=False)
    st.woken = st.woken + (name,)
    # once herd is shown, the epoch no longer matters: forget it to keep states merged
    if cause is not None and "herd" not in st.props:
        if any(c == cause and n != name for c, n in st.epoch):
            st.props = st.props | {"herd"}
            st.epoch = frozenset()
        else:
            st.epoch = st.epoch | {(cause, name)}
    if log is not None:
        log.append(f"wakes Thread {name} ({how})")


def ep_wq_insert(wq: tuple, name: str) -> tuple:
    """``ep_poll()``: ``__add_wait_queue_exclusive(&ep->wq)`` -- a HEAD insert, so the thread that
    went to sleep last is woken first (LIFO). (One function so that a test can swap the rule and check
    that the conformance suite notices.)"""
    return (name,) + wq


def wake_ep_sleeper(st: State, ep: str, log: list | None, how: str, cause: int | None) -> bool:
    """``wake_up(&ep->wq)``: wake ONE thread asleep in ``epoll_wait()``, the head of ``ep->wq``
    (LIFO: ``ep_poll()`` adds itself with ``__add_wait_queue_exclusive()``, a head insert). Since 5.7
    (412895f03cbf) a successfully woken entry is removed (``init_wait()`` -> ``autoremove_wake_function``);
    since a16ceb139610 (2022, backported to stable as far as 5.4) it is removed unconditionally
    (``ep_autoremove_wake_function``). Out of scope: 5.5-5.6, where a woken entry stayed queued and several
    wake-ups could hit it (the lost wake-up 412895f03cbf fixed); the model does not imitate them."""
    e = st.epolls[ep]
    if not e.wq:
        return False
    head = e.wq[0]
    st.epolls[ep] = e._replace(wq=e.wq[1:])
    wake_thread(st, head, log, how, cause)
    return True


def live_causes(st: State) -> frozenset:
    """The kernel events that can still cause a wake-up: those that queued an item still on a ready
    list (an ``ep_done_scan()`` wake-up inherits its cause from the items left there)."""
    return frozenset(c for e in st.epolls.values() for c in e.rdcause if c is not None)


def _cascade_cause(e) -> int | None:
    """The cause an ``ep_done_scan()`` wake-up inherits: the first item left on the ready list that a
    kernel event queued (head first); None if only epoll_ctl queued what is left."""
    for c in e.rdcause:
        if c is not None:
            return c
    return None


def ep_poll_callback(st: State, ep: str, fd: str, log: list | None, cause: int | None) -> bool:
    """``ep_poll_callback()``: the source ``fd`` called its wake-up with an EPOLLIN key.

    Disarmed (ONESHOT fired) or not asking for EPOLLIN: nothing. Otherwise the item goes on the ready
    list unless it is already there (never twice), and one ``epoll_wait()`` sleeper is woken -- even
    when the item was already queued. Returns "woken" for a non-exclusive item always, for an
    EPOLLEXCLUSIVE item only if the instance had a sleeper (which stops the walk: §3).
    """
    e = st.epolls[ep]
    it = e.item(fd)
    if it is None or not it.armed or EPOLLIN not in it.events:
        if log is not None and it is not None:
            log.append(f"{ep}: item {fd} is {'disarmed (ONESHOT)' if not it.armed else 'not EPOLLIN'}, "
                       "nothing happens")
        return it is None or not it.exclusive
    if fd not in e.rdllist:
        e = e._replace(rdllist=e.rdllist + (fd,), rdcause=e.rdcause + (cause,))
        st.epolls[ep] = e
        if log is not None:
            log.append(f"queues {fd} on {ep}'s ready list")
    elif log is not None:
        log.append(f"{fd} is already on {ep}'s ready list")
    woke = wake_ep_sleeper(st, ep, log, f"head of {ep}'s ep->wq", cause)
    if st.queues.get(ep):
        # ep_poll_callback(): "if (waitqueue_active(&ep->poll_wait)) pwake++" -> ep_poll_safewake():
        # outer instances watching this epoll fd, poll() callers on it (nested epoll)
        ep_poll_safewake(st, ep, log, cause)
    if it.exclusive:
        return woke
    return True


def wake_up_source(st: State, src: str, log: list | None, cause: int | None) -> None:
    """``sock_def_readable()`` -> ``__wake_up_common(nr_exclusive=1)``: walk the source's wait queue
    from the head; every non-exclusive entry runs; exclusive entries run in order until one reports
    that it woke something, and the walk stops there. ``cause``: the kernel event's number."""
    for entry in st.queues.get(src, ()):
        if entry.kind == "epoll":
            woke = ep_poll_callback(st, entry.who, src, log, cause)
        else:
            # accept (inet_csk_wait_for_connect): autoremove_wake_function removes the entry on wake-up.
            # select/poll (pollwake -> __pollwake): the kernel does NOT remove it -- it sets
            # pwq->triggered and the entry stays on every watched queue until poll_freewait() at return;
            # the re-scan hangs no new ones. Removing it here gives the same wake-up counts (non-exclusive
            # entries are all woken anyway) and keeps one entry per sleeping thread in the model's queues.
            st.queues[src] = tuple(x for x in st.queues[src] if x != entry)
            what = "blocked in accept(), FIFO" if entry.kind == "accept" else "in select()/poll()"
            wake_thread(st, entry.who, log, f"{what} on {src}", cause)
            woke = True
        if woke and entry.exclusive:
            return


def add_waiter(st: State, src: str, entry: Entry) -> None:
    """``add_wait_queue()`` (head) for non-exclusive entries; ``add_wait_queue_exclusive()`` /
    ``prepare_to_wait_exclusive()`` (tail) for exclusive ones: EPOLLEXCLUSIVE items in EPOLL_CTL_ADD
    order, blocked acceptors FIFO (``inet_csk_wait_for_connect()``)."""
    q = st.queues.get(src, ())
    st.queues[src] = q + (entry,) if entry.exclusive else (entry,) + q


# ------------------------------------------------------------------------------ nested epoll
# An epoll fd watched by another instance or poll()ed by a thread (epollkit.sim.nested explains it):
# its readiness polls its items (mutual recursion with item_poll), its poll_wait is State.queues[ep].


def eventpoll_poll(w: World | None, st: State, ep: str, log: list | None) -> frozenset:
    """``__ep_eventpoll_poll()``: ``{EPOLLIN}`` if ``ep``'s ready list holds an item that still polls
    ready (``ep_item_poll(epi, &pt, depth + 1)``), else empty. Scans head first and stops at the first
    ready item; drops the not-ready items it passed (``list_del_init(&epi->rdllink)``); then
    ``ep_done_scan()`` wakes one ``ep->wq`` sleeper if the ready list is not empty. ``w`` None: the
    newest rules (the wake-up at the end of the scan is there)."""
    e = st.epolls[ep]
    if not e.rdllist:
        return _NONE
    items = {it.fd: it for it in e.items}
    passed = 0
    ready = False
    for fd in e.rdllist:
        if item_poll(st, items[fd], w, log):
            ready = True
            break
        passed += 1
    e = st.epolls[ep]  # an inner poll changes only inner instances; read again all the same
    if passed:
        dropped = e.rdllist[:passed]
        e = e._replace(rdllist=e.rdllist[passed:], rdcause=e.rdcause[passed:])
        st.epolls[ep] = e
        if log is not None:
            log.append(f"poll of {ep}: {', '.join(dropped)} no longer ready (ep_item_poll), dropped")
    if e.rdllist and e.wq and (w is None or w.cascade):
        wake_ep_sleeper(st, ep, log, f"ep_done_scan after a poll of {ep}: its ready list is not empty",
                              _cascade_cause(e))
    return _IN if ready else _NONE


def ep_poll_safewake(st: State, ep: str, log: list | None, cause: int | None) -> None:
    """``ep_poll_safewake()`` -> ``wake_up_poll(&ep->poll_wait, EPOLLIN)``: wake whoever polls the
    instance -- outer instances (their ``ep_poll_callback()`` for the item on ``ep``) and threads in
    ``poll()`` on it. Nothing on ``poll_wait`` is exclusive (``EPOLLEXCLUSIVE`` on an epoll target is
    refused), so every entry runs."""
    if log is not None:
        log.append(f"{ep} wakes its poll_wait (ep_poll_safewake)")
    wake_up_source(st, ep, log, cause)


# ---------------------------------------------------------------------------------- kernel events


def connection_arrives(st: State, listener: str, log: list | None, cause: int | None) -> None:
    """A handshake completes: ``inet_csk_reqsk_queue_add()`` then ``sk_data_ready()``."""
    arrived, accepted = st.listeners[listener]
    st.listeners[listener] = (arrived + 1, accepted)
    if log is not None:
        log.append(f"connection {arrived + 1} arrives on {listener} (accept queue: {arrived + 1 - accepted})")
    wake_up_source(st, listener, log, cause)


def bytes_arrive(st: State, stream: str, n: int, log: list | None, cause: int | None) -> None:
    """The peer writes: ``unix_stream_sendmsg()`` queues an skb, then ``sk_data_ready()``. Every
    write is a wake-up, even into a non-empty queue (an "edge" is a wake-up, §2). ONE wake-up only
    while the write fits in one skb: ``unix_stream_sendmsg()`` cuts a larger write into skbs of at most
    ``SKB_MAX_HEAD(0) + UNIX_SKB_FRAGS_SZ`` bytes and calls ``sk_data_ready()`` per skb, so the loaders
    refuse writes above ``MAX_WRITE`` (:mod:`epollkit.scenarios.format`)."""
    written, consumed = st.streams[stream]
    st.streams[stream] = (written + n, consumed)
    if log is not None:
        what = f"{n} bytes arrive" if n != 1 else "1 byte arrives"
        log.append(f"{what} on {stream} ({written + n - consumed} queued)")
    wake_up_source(st, stream, log, cause)


# --------------------------------------------------------------------------------------- harvest


def ep_events_available(st: State, ep: str) -> bool:
    """``ep_events_available()``: the ready list is not empty."""
    return bool(st.epolls[ep].rdllist)


def ep_send_events(w: World, st: State, ep: str, maxevents: int, log: list | None) -> tuple:
    """``ep_send_events()`` + ``ep_done_scan()``: harvest up to ``maxevents`` ready items.

    Each item is taken off the ready list and re-polled; not ready -> dropped silently; ready ->
    reported, then ONESHOT disarms it, level-triggered re-queues it at the tail, edge-triggered
    forgets it. Items beyond ``maxevents`` go back to the head. Then, if the ready list is not empty
    and sleepers remain, one more sleeper is woken (``ep_done_scan()``; not on 5.5-5.12).
    Returns a tuple of ``(fd, (flag, ...))``.
    """
    e = st.epolls[ep]
    rdllist, rdcause = e.rdllist, e.rdcause
    out = []
    requeue = []  # (fd, cause): level-triggered items go back at the tail with the cause that queued them
    disarmed = {}  # fd -> its ONESHOT item, disarmed
    dropped = []
    k = 0
    while k < len(rdllist) and len(out) < maxevents:
        fd = rdllist[k]
        cause = rdcause[k]
        k += 1
        it = e.item(fd)
        bits = item_poll(st, it, w, log)
        if not bits:
            dropped.append(fd)
            continue
        out.append((fd, bits))
        if EPOLLONESHOT in it.events:
            disarmed[fd] = it._replace(armed=False)
        elif EPOLLET not in it.events:
            requeue.append((fd, cause))
    # what was not harvested stays at the head (beyond maxevents), then the re-queued ones
    e = e._replace(
        items=tuple([disarmed.get(it.fd, it) for it in e.items]) if disarmed else e.items,
        rdllist=rdllist[k:] + tuple([fd for fd, _c in requeue]),
        rdcause=rdcause[k:] + tuple([c for _fd, c in requeue]),
    )
    items = {it.fd: it for it in e.items} if log is not None or st.fdt is not None else None
    st.epolls[ep] = e
    if log is not None:
        if dropped:
            log.append(f"{', '.join(dropped)} no longer ready (ep_item_poll), dropped")
        for fd, _bits in out:
            it = items[fd]
            if EPOLLONESHOT in it.events:
                log.append(f"ONESHOT disarms {fd}")
            elif EPOLLET not in it.events:
                log.append(f"level-triggered: {fd} goes back on {ep}'s ready list")
    if e.rdllist and e.wq:
        if w.cascade:
            wake_ep_sleeper(st, ep, log, "ep_done_scan: the ready list is not empty", _cascade_cause(e))
        elif log is not None:
            log.append(f"the ready list is not empty but this kernel ({w.kernel}) wakes no one "
                       "at the end of the harvest")
    if st.fdt is not None:  # descriptor mode (fdtable.py): epoll_wait() hands back the registered data
        out = [(fd if items[fd].data is None else items[fd].data, bits) for fd, bits in out]
    return tuple(out)


# ----------------------------------------------------------------------------------------- epoll_ctl

_ALLOWED_WITH_EXCLUSIVE = frozenset({EPOLLIN, EPOLLOUT, EPOLLET, EPOLLEXCLUSIVE})


def ctl_error(st: State, w: World, op: str, ep: str, fd: str, events: frozenset) -> str | None:
    """The errno ``epoll_ctl()`` answers before changing anything (``do_epoll_ctl()``), or None."""
    err = nested.ctl_refusal(op, ep, fd, events, fd in st.epolls)  # self-add, EXCLUSIVE on an epoll
    if err:
        return err
    it = st.epolls[ep].item(fd)
    # do_epoll_ctl(): the event mask is only read when ep_op_has_event(op), i.e. not for
    # EPOLL_CTL_DEL -- DEL ignores whatever flags come with it, EPOLLEXCLUSIVE included.
    if op != "del" and EPOLLEXCLUSIVE in events and (op == "mod" or not events <= _ALLOWED_WITH_EXCLUSIVE):
        return "EINVAL"  # ep_op_has_event + EPOLLEXCLUSIVE: only IN/OUT/ERR/HUP/WAKEUP/ET, never MOD
    if op == "add":
        if fd in st.epolls and nested.loop_refusal(nested.children(st), ep, fd):
            return "ELOOP"  # do_epoll_ctl() -> ep_loop_check(): a loop, or deeper than EP_MAX_NESTS
        return "EEXIST" if it is not None else None
    if it is None:
        return "ENOENT"
    if op == "mod" and it.exclusive:
        return "EINVAL"  # any EPOLL_CTL_MOD of an item added with EPOLLEXCLUSIVE
    return None


def epoll_ctl(w: World, st: State, op: str, ep: str, fd: str, events: frozenset,
              log: list | None, data=None) -> str:
    """``epoll_ctl()``: ``ep_insert()`` / ``ep_modify()`` / ``ep_remove()``; returns "ok" or an errno.
    ``data``: descriptor mode, the number registered (:mod:`epollkit.sim.fdtable`)."""
    err = ctl_error(st, w, op, ep, fd, events)
    if err:
        return err
    e = st.epolls[ep]
    if op == "del":
        # ep_remove(): off the interest list, the ready list and the source's wait queue.
        keep = [(f, c) for f, c in zip(e.rdllist, e.rdcause, strict=True) if f != fd]
        st.epolls[ep] = e._replace(items=tuple(i for i in e.items if i.fd != fd),
                                   rdllist=tuple(f for f, _c in keep), rdcause=tuple(c for _f, c in keep))
        st.queues[fd] = tuple(x for x in st.queues.get(fd, ()) if not (x.kind == "epoll" and x.who == ep))
        if log is not None:
            log.append(f"{fd} leaves {ep}'s interest list, its ready list and {fd}'s wait queue")
        return "ok"
    item = Item(fd, events, True, data)
    if op == "add":
        # ep_insert(): ep_ptable_queue_proc() adds the item to the source's wait queue.
        st.epolls[ep] = e._replace(items=e.items + (item,))
        add_waiter(st, fd, Entry("epoll", ep, EPOLLEXCLUSIVE in events))
    else:
        # ep_modify(): the new mask re-arms a ONESHOT item.
        st.epolls[ep] = e._replace(items=tuple(item if i.fd == fd else i for i in e.items))
    if item_poll(st, item, w, log):
        # ep_insert()/ep_modify(): already ready and not yet queued -> queue it, wake one sleeper.
        e = st.epolls[ep]
        if fd not in e.rdllist:
            # queued by epoll_ctl, not by a kernel event: the wake-up has no cause (never "herd")
            st.epolls[ep] = e._replace(rdllist=e.rdllist + (fd,), rdcause=e.rdcause + (None,))
            if log is not None:
                log.append(f"{fd} is ready: queued on {ep}'s ready list")
            wake_ep_sleeper(st, ep, log, f"ep_{'insert' if op == 'add' else 'modify'}: {fd} is ready", None)
            if st.queues.get(ep):
                ep_poll_safewake(st, ep, log, None)  # ep_insert()/ep_modify(): pwake
    return "ok"


# ------------------------------------------------------------------------------------ accept, read


def take_connection(st: State, listener: str) -> int | None:
    """``inet_csk_accept()`` -> ``reqsk_queue_remove()``: the oldest queued connection's number."""
    arrived, accepted = st.listeners[listener]
    if arrived == accepted:
        return None
    st.listeners[listener] = (arrived, accepted + 1)
    return accepted + 1


def take_bytes(st: State, stream: str, n: int) -> tuple | None:
    """``unix_stream_read_generic()``, non-blocking: up to ``n`` bytes across skbs, or None (EAGAIN).
    A read wakes no EPOLLIN waiter (it frees space for the peer's writers only)."""
    written, consumed = st.streams[stream]
    if written == consumed:
        return None
    end = min(written, consumed + n)
    st.streams[stream] = (written, end)
    return (consumed, end)
