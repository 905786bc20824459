"""Host services in-process for tests, exactly as ``plantbus run`` does."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from plantbus.kit.bus import NatsSettings
from plantbus.kit.registry import load_service_class
from plantbus.kit.rpc import GrpcSettings
from plantbus.kit.runner import Runner
from plantbus.kit.service import Service
from plantbus.kit.settings import RunnerSettings
from plantbus.testing.config import write_test_keys

__all__ = ["hosted"]


@contextlib.asynccontextmanager
async def hosted(
    services: Sequence[str | type[Service]],
    *,
    nats_url: str,
    data_dir: Path,
    options: dict[str, dict[str, Any]] | None = None,
    instance: str | None = None,
    heartbeat_interval_s: float = 0.5,
    signed: bool = True,
) -> AsyncIterator[Runner]:
    """Run ``services`` (names or classes) in this event loop; yields the Runner.

    ``runner.grpc_address`` is the shared gRPC server, ``runner.services`` maps
    name to the live Service instance. Config is signed and checked with the test key
    (:data:`plantbus.testing.config.TEST_SIGNER`) unless ``signed`` is False.
    """
    classes = [load_service_class(s) if isinstance(s, str) else s for s in services]
    private, public = write_test_keys(data_dir / "pki") if signed else (None, None)
    settings = RunnerSettings(
        services=[c.name for c in classes],
        instance=instance or f"test-{socket.gethostname()}",
        nats=NatsSettings(url=nats_url),
        grpc=GrpcSettings(port=0, grace_s=1.0),
        data_dir=data_dir,
        heartbeat_interval_s=heartbeat_interval_s,
        options=options or {},
        config_signing_key=private,
        config_pubkey=public,
    )
    async with Runner(settings, classes) as runner:
        yield runner
