"""The CLI's exit codes: each kind of failure has its own, as docs/cli.md lists them."""

from __future__ import annotations

import grpc
import pytest

from plantbus.cli.exits import Exit, for_error, for_status
from plantbus.kit.natsconnect import NatsRefused, NatsUnreachable
from plantbus.sdk.errors import (
    ConfigError,
    ErpUnavailable,
    NotFound,
    PermissionDenied,
    PlantbusError,
    Unauthenticated,
)


@pytest.mark.parametrize(
    ("code", "exit_code"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, 2),
        (grpc.StatusCode.NOT_FOUND, 3),
        (grpc.StatusCode.PERMISSION_DENIED, 4),
        (grpc.StatusCode.UNAUTHENTICATED, 4),
        (grpc.StatusCode.UNAVAILABLE, 5),
        (grpc.StatusCode.DEADLINE_EXCEEDED, 5),
        (grpc.StatusCode.INTERNAL, 1),
    ],
)
def test_a_service_answer_has_its_exit_code(code: grpc.StatusCode, exit_code: int) -> None:
    assert for_status(code) == exit_code


@pytest.mark.parametrize(
    ("error", "exit_code"),
    [
        (NatsUnreachable("no server"), Exit.UNREACHABLE),
        (NatsRefused("authorization violation"), Exit.REFUSED),
        (ConfigError("bad option"), Exit.INVALID),
        (NotFound("no such alarm"), Exit.NOT_FOUND),
        (PermissionDenied("no policy"), Exit.REFUSED),
        (Unauthenticated("no token"), Exit.REFUSED),
        (ErpUnavailable("down"), Exit.FAILED),
    ],
)
def test_an_error_in_the_cli_has_its_exit_code(error: PlantbusError, exit_code: Exit) -> None:
    assert for_error(error) == exit_code
