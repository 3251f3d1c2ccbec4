"""Free TCP ports on localhost, for local training workers' addresses."""

from __future__ import annotations

import socket


def free_ports(count: int) -> list[int]:
    """`count` TCP ports free on localhost now."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("localhost", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
