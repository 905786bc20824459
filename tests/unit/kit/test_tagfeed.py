"""The filter subjects of a filtered telemetry read: one per machine of the tags read, and
every machine when they would not fit in the consumer's create request."""

from __future__ import annotations

from plantbus.kit.tagfeed import EVERY_MACHINE, filters


def test_one_subject_per_machine_sorted_without_repeats() -> None:
    paths = ["s/a/l/m2/temp", "s/a/l/m1/state", "s/a/l/m2/temp", "s/a/l/m2/speed"]
    assert filters(paths, 1024 * 1024) == [
        "plantbus.v1.cycle.s.a.l.m1.*",
        "plantbus.v1.cycle.s.a.l.m2.*",
    ]
    assert filters([], 1024 * 1024) == []


def test_too_many_machines_for_one_request_read_every_machine() -> None:
    paths = [f"s/a/l{i}/m{j}/t" for i in range(1000) for j in range(20)]
    assert filters(paths, 1024 * 1024) == [EVERY_MACHINE]  # 20,000 subjects: about 640 KB
    assert len(filters(paths, 8 * 1024 * 1024)) == 20_000
