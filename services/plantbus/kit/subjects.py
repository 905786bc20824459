"""Builders and validators for the versioned NATS subject scheme (docs/architecture.md).

Plant names are validated once, at config time, against a safe alphabet so that
every name maps one-to-one onto a subject token.
"""

from __future__ import annotations

from typing import Final

from plantbus.config.names import validate_token

__all__ = [
    "PREFIX",
    "alarm",
    "audit",
    "confirmation",
    "cycle",
    "cycles_of",
    "downtime",
    "erp_outbox",
    "heartbeat",
    "maintenance",
    "maintenance_outbox",
    "oee",
    "oee_final",
    "telemetry",
    "telemetry_of",
    "workorder",
]

PREFIX: Final = "plantbus.v1"


def _join(family: str, *tokens: str) -> str:
    for token in tokens:
        validate_token(token)
    return ".".join((PREFIX, family, *tokens))


def telemetry(site: str, area: str, line: str, machine: str, tag: str) -> str:
    """Subject of one tag's samples."""
    return _join("telemetry", site, area, line, machine, tag)


def telemetry_of(path: str) -> str:
    """Subject of one tag's samples from its path ``site/area/line/machine/tag``.

    Unchecked, for the publish path: tag paths are validated when the config is.
    """
    return f"{PREFIX}.telemetry.{path.replace('/', '.')}"


def cycle(machine: str, device: str) -> str:
    """Subject of the poll cycles of ``device``, which reads the machine at the path
    ``site/area/line/machine``: each message a ``TagSampleBatch`` holding the samples of a
    cycle, in their order (the telemetry stream's messages, docs/subscribing.md)."""
    return _join("cycle", *machine.split("/"), device)


def cycles_of(machine_path: str) -> str:
    """The subjects of the cycles of every device of the machine ``site/area/line/machine``
    (a filter). Unchecked, for paths from a validated config."""
    return f"{PREFIX}.cycle.{machine_path.replace('/', '.')}.*"


def oee(site: str, area: str, line: str, machine: str | None = None) -> str:
    """Subject of a machine's OEE snapshot, or of the line's when ``machine`` is None."""
    tokens = (site, area, line) if machine is None else (site, area, line, machine)
    return _join("oee", *tokens)


def oee_final(site: str, area: str, line: str, machine: str) -> str:
    """Subject of the final figures of a machine's shifts and work orders that ended."""
    return _join("oee_final", site, area, line, machine)


def downtime(site: str, area: str, line: str, machine: str) -> str:
    """Subject of a machine's downtime events."""
    return _join("downtime", site, area, line, machine)


def alarm(site: str, area: str, line: str, machine: str, rule: str) -> str:
    """Subject of one alarm's state changes."""
    return _join("alarm", site, area, line, machine, rule)


def maintenance(site: str, area: str, line: str, machine: str) -> str:
    """Subject of a machine's maintenance events (windows, anomalies, forecasts, plans)."""
    return _join("maintenance", site, area, line, machine)


def maintenance_outbox(connection: str) -> str:
    """Subject of the maintenance requests queued for one request connector."""
    return _join("maintenance_outbox", connection)


def workorder(site: str, line: str) -> str:
    """Subject of work-order events for a line."""
    return _join("erp.workorder", site, line)


def confirmation(site: str, line: str) -> str:
    """Subject of production confirmations for a line."""
    return _join("erp.confirmation", site, line)


def erp_outbox(connection: str) -> str:
    """Subject of the confirmations queued for one ERP connection."""
    return _join("erp.outbox", connection)


def audit(service: str) -> str:
    """Subject of a service's audit records."""
    return _join("audit", service)


def heartbeat(service: str, instance: str) -> str:
    """Subject of a service instance's heartbeat."""
    return _join("svc", service, instance)
