"""The runner: heartbeats, config following, error mapping and graceful shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry import trace

from plantbus.config import PlantConfig
from plantbus.kit import telemetry
from plantbus.kit.bus import Bus
from plantbus.kit.heartbeat import read_heartbeats
from plantbus.kit.service import GrpcBinding, Service
from plantbus.sdk.errors import NotFound
from plantbus.testing.config import put_config
from plantbus.testing.harness import hosted, operator_channel
from plantbus.testing.waiting import wait_until
from plantbus.v1 import service_pb2

SLOW = "/test.Slow/Call"
MISSING = "/test.Slow/Missing"
TRACE = "/test.Slow/Trace"


class SlowService(Service):
    """Answers after a delay, so shutdown must drain it; counts config versions seen."""

    name: ClassVar[str] = "slow"

    def __init__(self, ctx: object) -> None:
        super().__init__(ctx)  # type: ignore[arg-type]
        self.versions: list[int] = []
        self.started = asyncio.Event()
        self.stopped = False

    async def _slow(self, request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        self.started.set()
        await asyncio.sleep(0.5)
        return b"done:" + request

    async def _missing(self, request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        raise NotFound("work order 'WO-9' does not exist")

    async def _trace(self, request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return f"{trace.get_current_span().get_span_context().trace_id:032x}".encode()

    def grpc_bindings(self) -> Sequence[GrpcBinding]:
        handlers = {
            "Trace": grpc.unary_unary_rpc_method_handler(self._trace),
            "Call": grpc.unary_unary_rpc_method_handler(self._slow),
            "Missing": grpc.unary_unary_rpc_method_handler(self._missing),
        }
        generic = grpc.method_handlers_generic_handler("test.Slow", handlers)
        return [
            GrpcBinding(
                lambda _s, server: server.add_generic_rpc_handlers((generic,)), self, "test.Slow"
            )
        ]

    async def start(self) -> None:
        return None

    async def apply_config(self, config: PlantConfig, version: int) -> None:
        self.versions.append(version)
        self.config_version = version

    async def stop(self) -> None:
        self.stopped = True


async def test_heartbeat_reports_serving_and_config_version(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    await put_config(bus, {"sites": [{"name": "demo"}]})
    async with hosted([SlowService], nats_url=nats_url, data_dir=tmp_path) as runner:
        svc = runner.services["slow"]
        assert isinstance(svc, SlowService)
        await wait_until(lambda: svc.versions == [1])
        v2 = await put_config(bus, {"sites": [{"name": "demo"}, {"name": "other"}]})
        await wait_until(lambda: svc.versions == [1, v2])

        async def beats() -> list[service_pb2.ServiceHeartbeat]:
            return [h for h in await read_heartbeats(bus) if h.service == "slow"]

        async def current_beat() -> list[service_pb2.ServiceHeartbeat]:
            hbs = await beats()
            return hbs if hbs and hbs[0].config_version == v2 else []

        hbs = await wait_until(current_beat, message="heartbeat with the new version")
        assert hbs[0].health == service_pb2.HEALTH_SERVING
        assert hbs[0].grpc_address == runner.grpc_address
    assert await beats() == []


async def test_errors_map_to_status_and_health_is_served(nats_url: str, tmp_path: Path) -> None:
    async with (
        hosted([SlowService], nats_url=nats_url, data_dir=tmp_path) as runner,
        operator_channel(runner) as channel,
    ):
        health = health_pb2_grpc.HealthStub(channel)
        reply = await health.Check(health_pb2.HealthCheckRequest(service="test.Slow"))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await channel.unary_unary(MISSING)(b"")
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
        assert "WO-9" in (info.value.details() or "")


async def test_trace_context_crosses_grpc(nats_url: str, tmp_path: Path) -> None:
    telemetry.configure("test", "t1")
    async with hosted([SlowService], nats_url=nats_url, data_dir=tmp_path) as runner:
        client = operator_channel(runner)
        with telemetry.tracer("test").start_as_current_span("caller") as span:
            reply = await client.unary_unary(TRACE)(b"")
        await client.close()
    assert reply == f"{span.get_span_context().trace_id:032x}".encode()


# Last in this module: the abandoned channel of a drained call unsettles grpc.aio for later
# calls in the same process.
async def test_shutdown_drains_in_flight_calls(nats_url: str, tmp_path: Path) -> None:
    async with hosted([SlowService], nats_url=nats_url, data_dir=tmp_path) as runner:
        svc = runner.services["slow"]
        assert isinstance(svc, SlowService)
        channel = operator_channel(runner)

        async def slow_call() -> bytes:
            reply: bytes = await channel.unary_unary(SLOW)(b"x")
            return reply

        call = asyncio.create_task(slow_call())
        await asyncio.wait_for(svc.started.wait(), 10)
    # the context has exited: the in-flight call finished instead of being cut off
    assert await call == b"done:x"
    assert svc.stopped
    await channel.close()
