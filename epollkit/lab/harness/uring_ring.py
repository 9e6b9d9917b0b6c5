"""A small ctypes binding of io_uring: ``io_uring_setup``, ``io_uring_enter`` and ``mmap`` of the rings.

Only what the accept chapter needs: set up a ring (optionally ``IORING_SETUP_SINGLE_ISSUER`` and
``IORING_SETUP_DEFER_TASKRUN``), queue ``IORING_OP_ACCEPT`` (single-shot or ``IORING_ACCEPT_MULTISHOT``),
``IORING_OP_POLL_ADD`` and ``IORING_OP_NOP`` entries, submit-and-wait, and reap completions. Linux only;
import this module only where a ring is made (ctypes and mmap are loaded at import).

Why not a PyPI binding: ``liburing`` on PyPI (2026.3.30, Zig + C liburing 2.15, labelled alpha) ships a
wheel for x86_64 only and requires Linux 6.14+; its previous release (2024.5.3) is a source tarball that
needs a C compiler and Cython. This course must run from a clean clone on any Linux >= 5.19 on x86_64 and
aarch64 with ``make lab`` as the only install step, so it talks to the kernel directly. The layouts below
are the kernel's UAPI (``include/uapi/linux/io_uring.h``); see https://man7.org/linux/man-pages/man7/io_uring.7.html
and https://kernel.dk/io_uring.pdf.

Memory ordering: the kernel publishes ``cq.tail`` with ``smp_store_release`` (``io_commit_cqring``) and
reads ``sq.tail`` with ``smp_load_acquire`` (``io_sqring_entries``). Python cannot issue fences, but every
submission here goes through ``io_uring_enter()`` (no SQPOLL), and every CQ read follows a return from
``io_uring_enter()``: a system call orders the stores before it against the kernel's loads (on x86_64 by
TSO; on aarch64 by the exception entry/exit), which is what liburing relies on for non-SQPOLL rings too.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct
import sys
import threading

# System call numbers: io_uring came after the unified syscall table, so both architectures use the
# generic numbers (arch/x86/entry/syscalls/syscall_64.tbl, include/uapi/asm-generic/unistd.h).
SYSCALLS = {
    "x86_64": {"setup": 425, "enter": 426, "register": 427},
    "aarch64": {"setup": 425, "enter": 426, "register": 427},
}

# Setup flags (io_uring_params.flags)
SETUP_SINGLE_ISSUER = 1 << 12  # 6.0: only the creating task submits (io_uring_create: submitter_task)
SETUP_DEFER_TASKRUN = 1 << 13  # 6.1: completions' task_work runs only in io_uring_enter(GETEVENTS)
SETUPS = {
    "plain": 0,
    "single-issuer": SETUP_SINGLE_ISSUER,
    "defer-taskrun": SETUP_SINGLE_ISSUER | SETUP_DEFER_TASKRUN,
}
FEAT_SINGLE_MMAP = 1 << 0

# Enter flags
ENTER_GETEVENTS = 1 << 0

# Opcodes (enum io_uring_op) and their flags
OP_NOP = 0
OP_POLL_ADD = 6
OP_ACCEPT = 13
ACCEPT_MULTISHOT = 1 << 0  # sqe->ioprio (io_accept_prep), 5.19
CQE_F_MORE = 1 << 1  # the request stays armed and will post more CQEs
POLLIN = 0x0001

# mmap offsets of the rings (IORING_OFF_*)
OFF_SQ_RING = 0
OFF_CQ_RING = 0x8000000
OFF_SQES = 0x10000000
SQE_SIZE = 64
CQE_SIZE = 16
_SQE = struct.Struct("=BBHiQQIIQHHI")  # the first 48 bytes of struct io_uring_sqe
_CQE = struct.Struct("=QiI")  # struct io_uring_cqe: user_data, res, flags

_PROT_RW = 0x1 | 0x2
_MAP_SHARED_POPULATE = 0x01 | 0x8000
_MAP_FAILED = ctypes.c_void_p(-1).value

DISABLED_SYSCTL = "/proc/sys/kernel/io_uring_disabled"
NO_URING_ENV = "EPOLLKIT_NO_URING"


class _SQOff(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint32) for n in
                ("head", "tail", "ring_mask", "ring_entries", "flags", "dropped", "array", "resv1")] + \
               [("user_addr", ctypes.c_uint64)]


class _CQOff(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint32) for n in
                ("head", "tail", "ring_mask", "ring_entries", "overflow", "cqes", "flags", "resv1")] + \
               [("user_addr", ctypes.c_uint64)]


class _Params(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint32) for n in
                ("sq_entries", "cq_entries", "flags", "sq_thread_cpu", "sq_thread_idle", "features",
                 "wq_fd")] + [("resv", ctypes.c_uint32 * 3), ("sq_off", _SQOff), ("cq_off", _CQOff)]


_libc = None
_libc_lock = threading.Lock()


def _lib():
    global _libc
    with _libc_lock:
        if _libc is None:
            lib = ctypes.CDLL(None, use_errno=True)  # CDLL releases the GIL around every call
            lib.syscall.restype = ctypes.c_long
            lib.mmap.restype = ctypes.c_void_p
            lib.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                                 ctypes.c_int, ctypes.c_long]
            lib.munmap.restype = ctypes.c_int
            lib.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
            _libc = lib
        return _libc


def syscall_numbers() -> dict:
    """This machine's io_uring syscall numbers; OSError(ENOSYS) on an architecture not listed."""
    arch = platform.machine()
    if arch not in SYSCALLS:
        raise OSError(errno.ENOSYS, f"no io_uring syscall numbers for {arch} in epollkit")
    return SYSCALLS[arch]


