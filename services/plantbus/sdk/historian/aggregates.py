"""The reference aggregates (:func:`summarize`, :func:`combine`) a store's results must
equal, and the rule for a tag's open minute, which stores compute when read."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from plantbus.sdk.historian.rows import GOOD, MINUTE_US, Bucket, Sample

__all__ = ["combine", "open_minute", "summarize", "with_open_minute"]


def _hold_end(next_us: int | None, bucket_end: int) -> int:
    return bucket_end if next_us is None else min(next_us, bucket_end)


def summarize(series: Sequence[Sample], start_us: int, end_us: int, width_us: int) -> list[Bucket]:
    """The reference aggregate: buckets of one tag's ``series`` (every sample of the tag,
    sorted by time) over [start, end), empty ones left out."""
    buckets: dict[int, Bucket] = {}
    for i, s in enumerate(series):
        if not start_us <= s.time_us < end_us:
            continue
        b_start = start_us + (s.time_us - start_us) // width_us * width_us
        nxt = series[i + 1].time_us if i + 1 < len(series) else None
        held = _hold_end(nxt, b_start + width_us) - s.time_us
        b = buckets.get(b_start) or Bucket(b_start, first=s.value, first_us=s.time_us)
        v = s.value
        buckets[b_start] = b._replace(
            samples=b.samples + 1,
            good=b.good + (s.quality == GOOD),
            valued=b.valued + (v is not None),
            min=b.min if v is None else v if b.min is None else min(b.min, v),
            max=b.max if v is None else v if b.max is None else max(b.max, v),
            sum=b.sum + (v or 0.0),
            area=b.area + (v * held if v is not None else 0.0),
            covered_us=b.covered_us + (held if v is not None else 0),
            last=v,
            last_us=s.time_us,
        )
    return [buckets[k] for k in sorted(buckets)]


def combine(
    children: Iterable[Bucket], child_width_us: int, start_us: int, width_us: int
) -> list[Bucket]:
    """Buckets of ``width_us`` (a multiple of ``child_width_us``, aligned on ``start_us``)
    from finer ones sorted by start, oldest first: equal to :func:`summarize` of the same
    samples. A child's last value holds on past the child's end, to the next child's first
    sample or the end of the bigger bucket."""
    out: list[Bucket] = []
    current = -1
    acc: list[Any] = []
    prev: Bucket | None = None

    def close() -> None:
        if prev is not None and prev.last is not None:  # the last child holds to the end
            extra = current + width_us - prev.start_us - child_width_us
            acc[7] += prev.last * extra
            acc[8] += extra
        out.append(Bucket._make(acc))

    for k in children:
        if not k.samples:
            continue
        b_start = start_us + (k.start_us - start_us) // width_us * width_us
        if b_start != current:
            if acc:
                close()
            current, prev = b_start, None
            acc = [b_start, 0, 0, 0, None, None, 0.0, 0.0, 0, k.first, k.first_us, None, 0]
        if prev is not None and prev.last is not None:
            extra = k.first_us - prev.start_us - child_width_us
            acc[7] += prev.last * extra
            acc[8] += extra
        acc[1] += k.samples
        acc[2] += k.good
        acc[3] += k.valued
        if k.min is not None:
            acc[4] = k.min if acc[4] is None or k.min < acc[4] else acc[4]
            acc[5] = k.max if acc[5] is None or k.max > acc[5] else acc[5]  # type: ignore[operator]
        acc[6] += k.sum
        acc[7] += k.area
        acc[8] += k.covered_us
        acc[11], acc[12] = k.last, k.last_us
        prev = k
    if acc:
        close()
    return out


def open_minute(
    latest_us: int | None, width_us: int, start_us: int, end_us: int
) -> tuple[int, int] | None:
    """The tag's open minute (the one of its latest sample, ``latest_us``, never stored
    as a rollup) and the start of the ``width_us`` bucket that holds it, when that bucket
    starts in [start, end); None otherwise (no samples, or out of range)."""
    if latest_us is None:
        return None
    minute = latest_us - latest_us % MINUTE_US
    bucket = minute - minute % width_us
    return (minute, bucket) if start_us <= bucket < end_us else None


def with_open_minute(
    stored: list[Bucket],
    bucket: int,
    width_us: int,
    fresh: list[Bucket],
    closed_minutes: list[Bucket],
) -> list[Bucket]:
    """Stored rollups with the bucket ``bucket`` (see :func:`open_minute`) made anew
    from the stored minutes it closed so far and the open minute, ``fresh``, computed
    from the samples."""
    if width_us != MINUTE_US:
        fresh = combine(closed_minutes + fresh, MINUTE_US, bucket, width_us)
    return [b for b in stored if b.start_us != bucket] + fresh
