"""An OTLP trace receiver for tests, run as its own process (a gRPC server's threads in
the pytest process would be inherited by every process the tests fork).

``python -m tests.e2e.otlp_receiver OUT``: listens on a free loopback port, writes the
port to ``OUT.port``, then one JSON line per received span to ``OUT``.
"""

from __future__ import annotations

import json
import sys
from concurrent import futures
from pathlib import Path
from threading import Lock
from typing import IO

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


class Receiver(trace_service_pb2_grpc.TraceServiceServicer):  # type: ignore[misc]
    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.lock = Lock()

    def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: grpc.ServicerContext
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        with self.lock:
            for resource in request.resource_spans:
                attributes = {a.key: a.value.string_value for a in resource.resource.attributes}
                for scope in resource.scope_spans:
                    for span in scope.spans:
                        row = {
                            "service": attributes.get("service.name", ""),
                            "name": span.name,
                            "kind": span.kind,
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent_span_id": span.parent_span_id.hex(),
                            "links": [link.span_id.hex() for link in span.links],
                        }
                        self.out.write(json.dumps(row) + "\n")
            self.out.flush()
        return trace_service_pb2.ExportTraceServiceResponse()


def main(out_path: Path) -> None:
    with out_path.open("a") as out:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Receiver(out), server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        out_path.with_suffix(".port").write_text(str(port))
        server.wait_for_termination()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
