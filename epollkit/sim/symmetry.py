"""Symmetry reduction for the explorer: threads that run the same program are interchangeable.

Renaming interchangeable threads (a permutation ``p``) maps a run to a run: the kernel's rules never look
at a thread's name, only at its place in wait queues, so ``p(s) -> p(t)`` whenever ``s -> t``, and the
initial state is unchanged by ``p``. The explorer can therefore visit one state per *orbit* (the states
equal up to such a renaming) and still give exactly what the unreduced search gives:

- **canonical key** (:func:`canonical`): the threads of each class are sorted by a signature -- their own
  record without the name, and where they sit in every queue (``ep->wq`` positions, source wait queues,
  accept order, the "herd" epoch, readers of a part-read message) -- and the state is keyed as if they had
  been renamed in that order. Threads with equal signatures are indistinguishable (swapping them leaves
  the state as it is), so the key is the same for every state of the orbit, and the orbit's size is
  ``prod(|class|!) / prod(|tie|!)``;
- **the search** visits, for each orbit, the first of its states the unreduced breadth-first search would
  meet (its *leader*): that state is reached from the leader of its parent's orbit by the first move, so
  exploring leaders in discovery order replays the unreduced discovery order of leaders exactly -- hence
  the same depths and the same shortest witnesses (a witness is the first final state showing a
  property, and that is always a leader);
- **schedules**: every state of an orbit is reached by as many schedules as any other; with ``k`` moves
  from a leader of orbit ``P`` into orbit ``T``, the schedules into all of ``T`` are ``sum(paths(P) * k)``,
  and each of the orbit's ``|T|`` states gets ``paths(T) / |T|`` of them; a final orbit's states are listed
  (every renaming, de-duplicated) to give each its outcome.

The state count reported is the unreduced one (the sum of the orbit sizes). Both searches list outcomes by
count, and outcomes with the same count in one fixed order (by their text), so the listing is the same
whatever the hash seed of the process.
"""

from __future__ import annotations

from collections import deque
from functools import lru_cache
from itertools import permutations, product
from math import factorial

from .graph import paths_from_root
from .state import State
from .threads import Accept, CallList, Poll


def program_signature(program):
    """What makes two threads' programs the same (None: treat the thread as unique)."""
    if isinstance(program, CallList):
        return ("calls", program.calls)
    name = type(program).__name__
    if name == "AcceptLoop":
        return ("accept", program.s.name, program.ep, program.l, program.rotate)
    if name == "ReadLoop":
        return ("read", program.s.name, program.ep, program.fd, program.n)
    return None

def waits_on_a_source(program) -> bool:
    """Whether the thread may sleep on a listener's or stream's own wait queue (a blocking ``accept()``,
    ``select()``/``poll()``: ``threads._sleep_in``), so that wait queues may hold its name. (Else they
    hold only epoll items, and a renaming leaves them as they are.) Unknown programs: True."""
    if isinstance(program, CallList):
        return any(isinstance(c, Poll) or (isinstance(c, Accept) and c.blocking) for c in program.calls)
    name = type(program).__name__
    if name == "ReadLoop":
        return False
    if name == "AcceptLoop":
        return program.s.wait != "epoll_wait"
    return True


def classes_of(setup) -> tuple:
    """The classes of interchangeable threads (each a tuple of names in file order, size >= 2), or ()
    when nothing can be reduced: a single thread, ``start: in-order`` (threads start in name order),
    or an initial state that is not the same under renaming."""
    if setup.start == "in-order":
        return ()
    if setup.initial.fdt is not None:  # descriptor mode: the tables name threads (proc_of); not reduced
        return ()
    groups: dict = {}
    for name, prog in setup.programs.items():
        sig = program_signature(prog)
        if sig is None:
            continue
        groups.setdefault(sig, []).append(name)
    out = tuple(tuple(g) for g in groups.values() if len(g) > 1)
    if not out:
        return ()
    root = setup.initial
    for cls in out:
        first = root.threads[cls[0]][1:]
        if any(root.threads[n][1:] != first for n in cls):
            return ()
    # threads must not appear anywhere in the initial state besides their own records
    if any(e.wq for e in root.epolls.values()) or root.accept_order or root.epoch or root.heads or \
            any(x.kind != "epoll" for q in root.queues.values() for x in q):
        return ()
    return out

