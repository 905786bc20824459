"""Query planning, pure: which tags a request names, where buckets come from, page
tokens, and interpolation between two samples."""

from __future__ import annotations

import base64
import fnmatch
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from plantbus.sdk.errors import NotFound, ValidationFailed
from plantbus.sdk.historian import HOUR_US, MINUTE_US, Sample

__all__ = [
    "MAX_BUCKETS",
    "UNCERTAIN",
    "Plan",
    "decode_token",
    "encode_token",
    "interpolate",
    "match_tags",
    "plan_buckets",
]

MAX_BUCKETS: Final = 100_000
UNCERTAIN: Final = 2
"""``plantbus.v1.Quality.QUALITY_UNCERTAIN``: an interpolated value between unequal qualities."""


def match_tags(patterns: Sequence[str], known: Sequence[str]) -> list[str]:
    """The stored tags ``patterns`` (paths or globs) name, sorted; NotFound names a
    pattern that matches nothing."""
    found: set[str] = set()
    for pattern in patterns or ["*"]:
        hits = [t for t in known if fnmatch.fnmatchcase(t, pattern)]
        if not hits:
            sample = ", ".join(known[:5]) + (" ..." if len(known) > 5 else "")
            raise NotFound(
                f"no stored tag matches {pattern!r} (stored: {sample or 'none yet'}); "
                "paths are site/area/line/machine/tag, globs allowed"
            )
        found.update(hits)
    return sorted(found)


@dataclass(frozen=True)
class Plan:
    """Where a bucketed query reads: ``source`` (raw, minute or hour) and the range,
    aligned so buckets start at ``start_us`` and end at ``end_us``."""

    source: str
    start_us: int
    end_us: int
    width_us: int

    @property
    def child_us(self) -> int:
        """The width of the rollups read (0 for raw)."""
        return {"minute": MINUTE_US, "hour": HOUR_US}.get(self.source, 0)


def plan_buckets(start_us: int, end_us: int, width_us: int) -> Plan:
    """Hour rollups for whole hours from an hour boundary, minute rollups for whole
    minutes (the start moves back to its minute), raw samples otherwise."""
    if width_us <= 0:
        raise ValidationFailed("bucketed query: give a bucket width (for example 1m)")
    if end_us <= start_us:
        raise ValidationFailed("the range is empty: start must be before end")
    if width_us % HOUR_US == 0 and start_us % HOUR_US == 0:
        source = "hour"
    elif width_us % MINUTE_US == 0:
        source, start_us = "minute", start_us - start_us % MINUTE_US
    else:
        source = "raw"
    count = -(-(end_us - start_us) // width_us)
    if count > MAX_BUCKETS:
        raise ValidationFailed(
            f"{count:,} buckets is more than {MAX_BUCKETS:,}: use a wider bucket or a shorter range"
        )
    return Plan(source, start_us, start_us + count * width_us, width_us)


def encode_token(**position: Any) -> str:
    """An opaque page token for ``position``."""
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode()


def decode_token(token: str, *keys: str) -> tuple[int, ...]:
    """The integers ``keys`` of a token made by :func:`encode_token`."""
    try:
        position = json.loads(base64.urlsafe_b64decode(token.encode()))
        return tuple(int(position[k]) for k in keys)
    except (ValueError, KeyError, TypeError) as err:
        raise ValidationFailed(
            "page_token is not one this historian gave out: pass next_page_token as it came"
        ) from err


def interpolate(before: Sample | None, after: Sample | None, time_us: int) -> Sample | None:
    """The value at ``time_us``: linear between two numeric samples, else the earlier
    one held; None before the first sample. Unequal qualities give uncertain."""
    if before is None:
        return None
    if after is None or before.time_us == time_us or before.value is None or after.value is None:
        return before._replace(time_us=time_us)
    share = (time_us - before.time_us) / (after.time_us - before.time_us)
    value = before.value + (after.value - before.value) * share
    quality = before.quality if before.quality == after.quality else UNCERTAIN
    return Sample(before.tag, time_us, value, None, quality, 0)
