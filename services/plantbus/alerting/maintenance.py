"""The maintenance service's events as the maintenance rule kinds judge them (pure).

What a recorded maintenance restarts follows the maintenance service's own rule
(docs/maintenance.md): the counters, and so the levels, of the plans of the component
maintained; the baselines of the monitored tags of those plans, or of every monitor of
the machine when the machine as a whole was maintained.
"""

from __future__ import annotations

from plantbus.config.maintenance import MaintenanceConfig
from plantbus.config.rules import MaintenanceView
from plantbus.v1 import maintenance_pb2 as pb

__all__ = ["MACHINE", "view_of"]

MACHINE = "machine"
"""The component every machine has: the machine as a whole."""

_KNOWN = frozenset({"window", "anomaly", "forecast", "warning", "due", "ok", "done"})


def _kind(msg: pb.MaintenanceEvent) -> str:
    """``MAINTENANCE_EVENT_KIND_DUE`` -> ``due`` ("" for a number this version lacks)."""
    try:
        name = pb.MaintenanceEventKind.Name(msg.kind)
    except ValueError:
        return ""
    return name.removeprefix("MAINTENANCE_EVENT_KIND_").lower()


def view_of(msg: pb.MaintenanceEvent, section: MaintenanceConfig) -> MaintenanceView | None:
    """``msg`` for the rules; None for a kind they do not know."""
    kind = _kind(msg)
    if kind not in _KNOWN:
        return None
    if kind in ("window", "anomaly"):
        w = msg.window
        score = w.score if w.HasField("score") else None
        return MaintenanceView(
            kind, msg.machine, tag=w.tag, score=score, threshold=w.threshold, value=score
        )
    if kind == "done":
        return _done(msg.machine, msg.usage.component, section)
    fc = msg.plan.forecast
    hours = fc.hours if kind == "forecast" and fc.HasField("hours") else None
    value = hours if kind == "forecast" else msg.plan.value
    return MaintenanceView(kind, msg.machine, plan=msg.plan.plan, hours=hours, value=value)


def _done(machine: str, component: str, section: MaintenanceConfig) -> MaintenanceView:
    """Maintenance of ``component`` recorded: what it restarted."""
    plans = [p for p in section.plans if p.machine == machine and p.component == component]
    tags = {f"{machine}/{p.tag}" for p in plans if p.tag}
    if component == MACHINE:
        tags |= {m.tag for m in section.monitors if m.tag.rsplit("/", 1)[0] == machine}
    return MaintenanceView(
        "done",
        machine,
        restarted_plans=frozenset(p.name for p in plans),
        restarted_tags=frozenset(tags),
    )
