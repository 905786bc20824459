"""The historian store conformance kit: the tests every store plugin must pass.

A store's test module subclasses :class:`HistorianStoreConformance`, names the class and
its settings, and (for a store with a server) overrides the ``store_context`` fixture or
:meth:`make_store`. The inherited tests prove what the historian service relies on:

- samples round-trip (value, text, quality, receive time) and page by time;
- a write is one transaction with its stream position, and positions survive a reopen;
- writing the same rows twice stores them once (a replay after a crash is harmless);
- raw aggregates, minute and hour rollups equal the reference
  (:func:`plantbus.sdk.historian.summarize`), also after late, out-of-order samples;
- rollups combine into wider buckets exactly (:func:`plantbus.sdk.historian.combine`);
- ``around``, events by kind, scope and time with paging, expiry, and a safe ``close``.
"""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest

from plantbus.sdk.historian import (
    HOUR_US,
    MINUTE_US,
    Bucket,
    Event,
    HistorianStore,
    Sample,
    StoreContext,
    WriteBatch,
    combine,
    summarize,
)

__all__ = ["HistorianStoreConformance", "random_series"]

T0 = 1_764_547_200_000_000
"""2025-12-01T00:00:00Z, an hour boundary."""


def random_series(tag: str, n: int, step_us: int, seed: int, start_us: int = T0) -> list[Sample]:
    """``n`` samples of ``tag`` at irregular steps around ``step_us``, some bad, some
    with integral values; reproducible by ``seed``."""
    rng = random.Random(seed)
    out, t = [], start_us
    for _ in range(n):
        t += max(1, int(step_us * rng.uniform(0.2, 1.8)))
        bad = rng.random() < 0.1
        value = None if bad else round(rng.uniform(-50, 150), rng.choice((0, 3)))
        out.append(Sample(tag, t, value, None, 3 if bad else 1, t + rng.randint(0, 5000)))
    return out


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


def assert_buckets_equal(got: Sequence[Bucket], want: Sequence[Bucket]) -> None:
    """Bucket lists equal up to float rounding."""
    assert [b.start_us for b in got] == [b.start_us for b in want], "bucket starts differ"
    for g, w in zip(got, want, strict=True):
        where = f"bucket at {g.start_us}"
        assert (g.samples, g.good, g.valued, g.covered_us) == (
            w.samples,
            w.good,
            w.valued,
            w.covered_us,
        ), f"{where}: {g} != {w}"
        assert (g.first_us, g.last_us) == (w.first_us, w.last_us), f"{where}: {g} != {w}"
        for name in ("min", "max", "sum", "area", "first", "last"):
            assert _close(getattr(g, name), getattr(w, name)), f"{where} {name}: {g} != {w}"


