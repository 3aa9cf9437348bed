"""Trace context across the services: W3C ``traceparent`` in HTTP headers and in events (the
CloudEvents distributed tracing extension), spans with OpenTelemetry.

The context always travels (portal -> APIs -> outbox -> broker -> consumer -> its outbox rows and
deliveries), so the logs of one user action share one ``trace_id``. Spans are exported (OTLP over
HTTP) only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set; by default nothing leaves the process.
The standard OpenTelemetry variables (``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_TRACES_SAMPLER``,
...) apply as usual.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
from typing import Iterator, Mapping

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

log = logging.getLogger(__name__)

TRACEPARENT_PATTERN = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"
_TRACEPARENT = re.compile(TRACEPARENT_PATTERN)
_PROPAGATOR = TraceContextTextMapPropagator()
_IDS = RandomIdGenerator()
# one provider per (service, endpoint): several services share a process in the tests
_PROVIDERS: dict[tuple[str, str | None], TracerProvider] = {}

__all__ = ["SpanKind", "tracer", "span", "extract", "inject", "current_traceparent", "current_trace_id",
           "flush", "TRACEPARENT_PATTERN"]


def _endpoint() -> str | None:
    return (os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None)


def provider(service: str) -> TracerProvider:
    endpoint = _endpoint()
    key = (service, endpoint)
    found = _PROVIDERS.get(key)
    if found is None:
        found = TracerProvider(resource=Resource.create({"service.name": f"doorstroom-{service}",
                                                         "service.namespace": "doorstroom"}))
        if endpoint:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.trace.export import BatchSpanProcessor

            found.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(), schedule_delay_millis=1000))
            log.info("trace export on", extra={"fields": {"endpoint": endpoint}})
        _PROVIDERS[key] = found
    return found


_TRACERS: dict[tuple[str, str | None], trace.Tracer] = {}


def tracer(service: str) -> trace.Tracer:
    """The service's tracer, made once per (service, endpoint): a span is started for every
    request, event and mail, and making a tracer each time was a tenth of a consumer's work."""
    key = (service, _endpoint())
    found = _TRACERS.get(key)
    if found is None:
        found = _TRACERS[key] = provider(service).get_tracer("doorstroom")
    return found


def flush(service: str, timeout_ms: int = 3000) -> None:
    """Send what is batched (at shutdown); nothing to do without an exporter."""
    found = _PROVIDERS.get((service, _endpoint()))
    if found is not None and _endpoint():
        with contextlib.suppress(Exception):
            found.force_flush(timeout_ms)


def extract(carrier: Mapping[str, str] | None) -> otel_context.Context | None:
    """The context of an incoming ``traceparent`` (headers, or ``{"traceparent": ...}`` of an
    event); None when there is none or it is not valid (a new trace starts then)."""
    if not carrier:
        return None
    value = carrier.get("traceparent")
    if not value or not _TRACEPARENT.match(value.strip().lower()):
        return None
    ctx = _PROPAGATOR.extract({"traceparent": value.strip().lower()})
    return ctx if trace.get_current_span(ctx).get_span_context().is_valid else None


def inject(headers: dict[str, str]) -> dict[str, str]:
    """Put the current ``traceparent`` into outgoing HTTP headers."""
    _PROPAGATOR.inject(headers)
    return headers


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the work in progress, or None outside any span."""
    sc = trace.get_current_span().get_span_context()
    if not sc.is_valid:
        return None
    return f"00-{sc.trace_id:032x}-{sc.span_id:016x}-{int(sc.trace_flags):02x}"


def current_trace_id() -> str | None:
    sc = trace.get_current_span().get_span_context()
    return f"{sc.trace_id:032x}" if sc.is_valid else None


@contextlib.contextmanager
def span(service: str, name: str, *, kind: SpanKind = SpanKind.INTERNAL,
         parent: otel_context.Context | None = None, attributes: dict | None = None) -> Iterator[trace.Span]:
    """A span of ``service``, current while the block runs; a child of ``parent`` when given, else
    of the current span (a new trace when there is none). Never any personal data in attributes.

    With nothing to export to (no OTLP endpoint, the default) the span records nothing: it only
    carries the trace onward (an id of its own in the parent's trace, the parent's flags), which
    is what the logs, calls and events need; a recorded span cost a few percent of every request."""
    if _endpoint() is None:
        above = trace.get_current_span(parent).get_span_context()
        trace_id, flags = ((above.trace_id, above.trace_flags) if above.is_valid
                           else (_IDS.generate_trace_id(), TraceFlags(TraceFlags.SAMPLED)))
        current = NonRecordingSpan(SpanContext(trace_id, _IDS.generate_span_id(), is_remote=False,
                                               trace_flags=flags))
        with trace.use_span(current, end_on_exit=False, record_exception=False, set_status_on_exception=False):
            yield current
        return
    with tracer(service).start_as_current_span(name, context=parent, kind=kind, attributes=attributes,
                                               record_exception=False,
                                               set_status_on_exception=True) as current:
        yield current
