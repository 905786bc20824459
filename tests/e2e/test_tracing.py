"""One trace from a device read to what it caused, across the hub's real processes: the
device service's read span is the parent of OEE's and alerting's handling of the samples,
and the historian's write links to it. The spans are exported over OTLP, as to a real
collector, to a receiver in this test."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from threading import Lock

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from plantbus.testing.waiting import wait_until
from tests.hub import demo_plant, running_hub


@dataclass
class Collector(trace_service_pb2_grpc.TraceServiceServicer):  # type: ignore[misc]
    """An OTLP trace receiver: every span exported to it, with its service's name."""

    spans: list[tuple[str, Span]] = field(default_factory=list)
    lock: Lock = field(default_factory=Lock)

    def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: grpc.ServicerContext
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        with self.lock:
            for resource in request.resource_spans:
                names = [a.value.string_value for a in resource.resource.attributes]
                keys = [a.key for a in resource.resource.attributes]
                service = names[keys.index("service.name")]
                for scope in resource.scope_spans:
                    self.spans.extend((service, span) for span in scope.spans)
        return trace_service_pb2.ExportTraceServiceResponse()

    def of(self, service: str, name: str) -> list[Span]:
        with self.lock:
            return [s for svc, s in self.spans if svc == service and s.name.startswith(name)]


@pytest.fixture
def collector() -> Iterator[tuple[Collector, int]]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    receiver = Collector()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(receiver, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield receiver, port
    server.stop(grace=None)


@pytest.mark.slow
def test_a_device_read_is_the_parent_of_what_it_causes(
    collector: tuple[Collector, int], tmp_path: Path
) -> None:
    receiver, port = collector
    env = {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://127.0.0.1:{port}",
        "OTEL_BSP_SCHEDULE_DELAY": "500",
    }
    with running_hub(tmp_path / "hub", "--config", str(demo_plant(tmp_path)), env=env):

        def reads() -> dict[bytes, Span]:
            return {s.span_id: s for s in receiver.of("plantbus-device", "read m1-plc")}

        def children(service: str, name: str) -> list[Span]:
            ids = reads()
            return [s for s in receiver.of(service, name) if s.parent_span_id in ids]

        oee = asyncio.run(wait_until(lambda: children("plantbus-oee", "oee telemetry"), timeout=90))
        alerting = asyncio.run(
            wait_until(lambda: children("plantbus-alerting", "receive plantbus.v1.telemetry")),
        )

        def historian_links() -> list[Span]:
            ids = reads()
            return [
                s
                for s in receiver.of("plantbus-historian", "historian write")
                if any(link.span_id in ids for link in s.links)
            ]

        historian = asyncio.run(wait_until(historian_links, timeout=30))
    device = reads()
    assert oee[0].trace_id == device[oee[0].parent_span_id].trace_id, "one trace"
    assert alerting[0].kind == Span.SPAN_KIND_CONSUMER
    assert historian[0].kind == Span.SPAN_KIND_CONSUMER
    assert len(historian[0].links) <= 32, "batch spans keep a bounded number of links"
