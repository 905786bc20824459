"""The error taxonomy shared by services and plugins.

Every error a user can cause names what and where. Services map these to gRPC
status codes in one place (:mod:`plantbus.kit.rpc`).
"""

from __future__ import annotations

import errno
import os
import ssl
from typing import ClassVar

__all__ = [
    "ConfigError",
    "ConflictError",
    "DeviceAuthFailed",
    "DeviceUnavailable",
    "DriverConfigError",
    "ErpRejected",
    "ErpUnavailable",
    "NotFound",
    "NotifierRejected",
    "NotifierUnavailable",
    "PermissionDenied",
    "PlantbusError",
    "PluginValidationError",
    "PointNotFound",
    "Unauthenticated",
    "ValidationFailed",
    "WriteNotSupported",
    "describe",
]


class PlantbusError(Exception):
    """Root of every Plantbus error."""

    reason: ClassVar[str] = "INTERNAL"
    retryable: ClassVar[bool] = False


class ConfigError(PlantbusError):
    """Raised when settings or plant config are invalid; the message says where and how to fix."""

    reason = "CONFIG_INVALID"


class ValidationFailed(PlantbusError):
    """Raised when a request carries an invalid argument."""

    reason = "INVALID_ARGUMENT"


class NotFound(PlantbusError):
    """Raised when a named object (device, tag, work order, alarm) does not exist."""

    reason = "NOT_FOUND"


class ConflictError(PlantbusError):
    """Raised when a compare-and-set lost a race; the caller should re-read and retry."""

    reason = "CONFLICT"


class PermissionDenied(PlantbusError):
    """Raised when a policy refuses an action (for example a write without a write policy)."""

    reason = "PERMISSION_DENIED"


class Unauthenticated(PlantbusError):
    """Raised when a caller proved no identity: no hub certificate, or a token that is
    unknown, expired or revoked."""

    reason = "UNAUTHENTICATED"


class DeviceUnavailable(PlantbusError):
    """Raised by drivers when a device cannot be reached right now; the runtime retries."""

    reason = "DEVICE_UNAVAILABLE"
    retryable = True


class DeviceAuthFailed(PlantbusError):
    """Raised by drivers when the device refused the hub's credentials or certificate."""

    reason = "DEVICE_AUTH_FAILED"


class DriverConfigError(PlantbusError):
    """Raised by drivers when device or tag settings cannot work (bad address, bad type)."""

    reason = "DRIVER_CONFIG_INVALID"


class PointNotFound(PlantbusError):
    """Raised by drivers when an address or node does not exist on the device."""

    reason = "POINT_NOT_FOUND"


class WriteNotSupported(PlantbusError):
    """Raised when a driver or tag cannot be written."""

    reason = "WRITE_NOT_SUPPORTED"


class ErpUnavailable(PlantbusError):
    """Raised by ERP connectors when the ERP cannot be reached; the outbox retries."""

    reason = "ERP_UNAVAILABLE"
    retryable = True


class ErpRejected(PlantbusError):
    """Raised by ERP connectors when the ERP refused a request; carries the ERP's message."""

    reason = "ERP_REJECTED"


class NotifierUnavailable(PlantbusError):
    """Raised by notifiers when the receiver cannot be reached or is busy right now
    (refused connection, timeout, HTTP 5xx or 429, SMTP 4xx); the service retries."""

    reason = "NOTIFIER_UNAVAILABLE"
    retryable = True


class NotifierRejected(PlantbusError):
    """Raised by notifiers when the receiver refused the notification or the hub's
    credentials, or its certificate was not trusted: retrying will not help until the
    notifier's settings or the receiver are fixed; the message says which."""

    reason = "NOTIFIER_REJECTED"


class PluginValidationError(PlantbusError):
    """Raised when a plugin does not meet the SDK contract; ``plugin`` names it."""

    reason = "PLUGIN_INVALID"

    def __init__(self, plugin: str, message: str) -> None:
        super().__init__(f"plugin {plugin!r}: {message}")
        self.plugin = plugin


def describe(err: BaseException) -> str:
    """An exception in words: an OS error's own text ("connection refused", where asyncio
    says "Connect call failed (...)"), else its message, else its type's name (a bare
    TimeoutError)."""
    code = err.errno if isinstance(err, OSError) else None
    # an SSL error has errno 1 ("operation not permitted"); its own text says what failed
    if code is not None and code in errno.errorcode and not isinstance(err, ssl.SSLError):
        return os.strerror(code).lower()
    return str(err) or type(err).__name__
