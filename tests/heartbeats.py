"""What services say about themselves in their heartbeats, for tests that wait on it."""

from __future__ import annotations

import nats.errors

from plantbus.kit.bus import Bus
from plantbus.kit.heartbeat import read_heartbeats

__all__ = ["detail_says"]


async def detail_says(bus: Bus, service: str, text: str, present: bool = True) -> bool:
    """Whether ``service`` has a live heartbeat with ``text`` in its health detail (or,
    with ``present=False``, not in it)."""
    try:
        beats = [hb for hb in await read_heartbeats(bus) if hb.service == service]
    except nats.errors.Error:  # NATS slow under load: not yet
        return False
    return bool(beats) and (text in beats[0].health_detail) == present
