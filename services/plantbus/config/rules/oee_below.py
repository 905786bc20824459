"""``oee_below``: a line whose OEE falls under a limit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from plantbus.config.rules.base import Finding, PlantRefs, RuleBase

__all__ = ["OeeBelowRule"]


class OeeBelowRule(RuleBase):
    """Abnormal while the line's OEE (0..1) is below ``limit``."""

    kind: Literal["oee_below"]
    line: str
    """Path site/area/line."""
    limit: float

    @property
    def scope(self) -> str:
        """The line."""
        return self.line

    @property
    def shown_limit(self) -> float:
        """The limit."""
        return self.limit

    def check(self, refs: PlantRefs) -> Iterator[Finding]:
        """The line must exist."""
        if self.line not in refs.lines:
            yield "line", f"unknown line {self.line!r}"

    def judge_oee(self, scope: str, oee: float | None) -> bool | None:
        """Only this line's snapshots with an OEE figure count."""
        if scope != self.line or oee is None:
            return None
        return oee < self.limit
