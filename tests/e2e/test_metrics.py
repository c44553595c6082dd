"""``/metrics`` scraped while the system takes load: the series move as the system does.

The API (uvicorn on a real socket) and the projections consumer group run as ``caseledger up`` runs them
(``cli.runtime.serve``), on the real PostgreSQL and the real broker; the relay starts only after the
commands, so its lag is seen to rise and then fall. A poison message on a topic is parked and counted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from uuid import uuid4

import httpx
import pytest
from kafka import KafkaProducer
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from api.auth import issue_token
from cli.metrics import MetricsPortTakenError, expose_metrics, watch_relay
from cli.runtime import CONTEXTS, serve
from consumers.groups import default_groups
from consumers.scheduler import Scheduler
from domain.base import Role
from domain.timer import TimerBreached
from infra.bootstrap import System
from infra.clock import ControlledClock
from infra.messaging.broker import ensure_topics
from infra.messaging.contract import topic_name
from infra.messaging.relay import Relay, RelayThread
from projections.schema import PROJECTIONS_GROUP
from tests.integration.test_timers import CMP, Consumer, a_complaint, the_timer
from tests.kafka_fixtures import free_port

pytestmark = pytest.mark.e2e

SECRET = "metrics-test-secret-of-at-least-32-characters"
COMMANDS = 12


def scrape(http: httpx.Client) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    answer = http.get("/metrics")
    assert answer.status_code == 200, answer.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels`` (0 when there is none)."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def eventually(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.2)


@dataclasses.dataclass
class Running:
    system: System
    http: httpx.Client
    bootstrap: str


@pytest.fixture
def running(system: System, kafka_bootstrap: str) -> Iterator[Running]:
    settings = system.settings.model_copy(
        update={
            "jwt_secret": SecretStr(SECRET),
            "topic_prefix": f"m{uuid4().hex[:12]}",
            "topic_partitions": 2,
        }
    )
    live = dataclasses.replace(system, settings=settings)
    ensure_topics(kafka_bootstrap, [topic_name(settings.topic_prefix, c) for c in CONTEXTS], 2)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    started: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
    failed: list[BaseException] = []

    async def main() -> None:
        stop = asyncio.Event()
        started.append((asyncio.get_running_loop(), stop))
        await serve(
            live,
            kafka_bootstrap,
            stop,
            relay=False,
            groups=(PROJECTIONS_GROUP,),
            api=True,
            api_socket=listener,
        )

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 - reported by the fixture's teardown
            failed.append(exc)

    thread = threading.Thread(target=run, name="metrics-e2e", daemon=True)
    thread.start()
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        eventually(lambda: _answers(http))
        yield Running(live, http, kafka_bootstrap)
    loop, stop = started[0]
    loop.call_soon_threadsafe(stop.set)
    thread.join(30)
    listener.close()
    assert not failed, failed


def _answers(http: httpx.Client) -> bool:
    try:
        return http.get("/metrics").status_code == 200
    except httpx.TransportError:
        return False


def headers(role: Role) -> dict[str, str]:
    token = issue_token(SECRET, f"metrics.{role.value}", role, timedelta(minutes=10))
    return {"Authorization": f"Bearer {token}"}


def lodge(running: Running) -> str:
    now = running.system.clock.now()
    answer = running.http.post(
        "/complaints",
        json={
            "received_at": (now - timedelta(minutes=5)).isoformat(),
            "category": "claims",
            "channel": "hotline",
            "subject_ref": {"kind": "policy", "ref": "P-1"},
            "customer_id": "CUST-metrics",
            "complainant_name": "张伟",
            "complainant_phone": "13800138000",
            "facts": "the repair estimate left out the paint work",
            "demands": "pay the paint work",
        },
        headers=headers(Role.COMPLAINTS_OFFICER),
    )
    assert answer.status_code == 201, answer.text
    case_id: str = answer.json()["case_id"]
    return case_id


def test_metrics_show_commands_relay_lag_rising_and_falling_and_a_dead_letter(running: Running) -> None:
    http = running.http
    group_id = default_groups()[PROJECTIONS_GROUP].group_id(running.system.settings.topic_prefix)
    stop_watching = watch_relay(running.system)
    try:
        before = scrape(http)
        cases = [lodge(running) for _ in range(COMMANDS)]
        refused = http.post(
            f"/complaints/{cases[0]}/closure", json={"outcome": "upheld"}, headers=headers(Role.SUPERVISOR)
        )
        assert refused.status_code == 409, refused.text

        # No relay yet: the events wait in the store.
        behind = scrape(http)
        assert value(behind, "caseledger_relay_lag_positions", context="complaint") >= COMMANDS
        assert value(behind, "caseledger_relay_lag_seconds", context="complaint") >= 0
        accepted = "caseledger_commands_total"
        assert value(behind, accepted, outcome="accepted") - value(before, accepted, outcome="accepted") == (
            COMMANDS
        )
        assert (
            value(behind, accepted, outcome="refused", rule="lifecycle-order")
            - value(before, accepted, outcome="refused", rule="lifecycle-order")
            == 1
        )
        requests = "caseledger_http_requests_total"
        created = {"method": "POST", "route": "/complaints", "status": "201"}
        assert value(behind, requests, **created) - value(before, requests, **created) == COMMANDS
        closure = {"route": "/complaints/{complaint_id}/closure", "status": "409"}
        assert value(behind, requests, **closure) - value(before, requests, **closure) == 1
        assert value(behind, "caseledger_http_request_duration_seconds_count", route="/complaints") > 0
        assert value(behind, "caseledger_db_pool_connections", state="max") > 0

        relay = RelayThread(Relay(running.system, running.bootstrap)).start()
        try:
            # The relay publishes, the lag falls to nothing, and the projections group applies the events.
            def caught_up() -> bool:
                now = scrape(http)
                published = "caseledger_relay_published_events_total"
                applied = "caseledger_consumer_events_total"
                return (
                    value(now, "caseledger_relay_lag_positions", context="complaint") == 0
                    and value(now, published, context="complaint")
                    - value(before, published, context="complaint")
                    >= COMMANDS
                    and value(now, applied, group=group_id, outcome="applied")
                    - value(before, applied, group=group_id, outcome="applied")
                    >= COMMANDS
                    and value(now, "caseledger_consumer_lag_events", group=group_id, context="complaint") == 0
                )

            eventually(caught_up)
        finally:
            relay.stop()

        # A message no consumer can read is parked, and counted as a dead letter of its group.
        producer = KafkaProducer(bootstrap_servers=running.bootstrap, acks="all")
        try:
            topic = topic_name(running.system.settings.topic_prefix, "complaint")
            producer.send(topic, key=b"not-a-case", value=b"not json at all").get(timeout=10)
        finally:
            producer.close()

        def parked() -> bool:
            now = scrape(http)
            name = "caseledger_dead_letters_parked_total"
            return (
                value(now, name, group=group_id) - value(before, name, group=group_id) == 1
                and value(now, "caseledger_dead_letters_open", group=group_id, status="parked") == 1
            )

        eventually(parked)
    finally:
        stop_watching()


def test_a_process_without_http_serves_its_gauges_on_the_metrics_port(system: System) -> None:
    port = free_port()
    live = dataclasses.replace(system, settings=system.settings.model_copy(update={"metrics_port": port}))

    undo = expose_metrics(live, relay=True, groups=(PROJECTIONS_GROUP,), scheduler=True, serve=True)
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    finally:
        undo()

    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for fam in text_string_to_metric_families(text)
        for sample in fam.samples
    }
    assert value(samples, "caseledger_db_pool_connections", state="max") == live.database.max_size
    assert value(samples, "caseledger_relay_lag_positions", context="complaint") == 0
    assert ("caseledger_timers_pending", frozenset({("state", "running")})) in samples
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)


def test_a_taken_metrics_port_is_one_line_and_leaves_nothing_registered(system: System) -> None:
    with socket.create_server(("0.0.0.0", 0)) as taken:  # noqa: S104 - the metrics server binds all interfaces
        port = taken.getsockname()[1]
        live = dataclasses.replace(system, settings=system.settings.model_copy(update={"metrics_port": port}))

        with pytest.raises(MetricsPortTakenError, match=f"port {port} is already in use"):
            expose_metrics(live, relay=True, groups=(), scheduler=False, serve=True)

    # Nothing was left registered: the same gauges can be exposed again.
    expose_metrics(live, relay=True, groups=(), scheduler=False, serve=False)()


def test_caseledger_timers_serves_metrics_on_the_configured_port(database_url: str, schema: str) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASELEDGER_")} | {
        "CASELEDGER_DATABASE_URL": database_url,
        "CASELEDGER_DB_SCHEMA": schema,
        "CASELEDGER_METRICS_PORT": str(port),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "timers"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        scraped: list[str] = []

        def served() -> bool:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                scraped.append(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text)
            except httpx.TransportError:
                return False
            return True

        eventually(served)
        # The scheduler creates sla_due at start; a scrape reads its open timers once it is there.
        eventually(lambda: served() and 'caseledger_timers_pending{state="running"} 0.0' in scraped[-1])
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(15)

    assert 'caseledger_db_pool_connections{state="max"}' in scraped[-1]
    assert "caseledger_relay_lag_positions" not in scraped[-1]


def test_the_scheduler_counts_what_it_fires_and_a_breach_under_its_rule_late_from_the_deadline(
    system: System, clock: ControlledClock
) -> None:
    consumer = Consumer(system, system.timers)
    try:
        complaint_id = a_complaint(system, clock)
        consumer.consume()
    finally:
        consumer.close()
    timer = the_timer(system, system.timers, CMP, complaint_id)
    half, due = timer.warning_at(0.5), timer.due_at
    assert half is not None
    assert due is not None

    def count(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0

    warnings = count("caseledger_timers_fired_total", action="warning")
    breaches = count("caseledger_timer_breaches_total", rule=CMP)
    late = count("caseledger_timer_lateness_seconds_sum", action="breach")
    late_count = count("caseledger_timer_lateness_seconds_count", action="breach")
    scheduler = Scheduler(system.timers, system.database, system.settings.db_schema, clock)
    clock.set(half)
    scheduler.tick()
    # Late past the deadline: the 80 % warning's row is taken, and the breach recorded with it.
    clock.set(due + timedelta(seconds=30))
    scheduler.tick()

    assert count("caseledger_timers_fired_total", action="warning") - warnings == 1
    assert count("caseledger_timer_breaches_total", rule=CMP) - breaches == 1
    # Every breach recorded (the complaint's shorter clocks breach too) is observed late from its deadline.
    recorder = system.timers.recorder
    recorded = [system.timers.mapper.to_domain_event(n) for n in recorder.select_notifications(1, 10_000)]
    breached = [e for e in recorded if isinstance(e, TimerBreached)]
    assert any(e.originator_id == timer.id and e.lateness_seconds == 30 for e in breached)
    assert count("caseledger_timer_lateness_seconds_count", action="breach") - late_count == len(breached)
    assert count("caseledger_timer_lateness_seconds_sum", action="breach") - late == pytest.approx(
        sum(e.lateness_seconds for e in breached), abs=len(breached)
    )
