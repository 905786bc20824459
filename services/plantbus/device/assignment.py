"""Which devices this device-service instance runs.

A device whose ``instance`` is set runs on that instance only. The others are shared
by rendezvous hashing over the live instances: each device goes to the instance with
the highest hash of (instance, device name), so when an instance comes or goes only the
devices it gains or loses move. Every instance computes the same answer from the same
membership, without coordination.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from plantbus.config.devices import Device

__all__ = ["assign"]


def _weight(instance: str, device: str) -> bytes:
    return hashlib.sha256(f"{instance}\0{device}".encode()).digest()


def assign(devices: Iterable[Device], instance: str, live: Iterable[str]) -> dict[str, Device]:
    """The devices ``instance`` runs, given the ``live`` instances (itself always counts)."""
    members = {*live, instance}
    mine = {}
    for device in devices:
        if device.instance is not None:
            if device.instance == instance:
                mine[device.name] = device
        elif max(members, key=lambda m: _weight(m, device.name)) == instance:
            mine[device.name] = device
    return mine
