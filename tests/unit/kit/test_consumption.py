"""A consumer at stream rates carries each message's trace context into what it publishes
without a span per message; when spans are exported, one per trace context. A producer
(a device's poll) makes a span only when spans are exported, else a new context alone."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from plantbus.kit import telemetry as otel

READ = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
OTHER = "00-1af7651916cd43dd8448eb211c80319c-c7ad6b7169203331-01"


def injected() -> dict[str, str]:
    carrier: dict[str, str] = {}
    otel.inject(carrier)
    return carrier


def test_without_export_the_message_context_is_carried_and_no_span_made() -> None:
    consumer = otel.Consumption("receive")
    with consumer.handling({"traceparent": READ, "tracestate": "v=1"}):
        assert injected() == {"traceparent": READ, "tracestate": "v=1"}
        assert otel.traceparent() == READ
        assert not trace.get_current_span().get_span_context().is_valid
        with consumer.handling({}):
            assert injected() == {}, "a message without a context carries none"
    assert injected() == {}


def test_with_export_one_consumer_span_per_trace_context(monkeypatch: pytest.MonkeyPatch) -> None:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    monkeypatch.setattr(otel, "_exporting", True)
    monkeypatch.setattr(otel, "tracer", provider.get_tracer)
    consumer = otel.Consumption("receive")
    for parent in (READ, READ, READ, OTHER):
        with consumer.handling({"traceparent": parent}):
            assert injected()["traceparent"].split("-")[1] == parent.split("-")[1]
    finished = spans.get_finished_spans()
    assert [s.parent.span_id for s in finished if s.parent] == [
        0xB7AD6B7169203331,
        0xC7AD6B7169203331,
    ]
    assert {s.kind for s in finished} == {trace.SpanKind.CONSUMER}


def test_without_export_a_production_carries_a_new_trace_context_and_makes_no_span() -> None:
    tracer = otel.tracer("test")
    contexts = []
    for _ in range(2):
        with otel.producing(tracer, "read plc", {"device": "plc"}):
            carried = injected()
            assert not trace.get_current_span().get_span_context().is_valid
            contexts.append(carried["traceparent"])
    assert contexts[0] != contexts[1], "each production is a trace of its own"
    for context in contexts:
        version, trace_id, span_id, flags = context.split("-")
        assert (version, len(trace_id), len(span_id), flags) == ("00", 32, 16, "01")
    assert injected() == {}, "nothing is carried after the production"


def test_with_export_a_production_is_a_span(monkeypatch: pytest.MonkeyPatch) -> None:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    monkeypatch.setattr(otel, "_exporting", True)
    with otel.producing(provider.get_tracer("test"), "read plc", {"device": "plc"}):
        context = injected()["traceparent"]
    (span,) = spans.get_finished_spans()
    assert (span.name, dict(span.attributes or {})) == ("read plc", {"device": "plc"})
    assert context.split("-")[1] == f"{span.context.trace_id:032x}"
