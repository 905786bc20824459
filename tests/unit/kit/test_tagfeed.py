"""The filter subjects of a filtered telemetry read: one per tag, and every tag when they
would not fit in the consumer's create request."""

from __future__ import annotations

from plantbus.kit.tagfeed import EVERY_TAG, filters


def test_one_subject_per_tag_sorted_without_repeats() -> None:
    paths = ["s/a/l/m2/temp", "s/a/l/m1/state", "s/a/l/m2/temp"]
    assert filters(paths, 1024 * 1024) == [
        "plantbus.v1.telemetry.s.a.l.m1.state",
        "plantbus.v1.telemetry.s.a.l.m2.temp",
    ]
    assert filters([], 1024 * 1024) == []


def test_too_many_tags_for_one_request_read_every_tag() -> None:
    paths = [f"s/a/l/m{i}/t{j}" for i in range(1000) for j in range(20)]
    assert filters(paths, 1024 * 1024) == [EVERY_TAG]  # 20,000 subjects: about 780 KB
    assert len(filters(paths, 8 * 1024 * 1024)) == 20_000
