"""Socket facts every experiment may need: a listener's accept-queue length (``TCP_INFO``) and the
classic BPF program that steers a ``SO_REUSEPORT`` group (``SO_ATTACH_REUSEPORT_CBPF``).

``cbpf_program`` is pure (it returns the instructions); ``attach_cbpf`` hands them to the kernel.
"""

from __future__ import annotations

import ctypes
import socket
import struct

from ...validate import check_int

MAX_LISTENERS = 64  # the largest reuseport group the lab builds
# <linux/filter.h>: classic BPF opcodes
BPF_LD, BPF_W, BPF_ABS = 0x00, 0x00, 0x20
BPF_ALU, BPF_MOD, BPF_K = 0x04, 0x90, 0x00
BPF_RET, BPF_A = 0x06, 0x10
# <linux/filter.h>, <asm-generic/socket.h>: stable numbers, not exported by Python's socket module.
SO_ATTACH_REUSEPORT_CBPF = getattr(socket, "SO_ATTACH_REUSEPORT_CBPF", 51)
SO_INCOMING_CPU = getattr(socket, "SO_INCOMING_CPU", 49)
SKF_AD_OFF = -0x1000
SKF_AD_CPU = 36  # the CPU running the filter: the CPU that processes the SYN
SKF_AD_RANDOM = 56  # prandom_u32()
_TCPI_UNACKED = 24  # offset of tcpi_unacked in struct tcp_info (after 8 bytes of u8 fields + 4 u32)


class SockFilter(ctypes.Structure):
    """``struct sock_filter``: one classic BPF instruction."""

    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32)]


class SockFprog(ctypes.Structure):
    """``struct sock_fprog``: the program's length and a pointer to its instructions."""

    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]


def cbpf_program(steer: str, listeners: int) -> list[tuple[int, int, int, int]]:
    """The instructions ``(code, jt, jf, k)`` of a program that returns a listener index.

    ``steer="cpu"``:    A = the CPU processing the SYN (``SKF_AD_CPU``); return A % listeners
    ``steer="random"``: A = a random 32-bit number (``SKF_AD_RANDOM``); return A % listeners

    The kernel treats the return value as an index into the group's ``socks[]`` (``listen()`` order,
    ``run_bpf_filter`` in net/core/sock_reuseport.c); an index past the end falls back to the hash.
    """
    if steer not in ("cpu", "random"):
        raise ValueError(f"steer must be 'cpu' or 'random', not {steer!r}")
    check_int("listeners", listeners, 1, MAX_LISTENERS)
    ancillary = SKF_AD_CPU if steer == "cpu" else SKF_AD_RANDOM
    return [
        (BPF_LD | BPF_W | BPF_ABS, 0, 0, (SKF_AD_OFF + ancillary) & 0xFFFFFFFF),  # A = ancillary word
        (BPF_ALU | BPF_MOD | BPF_K, 0, 0, listeners),  # A %= listeners
        (BPF_RET | BPF_A, 0, 0, 0),  # return A: the index of the listener in the group
    ]


def attach_cbpf(sock: socket.socket, steer: str, listeners: int) -> None:
    """Attach :func:`cbpf_program` to the reuseport group of ``sock`` (a listening socket of the group).

    Attach after ``listen()``: the program belongs to the group (``reuseport_attach_prog``), and a TCP
    socket joins its group in ``listen()``. The kernel copies the program, so the ctypes buffers only
    need to live for the duration of the call.
    """
    prog = cbpf_program(steer, listeners)
    insns = (SockFilter * len(prog))(*(SockFilter(*i) for i in prog))
    fprog = SockFprog(len(prog), ctypes.cast(insns, ctypes.POINTER(SockFilter)))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, bytes(fprog))


def accept_queue_length(sock: socket.socket) -> int:
    """Connections waiting in a listener's accept queue (``sk_ack_backlog``, via ``TCP_INFO``)."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    return struct.unpack_from("I", info, _TCPI_UNACKED)[0]
