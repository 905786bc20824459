"""``stale``: a tag that has had no good sample for too long."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from plantbus.config.rules.base import TagRule, TickView

__all__ = ["StaleRule"]


class StaleRule(TagRule):
    """Abnormal once the tag has had no good sample for ``timeout_s``."""

    kind: Literal["stale"]
    timeout_s: float = Field(default=60.0, gt=0)

    @property
    def shown_limit(self) -> float:
        """The timeout."""
        return self.timeout_s

    def judge_tick(self, view: TickView, now: float) -> bool:
        """Past the timeout since the last good sample."""
        return view.seconds_since_good(self.tag_path, now) > self.timeout_s