class HistorianStoreConformance:
    """Base class of a store's conformance tests; subclass it as ``TestMyStore``."""

    store_class: ClassVar[type[HistorianStore[Any]]]
    """The store under test."""
    settings: ClassVar[dict[str, Any]] = {}
    """Store settings, validated with ``store_class.Settings``."""

    @pytest.fixture
    def store_context(self, tmp_path: Path) -> StoreContext:
        """Override for a store with a server: where it keeps its data."""
        return StoreContext(data_dir=tmp_path / "store")

    def make_store(self, context: StoreContext) -> HistorianStore[Any]:
        """A fresh store, built as the historian builds it."""
        return self.store_class(self.store_class.Settings.model_validate(self.settings), context)

    @pytest.fixture
    async def store(self, store_context: StoreContext) -> AsyncIterator[HistorianStore[Any]]:
        """An open store, closed after the test."""
        store = self.make_store(store_context)
        await store.open()
        try:
            yield store
        finally:
            await store.close()

    def test_declares_manifest_and_settings(self) -> None:
        """The plugin loader and governance need these."""
        cls = self.store_class
        assert cls.manifest.name and cls.manifest.version and cls.manifest.api_version
        cls.Settings.model_validate(self.settings)

    async def test_samples_round_trip_and_page(self, store: HistorianStore[Any]) -> None:
        """Values, text, quality and receive time come back; pages continue by time."""
        rows = [
            Sample("s/a/l/m/temp", T0 + i * 1_000_000, 20.5 + i, None, 1, T0 + i * 1_000_000 + 7)
            for i in range(10)
        ]
        rows.append(Sample("s/a/l/m/mode", T0, None, "auto", 1, T0 + 3))
        rows.append(Sample("s/a/l/m/temp", T0 + 10_000_000, None, None, 3, T0 + 10_000_001))
        await store.write(WriteBatch(samples=rows, positions={"S": 12}))
        first = await store.samples("s/a/l/m/temp", T0, T0 + 60_000_000, limit=4)
        assert first == rows[:4]
        rest = await store.samples("s/a/l/m/temp", T0, T0 + 60_000_000, 100, first[-1].time_us)
        assert rest == [*rows[4:10], rows[11]]
        assert await store.samples("s/a/l/m/mode", T0, T0 + 1, 10) == [rows[10]]
        assert await store.samples("s/a/l/m/none", T0, T0 + 1, 10) == []
        assert await store.tags() == ["s/a/l/m/mode", "s/a/l/m/temp"]

    async def test_position_is_committed_with_the_rows_and_survives_reopen(
        self, store_context: StoreContext
    ) -> None:
        """The historian resumes after the committed sequence."""
        store = self.make_store(store_context)
        await store.open()
        assert await store.position("S") == 0
        batch = WriteBatch(samples=random_series("s/a/l/m/x", 50, 1_000_000, 1), positions={"S": 7})
        await store.write(batch)
        await store.write(WriteBatch(positions={"E": 3}))
        await store.close()
        await store.close()  # twice is safe
        again = self.make_store(store_context)
        await again.open()
        try:
            assert (await again.position("S"), await again.position("E")) == (7, 3)
            assert len(await again.samples("s/a/l/m/x", 0, 2**62, 1000)) == 50
        finally:
            await again.close()

    async def test_the_same_rows_twice_are_stored_once(self, store: HistorianStore[Any]) -> None:
        """A replay of a batch (same tag and time) replaces, never doubles."""
        series = random_series("s/a/l/m/x", 200, 500_000, 2)
        for _ in range(2):
            await store.write(WriteBatch(samples=series))
        assert await store.samples("s/a/l/m/x", 0, 2**62, 1000) == series
        minutes = await store.rollups("s/a/l/m/x", MINUTE_US, 0, 2**62)
        assert sum(b.samples for b in minutes) == 200

    async def test_aggregates_equal_the_reference(self, store: HistorianStore[Any]) -> None:
        """Raw aggregates for odd widths and starts match summarize()."""
        series = random_series("s/a/l/m/x", 3000, 1_000_000, 3)
        for i in range(0, len(series), 700):
            await store.write(WriteBatch(samples=series[i : i + 700]))
        for start, width in ((T0, 7_300_000), (T0 + 1_234_567, 172_800_000), (T0, MINUTE_US)):
            end = start + (series[-1].time_us - start) // width * width + width
            want = summarize(series, start, end, width)
            assert_buckets_equal(await store.aggregate("s/a/l/m/x", start, end, width), want)

    async def test_rollups_follow_late_and_out_of_order_samples(
        self, store: HistorianStore[Any]
    ) -> None:
        """Minute and hour rollups equal the reference after a spool replay: the newest
        samples first, then an older stretch in reverse order, then one inside a minute
        that already has samples."""
        series = random_series("s/a/l/m/x", 8000, 1_000_000, 4)
        tail, middle, head = series[5000:], series[1000:5000], series[:1000]
        await store.write(WriteBatch(samples=tail))
        for i in range(len(middle), 0, -1500):
            await store.write(WriteBatch(samples=middle[max(0, i - 1500) : i]))
        await store.write(WriteBatch(samples=head[::2]))
        await store.write(WriteBatch(samples=head[1::2]))
        end = series[-1].time_us - series[-1].time_us % HOUR_US + HOUR_US
        for width in (MINUTE_US, HOUR_US):
            got = await store.rollups("s/a/l/m/x", width, T0, end)
            assert_buckets_equal(got, summarize(series, T0, end, width))

    async def test_rollups_combine_into_wider_buckets(self, store: HistorianStore[Any]) -> None:
        """Five-minute and two-hour buckets from the stored rollups equal the reference."""
        series = random_series("s/a/l/m/x", 2000, 7_000_000, 5)  # sparse: holds span minutes
        await store.write(WriteBatch(samples=series))
        end = series[-1].time_us - series[-1].time_us % (2 * HOUR_US) + 2 * HOUR_US
        minutes = await store.rollups("s/a/l/m/x", MINUTE_US, T0, end)
        want = summarize(series, T0, end, 5 * MINUTE_US)
        assert_buckets_equal(combine(minutes, MINUTE_US, T0, 5 * MINUTE_US), want)
        hours = await store.rollups("s/a/l/m/x", HOUR_US, T0, end)
        want = summarize(series, T0, end, 2 * HOUR_US)
        assert_buckets_equal(combine(hours, HOUR_US, T0, 2 * HOUR_US), want)

    async def test_around_finds_the_neighbours(self, store: HistorianStore[Any]) -> None:
        """The sample at or before a time and the one after it."""
        series = random_series("s/a/l/m/x", 20, 1_000_000, 6)
        await store.write(WriteBatch(samples=series))
        assert await store.around("s/a/l/m/x", series[5].time_us) == (series[5], series[6])
        assert await store.around("s/a/l/m/x", series[5].time_us + 1) == (series[5], series[6])
        assert await store.around("s/a/l/m/x", T0) == (None, series[0])
        assert await store.around("s/a/l/m/x", series[-1].time_us + 9) == (series[-1], None)

    async def test_events_by_kind_scope_and_time_with_paging(
        self, store: HistorianStore[Any]
    ) -> None:
        """Scope matches the path and what is under it, never a sibling with a longer name."""
        events = [
            Event(kind, scope, T0 + i * 1000, f"k{i}", bytes([i]))
            for i, (kind, scope) in enumerate(
                [
                    ("alarm", "s/a/l/m1"),
                    ("downtime", "s/a/l/m1"),
                    ("alarm", "s/a/l/m10"),
                    ("oee", "s/a/l"),
                    ("alarm", "s/a/l/m1"),
                    ("alarm", "s/a/l_x/m1"),
                ]
            )
        ]
        await store.write(WriteBatch(events=events[3:]))
        await store.write(WriteBatch(events=events[:3]))  # older ones arrive later
        found = await store.events(["alarm"], "s/a/l/m1", T0, T0 + 10**9, 10)
        assert [e for _, e in found] == [events[0], events[4]]
        everything = await store.events([], "", T0, T0 + 10**9, 10)
        assert [e for _, e in everything] == events
        page = await store.events([], "s/a/l", T0, T0 + 10**9, 2)
        nxt = await store.events(
            [], "s/a/l", T0, T0 + 10**9, 10, (page[-1][1].time_us, page[-1][0])
        )
        assert [e for _, e in page + nxt] == events[:5]
        assert await store.events([], "", T0 + 1, T0 + 1000, 10) == []

    async def test_expire_deletes_only_what_is_older(self, store: HistorianStore[Any]) -> None:
        """Samples, rollups and events each go by their own cut-off."""
        series = random_series("s/a/l/m/x", 300, 1_000_000, 7)
        events = [Event("alarm", "s/a/l/m", T0 + 10, "a", b""), Event("oee", "s/a/l", T0, "o", b"")]
        await store.write(WriteBatch(samples=series, events=events))
        cut = series[150].time_us
        minute_cut = cut - cut % MINUTE_US
        deleted = await store.expire(cut, {MINUTE_US: minute_cut, HOUR_US: 0}, {"alarm": T0 + 11})
        assert deleted > 150
        assert await store.samples("s/a/l/m/x", 0, 2**62, 1000) == series[150:]
        minutes = await store.rollups("s/a/l/m/x", MINUTE_US, 0, 2**62)
        assert minutes and minutes[0].start_us == minute_cut
        assert len(await store.rollups("s/a/l/m/x", HOUR_US, 0, 2**62)) == 1
        assert [e for _, e in await store.events([], "", 0, 2**62, 10)] == [events[1]]
