"""Free TCP ports on 127.0.0.1, for anything the harness starts that must listen somewhere.

The local backend's servers and replicas and locust's master/worker channel all need a
port nobody else holds; they share this one helper instead of one importing the other.
"""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


__all__ = ["free_port"]