def _signatures(st: State, names: set) -> dict:
    extra = {n: [] for n in names}
    for ep, e in st.epolls.items():
        for i, n in enumerate(e.wq):
            if n in extra:
                extra[n].append(("w", ep, i))
    for src, q in st.queues.items():
        for i, x in enumerate(q):
            if x.kind != "epoll" and x.who in extra:
                extra[x.who].append(("q", src, i, x.kind))
    for i, n in enumerate(st.accept_order):
        if n in extra:
            extra[n].append(("a", i))
    for c, n in st.epoch:
        if n in extra:
            extra[n].append(("c", c))
    for src, (m, readers) in st.heads.items():
        for n in readers:
            if n in extra:
                extra[n].append(("h", src, m))
    threads = st.threads
    return {n: (threads[n][1:], tuple(sorted(extra[n], key=repr)) if len(extra[n]) > 1 else tuple(extra[n]))
            for n in names}

def _order(cls: tuple, sigs: dict) -> tuple:
    """The class's names sorted by signature (a deterministic order within one process; ties are
    interchangeable), and the sizes of the tie groups."""
    h = {n: hash(sigs[n]) for n in cls}
    hs = sorted(cls, key=h.__getitem__)
    # distinct signatures with equal hashes would make the order depend on the starting order
    for a, b in zip(hs, hs[1:], strict=False):
        if h[a] == h[b] and sigs[a] != sigs[b]:
            hs = sorted(cls, key=lambda n: repr(sigs[n]))
            break
    ties = []
    run = 1
    for a, b in zip(hs, hs[1:], strict=False):
        if h[a] == h[b] and sigs[a] == sigs[b]:
            run += 1
        else:
            ties.append(run)
            run = 1
    ties.append(run)
    return tuple(hs), ties

def rename(st: State, mapping: dict) -> State:
    """The state with threads renamed by ``mapping`` (old name -> new name); the threads dict keeps
    its order of names (A, B, C ...)."""
    if not mapping:
        return st
    m = mapping.get
    s = st.copy()
    inv = {new: old for old, new in mapping.items()}
    s.threads = {n: (st.threads[inv[n]]._replace(name=n) if n in inv else t) for n, t in st.threads.items()}
    s.epolls = {ep: (e._replace(wq=tuple(m(x, x) for x in e.wq)) if e.wq else e)
                for ep, e in st.epolls.items()}
    s.queues = {src: tuple(x if x.kind == "epoll" else x._replace(who=m(x.who, x.who)) for x in q)
                for src, q in st.queues.items()}
    s.accept_order = tuple(m(x, x) for x in st.accept_order)
    s.epoch = frozenset((c, m(x, x)) for c, x in st.epoch)
    s.heads = {src: (i, frozenset(m(x, x) for x in readers)) for src, (i, readers) in st.heads.items()}
    s.delivered = tuple((a, b, m(x, x)) for a, b, x in st.delivered)
    s.woken = tuple(m(x, x) for x in st.woken)
    return s

def renamed_key(st: State, mapping: dict) -> tuple:
    """``rename(st, mapping).key()`` without building the state: the same values (named tuples compare
    and hash as the plain tuples used here)."""
    inv = {new: old for old, new in mapping.items()}
    ths = st.threads
    return _renamed_fields(st, mapping, tuple([((n,) + ths[inv[n]][1:]) if n in inv else t
                                               for n, t in ths.items()]))


def _canonical_mapping(st: State, classes: tuple) -> tuple:
    names = {n for cls in classes for n in cls}
    sigs = _signatures(st, names)
    mapping = {}
    size = 1
    groups = []
    for cls in classes:
        order, ties = _order(cls, sigs)
        size *= factorial(len(cls))
        for t in ties:
            size //= factorial(t)
        for old, new in zip(order, cls, strict=True):
            if old != new:
                mapping[old] = new
        groups.append((cls, order, ties))
    return mapping, size, groups

