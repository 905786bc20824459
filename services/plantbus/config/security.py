"""Users, roles and write policies (owned by governance)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from plantbus.config.base import Name, Strict

__all__ = ["Permission", "Role", "User", "WritePolicy"]

Permission = Literal[
    "config.apply",
    "alarm.acknowledge",
    "alarm.shelve",
    "downtime.classify",
    "workorder.manage",
    "tag.write",
]


class User(Strict):
    """A person or system that calls Plantbus; tokens are stored as SHA-256 hashes only."""

    name: Name
    roles: list[Name] = Field(default_factory=list)
    token_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    certificate_subject: str | None = None
    """Common name of the user's mTLS client certificate."""


class Role(Strict):
    """A named set of permissions."""

    name: Name
    permissions: list[Permission] = Field(default_factory=list)


class WritePolicy(Strict):
    """Allows roles to write tags (glob patterns over site/area/line/machine/tag paths)."""

    name: Name
    roles: list[Name]
    tags: list[str]
    min: float | None = None
    max: float | None = None
