"""Corrections by people, worked: scrap and rework found after the fact and a wrong part
count, each entered at the time the parts belong to, recompute the shift's figures with a
new revision; a time past the correction horizon or in the future, an unknown machine,
correction or quantity is refused."""

from __future__ import annotations

from typing import Any

import pytest

from plantbus.config import PlantConfig
from plantbus.oee.corrections import correct_counts
from plantbus.oee.live import LiveOee
from plantbus.sdk.errors import NotFound, ValidationFailed
from plantbus.v1 import oee_pb2
from tests.unit.oee.test_live import M1, MAPPING, run, utc

SCRAP, REWORK, TOTAL = (
    oee_pb2.COUNT_CORRECTION_SCRAP,
    oee_pb2.COUNT_CORRECTION_REWORK,
    oee_pb2.COUNT_CORRECTION_TOTAL,
)


def config(horizon_s: float) -> PlantConfig:
    shift = {"name": "early", "start": "06:00", "end": "14:00"}
    calendar: dict[str, Any] = {"name": "c", "lines": ["s/a/l"], "shifts": [shift]}
    return PlantConfig.model_validate(
        {
            "oee": [{**MAPPING, "rework_tag": "rework"}],
            "shift_calendars": [calendar],
            "oee_settings": {"correction_horizon_s": horizon_s},
        }
    )


def running(horizon_s: float = 86400) -> LiveOee:
    """m1 ran from 06:00 to 09:00 (ideal cycle 1 s) and counted 3,600 parts by 07:00."""
    live = LiveOee()
    live.configure(config(horizon_s), utc(5, 5, 0))
    live.sample(f"{M1}/parts", 0, utc(5, 5, 59), utc(5, 5, 59))
    run(live, utc(5, 6, 0), utc(5, 6, 59))
    live.sample(f"{M1}/parts", 3600, utc(5, 7, 0), utc(5, 7, 0))
    run(live, utc(5, 7, 0), utc(5, 9, 0))
    return live


def test_scrap_rework_and_a_count_correction_recompute_the_shift() -> None:
    live = running()
    now = utc(5, 9, 0)
    before = live.machine_snapshot(M1, now)
    assert (before.total_count, before.good_count) == (3600, 3600)
    assert before.performance == pytest.approx(3600 / (3 * 3600))

    correct_counts(live, M1, utc(5, 7, 30), SCRAP, 180, now)  # found bad at inspection
    live.tick(now)
    scrapped = live.machine_snapshot(M1, now)
    assert (scrapped.total_count, scrapped.good_count) == (3600, 3420)
    assert scrapped.quality == pytest.approx(3420 / 3600)  # GQ / PQ
    assert scrapped.kpis.scrap_count == 180
    assert scrapped.revision > before.revision

    correct_counts(live, M1, utc(5, 7, 45), REWORK, 36, now)
    live.tick(now)
    reworked = live.machine_snapshot(M1, now)
    assert reworked.kpis.rework_count == 36 and reworked.good_count == 3420
    assert reworked.kpis.rework_ratio == pytest.approx(36 / 3600)  # RQ / PQ
    assert reworked.revision > scrapped.revision

    correct_counts(live, M1, utc(5, 8, 0), TOTAL, 1800, now)  # the counter missed a box
    correct_counts(live, M1, utc(5, 8, 1), SCRAP, -80, now)  # 80 of the scrap were good
    live.tick(now)
    counted = live.machine_snapshot(M1, now)
    assert (counted.total_count, counted.good_count) == (5400, 5300)
    assert counted.performance == pytest.approx(5400 / (3 * 3600))  # PRI x PQ / APT
    assert counted.revision > reworked.revision


def test_a_correction_past_the_horizon_or_in_the_future_is_refused() -> None:
    live = running(horizon_s=1800)
    now = utc(5, 9, 0)
    with pytest.raises(ValidationFailed, match="older than the correction horizon"):
        correct_counts(live, M1, utc(5, 7, 0), SCRAP, 10, now)
    with pytest.raises(ValidationFailed, match="future"):
        correct_counts(live, M1, utc(5, 9, 5), SCRAP, 10, now)
    with pytest.raises(ValidationFailed, match="quantity"):
        correct_counts(live, M1, utc(5, 8, 50), SCRAP, 0, now)
    with pytest.raises(ValidationFailed, match="scrap, rework or total"):
        correct_counts(live, M1, utc(5, 8, 50), oee_pb2.COUNT_CORRECTION_UNSPECIFIED, 1, now)
    with pytest.raises(NotFound, match="s/a/l/m9"):
        correct_counts(live, "s/a/l/m9", utc(5, 8, 50), SCRAP, 1, now)
    correct_counts(live, M1, utc(5, 8, 50), SCRAP, 10, now)  # inside it: taken
    live.tick(now)
    assert live.machine_snapshot(M1, now).good_count == 3590
