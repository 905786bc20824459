"""OpenTelemetry set-up: traces and metrics from the standard OTEL_* variables, off by default,
W3C trace context across gRPC and NATS, and a Prometheus endpoint per process.

``OTEL_TRACES_EXPORTER`` / ``OTEL_METRICS_EXPORTER`` = ``otlp`` or ``console`` switch the
exporters on. ``PLANTBUS_METRICS_PORT`` (or ``--metrics-port``) serves ``/metrics``.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache

from opentelemetry import metrics, propagate, trace
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

__all__ = [
    "CONSUMER_LAG",
    "Consumption",
    "Gauge",
    "configure",
    "consume_span",
    "inject",
    "linked_span",
    "meter",
    "producing",
    "traceparent",
    "tracer",
]

log = logging.getLogger(__name__)
_configured = False
_exporting = False
"""Whether spans leave the process (an exporter is configured)."""
_TRACE_KEYS = ("traceparent", "tracestate")
_carried: ContextVar[Mapping[str, str] | None] = ContextVar("plantbus_carried", default=None)
"""The headers of the message being handled without a span of its own (:class:`Consumption`)."""


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
    global _configured, _exporting  # noqa: PLW0603 - OpenTelemetry providers are process-wide
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
        _exporting = True
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
    """Write the current trace context (traceparent) into message headers: the current
    span's, else that of the message being handled without a span (:class:`Consumption`)."""
    propagate.inject(carrier)
    if "traceparent" not in carrier:
        headers = _carried.get()
        if headers:
            carrier.update((key, headers[key]) for key in _TRACE_KEYS if key in headers)


@contextmanager
def consume_span(name: str, headers: Mapping[str, str] | None) -> Iterator[trace.Span]:
    """Run a consumer span whose parent is the trace context carried in ``headers``."""
    ctx = propagate.extract(dict(headers or {}))
    with tracer("plantbus.bus").start_as_current_span(
        name, context=ctx, kind=trace.SpanKind.CONSUMER
    ) as span:
        yield span


class Consumption:
    """The trace context of the messages one consumer reads at stream rates, for what it
    publishes while handling each (a span per message cost a consumer more than its work).

    When spans are exported, the first message of each trace context gets a consumer span
    ``name`` (its parent that context); the others, and every message when nothing is
    exported, only carry their context on: what is published while handling one has the
    message's ``traceparent`` as its parent, as if its context were current, with no span
    made. A device cycle's messages share the cycle's context, so that is one span per
    cycle read and consumer. A message without a ``traceparent`` has nothing to carry.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._spanned = ""
        """The trace context of the last span made."""

    @contextmanager
    def handling(self, headers: Mapping[str, str] | None) -> Iterator[None]:
        """Handle one message with the trace context its ``headers`` carry."""
        parent = headers.get("traceparent", "") if headers else ""
        if _exporting and parent and parent != self._spanned:
            self._spanned = parent
            with consume_span(self.name, headers):
                yield
            return
        token = _carried.set(headers if parent else None)
        try:
            yield
        finally:
            _carried.reset(token)


@contextmanager
def producing(
    tracer: trace.Tracer, name: str, attributes: Mapping[str, str] | None = None
) -> Iterator[None]:
    """Run work that starts a trace (a device's poll): a span ``name`` when spans are
    exported; else only a new trace context, carried into what is published inside as
    :class:`Consumption` carries a message's. A span that is never exported cost the
    device service about a tenth of each poll; its messages keep their ``traceparent``."""
    if _exporting:
        with tracer.start_as_current_span(name, attributes=attributes):
            yield
        return
    context = f"00-{random.getrandbits(128):032x}-{random.getrandbits(64):016x}-01"
    token = _carried.set({"traceparent": context})
    try:
        yield
    finally:
        _carried.reset(token)


def traceparent() -> str:
    """The W3C ``traceparent`` of the current span ("" outside one), for headers that
    are written as bytes rather than through :func:`inject`."""
    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier.get("traceparent", "")


_MAX_LINKS = 32
"""Links per batch span: enough to follow a batch back to its producers, bounded so a
10,000-message batch does not make a 10,000-link span."""


@contextmanager
def linked_span(name: str, carriers: Iterable[Mapping[str, str] | None]) -> Iterator[trace.Span]:
    """A span for work on many messages at once (a batch written to a store), linked to
    the trace of each message (the first :data:`_MAX_LINKS` distinct ones)."""
    links: dict[int, trace.Link] = {}
    for headers in carriers:
        if len(links) >= _MAX_LINKS:
            break
        if not headers or "traceparent" not in headers:
            continue
        context = trace.get_current_span(propagate.extract(dict(headers))).get_span_context()
        if context.is_valid:
            links.setdefault(context.span_id, trace.Link(context))
    with tracer("plantbus.bus").start_as_current_span(
        name, links=list(links.values()), kind=trace.SpanKind.CONSUMER
    ) as span:
        yield span


Reading = Callable[[], Iterable[tuple[float, Mapping[str, str]]]]
"""What a gauge source gives when metrics are collected: (value, attributes) pairs."""


class Gauge:
    """An observable gauge fed by any number of sources (one per service instance in the
    process), read only when metrics are collected (a Prometheus scrape)."""

    def __init__(self, meter_name: str, name: str, description: str, unit: str = "") -> None:
        self._sources: dict[int, Reading] = {}
        meter(meter_name).create_observable_gauge(
            name, callbacks=[self._observe], description=description, unit=unit
        )

    def watch(self, read: Reading) -> Callable[[], None]:
        """Add a source; call what this returns to remove it (when the service stops)."""
        key = id(read)
        self._sources[key] = read

        def unwatch() -> None:
            self._sources.pop(key, None)

        return unwatch

    def _observe(self, _options: CallbackOptions) -> Iterable[Observation]:
        return [
            Observation(value, dict(attributes))
            for read in list(self._sources.values())
            for value, attributes in read()
        ]


CONSUMER_LAG = Gauge(
    "plantbus.bus",
    "plantbus.consumer.lag",
    "Messages a service has yet to read from a stream, as of the last it read",
    unit="{message}",
)
"""Per stream and consumer: ``{"stream": ..., "consumer": ...}``."""
