"""Parts counted outside production time (in a break, a planned stop, outside shifts) are
a data-quality finding on the snapshot, not a silent rise of performance above 100 %."""

from __future__ import annotations

import pytest

from plantbus.oee.live import LiveOee
from plantbus.oee.snapshot import OUTSIDE_PRODUCTION
from tests.unit.oee.test_live import M1, config, run, utc


def test_parts_counted_in_a_break_are_a_finding_on_the_snapshot() -> None:
    live = LiveOee()
    live.configure(config(), utc(5, 5, 0))  # 06:00-14:00, lunch 10:00-10:30
    live.sample(f"{M1}/parts", 0, utc(5, 5, 59), utc(5, 5, 59))
    run(live, utc(5, 6, 0), utc(5, 9, 59))
    live.sample(f"{M1}/parts", 3600, utc(5, 9, 59), utc(5, 9, 59))  # 1 part/4 s: P 25 %
    run(live, utc(5, 10, 0), utc(5, 10, 29))
    clean = live.machine_snapshot(M1, utc(5, 10, 0))
    assert list(clean.findings) == []
    live.sample(f"{M1}/parts", 3900, utc(5, 10, 15), utc(5, 10, 15))  # 300 during lunch
    run(live, utc(5, 10, 30), utc(5, 11, 0))
    snap = live.machine_snapshot(M1, utc(5, 11, 0))
    assert snap.total_count == 3900  # the parts are kept...
    (finding,) = snap.findings  # ...and said to be outside production time
    assert (finding.code, finding.count) == (OUTSIDE_PRODUCTION, 300)
    assert "shift calendar" in finding.message
    # APT 4.5 h (06:00-10:00 and 10:30-11:00): the 300 lunch parts add 300 s of ideal
    # time against no production time (3,600 / 16,200 without them)
    assert snap.performance == pytest.approx(3900 / 16200)


def test_parts_counted_outside_shifts_are_a_finding_too() -> None:
    live = LiveOee()
    live.configure(config(), utc(5, 14, 30))  # after the shift
    live.sample(f"{M1}/parts", 0, utc(5, 14, 30), utc(5, 14, 30))
    live.sample(f"{M1}/parts", 25, utc(5, 15, 0), utc(5, 15, 0))
    live.tick(utc(5, 15, 1))
    (finding,) = live.machine_snapshot(M1, utc(5, 15, 1)).findings
    assert finding.count == 25
