"""Checks of users, roles and write policies."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator

from plantbus.config.checks.common import Finding, duplicates
from plantbus.config.model import PlantConfig
from plantbus.config.security import VIEWER

__all__ = ["security"]


def security(config: PlantConfig) -> Iterator[Finding]:
    yield from duplicates(config.users, ("users",), "user")
    yield from duplicates(config.roles, ("roles",), "role")
    roles = {r.name for r in config.roles} | {VIEWER}
    for i, user in enumerate(config.users):
        for ri, role in enumerate(user.roles):
            if role not in roles:
                yield ("users", i, "roles", ri), f"unknown role {role!r}"
    writable = {
        f"{d.machine}/{t.name}" for d in config.devices for t in d.tags if t.access == "read_write"
    }
    for i, policy in enumerate(config.write_policies):
        for ri, role in enumerate(policy.roles):
            if role not in roles:
                yield ("write_policies", i, "roles", ri), f"unknown role {role!r}"
        for ti, pattern in enumerate(policy.tags):
            if not any(fnmatch.fnmatchcase(path, pattern) for path in writable):
                yield (("write_policies", i, "tags", ti), f"{pattern!r} matches no read_write tag")
