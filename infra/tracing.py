"""Traces: one trace per command, from the HTTP request to every read-model write it causes.

How the trace crosses processes and time. The API's request span (FastAPI instrumentation) holds the
command's span (``command_span``); the application service stores that span's W3C trace context with each
event it records (``traceparent``/``tracestate`` in the event's envelope, beside ``correlation_id``). The
relay reads the events later, in another process, from the notification log: it starts one producer span
per message as a child of the stored context (``published_span``) and sends its context as the
CloudEvents distributed-tracing extension (``ce_traceparent``, ``ce_tracestate``: the binary Kafka
binding's names). A consumer's span for one message is a child of that header (``consumed_span``); its
handler's PostgreSQL statements (psycopg instrumentation) are children of it, and a command a consumer
issues (timers, callbacks) stores the consumer span's context with its own events, so the trace goes on.

Only the CloudEvents header is sent, not also a bare ``traceparent`` header: one value per message cannot
disagree with itself. FastStream's ``KafkaTelemetryMiddleware`` is not used: our subscribers are batch
subscribers whose records are recorded one by one in a worker thread (consumers/app.py), and the
middleware makes one span per batch from a ``traceparent`` header; the spans here are one per message.

Cost. With no OTLP endpoint configured (``Settings.otel_endpoint``, or the standard
``OTEL_EXPORTER_OTLP_ENDPOINT``) nothing is installed: no provider, no instrumentation; the span helpers
return after one check of a module variable, and a command reads the current span (there is none, ~0.5 µs).
Stored events then carry no trace context (their
payloads stay byte for byte as before), unless the command ran inside a span someone else started; the
relay passes a stored context through as ``ce_traceparent`` even when it does not trace itself.

The provider is this module's, not OpenTelemetry's global one (which can be set once per process): the
instrumentations are handed it, and ``shutdown_tracing`` flushes it and takes the instrumentation off.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.trace import Link, NonRecordingSpan, Span, SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.span import TraceState

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.util.types import Attributes

    from infra.settings import Settings

log = logging.getLogger(__name__)

TRACER_NAME = "caseledger"
H_TRACEPARENT = "ce_traceparent"
"""The CloudEvents distributed-tracing extension's headers (Kafka binary binding: ``ce_`` + attribute)."""
H_TRACESTATE = "ce_tracestate"

_provider: TracerProvider | None = None
_tracer: trace.Tracer | None = None
_NOTHING: AbstractContextManager[None] = nullcontext()


# ---------------------------------------------------------------------------------------- process setup


def configure_tracing(settings: Settings, service: str, *, exporter: SpanExporter | None = None) -> bool:
    """Install this process's tracing when an OTLP endpoint is configured (or a test hands an exporter).

    Call it before the system is built: the psycopg instrumentation covers connections opened after it.
    Returns whether tracing is on. ``service`` names the process (``caseledger-api``, ``caseledger-relay``…).
    """
    global _provider, _tracer
    if exporter is None and settings.otel_endpoint is None:
        return False
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    shutdown_tracing()
    provider = TracerProvider(
        resource=Resource.create({"service.name": service}),
        sampler=_sampler(settings.otel_sample_ratio),
    )
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = traces_endpoint(settings)
        assert endpoint is not None
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        log.info("traces are exported over OTLP/HTTP to %s as %s", endpoint, service)
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    PsycopgInstrumentor().instrument(tracer_provider=provider, skip_dep_check=True)
    _provider = provider
    _tracer = provider.get_tracer(TRACER_NAME)
    return True


def traces_endpoint(settings: Settings) -> str | None:
    """Where spans are exported: the OTLP/HTTP traces path under the configured base URL (None: nowhere).

    The base URL is what ``OTEL_EXPORTER_OTLP_ENDPOINT`` means; ``/v1/traces`` is OTLP/HTTP's own path.
    """
    if settings.otel_endpoint is None:
        return None
    return settings.otel_endpoint.rstrip("/") + "/v1/traces"


def shutdown_tracing() -> None:
    """Export what is pending and take the instrumentation off (``configure_tracing`` may then run again)."""
    global _provider, _tracer
    if _provider is None:
        return
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

    PsycopgInstrumentor().uninstrument()
    provider, _provider, _tracer = _provider, None, None
    provider.shutdown()


def tracing_enabled() -> bool:
    """Whether this process traces (an exporter is installed)."""
    return _provider is not None


