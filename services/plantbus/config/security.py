"""Users, roles and write policies (owned by governance)."""

from __future__ import annotations

from typing import Final, Literal, get_args

from pydantic import Field

from plantbus.config.base import Name, Strict

__all__ = ["PERMISSIONS", "READS", "VIEWER", "Permission", "Role", "User", "WritePolicy"]

Permission = Literal[
    "config.read",
    "config.apply",
    "config.rollback",
    "config.read_secrets",
    "users.manage",
    "alarm.read",
    "alarm.acknowledge",
    "alarm.shelve",
    "alarm.unshelve",
    "alarm.reset",
    "alarm.out_of_service",
    "downtime.classify",
    "downtime.reclassify",
    "workorder.read",
    "workorder.manage",
    "erp.retry",
    "oee.read",
    "oee.correct",
    "device.read",
    "tag.read",
    "tag.write",
    "audit.read",
    "history.read",
    "maintenance.read",
    "maintenance.record",
    "maintenance.approve",
]
PERMISSIONS: Final[tuple[Permission, ...]] = get_args(Permission)
READS: Final[frozenset[Permission]] = frozenset(p for p in PERMISSIONS if p.endswith(".read"))
VIEWER: Final = "viewer"
"""The built-in role every configured user and every service has: all ``*.read``
permissions. A role of that name in the config replaces it (to narrow reads)."""


class User(Strict):
    """A person or system that calls Plantbus. It proves who it is with a certificate from
    the hub's CA (``OU=user, CN=<name>``) or a bearer token (``plantbus users token``)."""

    name: Name
    roles: list[Name] = Field(default_factory=list)


class Role(Strict):
    """A named set of permissions."""

    name: Name
    permissions: list[Permission] = Field(default_factory=list)


class WritePolicy(Strict):
    """Allows roles to write tags (glob patterns over site/area/line/machine/tag paths)."""

    name: Name
    roles: list[Name] = Field(default_factory=list)
    tags: list[str]
    services: list[Name] = Field(default_factory=list)
    """Services that may write these tags on their own (today: ``maintenance``, which
    then applies its proposals without a person)."""
    min: float | None = None
    max: float | None = None
