"""Which devices this device-service instance runs.

A device whose ``instance`` is set runs on that instance only. The others are shared
between the live instances by rendezvous hashing (:mod:`plantbus.kit.assignment`).
"""

from __future__ import annotations

from collections.abc import Iterable

from plantbus.config.devices import Device
from plantbus.kit.assignment import owner

__all__ = ["assign"]


def assign(devices: Iterable[Device], instance: str, live: Iterable[str]) -> dict[str, Device]:
    """The devices ``instance`` runs, given the ``live`` instances (itself always counts)."""
    members = {*live, instance}
    mine = {}
    for device in devices:
        if device.instance is not None:
            if device.instance == instance:
                mine[device.name] = device
        elif owner(device.name, members) == instance:
            mine[device.name] = device
    return mine