def io_uring_setup(entries: int, params: _Params) -> int:
    """The raw ``io_uring_setup(2)``: the ring's fd, or OSError with the kernel's errno."""
    nr = syscall_numbers()["setup"]
    fd = _lib().syscall(ctypes.c_long(nr), ctypes.c_uint(entries), ctypes.byref(params))
    if fd < 0:
        e = ctypes.get_errno()
        raise OSError(e, f"io_uring_setup: {os.strerror(e)}")
    return fd


def io_uring_enter(fd: int, to_submit: int, min_complete: int, flags: int) -> int:
    """The raw ``io_uring_enter(2)`` (no signal mask); retried on EINTR."""
    nr = syscall_numbers()["enter"]
    lib = _lib()
    while True:
        ret = lib.syscall(ctypes.c_long(nr), ctypes.c_int(fd), ctypes.c_uint(to_submit),
                          ctypes.c_uint(min_complete), ctypes.c_uint(flags), None, ctypes.c_size_t(0))
        if ret >= 0:
            return ret
        e = ctypes.get_errno()
        if e != errno.EINTR:
            raise OSError(e, f"io_uring_enter: {os.strerror(e)}")


class Ring:
    """One io_uring instance: its fd, its mapped SQ/CQ rings and SQE array. ``close()`` always unmaps
    and closes (idempotent); use it as a context manager. Not thread-safe: callers sharing a ring lock."""

    def __init__(self, entries: int = 64, setup: str = "plain"):
        if setup not in SETUPS:
            raise ValueError(f"setup must be one of {', '.join(SETUPS)}, not {setup!r}")
        self.setup = setup
        self.fd = -1
        self._maps: list[tuple[int, int]] = []
        p = _Params()
        p.flags = SETUPS[setup]
        self.fd = io_uring_setup(entries, p)
        try:
            self._map(p)
        except BaseException:
            self.close()
            raise
        self.features = p.features
        self.sq_entries = p.sq_entries
        self.cq_entries = p.cq_entries
        self._pending = 0

    def _mmap(self, length: int, offset: int) -> int:
        addr = _lib().mmap(None, length, _PROT_RW, _MAP_SHARED_POPULATE, self.fd, offset)
        if addr is None or addr == _MAP_FAILED:
            e = ctypes.get_errno()
            raise OSError(e, f"mmap of the io_uring ring: {os.strerror(e)}")
        self._maps.append((addr, length))
        return addr

    def _map(self, p: _Params) -> None:
        so, co = p.sq_off, p.cq_off
        sq_len = so.array + p.sq_entries * 4
        cq_len = co.cqes + p.cq_entries * CQE_SIZE
        if p.features & FEAT_SINGLE_MMAP:  # 5.4+: one mapping holds both rings
            sq = cq = self._mmap(max(sq_len, cq_len), OFF_SQ_RING)
        else:
            sq = self._mmap(sq_len, OFF_SQ_RING)
            cq = self._mmap(cq_len, OFF_CQ_RING)
        self._sqes = self._mmap(p.sq_entries * SQE_SIZE, OFF_SQES)
        u32 = ctypes.c_uint32
        self._sq_tail = u32.from_address(sq + so.tail)
        self._sq_mask = u32.from_address(sq + so.ring_mask).value
        self._sq_array = sq + so.array
        self._cq_head = u32.from_address(cq + co.head)
        self._cq_tail = u32.from_address(cq + co.tail)
        self._cq_mask = u32.from_address(cq + co.ring_mask).value
        self._cqes = cq + co.cqes

    # -------------------------------------------------------------------------------- submission

    def _sqe(self, opcode: int, fd: int, *, ioprio: int = 0, op_flags: int = 0, length: int = 0,
             user_data: int = 0) -> None:
        tail = self._sq_tail.value
        idx = tail & self._sq_mask
        buf = (ctypes.c_char * SQE_SIZE).from_address(self._sqes + idx * SQE_SIZE)
        ctypes.memset(buf, 0, SQE_SIZE)
        _SQE.pack_into(buf, 0, opcode, 0, ioprio, fd, 0, 0, length, op_flags, user_data, 0, 0, 0)
        ctypes.c_uint32.from_address(self._sq_array + idx * 4).value = idx
        self._sq_tail.value = (tail + 1) & 0xFFFFFFFF
        self._pending += 1

    def prep_accept(self, fd: int, *, multishot: bool, user_data: int) -> None:
        """Queue ``IORING_OP_ACCEPT`` on listener ``fd`` (no peer address; ``SOCK_CLOEXEC``)."""
        self._sqe(OP_ACCEPT, fd, ioprio=ACCEPT_MULTISHOT if multishot else 0,
                  op_flags=os.O_CLOEXEC, user_data=user_data)

    def prep_poll(self, fd: int, *, user_data: int, events: int = POLLIN) -> None:
        """Queue a single-shot ``IORING_OP_POLL_ADD`` (the stop pipe)."""
        self._sqe(OP_POLL_ADD, fd, op_flags=events, user_data=user_data)

    def prep_nop(self, *, user_data: int) -> None:
        self._sqe(OP_NOP, -1, user_data=user_data)

    def submit(self, wait: int = 0) -> int:
        """Submit the queued entries and, if ``wait`` > 0, wait until ``wait`` completions are ready
        (one ``io_uring_enter`` call, as liburing's ``io_uring_submit_and_wait``)."""
        n, self._pending = self._pending, 0
        return io_uring_enter(self.fd, n, wait, ENTER_GETEVENTS if wait else 0)

    # -------------------------------------------------------------------------------- completion

    def reap(self) -> list[tuple[int, int, int]]:
        """Every completion ready now, as ``(user_data, res, flags)``; advances the CQ head."""
        head, tail = self._cq_head.value, self._cq_tail.value
        out = []
        while head != tail:
            addr = self._cqes + (head & self._cq_mask) * CQE_SIZE
            out.append(_CQE.unpack((ctypes.c_char * CQE_SIZE).from_address(addr).raw))
            head = (head + 1) & 0xFFFFFFFF
        self._cq_head.value = head
        return out

    # ---------------------------------------------------------------------------------- teardown

    def close(self) -> None:
        """Unmap every ring mapping and close the ring's fd. The kernel cancels what is in flight
        (``io_ring_ctx_wait_and_kill``) and frees the ring once the last reference drops."""
        lib = _lib()
        while self._maps:
            addr, length = self._maps.pop()
            lib.munmap(addr, length)
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)

    def __enter__(self) -> Ring:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ------------------------------------------------------------------------------------ availability


