"""The ``uns:`` section: which parts of the plant the uns service publishes as JSON on the
unified namespace (docs/mqtt.md), under which topic prefix.

Nothing is published unless a subtree is listed: each entry opts in one site, area, line,
machine or tag, and every kind of data below it that it does not turn off. Writes over
MQTT (``uns/_set/<mqtt user>/<tag path>``) are taken only from the MQTT users ``writers``
names, each for the plant user it acts as.
"""

from __future__ import annotations

from typing import Final

from pydantic import Field, field_validator

from plantbus.config.base import Name, Strict
from plantbus.config.names import is_valid_token

__all__ = ["ROOT", "WRITES", "UnsConfig", "UnsSubtree"]

ROOT: Final = "uns"
"""The first topic level of the JSON namespace: the hub's NATS and MQTT permissions grant
``uns/#`` (:mod:`plantbus.kit.natsauth`), so every prefix starts with it."""
WRITES: Final = f"{ROOT}/_set"
"""The write requests' tree, ``uns/_set/<mqtt user>/<site>/<area>/<line>/<machine>/<tag>``,
whatever the prefix: the server's permissions (fixed when it is deployed) let each MQTT
writer publish only below its own name, so the topic proves who sent it."""


class UnsSubtree(Strict):
    """One part of the plant, and what of it is published."""

    path: str
    """``site``, ``site/area``, ``site/area/line``, ``site/area/line/machine`` or a tag's
    ``site/area/line/machine/tag``."""
    values: bool = True
    """Each tag's last value (retained) and its changes."""
    oee: bool = True
    """OEE snapshots of the lines and machines."""
    alarms: bool = True
    """Each alarm's state (retained) and its changes."""
    downtime: bool = True
    """Each machine's last downtime event (retained) and the next ones."""

    @field_validator("path")
    @classmethod
    def _plant_path(cls, value: str) -> str:
        parts = value.split("/")
        if not 1 <= len(parts) <= 5 or not all(is_valid_token(p) for p in parts):
            raise ValueError(
                f"{value!r} is not a plant path: site[/area[/line[/machine[/tag]]]], each "
                "name of letters, digits, '_' or '-'"
            )
        return value

    def covers(self, path: str) -> bool:
        """Whether ``path`` (a scope or tag path) lies in this subtree."""
        return path == self.path or path.startswith(self.path + "/")


class UnsConfig(Strict):
    """Where the JSON namespace lives and which subtrees it holds."""

    prefix: str = ROOT
    """The topic levels before ``site/area/line/machine/tag``: ``uns`` or ``uns/<more>``
    (``uns/acme/v1``)."""
    publish: list[UnsSubtree] = Field(default_factory=list)
    """The subtrees published; empty: the namespace is off."""
    writers: dict[Name, Name] = Field(default_factory=dict)
    """MQTT user (a hub NATS user, ``mqtt-writer``) -> the plant user its writes act as: that
    user's roles and the write policies decide. Empty: every MQTT write is refused."""

    @field_validator("prefix")
    @classmethod
    def _under_root(cls, value: str) -> str:
        parts = value.split("/")
        if parts[0] != ROOT:
            raise ValueError(
                f"prefix {value!r} is outside the JSON namespace: start it with {ROOT!r} "
                f"({ROOT} or {ROOT}/acme/v1), the topics the hub's MQTT and NATS permissions "
                "grant"
            )
        if not all(is_valid_token(p) for p in parts):
            raise ValueError(
                f"prefix {value!r}: each level must be letters, digits, '_' or '-' (no "
                "empty level, '+', '#' or '.')"
            )
        return value

    def selects(self, path: str, kind: str) -> bool:
        """Whether data of ``kind`` (values, oee, alarms, downtime) at ``path`` is published."""
        return any(entry.covers(path) and getattr(entry, kind) for entry in self.publish)
