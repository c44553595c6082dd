"""Tracing is installed only when an OTLP endpoint is configured; its spans follow the messages' headers."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from pydantic import ValidationError

from infra.settings import Settings
from infra.tracing import (
    H_TRACEPARENT,
    H_TRACESTATE,
    command_span,
    configure_tracing,
    consumed_span,
    current_trace_context,
    published_span,
    shutdown_tracing,
    traces_endpoint,
    tracing_enabled,
)

STORED = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def psycopg_is_instrumented() -> bool:
    return hasattr(psycopg.Connection.connect, "__wrapped__")


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    configure_tracing(Settings(otel_endpoint=None), "caseledger-test", exporter=exporter)
    yield exporter
    shutdown_tracing()


def test_nothing_is_installed_when_no_otlp_endpoint_is_configured() -> None:
    installed = configure_tracing(Settings(otel_endpoint=None), "caseledger-api")

    assert (installed, tracing_enabled(), psycopg_is_instrumented()) == (False, False, False)
    with command_span("ReportClaim", "case-1"):
        assert current_trace_context() == (None, None)
    assert published_span("caseledger.claim", "case-1", STORED, None) is None


def test_an_otlp_endpoint_installs_tracing_until_it_is_shut_down() -> None:
    settings = Settings(otel_endpoint="http://collector.invalid:4318/")
    try:
        assert configure_tracing(settings, "caseledger-relay")
        assert (tracing_enabled(), psycopg_is_instrumented()) == (True, True)
    finally:
        shutdown_tracing()
    assert (tracing_enabled(), psycopg_is_instrumented()) == (False, False)


def test_spans_are_exported_to_the_otlp_http_traces_path_under_the_configured_base_url() -> None:
    assert (
        traces_endpoint(Settings(otel_endpoint="http://collector:4318/")) == "http://collector:4318/v1/traces"
    )
    assert traces_endpoint(Settings(otel_endpoint=None)) is None


def test_an_otlp_endpoint_that_is_not_an_http_url_is_refused() -> None:
    with pytest.raises(ValidationError, match="OTLP/HTTP"):
        Settings(otel_endpoint="collector:4317")


def test_a_command_records_the_context_of_its_own_span(spans: InMemorySpanExporter) -> None:
    with command_span("ReportClaim", "case-1"):
        traceparent, tracestate = current_trace_context()

    (span,) = spans.get_finished_spans()
    context = span.context
    assert context is not None
    assert traceparent == f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
    assert tracestate is None


def test_the_producer_span_is_a_child_of_the_stored_context_and_keeps_its_trace_state(
    spans: InMemorySpanExporter,
) -> None:
    published = published_span("caseledger.claim", "case-1", STORED, "vendor=abc")

    (span,) = spans.get_finished_spans()
    assert span.kind is SpanKind.PRODUCER
    assert span.parent is not None
    assert span.context is not None
    assert (f"{span.parent.trace_id:032x}", f"{span.parent.span_id:016x}") == (
        "0af7651916cd43dd8448eb211c80319c",
        "b7ad6b7169203331",
    )
    assert published == (f"00-0af7651916cd43dd8448eb211c80319c-{span.context.span_id:016x}-01", "vendor=abc")


def test_a_consumed_message_is_a_child_of_its_ce_traceparent(spans: InMemorySpanExporter) -> None:
    headers = ((H_TRACEPARENT, STORED.encode()), (H_TRACESTATE, b"vendor=abc"))

    with consumed_span("caseledger.claim", "caseledger.projections", headers):
        pass

    (span,) = spans.get_finished_spans()
    assert span.kind is SpanKind.CONSUMER
    assert span.parent is not None
    assert f"{span.parent.span_id:016x}" == "b7ad6b7169203331"
    assert span.context is not None
    assert span.context.trace_state.to_header() == "vendor=abc"


def test_a_message_with_a_malformed_ce_traceparent_starts_a_trace_of_its_own(
    spans: InMemorySpanExporter,
) -> None:
    with consumed_span("caseledger.claim", "caseledger.projections", ((H_TRACEPARENT, b"00-not-a-trace"),)):
        pass

    (span,) = spans.get_finished_spans()
    assert span.parent is None