def instrument_api(app: Any) -> None:
    """Give a FastAPI application its request spans, when tracing is on (``/metrics`` and probes left out)."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=_provider,
        excluded_urls="/metrics,/healthz,/readyz",
        exclude_spans=["receive", "send"],
    )


def _sampler(ratio: float) -> Any:
    from opentelemetry.sdk.trace.sampling import (
        ALWAYS_ON,
        Decision,
        ParentBased,
        Sampler,
        SamplingResult,
        TraceIdRatioBased,
    )

    class WorkRoots(Sampler):
        """A new trace starts at a unit of work (a request, a message, a timer), never at a lone statement:
        the relay's polling and the consumers' bookkeeping outside a message would each make a trace."""

        def __init__(self, inner: Sampler) -> None:
            self.inner = inner

        def should_sample(
            self,
            parent_context: Any,
            trace_id: int,
            name: str,
            kind: SpanKind | None = None,
            attributes: Attributes = None,
            links: Sequence[Link] | None = None,
            trace_state: TraceState | None = None,
        ) -> SamplingResult:
            if kind is SpanKind.CLIENT:
                return SamplingResult(Decision.DROP)
            return self.inner.should_sample(
                parent_context, trace_id, name, kind, attributes, links, trace_state
            )

        def get_description(self) -> str:
            return f"WorkRoots{{{self.inner.get_description()}}}"

    inner: Sampler = ALWAYS_ON if ratio >= 1 else TraceIdRatioBased(ratio)
    return ParentBased(root=WorkRoots(inner))


# ---------------------------------------------------------------------------------------------- spans


def command_span(name: str, case_id: str) -> AbstractContextManager[object]:
    """The span of one command (its events store this span's context)."""
    if _tracer is None:
        return _NOTHING
    # A refusal by a rule is an answer (4xx), not a failure: the exception is recorded, the status left.
    return _tracer.start_as_current_span(
        f"command {name}",
        kind=SpanKind.INTERNAL,
        attributes={"caseledger.case_id": case_id},
        set_status_on_exception=False,
    )


def current_trace_context() -> tuple[str | None, str | None]:
    """The W3C ``traceparent`` and ``tracestate`` of the current span, or (None, None) outside any span."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None, None
    return _traceparent(context), context.trace_state.to_header() or None


def current_trace_id() -> str | None:
    """The current trace id as 32 hex digits (for log lines), or None outside any span."""
    context = trace.get_current_span().get_span_context()
    return f"{context.trace_id:032x}" if context.is_valid else None


def add_trace_id(_: object, __: str, event: dict[str, object]) -> dict[str, object]:
    """structlog processor: the trace id of the span the line is logged in (a request, command, message)."""
    trace_id = current_trace_id()
    if trace_id is not None:
        event.setdefault("trace_id", trace_id)
    return event


def published_span(
    topic: str, case_id: str, traceparent: str | None, tracestate: str | None
) -> tuple[str, str | None] | None:
    """Record the producer span of one message, a child of the stored context; its context for the headers.

    None when this process does not trace: the stored context then travels unchanged. (The relay asks only
    for events stored with a context: an untraced command's events start no trace of their own.) The span
    is the message's creation ("create", OpenTelemetry's messaging conventions): it ends as the message is
    built, so a batch of messages costs no span kept open until the broker's acknowledgement.
    """
    if _tracer is None:
        return None
    parent = _parent(traceparent, tracestate)
    span = _tracer.start_span(
        f"create {topic}",
        context=parent,
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "create",
            "messaging.destination.name": topic,
            "messaging.kafka.message.key": case_id,
        },
    )
    span.end()
    context = span.get_span_context()
    if not context.is_valid:
        return None
    return _traceparent(context), context.trace_state.to_header() or None


@contextlib.contextmanager
def _consumed(tracer: trace.Tracer, topic: str, group: str, headers: Mapping[str, bytes]) -> Iterator[Span]:
    raw = headers.get(H_TRACEPARENT)
    state = headers.get(H_TRACESTATE)
    parent = _parent(
        raw.decode(errors="replace") if raw else None, state.decode(errors="replace") if state else None
    )
    with tracer.start_as_current_span(
        f"process {topic}",
        context=parent,
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": topic,
            "messaging.consumer.group.name": group,
        },
    ) as span:
        yield span


def consumed_span(
    topic: str, group: str, headers: Sequence[tuple[str, bytes]]
) -> AbstractContextManager[object]:
    """The span of one consumed message, a child of its ``ce_traceparent`` (a new trace without one)."""
    if _tracer is None:
        return _NOTHING
    return _consumed(_tracer, topic, group, dict(headers))


def consumed_batch_span(
    topic: str, group: str, headers: Sequence[Sequence[tuple[str, bytes]]]
) -> AbstractContextManager[object]:
    """The span of work done for a batch of messages at once: a new trace, linked to each message's
    ``ce_traceparent`` (OpenTelemetry's messaging convention for batch processing)."""
    if _tracer is None:
        return _NOTHING
    links = []
    for each in headers:
        found = dict(each)
        raw, state = found.get(H_TRACEPARENT), found.get(H_TRACESTATE)
        parent = _parent(
            raw.decode(errors="replace") if raw else None, state.decode(errors="replace") if state else None
        )
        if parent is not None:
            links.append(Link(trace.get_current_span(parent).get_span_context()))
    return _tracer.start_as_current_span(
        f"process {topic}",
        kind=SpanKind.CONSUMER,
        links=links,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": topic,
            "messaging.consumer.group.name": group,
            "messaging.batch.message_count": len(headers),
        },
    )


def work_span(name: str) -> AbstractContextManager[object]:
    """A span of work that no request or message started (a timer falling due): a new trace."""
    if _tracer is None:
        return _NOTHING
    return _tracer.start_as_current_span(name, kind=SpanKind.INTERNAL)


# -------------------------------------------------------------------------------------------- W3C text


def _traceparent(context: SpanContext) -> str:
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def _parent(traceparent: str | None, tracestate: str | None) -> Any:
    """The context whose span is the remote ``traceparent`` (None, a new trace, when it is absent or bad)."""
    if not traceparent:
        return None
    parts = traceparent.split("-")
    try:
        if len(parts) != 4 or len(parts[1]) != 32 or len(parts[2]) != 16:
            raise ValueError(traceparent)
        trace_id, span_id, flags = int(parts[1], 16), int(parts[2], 16), int(parts[3], 16)
    except ValueError:
        log.debug("ignoring a malformed traceparent %r", traceparent)
        return None
    remote = SpanContext(
        trace_id,
        span_id,
        is_remote=True,
        trace_flags=TraceFlags(flags),
        trace_state=TraceState.from_header([tracestate]) if tracestate else None,
    )
    if not remote.is_valid:
        return None
    return trace.set_span_in_context(NonRecordingSpan(remote))
