"""Without an OTLP endpoint a span records nothing but still carries the trace: the logs, calls
and events of one action share its trace id, each span with an id of its own."""
from __future__ import annotations

import pytest

from shared import tracing

PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
UNSAMPLED = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"


@pytest.fixture(autouse=True)
def _no_export(monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)


def _parts(traceparent: str | None) -> list[str]:
    assert traceparent is not None
    return traceparent.split("-")


def test_a_span_continues_its_parents_trace_with_an_id_of_its_own():
    with tracing.span("test", "GET /x", parent=tracing.extract({"traceparent": PARENT})) as span:
        version, trace_id, span_id, flags = _parts(tracing.current_traceparent())
        assert (version, trace_id, flags) == ("00", "0af7651916cd43dd8448eb211c80319c", "01")
        assert span_id != "b7ad6b7169203331" and len(span_id) == 16
        assert tracing.current_trace_id() == trace_id
        assert not span.is_recording()
        span.set_attribute("http.response.status_code", 200)  # accepted, recorded nowhere
        with tracing.span("test", "publish"):  # a child of the current span
            _, inner_trace, inner_span, _ = _parts(tracing.current_traceparent())
            assert inner_trace == trace_id and inner_span != span_id
        assert _parts(tracing.current_traceparent())[2] == span_id  # back to the outer span
    assert tracing.current_traceparent() is None


def test_without_a_parent_a_new_sampled_trace_starts_each_time():
    seen = set()
    for _ in range(3):
        with tracing.span("test", "work"):
            version, trace_id, span_id, flags = _parts(tracing.current_traceparent())
            assert version == "00" and flags == "01" and int(trace_id, 16) and int(span_id, 16)
            seen.add(trace_id)
    assert len(seen) == 3


def test_an_unsampled_parent_stays_unsampled_and_an_error_passes_through():
    with pytest.raises(ValueError):
        with tracing.span("test", "x", parent=tracing.extract({"traceparent": UNSAMPLED})):
            assert _parts(tracing.current_traceparent())[3] == "00"
            raise ValueError("kapot")
    assert tracing.current_traceparent() is None
