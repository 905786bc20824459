"""What the page shows, kept in memory from the bus: latest value per subject, OEE trends,
service health (tag quality is ``quality``'s). Pure: the service feeds it decoded messages."""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DashboardState"]

_TREND_POINTS = 720


@dataclass
class DashboardState:
    """Latest OEE per scope, alarms, downtimes, work orders and services."""

    oee: dict[str, dict[str, Any]] = field(default_factory=dict)
    trends: dict[str, deque[tuple[float, float]]] = field(default_factory=dict)
    alarms: dict[str, dict[str, Any]] = field(default_factory=dict)
    downtimes: dict[str, dict[str, Any]] = field(default_factory=dict)
    workorders: dict[str, dict[str, Any]] = field(default_factory=dict)
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    timeline: dict[str, deque[dict[str, Any]]] = field(default_factory=dict)

    def on_oee(self, snap: dict[str, Any]) -> None:
        """Keep the snapshot, its trend point and the machine's state timeline."""
        scope = snap["scope"]
        previous = self.oee.get(scope, {})
        self.oee[scope] = snap
        if "oee" in snap:
            trend = self.trends.setdefault(scope, deque(maxlen=_TREND_POINTS))
            if previous.get("shift") != snap.get("shift"):
                trend.clear()
            value = float(snap["oee"])  # protobuf's JSON spells NaN and infinity as text
            if math.isfinite(value):  # a point the page can draw and JSON can carry
                trend.append((time.time(), value))
        state = snap.get("state")
        if state:
            line = self.timeline.setdefault(scope, deque(maxlen=200))
            if not line or line[-1]["state"] != state or line[-1]["reason"] != snap.get("reason"):
                line.append({"t": time.time(), "state": state, "reason": snap.get("reason", "")})

    def on_alarm(self, event: dict[str, Any]) -> None:
        """Keep alarms that are not back to normal."""
        if event.get("state") == "normal":
            self.alarms.pop(event["id"], None)
        else:
            self.alarms[event["id"]] = event

    def on_downtime(self, event: dict[str, Any]) -> None:
        """Keep the latest 100 downtime episodes by id."""
        merged = {**self.downtimes.get(event["id"], {}), **event}
        self.downtimes[event["id"]] = merged
        while len(self.downtimes) > 100:
            self.downtimes.pop(next(iter(self.downtimes)))

    def on_workorder(self, event: dict[str, Any]) -> None:
        """Keep work orders by id."""
        key = str(event.get("erp_id") or event.get("number") or event.get("id"))
        self.workorders[key] = {**self.workorders.get(key, {}), **event}

    def on_heartbeat(self, hb: dict[str, Any]) -> None:
        """Keep each instance's latest heartbeat."""
        self.services[f"{hb.get('service')}.{hb.get('instance')}"] = hb

    def snapshot(self) -> dict[str, Any]:
        """Everything, for a page that just opened."""
        return {
            "oee": self.oee,
            "trends": {k: list(v) for k, v in self.trends.items()},
            "timeline": {k: list(v) for k, v in self.timeline.items()},
            "alarms": list(self.alarms.values()),
            "downtimes": list(self.downtimes.values())[::-1],
            "workorders": list(self.workorders.values()),
            "services": list(self.services.values()),
        }
