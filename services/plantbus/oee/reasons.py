"""The downtime reason tree (category / reason / detail): a reason's path, whether a stop
under it is planned, its Six Big Losses class, and the Pareto at any level. Pure.

Reasons not in the tree (or with no tree configured) stay as they are: a one-level path,
unplanned, classed by the engine's rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from plantbus.config.oee import ReasonNode, StopLoss

__all__ = ["ReasonInfo", "ReasonTree", "pareto"]


@dataclass(frozen=True, slots=True)
class ReasonInfo:
    """A node's path and what it inherits."""

    path: str
    planned: bool
    loss: StopLoss | None


@dataclass(frozen=True)
class ReasonTree:
    """The tree by node name and by path."""

    nodes: Mapping[str, ReasonInfo] = field(default_factory=dict)

    @classmethod
    def of(cls, roots: Iterable[ReasonNode]) -> ReasonTree:
        """The tree of the config's ``oee_settings.reasons``."""
        nodes: dict[str, ReasonInfo] = {}

        def walk(level: Iterable[ReasonNode], parent: ReasonInfo | None) -> None:
            for node in level:
                info = ReasonInfo(
                    f"{parent.path}/{node.name}" if parent else node.name,
                    node.planned if node.planned is not None else bool(parent and parent.planned),
                    node.loss or (parent.loss if parent else None),
                )
                nodes[node.name] = nodes[info.path] = info
                walk(node.children, info)

        walk(roots, None)
        return cls(nodes)

    def resolve(self, reason: str) -> str:
        """The reason's path in the tree (a name or a path); unknown reasons as given."""
        info = self.nodes.get(reason)
        return info.path if info else reason

    def planned(self, reason: str) -> bool:
        """True when a stop with this reason is planned downtime."""
        info = self.nodes.get(reason)
        return info.planned if info else False

    def loss(self, reason: str) -> StopLoss | None:
        """The Six Big Losses class the tree gives a stop with this reason, if any."""
        info = self.nodes.get(reason)
        return info.loss if info else None


def pareto(seconds_by_reason: Mapping[str, float], level: int = 0) -> list[tuple[str, float]]:
    """Seconds per reason, largest first; ``level`` 1 sums by category, 2 by reason, 3
    (or 0) per booked reason. A reason shallower than the level is its own entry."""
    sums: dict[str, float] = {}
    for reason, seconds in seconds_by_reason.items():
        key = "/".join(reason.split("/")[:level]) if level > 0 else reason
        sums[key] = sums.get(key, 0.0) + seconds
    return sorted(((r, s) for r, s in sums.items() if s > 0), key=lambda kv: (-kv[1], kv[0]))
