"""The maintenance plugin interfaces: anomaly models (entry-point group
``plantbus.anomaly_models``) and maintenance-request connectors
(``plantbus.maintenance_connectors``).

The maintenance service computes the condition indicators of each window of a monitored
tag (:class:`Window`) and asks the tag's model for a score; it owns the windows, the
machine states, the thresholds and publishing. A model only learns and scores. One
model instance is made per tag and machine state.

A connector files one :class:`MaintenanceRequest` in a maintenance system (a CMMS, an
ERP's work items, a webhook). The service sends each request through an outbox, once per
due point, and retries while the connector raises
:class:`~plantbus.sdk.errors.NotifierUnavailable`.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from plantbus.sdk.plugin import Plugin, SettingsT

__all__ = ["AnomalyModel", "MaintenanceConnector", "MaintenanceRequest", "Window"]


@dataclass(frozen=True)
class Window:
    """The condition indicators of one tag over one window, in one machine state."""

    tag: str
    """site/area/line/machine/tag."""
    state: str
    """The machine state the samples were taken in (``running``)."""
    start: float
    """Unix seconds (source time) of the window's first sample."""
    end: float
    count: int
    mean: float
    rms: float
    std: float
    peak: float
    """The largest absolute value."""
    slope: float
    """Least-squares trend of the samples, units per hour."""

    def indicator(self, name: str) -> float:
        """One indicator by name (``mean``, ``rms``, ``std``, ``peak``, ``slope``)."""
        value: float = getattr(self, name)
        return value


class AnomalyModel(Plugin[SettingsT], abc.ABC):
    """Base class of anomaly models; one instance per monitored tag and machine state."""

    def __init__(self, settings: SettingsT) -> None:
        """Store validated settings. Must not perform I/O."""
        self.settings = settings

    @abc.abstractmethod
    def score(self, window: Window) -> float | None:
        """Score ``window`` against what was learned before it, then learn from it.

        Higher is more anomalous, on the scale of a robust z-score (about 1 for a usual
        window; the monitor's ``anomaly_threshold``, 6 by default, is an anomaly). None
        while the model has not learned enough to judge. Called for every window in
        time order; must be fast (no I/O).
        """

    def state(self) -> Mapping[str, Any]:
        """What the model learned, as JSON-serializable data (kept across restarts)."""
        return {}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Take back what :meth:`state` returned (after a restart)."""


@dataclass(frozen=True)
class MaintenanceRequest:
    """A request for maintenance of one component, once per due point."""

    key: str
    """Unique per plan and due point: a connector that sees a key twice files it once."""
    plan: str
    machine: str
    component: str
    reason: str
    """``warning`` or ``due``."""
    message: str
    time: datetime
    due: datetime | None = None
    """When it is (or is forecast to be) due, where known."""
    usage: Mapping[str, float] = field(default_factory=dict)
    """The component's counters: running_hours, cycles, starts, stops, days."""


class MaintenanceConnector(Plugin[SettingsT], abc.ABC):
    """Base class of maintenance-request connectors; one instance per configured entry."""

    def __init__(self, settings: SettingsT) -> None:
        """Store validated settings. Must not perform I/O."""
        self.settings = settings

    @abc.abstractmethod
    async def send(self, request: MaintenanceRequest) -> str:
        """File ``request``; return the receiver's reference for it ('' when it gives none).

        Raise :class:`~plantbus.sdk.errors.NotifierUnavailable` when the receiver cannot
        be reached (the outbox retries with back-off) and
        :class:`~plantbus.sdk.errors.NotifierRejected` when it refused the request.
        """

    async def close(self) -> None:
        """Release connections; safe to call twice."""
