"""The CLI's exit codes, so that scripts can tell failures apart.

==  =====================================================================
0   done
1   failed for another reason (the message says why)
2   invalid input: a bad option or argument, a config that does not validate
3   not found: no such device, alarm, work order, version or token
4   refused: not authenticated, not permitted, or a write policy says no
5   hub unreachable: no running service, NATS or gRPC not answering
130 interrupted (Ctrl-C)
==  =====================================================================
"""

from __future__ import annotations

from enum import IntEnum

import click
import grpc

from plantbus.kit.natsconnect import NatsRefused, NatsUnreachable
from plantbus.sdk.errors import (
    ConfigError,
    DeviceUnavailable,
    NotFound,
    PermissionDenied,
    PlantbusError,
    PointNotFound,
    Unauthenticated,
    ValidationFailed,
)

__all__ = ["CliError", "Exit", "for_error", "for_status"]


class Exit(IntEnum):
    """What the exit code says."""

    OK = 0
    FAILED = 1
    INVALID = 2
    NOT_FOUND = 3
    REFUSED = 4
    UNREACHABLE = 5
    INTERRUPTED = 130


_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: Exit.INVALID,
    grpc.StatusCode.OUT_OF_RANGE: Exit.INVALID,
    grpc.StatusCode.NOT_FOUND: Exit.NOT_FOUND,
    grpc.StatusCode.PERMISSION_DENIED: Exit.REFUSED,
    grpc.StatusCode.UNAUTHENTICATED: Exit.REFUSED,
    grpc.StatusCode.UNAVAILABLE: Exit.UNREACHABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED: Exit.UNREACHABLE,
}

_ERRORS: tuple[tuple[type[PlantbusError], Exit], ...] = (  # the first that matches
    (NatsUnreachable, Exit.UNREACHABLE),
    (NatsRefused, Exit.REFUSED),
    (ConfigError, Exit.INVALID),
    (ValidationFailed, Exit.INVALID),
    (NotFound, Exit.NOT_FOUND),
    (PointNotFound, Exit.NOT_FOUND),
    (PermissionDenied, Exit.REFUSED),
    (Unauthenticated, Exit.REFUSED),
    (DeviceUnavailable, Exit.UNREACHABLE),
)


def for_status(code: grpc.StatusCode) -> Exit:
    """The exit code for a gRPC status a service answered."""
    return _STATUS.get(code, Exit.FAILED)


def for_error(err: PlantbusError) -> Exit:
    """The exit code for an error raised in the CLI itself."""
    return next((code for kind, code in _ERRORS if isinstance(err, kind)), Exit.FAILED)


class CliError(click.ClickException):
    """A one-line error with its exit code."""

    def __init__(self, message: str, code: Exit = Exit.FAILED) -> None:
        super().__init__(message)
        self.exit_code = int(code)