def canonical(st: State, classes: tuple, key: tuple | None = None) -> tuple:
    """``(key, orbit size)``: the key of the orbit's canonical state, and how many states the orbit has.
    ``key``: ``st.key()`` when the caller has it already."""
    mapping, size, _groups = _canonical_mapping(st, classes)
    if mapping:
        return renamed_key(st, mapping), size
    return (key if key is not None else st.key()), size


class OrbitKeys:
    """The search's orbit keys: :func:`canonical` made cheap, for one exploration.

    Each thread record without its name is numbered once (``ids``: record -> small int, first come first
    numbered). When the records within each class are pairwise different -- the usual case -- a thread
    of a class is named in the key by its record's number (tagged with its class), wherever the state
    names it (wait queues, accept order, "herd" epoch, readers of a part-read message), and the threads
    field holds each class's numbers sorted: renaming threads of a class changes nothing in that key,
    and each number stands for one thread, so the key tells the orbit exactly. No sort into a canonical
    renaming, and ints hash faster than records. When some class has equal records (tied threads), the
    full signatures of :func:`canonical` pick the renaming and the key holds the renamed state (with
    record numbers for records). Which way a state takes is the same for every state of its orbit (a
    renaming moves records, it does not change them), and the two kinds of key never compare equal, so
    two states get one key exactly when :func:`canonical` gives them one (tests/test_explore_symmetry.py
    checks this on every scenario). Keys of two ``OrbitKeys`` are not comparable (their numbering
    differs)."""

    __slots__ = ("classes", "ids", "full", "others", "whole", "queues")

    def __init__(self, classes: tuple, programs: dict):
        """``programs``: the setup's, thread name -> program (names in state order)."""
        self.classes = classes
        self.ids: dict = {}
        self.full = 1  # the orbit size of a state with no tied threads
        for cls in classes:
            self.full *= factorial(len(cls))
        inside = {n for cls in classes for n in cls}
        self.others = tuple(n for n in programs if n not in inside)  # threads in no class
        self.whole = len(classes) == 1 and not self.others
        # whether a class's threads may sit on a source's wait queue
        self.queues = any(waits_on_a_source(programs[n]) for n in inside)

    def key(self, st: State, parent: State | None = None, parent_ids: dict | None = None) -> tuple:
        """``(key, orbit size, record numbers)``. ``parent``, ``parent_ids``: the state ``st`` was made
        from and its record numbers -- a thread whose record is the very object it was there (one step
        changes one or two threads) keeps its number without hashing the record again."""
        ids = self.ids
        number = ids.setdefault
        if parent is None:
            rid = {n: number(t[1:], len(ids)) for n, t in st.threads.items()}
        else:
            was = parent.threads
            rid = dict(parent_ids)
            for n, t in st.threads.items():
                if t is not was[n]:
                    rid[n] = number(t[1:], len(ids))
        tag = len(self.classes)  # a class's numbers are tagged with it: two classes never share one
        parts = []
        for c, cls in enumerate(self.classes):
            nums = [rid[n] * tag + c for n in cls]
            if len(set(nums)) != len(cls):  # tied threads
                break
            parts.append((cls, nums))
        else:
            # one class holding every thread: the numbers by name are the substitution itself
            sub = rid if self.whole else {n: x for cls, nums in parts
                                          for n, x in zip(cls, nums, strict=True)}
            threads = (tuple([tuple(sorted(nums)) for _cls, nums in parts]),
                       tuple([rid[n] for n in self.others]))
            return _renamed_fields(st, sub, threads, self.queues), self.full, rid
        # tied threads: the full signatures decide the renaming (a flat tuple of numbers as threads)
        mapping, size, _groups = _canonical_mapping(st, self.classes)
        inv = {new: old for old, new in mapping.items()}
        return _renamed_fields(st, mapping, tuple([rid[inv.get(n, n)] for n in st.threads])), size, rid


