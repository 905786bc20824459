"""Write permission: denied unless a write policy allows one of the user's roles to write
that tag, within the policy's value limits."""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass

from plantbus.config import PlantConfig

__all__ = ["Decision", "check_write"]


@dataclass(frozen=True)
class Decision:
    """Whether a write may happen, and why."""

    allowed: bool
    reason: str
    policy: str = ""


def check_write(config: PlantConfig, user: str, tag_path: str, value: float) -> Decision:
    """Decide a write of ``value`` to ``tag_path`` by ``user`` (NaN for non-numeric values)."""
    tag = next(
        (t for d in config.devices for t in d.tags if f"{d.machine}/{t.name}" == tag_path), None
    )
    if tag is None:
        return Decision(False, f"no tag {tag_path!r} in the running config")
    if tag.access != "read_write":
        return Decision(False, f"tag {tag_path!r} is read-only")
    roles = {r for u in config.users if u.name == user for r in u.roles}
    if not roles:
        return Decision(False, f"user {user!r} has no roles; writes are denied by default")
    matching = [
        p
        for p in config.write_policies
        if roles & set(p.roles) and any(fnmatch.fnmatchcase(tag_path, pat) for pat in p.tags)
    ]
    if not matching:
        return Decision(False, f"no write policy lets roles {sorted(roles)} write {tag_path!r}")
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
