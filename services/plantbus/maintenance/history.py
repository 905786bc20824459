"""History to start from after a restart: the monitored tags and their machines' state
tags over the longest forecast or learning window (at most a week), from the historian."""

from __future__ import annotations

import time
from typing import Final

from plantbus.config import PlantConfig
from plantbus.kit import codec
from plantbus.kit.bus import Bus
from plantbus.kit.discovery import grpc_address
from plantbus.kit.grpc_client import ClientTls, channel
from plantbus.maintenance.engine import Engine
from plantbus.v1 import historian_pb2, historian_pb2_grpc, telemetry_pb2

__all__ = ["Sample", "history", "replay_request"]

Sample = tuple[str, float, object]
"""(tag path, source time in seconds, value)."""

_MAX_REPLAY_H: Final = 7 * 24.0
_PAGE: Final = 50_000


def replay_request(
    config: PlantConfig, engine: Engine, now: float
) -> historian_pb2.QueryHistoryRequest | None:
    """The query of what the engine needs replayed (None: nothing is monitored)."""
    section = config.maintenance
    if not section.monitors:
        return None
    span_h = max(
        [p.forecast_window_h for p in section.plans if p.by == "condition"]
        + [m.window_s * m.learn_windows / 3600 for m in section.monitors]
    )
    span_h = min(span_h, _MAX_REPLAY_H)
    machines = {m.machine for m in engine.monitored.values()}
    states = {path for path in engine.state_codes if path.rsplit("/", 1)[0] in machines}
    request = historian_pb2.QueryHistoryRequest(
        paths=sorted(set(engine.monitored) | states), page_size=_PAGE
    )
    request.start.CopyFrom(codec.timestamp(now - span_h * 3600))
    request.end.CopyFrom(codec.timestamp(now))
    return request


async def history(
    bus: Bus, tls: ClientTls | None, config: PlantConfig, engine: Engine, wait_s: float
) -> list[Sample]:
    """Good samples of what the engine needs, oldest first, page by page from the
    historian (waiting up to ``wait_s`` for one to appear)."""
    request = replay_request(config, engine, time.time())
    if request is None:
        return []
    out: list[Sample] = []
    address = await grpc_address(bus, "historian", wait_s=wait_s)
    async with channel(address, tls) as chan:
        stub = historian_pb2_grpc.HistorianServiceStub(chan)
        while True:
            reply = await stub.QueryHistory(request, timeout=60)
            for tag in reply.tags:
                for s in tag.samples:
                    if s.quality == telemetry_pb2.QUALITY_GOOD:
                        value = codec.scalar(s.value)
                        out.append((tag.path, s.time.ToMicroseconds() / 1e6, value))
            if not reply.next_page_token:
                break
            request.page_token = reply.next_page_token
    out.sort(key=lambda row: row[1])
    return out
