"""Engine results to bus and RPC messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from plantbus.config.maintenance import Plan
from plantbus.kit import codec
from plantbus.maintenance.engine import Engine, Event
from plantbus.maintenance.forecast import Forecast
from plantbus.maintenance.plans import PlanStatus
from plantbus.maintenance.usage import Usage
from plantbus.sdk.maintenance import Window
from plantbus.v1 import maintenance_pb2 as pb

__all__ = ["KINDS", "event", "forecast", "plan_state", "status", "usage", "window"]

KINDS: Final = {
    "window": pb.MAINTENANCE_EVENT_KIND_WINDOW,
    "anomaly": pb.MAINTENANCE_EVENT_KIND_ANOMALY,
    "forecast": pb.MAINTENANCE_EVENT_KIND_FORECAST,
    "warning": pb.MAINTENANCE_EVENT_KIND_WARNING,
    "due": pb.MAINTENANCE_EVENT_KIND_DUE,
    "ok": pb.MAINTENANCE_EVENT_KIND_OK,
    "done": pb.MAINTENANCE_EVENT_KIND_DONE,
}


def window(w: Window, score: float | None, threshold: float) -> pb.ConditionWindow:
    """A window with its score."""
    out = pb.ConditionWindow(
        tag=w.tag,
        state=w.state,
        start=codec.timestamp(w.start),
        end=codec.timestamp(w.end),
        count=w.count,
        mean=w.mean,
        rms=w.rms,
        std=w.std,
        peak=w.peak,
        slope=w.slope,
        threshold=threshold,
    )
    if score is not None:
        out.score = score
    return out


def forecast(plan: Plan, fc: Forecast) -> pb.MaintenanceForecast:
    """A condition plan's forecast."""
    out = pb.MaintenanceForecast(
        tag=f"{plan.machine}/{plan.tag}",
        indicator=plan.indicator,
        limit=plan.limit or 0.0,
        level=fc.level,
        slope_per_hour=fc.slope_per_h,
        points=fc.points,
    )
    for name in ("hours", "hours_early", "hours_late"):
        value = getattr(fc, name)
        if value is not None:
            setattr(out, name, value)
    return out


def plan_state(plan: Plan, st: PlanStatus, fc: Forecast | None) -> pb.PlanState:
    """Where a plan stands."""
    out = pb.PlanState(
        plan=plan.name,
        machine=plan.machine,
        component=plan.component,
        by=plan.by,
        level=st.level,
        value=st.value,
        due=st.due,
        message=st.message,
        warning=plan.warning,
    )
    if st.remaining is not None:
        out.remaining = st.remaining
    if fc is not None:
        out.forecast.CopyFrom(forecast(plan, fc))
    return out


def usage(machine: str, component: str, u: Usage, figures: dict[str, float]) -> pb.ComponentUsage:
    """A component's counters (``figures``: :meth:`Usage.figures` at the moment shown)."""
    return pb.ComponentUsage(
        machine=machine,
        component=component,
        running_hours=figures["running_hours"],
        cycles=int(figures["cycles"]),
        starts=int(figures["starts"]),
        stops=int(figures["stops"]),
        since=codec.timestamp(u.since),
        resets=u.epoch,
        last_note=u.last_note,
        last_by=u.last_by,
    )


def event(e: Event, plans: dict[str, Plan], u: Usage | None) -> pb.MaintenanceEvent:
    """An engine event as published."""
    out = pb.MaintenanceEvent(
        kind=KINDS[e.kind], machine=e.machine, time=codec.timestamp(e.time), message=e.message
    )
    if e.window is not None:
        out.window.CopyFrom(window(e.window, e.score, e.threshold))
    plan = plans.get(e.plan)
    if plan is not None and e.status is not None:
        out.plan.CopyFrom(plan_state(plan, e.status, e.forecast))
    if e.usage and u is not None:
        out.usage.CopyFrom(usage(e.machine, e.component, u, e.usage))
    return out


def status(
    engine: Engine, latest: Mapping[str, pb.ConditionWindow], machine: str, now: float
) -> pb.GetMaintenanceStatusResponse:
    """Counters, plans and latest windows of ``machine`` (every machine for '')."""
    out = pb.GetMaintenanceStatusResponse()
    for (m, component), u in sorted(engine.usage.items()):
        if machine in ("", m):
            out.usage.append(usage(m, component, u, u.figures(now)))
    for st in engine.statuses(now):
        plan = engine.plans[st.plan]
        if machine in ("", plan.machine):
            trend = engine.trends.get(plan.name)
            out.plans.append(plan_state(plan, st, trend.last if trend else None))
    out.windows.extend(
        w for tag, w in sorted(latest.items()) if machine in ("", tag.rsplit("/", 1)[0])
    )
    return out
