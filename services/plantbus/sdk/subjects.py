"""Builders and validators for the versioned NATS subject scheme (docs/architecture.md).

Plant names are validated once, at config time, against a safe alphabet so that
every name maps one-to-one onto a subject token.
"""

from __future__ import annotations

import re
from typing import Final

from plantbus.sdk.errors import ValidationFailed

__all__ = [
    "PREFIX",
    "TOKEN_PATTERN",
    "alarm",
    "audit",
    "confirmation",
    "downtime",
    "heartbeat",
    "is_valid_token",
    "oee",
    "parse_telemetry",
    "telemetry",
    "validate_token",
    "workorder",
]

PREFIX: Final = "plantbus.v1"
TOKEN_PATTERN: Final = r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}"
_TOKEN = re.compile(rf"^{TOKEN_PATTERN}$")


def is_valid_token(name: str) -> bool:
    """Tell whether ``name`` can be used as one subject token (letters, digits, ``_`` and ``-``)."""
    return bool(_TOKEN.match(name))


def validate_token(name: str, what: str = "name") -> str:
    """Return ``name`` unchanged or raise :class:`ValidationFailed` explaining the alphabet."""
    if not is_valid_token(name):
        raise ValidationFailed(
            f"invalid {what} {name!r}: use 1-63 letters, digits, '_' or '-', "
            "starting with a letter or digit (no dots, spaces or wildcards)"
        )
    return name


def _join(family: str, *tokens: str) -> str:
    for token in tokens:
        validate_token(token)
    return ".".join((PREFIX, family, *tokens))


def telemetry(site: str, area: str, line: str, machine: str, tag: str) -> str:
    """Subject of one tag's samples."""
    return _join("telemetry", site, area, line, machine, tag)


def parse_telemetry(subject: str) -> tuple[str, str, str, str, str]:
    """Split a telemetry subject into (site, area, line, machine, tag)."""
    parts = subject.split(".")
    if len(parts) != 8 or ".".join(parts[:3]) != f"{PREFIX}.telemetry":
        raise ValidationFailed(f"not a telemetry subject: {subject!r}")
    site, area, line, machine, tag = parts[3:]
    return site, area, line, machine, tag


def oee(site: str, area: str, line: str, machine: str | None = None) -> str:
    """Subject of a machine's OEE snapshot, or of the line's when ``machine`` is None."""
    tokens = (site, area, line) if machine is None else (site, area, line, machine)
    return _join("oee", *tokens)


def downtime(site: str, area: str, line: str, machine: str) -> str:
    """Subject of a machine's downtime events."""
    return _join("downtime", site, area, line, machine)


def alarm(site: str, area: str, line: str, machine: str, rule: str) -> str:
    """Subject of one alarm's state changes."""
    return _join("alarm", site, area, line, machine, rule)


def workorder(site: str, line: str) -> str:
    """Subject of work-order events for a line."""
    return _join("erp.workorder", site, line)


def confirmation(site: str, line: str) -> str:
    """Subject of production confirmations for a line."""
    return _join("erp.confirmation", site, line)


def audit(service: str) -> str:
    """Subject of a service's audit records."""
    return _join("audit", service)


def heartbeat(service: str, instance: str) -> str:
    """Subject of a service instance's heartbeat."""
    return _join("svc", service, instance)
