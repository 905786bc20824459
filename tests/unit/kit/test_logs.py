"""JSON log lines carry service, instance and the trace id of the current span."""

from __future__ import annotations

import json
import logging

from opentelemetry.sdk.trace import TracerProvider

from plantbus.kit.logs import JsonFormatter


def test_json_line_has_trace_id_inside_a_span() -> None:
    formatter = JsonFormatter("device", "pod-1")
    record = logging.LogRecord(
        "plantbus.device", logging.WARNING, __file__, 1, "device %s unavailable", ("plc1",), None
    )
    with TracerProvider().get_tracer("t").start_as_current_span("poll") as span:
        line = json.loads(formatter.format(record))
    assert line["message"] == "device plc1 unavailable"
    assert (line["service"], line["instance"], line["level"]) == ("device", "pod-1", "warning")
    assert line["trace_id"] == f"{span.get_span_context().trace_id:032x}"


def test_json_line_without_span_has_no_trace_id() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    assert "trace_id" not in json.loads(JsonFormatter("s", "i").format(record))
