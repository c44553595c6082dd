"""One trace from the HTTP request to the read-model write, across the event store, the relay and Kafka.

The request is served by the real API (TestClient), the events are stored in the real PostgreSQL, the
relay publishes them to the real broker later (as another process would, from the notification log) and
the projections group writes the read model. Spans go to an in-memory exporter installed in-process.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from uuid import UUID, uuid4

import orjson
import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from pydantic import SecretStr

from api.app import create_app
from cli.runtime import caught_up, serve
from cli.scenarios import a_policy, register_demo_seller
from consumers.names import TIMERS_GROUP
from domain.base import SHANGHAI
from domain.timer import TimerStarted
from infra.bootstrap import System, bootstrap
from infra.clock import ControlledClock
from infra.settings import Settings
from infra.tracing import command_span, configure_tracing, shutdown_tracing
from projections.schema import PROJECTIONS_GROUP, projections_group_id
from tests.api.claim_driver import HANDLER, report_claim, step
from tests.api.conftest import SECRET

pytestmark = pytest.mark.integration
ISOLATED = pytest.mark.isolated(
    "installs tracing before its system's pool opens, and runs the relay and the projections over it"
)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    assert configure_tracing(Settings(), "caseledger-test", exporter=exporter)
    yield exporter
    shutdown_tracing()


@pytest.fixture
def traced_system(
    spans: InMemorySpanExporter, database_url: str, schema: str, clock: ControlledClock
) -> Iterator[System]:
    settings = Settings(
        database_url=database_url,
        db_schema=schema,
        topic_prefix=f"t{uuid4().hex[:8]}",
        db_pool_size=4,
        jwt_secret=SecretStr(SECRET),
    )
    built = bootstrap(settings, clock)
    register_demo_seller(built, clock.now().astimezone(SHANGHAI).date())
    yield built
    built.close()


def relay_and_project(
    system: System, bootstrap_servers: str, groups: tuple[str, ...] = (PROJECTIONS_GROUP,)
) -> None:
    async def scenario() -> None:
        stop = asyncio.Event()

        async def then() -> None:
            assert await caught_up(system)
            if TIMERS_GROUP in groups:
                # The timers group's commands store events of their own after the projections caught up.
                for _ in range(300):
                    if system.timers.recorder.max_notification_id():
                        break
                    await asyncio.sleep(0.1)
                assert await caught_up(system)
            stop.set()

        await serve(system, bootstrap_servers, stop, relay=True, groups=groups, then=then)

    asyncio.run(scenario())


def parent_of(span: ReadableSpan) -> int | None:
    return None if span.parent is None else span.parent.span_id


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.span_id)


def trace_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.trace_id)


@ISOLATED
def test_one_trace_runs_from_the_http_request_to_the_projection_write(
    traced_system: System, spans: InMemorySpanExporter, clock: ControlledClock, kafka_bootstrap: str
) -> None:
    system = traced_system
    policy_id = a_policy(system)
    clock.advance(timedelta(days=2))
    with TestClient(create_app(system)) as client:
        reported = report_claim(client, policy_id, clock.now() - timedelta(hours=3))
    claim_id = UUID(reported["case_id"])

    relay_and_project(system, kafka_bootstrap)

    finished = spans.get_finished_spans()
    (server,) = [s for s in finished if s.kind is SpanKind.SERVER and s.name == "POST /claims"]
    (command,) = [s for s in finished if s.name == "command ReportClaim"]
    trace = trace_id(server)
    in_trace = [s for s in finished if trace_id(s) == trace]
    claim_topic = f"{system.settings.topic_prefix}.claim"
    (produced,) = [s for s in in_trace if s.kind is SpanKind.PRODUCER]
    consumed = [s for s in in_trace if s.kind is SpanKind.CONSUMER]
    (projected,) = [
        s
        for s in consumed
        if (s.attributes or {}).get("messaging.consumer.group.name")
        == projections_group_id(system.settings.topic_prefix)
    ]
    # A batch's writes belong to no one message: they are children of the batch's span, which links to each
    # message's producer span (OpenTelemetry's messaging convention); a message taken alone parents its own.
    batches = [
        s
        for s in finished
        if s.kind is SpanKind.CONSUMER and any(link.context.span_id == span_id(produced) for link in s.links)
    ]
    writers = {span_id(projected), *(span_id(b) for b in batches)}
    writes = [
        s
        for s in finished
        if s.kind is SpanKind.CLIENT
        and parent_of(s) in writers
        and str((s.attributes or {}).get("db.statement", "")).lstrip().upper().startswith("INSERT")
    ]

    # HTTP request → command → (stored) → relay's producer span → projections' consumer span → its writes.
    assert parent_of(command) == span_id(server)
    (event,) = system.claims.history(claim_id)
    assert command.context is not None
    flags = command.context.trace_flags
    assert event.traceparent == f"00-{trace:032x}-{command.context.span_id:016x}-{flags:02x}"
    assert parent_of(produced) == span_id(command)
    assert produced.name == f"create {claim_topic}"
    assert parent_of(projected) == span_id(produced)
    assert projected.name == f"process {claim_topic}"
    assert writes, "the projection's INSERT statements are children of the message's or its batch's span"
    # The command's own statements (the event store's insert) are in the trace too, under the command.
    assert any(s.kind is SpanKind.CLIENT and parent_of(s) == span_id(command) for s in in_trace)


@ISOLATED
def test_a_timer_the_timers_group_starts_for_an_event_continues_that_events_trace(
    traced_system: System, spans: InMemorySpanExporter, clock: ControlledClock, kafka_bootstrap: str
) -> None:
    system = traced_system
    policy_id = a_policy(system)
    clock.advance(timedelta(days=2))
    with TestClient(create_app(system)) as client:
        claim_id = report_claim(client, policy_id, clock.now() - timedelta(hours=3))["case_id"]
        claim = f"/claims/{claim_id}"
        # The claim's application starts its SLA clocks (the timers group's commands).
        received = {"received_at": clock.now().isoformat(), "documents": []}
        step(client, HANDLER, f"{claim}/application", received)

    relay_and_project(system, kafka_bootstrap, groups=(PROJECTIONS_GROUP, TIMERS_GROUP))

    finished = spans.get_finished_spans()
    (server,) = [s for s in finished if s.kind is SpanKind.SERVER and s.name.endswith("/application")]
    timers_group = f"{system.settings.topic_prefix}.{TIMERS_GROUP}"
    handled = {
        span_id(s)
        for s in finished
        if s.kind is SpanKind.CONSUMER
        and trace_id(s) == trace_id(server)
        and (s.attributes or {}).get("messaging.consumer.group.name") == timers_group
    }
    started = [
        orjson.loads(n.state)
        for n in system.timers.recorder.select_notifications(start=1, limit=1_000)
        if n.topic == TimerStarted.TOPIC and orjson.loads(n.state)["subject_id"] == claim_id
    ]
    assert started
    for timer in started:
        _, trace, parent, _ = timer["traceparent"].split("-")
        assert int(trace, 16) == trace_id(server)
        assert int(parent, 16) in handled


@ISOLATED
def test_events_stored_by_an_untraced_command_keep_no_trace_context(
    traced_system: System, spans: InMemorySpanExporter
) -> None:
    # A command outside any request or message (here: the scenario's own call) starts no trace.
    policy_id = a_policy(traced_system)

    events = traced_system.policies.history(policy_id)
    assert [e.traceparent for e in events] == [None] * len(events)
    stored = traced_system.policies.recorder.select_events(policy_id)
    assert all(b"traceparent" not in s.state for s in stored)


def test_spans_reach_an_otlp_http_collector_at_the_configured_endpoint() -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    received: list[tuple[str, str, bytes]] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, self.headers["Content-Type"], body))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    collector = HTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{collector.server_port}"
        assert configure_tracing(Settings(otel_endpoint=endpoint), "caseledger-api")
        with command_span("ReportClaim", "case-1"):
            pass
        shutdown_tracing()  # exports what the batch holds
    finally:
        shutdown_tracing()
        collector.shutdown()
        collector.server_close()

    ((path, content_type, body),) = received
    assert (path, content_type) == ("/v1/traces", "application/x-protobuf")
    request = ExportTraceServiceRequest.FromString(body)
    (resource_spans,) = request.resource_spans
    service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}["service.name"]
    names = [span.name for scope in resource_spans.scope_spans for span in scope.spans]
    assert (service, names) == ("caseledger-api", ["command ReportClaim"])
