"""Free TCP ports, for servers started on a port of their own (``plantbus up
--random-ports``, the simulator, tests and benchmarks).

A port is chosen now and listened on later, by another process seconds after. A port the
OS hands out for ``bind(0)`` comes from the ephemeral range, the same range every outgoing
connection's local port is taken from, so on a busy machine a client could take it in
between (seen once in CI: the dashboard's ``address already in use``). So the port is
drawn below that range, where the OS never assigns one on its own, and checked free.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

__all__ = ["free_port"]

_LOWEST = 20_000
"""Below the ephemeral range and above the ports services are usually given."""
_TRIES = 50
_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def _ephemeral_start() -> int:
    """The first port of the OS's ephemeral range (Linux; IANA's 49152 elsewhere)."""
    try:
        return int(_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 49_152


def _bound(host: str, port: int) -> int | None:
    """``port`` if it could be bound on ``host`` right now, else None."""
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return None
        bound: int = sock.getsockname()[1]
        return bound


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now, outside the ephemeral range when it can be
    (else one the OS picks)."""
    below = _ephemeral_start()
    for _ in range(_TRIES if below > _LOWEST else 0):
        if drawn := _bound(host, random.randrange(_LOWEST, below)):
            return drawn
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port
