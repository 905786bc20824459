"""The service's own write checks, tag limits in config, and the back-off schedule."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError

from plantbus.config.devices import Tag
from plantbus.device.runtime import Backoff
from plantbus.device.writes import tag_refusal

SPEED = Tag(name="speed", address="s", data_type="uint16", access="read_write", min=0, max=3000)


@pytest.mark.parametrize(
    ("tag", "value", "why"),
    [
        (SPEED, 1500, ""),
        (SPEED, 3000.0, ""),
        (SPEED, 3001, "outside the limits of tag 'p' (0.0..3000.0)"),
        (SPEED, -1, "outside the limits"),
        (SPEED, "fast", "is uint16; 'fast' is not a number"),
        (SPEED, True, "is not a number"),
        (Tag(name="t", address="t", data_type="uint16"), 1, "tag 'p' is read-only"),
        (Tag(name="b", address="b", data_type="bool", access="read_write"), 1, "not true or"),
        (Tag(name="b", address="b", data_type="bool", access="read_write"), False, ""),
        (Tag(name="s", address="s", data_type="string", access="read_write"), 5, "not text"),
    ],
)
def test_tag_refusal(tag: Tag, value: bool | int | float | str, why: str) -> None:
    refusal = tag_refusal("p", tag, value)
    assert (why in refusal) if why else refusal == ""


def test_limits_must_be_in_order() -> None:
    with pytest.raises(ValidationError, match=r"min 5\.0 is above max 1\.0"):
        Tag(name="x", address="x", data_type="int16", min=5, max=1)


def test_backoff_grows_is_capped_jittered_and_demotes() -> None:
    backoff = Backoff(initial_s=0.5, max_s=4.0, demote_after=6, demoted_s=60.0)
    rng = random.Random(1)
    first = [backoff.delay(1, rng) for _ in range(200)]
    assert all(0.25 <= d <= 0.5 for d in first) and len(set(first)) > 100  # jittered
    assert all(1.0 <= backoff.delay(3, rng) <= 2.0 for _ in range(50))
    assert all(2.0 <= backoff.delay(5, rng) <= 4.0 for _ in range(50))  # capped at max_s
    demoted = [backoff.delay(6, rng) for _ in range(50)]
    assert all(48.0 <= d <= 72.0 for d in demoted)