def _renamed_fields(st: State, mapping: dict, threads: tuple, queues: bool = True) -> tuple:
    """:meth:`State.key`'s fields of the state renamed by ``mapping``, with ``threads`` as its threads
    field (the renamed records, or their numbers). ``queues`` False: the sources' wait queues hold no
    renamed thread (:func:`waits_on_a_source`), so they are taken as they are."""
    m = mapping.get
    epolls = tuple([(e[0], e[1], tuple([m(x, x) for x in e[2]]), e[3]) if e[2] else e
                    for e in st.epolls.values()])
    queues = (tuple([tuple([x if x[0] == "epoll" else (x[0], m(x[1], x[1]), x[2]) for x in q])
                     for q in st.queues.values()]) if queues else tuple(st.queues.values()))
    heads = tuple([(src, (i, frozenset([m(x, x) for x in readers])))
                   for src, (i, readers) in st.heads.items()]) if st.heads else ()
    accept_order = tuple([m(x, x) for x in st.accept_order]) if st.accept_order else ()
    epoch = frozenset([(c, m(x, x)) for c, x in st.epoch]) if st.epoch else st.epoch
    return (
        tuple(st.listeners.values()), tuple(st.streams.values()), epolls, queues, threads, st.kpc,
        accept_order, epoch, st.props, st.started, st.split, heads, st.late, st.furthest, st.fdt,
    )


@lru_cache(maxsize=4096)
def _arrangements(cls: tuple, order: tuple, ties: tuple) -> tuple:
    """Every distinct renaming of one class: mappings old -> new, one per distinct placement of the
    tie groups (threads with equal signatures are interchangeable, so placing them differently among
    themselves gives the same state)."""
    tie_of = []
    for k, t in enumerate(ties):
        tie_of.extend([k] * t)
    out = []
    for perm in _placements(tuple(tie_of)):
        pools = {}
        for name, k in zip(order, tie_of, strict=True):
            pools.setdefault(k, []).append(name)
        mapping = {}
        for slot, k in zip(cls, perm, strict=True):
            old = pools[k].pop(0)
            if old != slot:
                mapping[old] = slot
        out.append(mapping)
    return out

@lru_cache(maxsize=256)
def _placements(tie_of: tuple) -> tuple:
    return tuple(sorted(set(permutations(tie_of))))

def renamed_outcome(kind: str, out: tuple, mapping: dict, names: tuple) -> tuple:
    """``Machine.outcome`` of the renamed state, from the outcome of the state itself: scenario outcomes
    are ``((thread, results), ...)`` in name order; strategy outcomes (``properties.metrics_key``) hold
    one row per thread in name order and the accept order as names."""
    if not mapping:
        return out
    inv = {new: old for old, new in mapping.items()}
    if kind == "scenario":
        res = dict(out)
        return tuple((n, res[inv.get(n, n)]) for n in names)
    per, order, *rest = out
    pos = {n: i for i, n in enumerate(names)}
    m = mapping.get
    return (tuple(per[pos[inv.get(n, n)]] for n in names), tuple(m(x, x) for x in order), *rest)

def _outcome_view(st: State, mapping: dict) -> State:
    """Enough of the renamed state for ``Machine.outcome``: threads and accept order (the rest an
    outcome reads -- queues' lengths, split and reorder counts, properties -- has no thread names)."""
    if not mapping:
        return st
    m = mapping.get
    inv = {new: old for old, new in mapping.items()}
    s = st.copy()
    s.threads = {n: (st.threads[inv[n]]._replace(name=n) if n in inv else t) for n, t in st.threads.items()}
    s.accept_order = tuple(m(x, x) for x in st.accept_order)
    return s

def renamings(st: State, classes: tuple) -> list:
    """One mapping (old name -> new name) per distinct state of ``st``'s orbit."""
    _mapping, _size, groups = _canonical_mapping(st, classes)
    per_class = [_arrangements(cls, order, tuple(ties)) for cls, order, ties in groups]
    out = []
    for combo in product(*per_class):
        mapping = {}
        for part in combo:
            mapping.update(part)
        out.append(mapping)
    return out

