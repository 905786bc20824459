"""The device service's own write check refuses NaN and infinities for every numeric
tag; the refresh republish of a tag runs on the monotonic clock, the sample's stamps on
the wall clock."""

from __future__ import annotations

import math

import pytest

from plantbus.config.devices import Tag
from plantbus.device.samples import SampleFilter
from plantbus.device.wire import sample_of
from plantbus.device.writes import tag_refusal
from plantbus.sdk.driver import Reading

OPEN = Tag(name="sp", address="s", data_type="float64", access="read_write")
BOUNDED = Tag(name="n", address="n", data_type="int32", access="read_write", min=0, max=10)


@pytest.mark.parametrize("tag", [OPEN, BOUNDED])
@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_a_non_finite_value_is_refused_for_every_numeric_tag(tag: Tag, value: float) -> None:
    assert tag_refusal("m/sp", tag, value) == (
        f"tag 'm/sp' takes finite numbers only; {value!r} is not one"
    )


def test_finite_values_within_the_limits_pass() -> None:
    assert tag_refusal("m/sp", OPEN, 1e308) == ""
    assert tag_refusal("m/n", BOUNDED, 10) == ""


def test_refresh_follows_the_monotonic_clock_when_the_wall_clock_jumps_back() -> None:
    f = SampleFilter("s/a/l/m", [Tag(name="t", address="t", data_type="float32")], 60)
    wall, mono = 1_700_000_000.0, 500.0
    assert f.accept(Reading("t", 1.0), wall, mono=mono) is not None
    jumped_back = wall - 3600  # NTP steps the clock back an hour
    assert f.accept(Reading("t", 1.0), jumped_back + 30, mono=mono + 30) is None
    record = f.accept(Reading("t", 1.0), jumped_back + 61, mono=mono + 61)
    assert record is not None
    refreshed = sample_of(record[1])
    assert refreshed.sequence == 2
    assert refreshed.receive_time.seconds == int(jumped_back + 61), "stamped with the wall clock"
