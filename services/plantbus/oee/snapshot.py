"""Building OeeSnapshot messages from KPIs."""

from __future__ import annotations

from plantbus.kit import codec
from plantbus.oee.engine import MachineTrack
from plantbus.oee.kpi import Kpis, Totals
from plantbus.v1 import oee_pb2

__all__ = ["current_totals", "snapshot"]


def current_totals(track: MachineTrack) -> Totals:
    """The current shift's totals, or everything when the machine is outside a shift."""
    if track.in_shift and track.shift in track.shifts:
        return track.shifts[track.shift]
    return track.totals


def snapshot(
    scope: str, kpis: Kpis, track: MachineTrack | None = None, shift: str = ""
) -> oee_pb2.OeeSnapshot:
    """A snapshot message for ``scope``."""
    t = kpis.totals
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
    )
    if track is not None:
        msg.state, msg.reason, msg.work_order = track.state, track.reason, track.order
        order = track.orders.get(track.order) if track.order else None
        if order is not None:
            msg.order_total_count = order.total_count
            msg.order_good_count = order.total_count - order.reject_count
            msg.order_run_s, msg.order_down_s = order.apt_s, order.down_s
    for name in ("availability", "performance", "quality", "oee"):
        value = getattr(kpis, name)
        if value is not None:
            setattr(msg, name, value)
    return msg
