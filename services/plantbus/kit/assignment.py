"""Sharing work between the live replicas of a service, without coordination.

Rendezvous hashing: a piece of work (a device, a line, an ERP connection) goes to the
replica with the highest hash of (replica, work), so when a replica comes or goes only the
work it gains or loses moves. Every replica computes the same answer from the same
membership.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

__all__ = ["owner"]


def _weight(member: str, work: str) -> bytes:
    return hashlib.sha256(f"{member}\0{work}".encode()).digest()


def owner(work: str, members: Iterable[str]) -> str:
    """The member that runs ``work`` (``members`` must not be empty)."""
    return max(members, key=lambda m: _weight(m, work))
