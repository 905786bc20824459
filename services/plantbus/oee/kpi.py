"""ISO 22400-2 KPIs from accumulated times and counts.

Lines, shifts and orders are aggregated by adding the underlying times and counts
(never by averaging ratios), then applying the same formulas.

Convention for a zero denominator (no planned busy time, no production, no parts):
the ratio is None, reported as null. "No data" is neither 100 % nor 0 %.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any

__all__ = ["Kpis", "Totals", "ratio"]


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None when the denominator is zero."""
    return numerator / denominator if denominator > 0 else None


@dataclass(slots=True)
class Totals:
    """Times (seconds) and counts accumulated for one scope."""

    calendar_s: float = 0.0
    """All observed time, in a shift or not (the TEEP base)."""
    pot_s: float = 0.0
    """Planned operation time: time inside shifts."""
    planned_down_s: float = 0.0
    apt_s: float = 0.0
    """Actual production time: running inside shifts, outside planned stops."""
    down_s: float = 0.0
    """Unplanned downtime."""
    down_by_reason: dict[str, float] = field(default_factory=dict)
    planned_by_reason: dict[str, float] = field(default_factory=dict)
    busy_s: float = 0.0
    """Actual unit busy time AUBT: planned busy time while a work order is on the machine."""
    busy_apt_s: float = 0.0
    """Actual production time while a work order is on the machine."""
    total_count: int = 0
    reject_count: int = 0
    rework_count: int = 0
    startup_rejects: int = 0
    ideal_s: float = 0.0
    """Σ PRI * PQ: the time the parts made would take at the ideal cycle time."""
    ideal_reject_s: float = 0.0
    ideal_startup_reject_s: float = 0.0
    failures: int = 0
    minor_stop_s: float = 0.0
    setup_s: float = 0.0
    outside_count: int = 0
    """Parts counted outside production time (outside shifts, in a break or a planned
    stop): a data-quality finding, since PQ has them but APT has no time for them."""

    def as_dict(self) -> dict[str, Any]:
        """``dataclasses.asdict`` of this, without its cost (saved for every machine)."""
        out = dict(zip(_TOTALS_FIELDS, _every(self), strict=True))
        out["down_by_reason"] = dict(self.down_by_reason)
        out["planned_by_reason"] = dict(self.planned_by_reason)
        return out

    def copy(self) -> Totals:
        """An independent copy (what ``copy.deepcopy`` gives, many times faster: the OEE
        service copies every machine's figures for each snapshot it sends)."""
        out = Totals(*_every(self))
        out.down_by_reason = dict(self.down_by_reason)
        out.planned_by_reason = dict(self.planned_by_reason)
        return out

    def add(self, other: Totals) -> None:
        """Add another scope's times and counts into this one."""
        totals = map(operator.add, _summed(self), _summed(other))
        for name, total in zip(_SUMMED, totals, strict=True):
            setattr(self, name, total)
        for reason, seconds in other.down_by_reason.items():
            self.down_by_reason[reason] = self.down_by_reason.get(reason, 0.0) + seconds
        for reason, seconds in other.planned_by_reason.items():
            self.planned_by_reason[reason] = self.planned_by_reason.get(reason, 0.0) + seconds

    @classmethod
    def sum(cls, parts: Iterable[Totals]) -> Totals:
        """The sum of several scopes."""
        out = cls()
        for part in parts:
            out.add(part)
        return out


_TOTALS_FIELDS = tuple(f.name for f in fields(Totals))
_every = attrgetter(*_TOTALS_FIELDS)
_SUMMED = tuple(n for n in _TOTALS_FIELDS if n not in ("down_by_reason", "planned_by_reason"))
"""The times and counts: what :meth:`Totals.add` adds field by field."""
_summed = attrgetter(*_SUMMED)


