"""The historian's pure parts: rollup semantics (summarize, combine), query planning,
interpolation, page tokens, rows from bus messages, redelivery skipping, retention and
the config section."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from plantbus.config import PlantConfig
from plantbus.config.validate import cross_check
from plantbus.historian.batch import Pending
from plantbus.historian.query import (
    decode_token,
    encode_token,
    interpolate,
    match_tags,
    plan_buckets,
)
from plantbus.historian.retention import cutoffs
from plantbus.historian.rows import SnapshotFilter, TagFilter, event_of, samples_of
from plantbus.sdk.errors import NotFound, ValidationFailed
from plantbus.sdk.historian import HOUR_US, MINUTE_US, Sample, combine, summarize
from plantbus.testing.historian_kit import T0, assert_buckets_equal
from plantbus.v1 import alerting_pb2, erp_pb2, oee_pb2, telemetry_pb2

series_of = st.lists(
    st.tuples(
        st.integers(1, 400_000_000),
        st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False)),
    ),
    min_size=1,
    max_size=60,
).map(
    lambda pts: [
        Sample("t", T0 + t, v, None, 1 if v is not None else 3, T0 + t)
        for t, v in sorted(dict(pts).items())
    ]
)


@settings(max_examples=200, deadline=None)
@given(series_of, st.sampled_from([1, 2, 5, 60]))
def test_combining_minutes_equals_summarizing_the_samples(series: list[Sample], k: int) -> None:
    end = T0 + 10 * HOUR_US
    minutes = summarize(series, T0, end, MINUTE_US)
    assert_buckets_equal(
        combine(minutes, MINUTE_US, T0, k * MINUTE_US), summarize(series, T0, end, k * MINUTE_US)
    )


def test_time_weighting_holds_until_the_next_sample_within_the_bucket() -> None:
    series = [
        Sample("t", T0, 10.0, None, 1, 0),
        Sample("t", T0 + 15_000_000, 20.0, None, 1, 0),
        Sample("t", T0 + 30_000_000, None, None, 3, 0),  # no value: holds nothing
        Sample("t", T0 + 45_000_000, 40.0, None, 1, 0),
        Sample("t", T0 + 90_000_000, 0.0, None, 1, 0),
    ]
    first, second = summarize(series, T0, T0 + 2 * MINUTE_US, MINUTE_US)
    assert (first.samples, first.good, first.valued) == (4, 3, 3)
    assert first.time_weighted_mean == pytest.approx((10 * 15 + 20 * 15 + 40 * 15) / 45)
    assert first.mean == pytest.approx(70 / 3) and first.good_fraction == 0.75
    assert (first.first, first.last, second.first) == (10.0, 40.0, 0.0)


def test_bucket_plans_use_hours_minutes_or_raw() -> None:
    assert plan_buckets(T0, T0 + 7 * 24 * HOUR_US, HOUR_US).source == "hour"
    minute = plan_buckets(T0 + 5_000_000, T0 + HOUR_US, 20 * MINUTE_US)
    assert (minute.source, minute.start_us, minute.end_us) == ("minute", T0, T0 + HOUR_US)
    raw = plan_buckets(T0, T0 + 24 * HOUR_US, 24 * HOUR_US // 500)
    assert (raw.source, (raw.end_us - raw.start_us) // raw.width_us) == ("raw", 500)
    assert plan_buckets(T0 + 1, T0 + 2 * HOUR_US, HOUR_US).source == "minute"
    with pytest.raises(ValidationFailed, match="wider bucket"):
        plan_buckets(T0, T0 + 24 * HOUR_US, 1)
    with pytest.raises(ValidationFailed, match="bucket width"):
        plan_buckets(T0, T0 + 1, 0)


def test_interpolation_is_linear_between_numbers_and_holds_otherwise() -> None:
    a = Sample("t", 0, 10.0, None, 1, 5)
    b = Sample("t", 100, 20.0, None, 1, 105)
    assert interpolate(a, b, 25) == Sample("t", 25, 12.5, None, 1, 0)
    assert interpolate(a, b._replace(quality=3), 50).quality == 2  # type: ignore[union-attr]
    assert interpolate(a, None, 500) == a._replace(time_us=500)
    text = Sample("t", 0, None, "auto", 1, 0)
    assert interpolate(text, b, 50) == text._replace(time_us=50)
    assert interpolate(None, b, 50) is None


def test_tag_globs_and_page_tokens() -> None:
    known = ["s/a/l/m1/temp", "s/a/l/m2/temp", "s/a/l/m2/speed"]
    assert match_tags(["s/a/l/*/temp"], known) == ["s/a/l/m1/temp", "s/a/l/m2/temp"]
    assert match_tags([], known) == sorted(known)
    with pytest.raises(NotFound, match="'s/a/x'"):
        match_tags(["s/a/x"], known)
    assert decode_token(encode_token(tag=2, after=99), "tag", "after") == (2, 99)
    with pytest.raises(ValidationFailed, match="next_page_token"):
        decode_token("bm9wZQ==", "tag")


def test_samples_of_a_batch_keep_types_filter_and_retention() -> None:
    batch = telemetry_pb2.TagSampleBatch()
    for path, field, value in [
        ("s/a/l/m/temp", "double_value", 1.5),
        ("s/a/l/m/on", "bool_value", True),
        ("s/a/l/m/mode", "string_value", "auto"),
        ("x/a/l/m/temp", "int_value", 3),
    ]:
        sample = batch.samples.add(path=path, quality=telemetry_pb2.QUALITY_GOOD)
        setattr(sample.value, field, value)
        sample.source_time.FromMicroseconds(T0)
    batch.samples.add(
        path="s/a/l/m/old", quality=telemetry_pb2.QUALITY_BAD
    ).source_time.FromMicroseconds(1)
    kept, too_old = samples_of(batch, TagFilter(["s/*"]), T0 - 1)
    assert [(s.tag, s.value, s.text, s.receive_us) for s in kept] == [
        ("s/a/l/m/temp", 1.5, None, T0),
        ("s/a/l/m/on", 1.0, None, T0),
        ("s/a/l/m/mode", None, "auto", T0),
    ]
    assert type(kept[0]) is Sample
    assert kept[0] == Sample("s/a/l/m/temp", T0, 1.5, None, telemetry_pb2.QUALITY_GOOD, T0)
    assert too_old == 1


def test_events_take_their_scope_time_and_key() -> None:
    alarm = alerting_pb2.AlarmEvent(id="hot@s/a/l/m", scope="s/a/l/m")
    alarm.time.FromMicroseconds(T0)
    event = event_of(alarm, b"raw", "plantbus.v1.alarm.s.a.l.m.hot", 7, {})
    assert event is not None and event[:4] == ("alarm", "s/a/l/m", T0, "hot@s/a/l/m")
    order = erp_pb2.WorkOrderEvent(erp_id="WO-1")
    event = event_of(order, b"", "plantbus.v1.erp.workorder.s.l", 7, {"s/l": "s/a/l"})
    assert event is not None and (event.scope, event.time_us) == ("s/a/l", 7)
    assert event_of(telemetry_pb2.TagSampleBatch(), b"", "x", 7, {}) is None


def test_redeliveries_at_or_below_the_mark_are_skipped() -> None:
    pending = Pending({"S": 10})
    keep = TagFilter(["*"])
    batch = telemetry_pb2.TagSampleBatch(samples=[telemetry_pb2.TagSample(path="a/b")])
    for seq in (9, 10, 11, 12, 11):
        pending.add_telemetry("S", seq, batch.SerializeToString(), keep, 0)
    pending.add_telemetry("S", 13, b"\xff\xff", keep, 0)
    assert (pending.messages, pending.redelivered, pending.undecodable) == (3, 3, 1)
    assert len(pending.samples) == 2
    assert pending.write_batch().positions == {"S": 13}
    assert Pending({"S": 4, "E": 2}).write_batch().positions == {}


def test_retention_cutoffs_by_class_and_whole_buckets() -> None:
    now = T0 + 12_345_678
    cut = cutoffs(PlantConfig().historian.retention, now)
    assert cut.samples_us == now - 30 * 86_400_000_000
    assert cut.rollups_us[MINUTE_US] % MINUTE_US == 0 and cut.rollups_us[HOUR_US] % HOUR_US == 0
    assert set(cut.events_us) == {
        "oee",
        "oee_final",
        "downtime",
        "alarm",
        "work_order",
        "confirmation",
        "maintenance",
    }
    assert cut.events_us["oee_final"] == now - 3650 * 86_400_000_000


def test_the_config_section_has_defaults_and_is_checked() -> None:
    assert PlantConfig().historian.store == "sqlite"
    with pytest.raises(ValidationError, match="keep rollups at least as long"):
        PlantConfig.model_validate({"historian": {"retention": {"samples_days": 900}}})
    bad = PlantConfig.model_validate({"historian": {"store": "nosuch"}})
    assert any(loc == ("historian", "store") and "nosuch" in msg for loc, msg in cross_check(bad))
    wrong = PlantConfig.model_validate({"historian": {"store_settings": {"synchronous": "maybe"}}})
    assert [loc[:3] for loc, _ in cross_check(wrong)] == [
        ("historian", "store_settings", "synchronous")
    ]


def test_oee_snapshots_are_thinned_to_one_a_slot_and_every_change() -> None:
    keep = SnapshotFilter(60)
    running = oee_pb2.OeeSnapshot(scope="s/a/l/m", state="running", shift="early")
    kept = [keep(running, T0 + s * 1_000_000) for s in range(0, 130, 10)]
    assert kept == [True, False, False, False, False, False, True, *[False] * 5, True]
    stopped = oee_pb2.OeeSnapshot(scope="s/a/l/m", state="stopped", shift="early")
    assert keep(stopped, T0 + 131_000_000) and not keep(stopped, T0 + 132_000_000)
    other = oee_pb2.OeeSnapshot(scope="s/a/l", state="running")
    assert keep(other, T0 + 132_000_000)
    assert all(SnapshotFilter(0)(running, T0) for _ in range(3))
