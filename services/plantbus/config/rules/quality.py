"""``bad_quality``: a tag whose samples are not good."""

from __future__ import annotations

from typing import Literal

from plantbus.config.rules.base import TagRule

__all__ = ["BadQualityRule"]


class BadQualityRule(TagRule):
    """Abnormal while the tag's samples are uncertain or bad."""

    kind: Literal["bad_quality"]

    def judge_sample(
        self, good: bool, value: object, last: tuple[float, float] | None, now: float, active: bool
    ) -> bool:
        """Every sample tells."""
        return not good
