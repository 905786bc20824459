"""Building OeeSnapshot messages from KPIs."""

from __future__ import annotations

from collections.abc import Mapping

from plantbus.kit import codec
from plantbus.oee.engine import Closed, MachineTrack
from plantbus.oee.kpi import Kpis, Totals
from plantbus.sdk.errors import NotFound
from plantbus.v1 import oee_pb2

__all__ = [
    "OUTSIDE_PRODUCTION",
    "current_totals",
    "final_snapshot",
    "iso_kpis",
    "past_shift",
    "snapshot",
]

OUTSIDE_PRODUCTION = "parts_outside_production_time"

_RATIOS = {
    "availability": "availability",
    "effectiveness": "performance",
    "quality_ratio": "quality",
    "oee": "oee",
    "teep": "teep",
    "nee": "nee",
    "utilisation_efficiency": "utilisation_efficiency",
    "allocation_efficiency": "allocation_efficiency",
    "setup_ratio": "setup_ratio",
    "scrap_ratio": "scrap_ratio",
    "rework_ratio": "rework_ratio",
    "first_pass_yield": "first_pass_yield",
    "mtbf_s": "mtbf_s",
    "mttr_s": "mttr_s",
}
"""IsoKpis field: Kpis property."""


def current_totals(track: MachineTrack) -> Totals:
    """The current shift's totals, or everything when the machine is outside a shift."""
    if track.in_shift and track.shift in track.shifts:
        return track.shifts[track.shift]
    return track.totals


def iso_kpis(kpis: Kpis, ratios: Mapping[str, float | None] | None = None) -> oee_pb2.IsoKpis:
    """Every ISO 22400-2 KPI of one period (``ratios``: :func:`_ratios` of ``kpis``, when
    the caller has them already)."""
    t = kpis.totals
    return oee_pb2.IsoKpis(  # a ratio of None is left unset: no data
        planned_busy_time_s=kpis.pbt_s,
        actual_production_time_s=t.apt_s,
        actual_unit_busy_time_s=t.busy_s,
        setup_time_s=t.setup_s,
        downtime_s=t.down_s,
        planned_downtime_s=t.planned_down_s,
        total_count=t.total_count,
        good_count=kpis.good_count,
        scrap_count=t.reject_count,
        rework_count=t.rework_count,
        failures=t.failures,
        **(_ratios(kpis) if ratios is None else ratios),
    )


def _ratios(kpis: Kpis) -> dict[str, float | None]:
    """Each ratio of ``IsoKpis`` by its field, computed once."""
    return {field: getattr(kpis, name) for field, name in _RATIOS.items()}


def snapshot(
    scope: str,
    kpis: Kpis,
    track: MachineTrack | None = None,
    shift: str = "",
    revision: int = 0,
) -> oee_pb2.OeeSnapshot:
    """A snapshot message for ``scope``."""
    t = kpis.totals
    ratios = _ratios(kpis)
    msg = oee_pb2.OeeSnapshot(
        scope=scope,
        time=codec.now(),
        shift=shift,
        planned_busy_time_s=kpis.pbt_s,
        actual_production_time_s=t.apt_s,
        downtime_s=t.down_s,
        total_count=t.total_count,
        good_count=kpis.good_count,
        downtime_by_reason=t.down_by_reason,
        kpis=iso_kpis(kpis, ratios),
        revision=revision,
        availability=ratios["availability"],
        performance=ratios["effectiveness"],
        quality=ratios["quality_ratio"],
        oee=ratios["oee"],
    )
    if track is not None:
        msg.state, msg.reason, msg.work_order = track.state, track.reason, track.order
        order = track.orders.get(track.order) if track.order else None
        if order is not None:
            _order_fields(msg, order)
    if t.outside_count:
        msg.findings.add(
            code=OUTSIDE_PRODUCTION,
            count=t.outside_count,
            message=f"{t.outside_count} parts counted outside production time (outside "
            "shifts, in breaks or planned stops): they are in the part count but no "
            "production time, so the performance is too high; check the shift calendar "
            "against the machine's state signal",
        )
    return msg


def _order_fields(msg: oee_pb2.OeeSnapshot, order: Totals) -> None:
    msg.order_total_count = order.total_count
    msg.order_good_count = order.total_count - order.reject_count
    msg.order_run_s, msg.order_down_s = order.apt_s, order.down_s
    msg.order_kpis.CopyFrom(iso_kpis(Kpis(order)))


def final_snapshot(closed: Closed, revision: int) -> oee_pb2.OeeSnapshot:
    """The final figures of a shift or work order that ended."""
    msg = snapshot(closed.machine, Kpis(closed.totals), revision=revision)
    msg.final = True
    msg.time.CopyFrom(codec.timestamp(closed.ts))
    if closed.kind == "shift":
        msg.shift = closed.key
    else:
        msg.work_order = closed.key
        _order_fields(msg, closed.totals)
    return msg


def past_shift(
    tracks: Mapping[str, MachineTrack],
    finals: Mapping[str, Mapping[tuple[str, str], Closed]],
    scope: str,
    shift: str,
) -> oee_pb2.OeeSnapshot:
    """The figures of a named shift of a machine or line (``scope``): open in its tracks or
    among the finals kept per machine."""
    parts: list[Totals] = []
    known: set[str] = set()
    for name, track in tracks.items():
        kept = finals.get(name, {})
        known |= set(track.shifts) | {k for kind, k in kept if kind == "shift"}
        if scope not in (name, track.line):
            continue
        if shift in track.shifts:
            parts.append(track.shifts[shift])
        elif ("shift", shift) in kept:
            parts.append(kept[("shift", shift)].totals)
    if not parts:
        raise NotFound(
            f"no shift {shift!r} for {scope!r}; known: {', '.join(sorted(known)) or '-'}"
        )
    return snapshot(scope, Kpis(Totals.sum(parts)), None, shift)