def ring_mappings() -> int:
    """How many io_uring mappings this process has (lines of ``/proc/self/maps`` naming io_uring)."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as f:
            return sum(1 for line in f if "io_uring" in line)
    except OSError:
        return 0


def unavailable_reason() -> str | None:
    """None when live io_uring accept can run here, else one line saying why not.

    Checked in order: the platform, ``EPOLLKIT_NO_URING`` / ``EPOLLKIT_NO_EPOLL`` (the chapter compares
    with epoll, and the no-epoll run of the notebooks hides both), ``kernel.io_uring_disabled`` = 2,
    ``io_uring_setup`` failing (ENOSYS: no CONFIG_IO_URING or a seccomp filter; EPERM: a seccomp
    profile such as Docker's default, or the sysctl), and multishot accept (EINVAL: Linux < 5.19).
    """
    if not sys.platform.startswith("linux"):
        return f"io_uring needs Linux; this is {sys.platform}"
    from ...system import epoll_hidden

    if os.environ.get(NO_URING_ENV, "").strip() not in ("", "0"):
        return f"{NO_URING_ENV} is set"
    if epoll_hidden():
        return "EPOLLKIT_NO_EPOLL is set (this chapter compares io_uring with epoll)"
    try:
        syscall_numbers()
    except OSError as exc:
        return str(exc.strerror)
    disabled = _sysctl_disabled()
    if disabled == 2:
        return "io_uring is disabled on this machine (kernel.io_uring_disabled = 2)"
    try:
        with Ring(4) as ring:
            return _probe_multishot(ring)
    except OSError as exc:
        if exc.errno == errno.ENOSYS:
            return "io_uring_setup is not available (ENOSYS): a kernel without io_uring, or a seccomp filter"
        if exc.errno == errno.EPERM:
            why = ("kernel.io_uring_disabled = 1 and this user is not in io_uring_group" if disabled == 1
                   else "a seccomp profile (Docker's default blocks io_uring) or a security module")
            return f"io_uring_setup was refused (EPERM): {why}"
        return f"io_uring_setup failed: {exc.strerror or exc}"


def _sysctl_disabled() -> int:
    try:
        with open(DISABLED_SYSCTL, encoding="ascii") as f:
            return int(f.read().strip() or 0)
    except (OSError, ValueError):
        return 0  # the sysctl came with 6.6; older kernels have no such file


def _probe_multishot(ring: Ring) -> str | None:
    """Arm a multishot accept on a fresh loopback listener with one connection queued; the first CQE
    tells: an fd with IORING_CQE_F_MORE (supported) or -EINVAL (io_accept_prep rejects the flag)."""
    import socket

    with socket.socket() as lsock, socket.socket() as client:
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(1)
        client.connect(lsock.getsockname())
        ring.prep_accept(lsock.fileno(), multishot=True, user_data=1)
        ring.submit(wait=1)
        cqes = ring.reap()
        for _ud, res, _fl in cqes:
            if res >= 0:
                os.close(res)
        res = cqes[0][1] if cqes else -errno.EIO
        if res >= 0:
            return None
        if res == -errno.EINVAL:
            return "this kernel has io_uring but no multishot accept (EINVAL; needs Linux 5.19+)"
        return f"multishot accept failed: {os.strerror(-res)}"
