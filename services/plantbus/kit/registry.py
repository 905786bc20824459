"""Which services exist, in start order, and where each lives.

``plantbus up`` and ``plantbus run all`` start them in this order; each entry is
``module:class`` of a :class:`plantbus.kit.service.Service` subclass, imported lazily.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Final

from plantbus.kit.service import Service
from plantbus.sdk.errors import ConfigError

__all__ = ["SERVICES", "ServiceSpec", "load_service_class"]


@dataclass(frozen=True)
class ServiceSpec:
    """A service's name, implementation and default gRPC port."""

    name: str
    target: str
    grpc_port: int


SERVICES: Final[dict[str, ServiceSpec]] = {
    spec.name: spec
    for spec in (
        ServiceSpec("governance", "plantbus.governance.service:GovernanceService", 50051),
        ServiceSpec("device", "plantbus.device.service:DeviceService", 50052),
        ServiceSpec("oee", "plantbus.oee.service:OeeService", 50053),
        ServiceSpec("erp", "plantbus.erp.service:ErpService", 50054),
        ServiceSpec("alerting", "plantbus.alerting.service:AlertingService", 50055),
        ServiceSpec("dashboard", "plantbus.dashboard.service:DashboardService", 50056),
        ServiceSpec("historian", "plantbus.historian.service:HistorianService", 50057),
        ServiceSpec("uns", "plantbus.uns.service:UnsService", 50058),
        ServiceSpec("sparkplug", "plantbus.sparkplug.service:SparkplugService", 50060),
        ServiceSpec("gateway", "plantbus.gateway.service:GatewayService", 50059),
        ServiceSpec("maintenance", "plantbus.maintenance.service:MaintenanceService", 50065),
    )
}


def load_service_class(name: str) -> type[Service]:
    """Import a service class by name; ConfigError lists the known names."""
    spec = SERVICES.get(name)
    if spec is None:
        known = ", ".join(SERVICES)
        raise ConfigError(f"unknown service {name!r}; choose one of: {known}, all")
    module, _, attr = spec.target.partition(":")
    cls: type[Service] = getattr(importlib.import_module(module), attr)
    return cls
