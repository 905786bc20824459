"""Data quality per tag, from the device cycles at the cost of plant scale.

The page shows how many tags there are and which are of bad quality, so the dashboard
hears every tag's samples: one message per device cycle (``plantbus.v1.cycle``), not one
per tag; at 5,000 tags that is still thousands of samples a second that change nothing
on the page. So a sample is read for its path and quality only (no span,
no type look-up, no JSON of the whole message), a tag whose quality stayed the same costs
a dict look-up, and the changes go to the browsers coalesced, at most one ``quality``
event (a list) per ``every_s``: a plant whose 5,000 tags all turn good at once is one
event, not 5,000 that overflow every browser's queue (issue #21).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from google.protobuf.message import DecodeError
from nats.aio.msg import Msg

from plantbus.kit.bus import TYPE_HEADER
from plantbus.v1 import telemetry_pb2

__all__ = ["QualityWatch"]

log = logging.getLogger("plantbus.dashboard")

_BATCH = telemetry_pb2.TagSampleBatch
_TYPE = _BATCH.DESCRIPTOR.full_name
_NAMES = {v.number: v.name for v in telemetry_pb2.Quality.DESCRIPTOR.values}
_GOOD = telemetry_pb2.QUALITY_GOOD


class QualityWatch:
    """Every tag's latest quality (``tags``: path -> quality, reason, and ``t``, when it
    became that) and the changes not yet pushed."""

    def __init__(self, push: Callable[[str, Any], None], every_s: float = 1.0) -> None:
        self.tags: dict[str, dict[str, Any]] = {}
        self.dropped = 0
        """Messages that were not a readable TagSampleBatch."""
        self._seen: dict[str, int | tuple[int, str]] = {}
        self._changed: dict[str, dict[str, Any]] = {}
        self._push = push
        self._every_s = every_s

    async def on_message(self, raw: Msg) -> None:
        """A device cycle's message (nats-py callback): its samples' quality."""
        if (raw.headers or {}).get(TYPE_HEADER) != _TYPE:
            self._drop(raw, "no TagSampleBatch type header")
            return
        try:
            samples = _BATCH.FromString(raw.data).samples
        except DecodeError as err:
            self._drop(raw, str(err))
            return
        seen = self._seen
        for sample in samples:
            path, code = sample.path, sample.quality
            # a good sample is compared by its code alone; another also by its reason
            key = code if code == _GOOD else (code, sample.quality_reason)
            if seen.get(path) != key:
                seen[path] = key
                entry = {"quality": _NAMES.get(code, str(code)), "reason": sample.quality_reason}
                self.tags[path] = self._changed[path] = {**entry, "t": time.time()}

    def flush(self) -> None:
        """Push the changes since the last flush as one event."""
        if self._changed:
            changed, self._changed = self._changed, {}
            self._push("quality", [{"path": p, **q} for p, q in changed.items()])

    async def run(self) -> None:
        """Flush every ``every_s`` (a background task of the service)."""
        while True:
            await asyncio.sleep(self._every_s)
            self.flush()

    def _drop(self, raw: Msg, why: str) -> None:
        self.dropped += 1
        log.warning("dropped message on %s: %s", raw.subject, why)
