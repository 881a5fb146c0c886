"""Binding the server's and the emulator's listening sockets the same careful way."""

from __future__ import annotations

import ipaddress
import socket


def is_loopback(host: str) -> bool:
    """True for localhost and any loopback address (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind_tcp(host: str, port: int, *, backlog: int = 2048) -> socket.socket:
    """A listening socket, bound before serving so that port 0 works and the real port can be printed.

    proto must be IPPROTO_TCP (not 0): asyncio only sets TCP_NODELAY on accepted sockets that say so,
    and without it every response waits ~40 ms for a delayed ACK (Nagle).
    """
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host.strip("[]"), port))
    sock.listen(backlog)  # connections queue from the moment the address is announced
    return sock
