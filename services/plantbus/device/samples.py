"""Readings to samples: engineering values (:mod:`.convert`), publish-worthiness
(:mod:`.deadband`), a per-tag sequence, timestamps, and the message that carries the
sample (:mod:`.wire`).

Pure: the caller passes the time, so tests need no clock: ``now`` (wall clock) stamps
the samples, ``mono`` (monotonic, default ``now``) times the ``refresh_s`` republish, so a
wall-clock jump back does not silence a tag.
"""

from __future__ import annotations

from plantbus.config.devices import Tag
from plantbus.device.convert import to_engineering
from plantbus.device.deadband import Published, worth_publishing
from plantbus.device.wire import Record, TagCodec, timestamps
from plantbus.kit.codec import timestamp
from plantbus.sdk.driver import Quality, Reading, Scalar

__all__ = ["SampleFilter"]

_BAD = Quality.BAD  # an enum member looked up once: Quality.BAD costs a lookup per sample


class _TagState(TagCodec):
    """One tag: its config, its message codec and what was last published (value,
    quality, when, its sequence: 0 before the first, when the quality is GOOD so a first
    BAD counts in ``bad_tags``), in one object per tag (a plant has many: a separate
    object for the last publish cost 60 bytes a tag)."""

    __slots__ = ("at", "quality", "scaled", "sequence", "tag", "value")
    value: Scalar | None
    quality: Quality
    at: float

    def __init__(self, tag: Tag, path: str, device: str, epoch: str) -> None:
        super().__init__(path, tag.unit, device, epoch)
        self.tag = tag
        self.scaled = tag.scale != 1 or tag.offset != 0
        self.value, self.quality, self.at, self.sequence = None, Quality.GOOD, 0.0, 0


class SampleFilter:
    """Decides which readings of one device become samples, and encodes them.

    ``device`` and ``epoch`` go into every message (the batch's device, the message id
    ``<epoch>:<path>:<sequence>``).
    """

    def __init__(
        self,
        machine_path: str,
        tags: list[Tag],
        refresh_s: float = 60.0,
        device: str = "",
        epoch: str = "",
    ) -> None:
        self.machine_path = machine_path
        self.refresh_s = refresh_s
        self._state = {t.name: _TagState(t, self.path(t.name), device, epoch) for t in tags}
        self._bad = 0
        self._cycle: tuple[float, bytes, bytes] = (-1.0, b"", b"")

    def tag(self, name: str) -> Tag | None:
        """The config of the tag ``name`` (None when the device has none)."""
        state = self._state.get(name)
        return state.tag if state is not None else None

    def path(self, name: str) -> str:
        """The plant path of the tag ``name``."""
        return f"{self.machine_path}/{name}"

    def bad_tags(self) -> int:
        """How many tags were last published with BAD quality."""
        return self._bad

    def _times(self, now: float, reading: Reading) -> bytes:
        """The sample's timestamps; ``now`` is encoded once per cycle (every reading of a
        cycle shares it)."""
        if self._cycle[0] != now:
            received = timestamp(now).SerializeToString()
            self._cycle = (now, received, timestamps(received, received))
        if reading.source_time is None:
            return self._cycle[2]
        source = timestamp(reading.source_time.timestamp()).SerializeToString()
        return timestamps(source, self._cycle[1])

    def accept(
        self, reading: Reading, now: float, force: bool = False, mono: float | None = None
    ) -> Record | None:
        """The message to publish for ``reading``, or None when deadband holds it back.

        ``now`` stamps the sample; ``mono`` (the monotonic clock, ``now`` when omitted)
        times the refresh, so a wall-clock jump neither floods nor silences a tag."""
        state = self._state.get(reading.tag)
        if state is None:
            return None
        quality = reading.quality
        bad = quality == _BAD
        if bad:
            value = None
        else:
            value = to_engineering(state.tag, reading.value) if state.scaled else reading.value
        timer = now if mono is None else mono
        last: Published | None = state if state.sequence else None
        if not force and not worth_publishing(
            state.tag, last, value, quality, timer, self.refresh_s
        ):
            return None
        self._bad += bad - (state.quality == _BAD)
        state.value, state.quality, state.at = value, quality, timer
        state.sequence += 1
        times = self._times(now, reading)
        return state.record(value, quality, reading.reason, state.sequence, times)
