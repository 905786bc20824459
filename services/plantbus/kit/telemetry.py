"""OpenTelemetry set-up: traces and metrics from the standard OTEL_* variables, off by default,
W3C trace context across gRPC and NATS, and a Prometheus endpoint per process.

``OTEL_TRACES_EXPORTER`` / ``OTEL_METRICS_EXPORTER`` = ``otlp`` or ``console`` switch the
exporters on. ``PLANTBUS_METRICS_PORT`` (or ``--metrics-port``) serves ``/metrics``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from functools import cache

from opentelemetry import metrics, propagate, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

__all__ = ["configure", "consume_span", "inject", "meter", "tracer"]

log = logging.getLogger(__name__)
_configured = False


def _span_exporter(name: str) -> SpanExporter | None:
    if name == "otlp":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    return None


def configure(service: str, instance: str, metrics_port: int | None = None) -> None:
    """Install tracer and meter providers once per process.

    Tracing is always wired (so context propagates between services) but nothing is
    exported unless OTEL_TRACES_EXPORTER names an exporter.
    """
    global _configured  # noqa: PLW0603 - OpenTelemetry providers are process-wide by design
    if _configured:
        return
    _configured = True
    resource = Resource.create(
        {"service.name": f"plantbus-{service}", "service.instance.id": instance}
    )
    tracer_provider = TracerProvider(resource=resource)
    exporter = _span_exporter(os.environ.get("OTEL_TRACES_EXPORTER", "none"))
    if exporter:
        tracer_provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(tracer_provider)

    readers: list[MetricReader] = []
    if metrics_port is not None:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=os.environ.get("PLANTBUS_METRICS_HOST", "0.0.0.0"))
        readers.append(PrometheusMetricReader())
        log.info("Prometheus metrics on :%d/metrics", metrics_port)
    if os.environ.get("OTEL_METRICS_EXPORTER", "none") == "otlp":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=readers))


@cache
def tracer(name: str) -> trace.Tracer:
    """A tracer for a module, made once: ``get_tracer`` makes a new one on every call (with
    a deprecation check), which cost a consumer more per message than its own work."""
    return trace.get_tracer(name)


def meter(name: str) -> metrics.Meter:
    """A meter for a module."""
    return metrics.get_meter(name)


def inject(carrier: MutableMapping[str, str]) -> None:
    """Write the current trace context (traceparent) into message headers."""
    propagate.inject(carrier)


@contextmanager
def consume_span(name: str, headers: Mapping[str, str] | None) -> Iterator[trace.Span]:
    """Run a consumer span whose parent is the trace context carried in ``headers``."""
    ctx = propagate.extract(dict(headers or {}))
    with tracer("plantbus.bus").start_as_current_span(
        name, context=ctx, kind=trace.SpanKind.CONSUMER
    ) as span:
        yield span