@lru_cache(maxsize=64)
def _every_renaming(classes: tuple) -> tuple:
    """Every renaming of the threads within their classes (mappings old -> new, the identity first)."""
    out = []
    for perms in product(*(permutations(cls) for cls in classes)):
        out.append({a: b for cls, perm in zip(classes, perms, strict=True)
                    for a, b in zip(cls, perm, strict=True) if a != b})
    return tuple(out)


def members(st: State, classes: tuple) -> list:
    """Every distinct state of ``st``'s orbit, as far as its outcome goes (each renaming once)."""
    return [_outcome_view(st, mp) for mp in renamings(st, classes)]


def explore_reduced(setup, budget: int, classes: tuple, m, names, replay, path_of, too_many, guard=None):
    """The symmetry-reduced breadth-first search (see the module docstring). Returns
    ``(schedules, states, outcomes, witnesses, shown)`` as :func:`epollkit.sim.explore.explore` needs."""
    root = setup.initial
    orbit = OrbitKeys(classes, setup.programs).key
    k0, size0, ids0 = orbit(root)
    index = {k0: 0}  # canonical key -> orbit id
    parent = [(-1, None)]
    depth = [0]
    sizes = [size0]
    children: list = []
    pending = {0: (root, ids0)}
    order = deque([0])
    finals = []  # (id, leader state)
    while order:
        i = order.popleft()
        st, ids = pending.pop(i)
        moves = m.enabled(st)
        kids = []
        for move in moves:
            nxt = m.apply(st, move)
            k, size, nxt_ids = orbit(nxt, st, ids)
            n = len(parent)
            j = index.setdefault(k, n)  # one hash of the key, for a new orbit and a known one
            if j == n:
                if j >= budget:
                    raise too_many()
                if guard is not None:
                    guard(j, len(order))
                parent.append((i, move))
                depth.append(depth[i] + 1)
                sizes.append(size)
                pending[j] = (nxt, nxt_ids)
                order.append(j)
            kids.append(j)
        children.append(kids)
        if not moves:
            finals.append((i, st))
    paths = paths_from_root(children, setup.name)  # schedules into the whole orbit
    schedules = 0
    every = _every_renaming(classes)  # the orbit of a state with no two threads tied: all renamings
    groups: dict = {}  # renamings (as item tuples) -> id, for orbits with ties
    per_group: dict = {}  # (the leader's outcome, renamings id) -> schedules into each of the states
    for i, st in finals:
        schedules += paths[i]
        if sizes[i] == len(every):
            gid = -1
            size = len(every)
        else:
            group = tuple(tuple(mp.items()) for mp in renamings(st, classes))
            gid = groups.setdefault(group, len(groups))
            size = len(group)
        each, rest = divmod(paths[i], size)
        if rest or size != sizes[i]:  # pragma: no cover - a broken symmetry would be a model bug
            raise RuntimeError(f"{setup.name!r}: an orbit of {sizes[i]} states has {size} distinct "
                               f"states and {paths[i]} schedules")
        k = (m.outcome(st), gid)
        per_group[k] = per_group.get(k, 0) + each
    tied = {gid: [dict(items) for items in group] for group, gid in groups.items()}
    counts: dict = {}
    thread_names = tuple(root.threads)
    for (mine, gid), each in per_group.items():
        for mapping in every if gid == -1 else tied[gid]:
            out = renamed_outcome(setup.kind, mine, mapping, thread_names)
            counts[out] = counts.get(out, 0) + each
    outcomes = sorted(counts.items(), key=lambda kv: (-kv[1], repr(kv[0])))  # ties: a fixed order
    witnesses = {}
    shown = set()
    for p in names:
        best = None
        for i, st in finals:
            if p in st.props and (best is None or depth[i] < depth[best]):
                best = i
        if best is not None:
            shown.add(p)
            witnesses[p] = replay(setup, path_of(parent, best))
    return schedules, sum(sizes), outcomes, witnesses, shown
