"""Who may do what: pure decisions from the caller's identity and the running config.

- the local operator (the box's administrator, acting for nobody) may do everything
  except write to machines: a tag write always needs a configured user whom a write
  policy allows (``PLANTBUS_USER=engineer plantbus devices write ...``);
- a configured user has the permissions of their roles plus those of the role
  ``viewer`` (every ``*.read`` unless the config defines ``viewer`` itself);
- a service has the ``viewer`` permissions (it reads; it acts only for a user), and
  writes the tags of a write policy that names it in ``services`` (the maintenance
  service applying its proposals on its own);
- anyone else has none.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from plantbus.config import PlantConfig
from plantbus.config.security import READS, VIEWER, Permission, WritePolicy

if TYPE_CHECKING:
    from plantbus.kit.identity import Identity

__all__ = ["Decision", "authorize", "check_write", "permissions_of"]


@dataclass(frozen=True)
class Decision:
    """Whether an action may happen, and why (naming the role, policy or what is missing)."""

    allowed: bool
    reason: str
    policy: str = ""


def _viewer(config: PlantConfig) -> frozenset[Permission]:
    defined = next((r for r in config.roles if r.name == VIEWER), None)
    return frozenset(defined.permissions) if defined else READS


def permissions_of(config: PlantConfig, user: str) -> dict[Permission, str] | None:
    """Permission -> the role that grants it, for a configured ``user`` (None if unknown)."""
    found = next((u for u in config.users if u.name == user), None)
    if found is None:
        return None
    roles = {r.name: r for r in config.roles}
    granted: dict[Permission, str] = dict.fromkeys(_viewer(config), VIEWER)
    for name in found.roles:
        if name in roles and name != VIEWER:
            for permission in roles[name].permissions:
                granted.setdefault(permission, name)
    return granted


def authorize(identity: Identity, permission: Permission, config: PlantConfig) -> Decision:
    """May ``identity`` (the effective caller, after delegation) do ``permission``?"""
    if identity.kind == "operator":
        if permission == "tag.write":
            return Decision(
                False,
                "the local operator writes to machines only as a configured user "
                "(set PLANTBUS_USER or --user to a user a write policy allows)",
            )
        return Decision(True, "local operator")
    if identity.kind == "service":
        if permission in _viewer(config):
            return Decision(True, f"service {identity.name} (role {VIEWER})")
        granting = [p.name for p in config.write_policies if identity.name in p.services]
        if permission == "tag.write" and granting:
            return Decision(True, f"service {identity.name} (write policy {granting[0]!r})")
        return Decision(False, f"service {identity.name} may only read; it acts only for a user")
    if identity.kind != "user":
        return Decision(False, "not authenticated")
    granted = permissions_of(config, identity.name)
    if granted is None:
        return Decision(False, f"user {identity.name!r} is not a user of the plant config")
    if role := granted.get(permission):
        return Decision(True, f"role {role!r}")
    return Decision(
        False, f"no role of user {identity.name!r} grants {permission!r} (plant config roles)"
    )


def check_write(
    config: PlantConfig, user: str, tag_path: str, value: float, *, service: bool = False
) -> Decision:
    """Decide a write of ``value`` to ``tag_path`` by ``user`` (NaN for non-numeric values):
    denied unless a write policy allows one of the user's roles (or, for a ``service``,
    the service by name) to write that tag, within the policy's value limits."""
    tag = next(
        (t for d in config.devices for t in d.tags if f"{d.machine}/{t.name}" == tag_path), None
    )
    if tag is None:
        return Decision(False, f"no tag {tag_path!r} in the running config")
    if tag.access != "read_write":
        return Decision(False, f"tag {tag_path!r} is read-only")
    tagged = [
        p for p in config.write_policies if any(fnmatch.fnmatchcase(tag_path, t) for t in p.tags)
    ]
    if service:
        matching = [p for p in tagged if user in p.services]
        if not matching:
            return Decision(False, f"no write policy lets service {user!r} write {tag_path!r}")
        return _within(matching, value)
    roles = {r for u in config.users if u.name == user for r in u.roles}
    if not roles:
        return Decision(False, f"user {user!r} has no roles; writes are denied by default")
    matching = [p for p in tagged if roles & set(p.roles)]
    if not matching:
        return Decision(False, f"no write policy lets roles {sorted(roles)} write {tag_path!r}")
    return _within(matching, value)


def _within(matching: list[WritePolicy], value: float) -> Decision:
    """The first of ``matching`` whose limits hold ``value`` (NaN: a policy without any)."""
    for policy in matching:
        limited = policy.min is not None or policy.max is not None
        if math.isnan(value):
            if not limited:  # a policy with limits only allows numbers it can check
                return Decision(True, f"allowed by policy {policy.name!r}", policy.name)
            continue
        if (policy.min is None or value >= policy.min) and (
            policy.max is None or value <= policy.max
        ):
            return Decision(True, f"allowed by policy {policy.name!r}", policy.name)
    limits = ", ".join(f"{p.name}: {p.min}..{p.max}" for p in matching)
    return Decision(False, f"value {value} is outside the limits of {limits}")