@dataclass(frozen=True, slots=True)
class Kpis:
    """The KPIs of one scope."""

    totals: Totals

    @property
    def pbt_s(self) -> float:
        """Planned busy time: planned operation time minus planned downtime."""
        return self.totals.pot_s - self.totals.planned_down_s

    @property
    def good_count(self) -> int:
        """Good quantity GQ = PQ - rejects."""
        return self.totals.total_count - self.totals.reject_count

    @property
    def availability(self) -> float | None:
        """APT / PBT."""
        return ratio(self.totals.apt_s, self.pbt_s)

    @property
    def performance(self) -> float | None:
        """Effectiveness: Σ(PRI * PQ) / APT (may exceed 1 when the ideal cycle time is wrong)."""
        return ratio(self.totals.ideal_s, self.totals.apt_s)

    @property
    def quality(self) -> float | None:
        """Quality ratio GQ / PQ."""
        return ratio(self.good_count, self.totals.total_count)

    @property
    def oee(self) -> float | None:
        """Availability * effectiveness * quality ratio."""
        a, p, q = self.availability, self.performance, self.quality
        return a * p * q if a is not None and p is not None and q is not None else None

    @property
    def teep(self) -> float | None:
        """OEE * utilisation (PBT / calendar time); not an ISO 22400 KPI, common practice."""
        oee, utilisation = self.oee, ratio(self.pbt_s, self.totals.calendar_s)
        return oee * utilisation if oee is not None and utilisation is not None else None

    @property
    def mtbf_s(self) -> float | None:
        """Mean operating time between failures: APT / failure events."""
        return ratio(self.totals.apt_s, self.totals.failures)

    @property
    def mttr_s(self) -> float | None:
        """Mean time to repair: unplanned downtime / failure events."""
        return ratio(self.totals.down_s, self.totals.failures)

    @property
    def scrap_ratio(self) -> float | None:
        """SQ / PQ."""
        return ratio(self.totals.reject_count, self.totals.total_count)

    @property
    def rework_ratio(self) -> float | None:
        """RQ / PQ."""
        return ratio(self.totals.rework_count, self.totals.total_count)

    @property
    def first_pass_yield(self) -> float | None:
        """Parts good the first time over parts inspected: (PQ - SQ - RQ) / PQ."""
        t = self.totals
        return ratio(t.total_count - t.reject_count - t.rework_count, t.total_count)

    @property
    def setup_ratio(self) -> float | None:
        """AUST / AUPT, where the unit's processing time AUPT = APT + AUST."""
        return ratio(self.totals.setup_s, self.totals.apt_s + self.totals.setup_s)

    @property
    def allocation_efficiency(self) -> float | None:
        """AUBT / PBT: how much of the planned busy time work orders had the machine
        (None without any order time: no order data is no figure, not 0)."""
        return ratio(self.totals.busy_s, self.pbt_s) if self.totals.busy_s > 0 else None

    @property
    def utilisation_efficiency(self) -> float | None:
        """APT / AUBT, both while a work order is on the machine."""
        return ratio(self.totals.busy_apt_s, self.totals.busy_s)

    @property
    def nee(self) -> float | None:
        """Net equipment effectiveness: utilisation efficiency * effectiveness * quality."""
        u, p, q = self.utilisation_efficiency, self.performance, self.quality
        return u * p * q if u is not None and p is not None and q is not None else None

    def six_big_losses(self) -> dict[str, float]:
        """Seconds lost to each of Nakajima's six big losses."""
        t = self.totals
        breakdowns = t.down_s - t.minor_stop_s - t.setup_s
        return {
            "breakdowns_s": breakdowns,
            "setup_adjustments_s": t.setup_s,
            "minor_stops_s": t.minor_stop_s,
            "reduced_speed_s": t.apt_s - t.ideal_s,
            "process_defects_s": t.ideal_reject_s - t.ideal_startup_reject_s,
            "reduced_yield_s": t.ideal_startup_reject_s,
        }

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``plantbus oee compute --json`` (ratios as fractions)."""
        t = self.totals
        return {
            "planned_busy_time_s": self.pbt_s,
            "actual_production_time_s": t.apt_s,
            "downtime_s": t.down_s,
            "downtime_by_reason": dict(sorted(t.down_by_reason.items())),
            "planned_downtime_s": t.planned_down_s,
            "planned_downtime_by_reason": dict(sorted(t.planned_by_reason.items())),
            "total_count": t.total_count,
            "good_count": self.good_count,
            "reject_count": t.reject_count,
            "availability": self.availability,
            "performance": self.performance,
            "quality": self.quality,
            "oee": self.oee,
            "teep": self.teep,
            "mtbf_s": self.mtbf_s,
            "mttr_s": self.mttr_s,
            "scrap_ratio": self.scrap_ratio,
            "rework_count": t.rework_count,
            "rework_ratio": self.rework_ratio,
            "first_pass_yield": self.first_pass_yield,
            "setup_ratio": self.setup_ratio,
            "actual_unit_busy_time_s": t.busy_s,
            "allocation_efficiency": self.allocation_efficiency,
            "utilisation_efficiency": self.utilisation_efficiency,
            "nee": self.nee,
            "failures": t.failures,
            "six_big_losses": self.six_big_losses(),
        }
