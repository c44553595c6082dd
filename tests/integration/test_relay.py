"""The relay on a real PostgreSQL server and a real Kafka-protocol broker: every committed event, in order."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import orjson
import psycopg
import pytest
from aiokafka.partitioner import DefaultPartitioner
from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import sql

from cli.scenarios import (
    OFFICER,
    a_policy,
    address_change_story,
    by,
    claim_story,
    complaint_story,
    inquiry_story,
    life_policy_story,
    lodge_sample_complaint,
    register_demo_seller,
    service_order_story,
)
from domain.base import SHANGHAI, event_id_for
from domain.complaint import Complaint, ComplaintCategory, ComplaintChannel, SubjectKind, SubjectRef
from infra.bootstrap import System, bootstrap
from infra.clock import ControlledClock
from infra.messaging.broker import EmbeddedBroker
from infra.messaging.contract import EventMessage, event_id_text, message_for, topic_name
from infra.messaging.relay import (
    Hole,
    KeyHashPartitioner,
    Relay,
    RelayOptions,
    RelayThread,
    applications,
    contiguous_prefix,
    hole_is_settled,
    relay_lag,
    run_relay,
    topics_for,
)
from infra.settings import Settings
from infra.store.eventstore import CaseApplication
from tests.kafka_fixtures import Record, consume_all, delete_topics, free_port

pytestmark = [
    pytest.mark.integration,
    pytest.mark.isolated(
        "the relay publishes everything the schema stores; its positions and topics are the schema's"
    ),
]


# Production waits, shortened so that each test takes a few seconds.
FAST = RelayOptions(
    idle_poll_s=0.2,
    hole_poll_s=0.02,
    verify_interval_s=0.3,
    standby_poll_s=0.05,
    retry_backoff_s=0.1,
    kafka_request_timeout_ms=5_000,
)


@pytest.fixture
def relay_system(
    database_url: str, schema: str, clock: ControlledClock, kafka_bootstrap: str
) -> Iterator[System]:
    """A system whose topics are this test's own (the topic prefix is the test's schema)."""
    settings = Settings(
        database_url=database_url, db_schema=schema, topic_prefix=schema, db_pool_size=4, db_max_overflow=4
    )
    built = bootstrap(settings, clock)
    register_demo_seller(built, clock.now().astimezone(SHANGHAI).date())
    yield built
    built.close()
    delete_topics(kafka_bootstrap, topics_for(built))


def case_applications(system: System) -> list[Any]:
    """The applications the stories write to: all the relay reads but the timers' (no timer runs here) and
    the data subjects' (no story erases anyone)."""
    return [app for app in applications(system) if app not in (system.timers, system.privacy)]


def tell_stories(system: System, clock: ControlledClock) -> UUID:
    """A life policy with its callback and a 保全 address change, a motor policy, a claim, a complaint, two
    inquiries and a service order; returns the motor policy."""
    life_policy_id, _ = life_policy_story(system, clock)
    address_change_story(system, clock, life_policy_id)
    motor_policy_id = a_policy(system)
    claim_story(system, clock, motor_policy_id)
    complaint_story(system, clock, motor_policy_id)
    inquiry_story(system, clock, motor_policy_id)
    service_order_story(system, clock, motor_policy_id)
    return motor_policy_id


def lodge_complaint(system: System, policy_id: UUID) -> UUID:
    complaint_id = uuid4()
    lodge_sample_complaint(system, by(OFFICER), complaint_id, system.clock.now(), policy_id)
    return complaint_id


def stored(app: CaseApplication[Any]) -> list[Notification]:
    return list(app.recorder.select_notifications(1, 100_000))


def expected_messages(system: System, app: CaseApplication[Any]) -> list[EventMessage]:
    prefix = system.settings.topic_prefix
    return [message_for(prefix, app.bounded_context, n, n.state) for n in stored(app)]


def records(bootstrap: str, system: System, app: CaseApplication[Any]) -> list[Record]:
    return consume_all(bootstrap, topic_name(system.settings.topic_prefix, app.bounded_context))


def ce_ids(messages: Sequence[Record | EventMessage]) -> Counter[bytes]:
    return Counter(m.header("ce_id") or b"" for m in messages)


def relay_until_idle(system: System, bootstrap: str, **kwargs: Any) -> Relay:
    relay = Relay(system, bootstrap, options=kwargs.pop("options", FAST), **kwargs)
    asyncio.run(relay.run(until_idle=True))
    return relay


def wait_until(condition: Callable[[], bool], timeout: float = 5.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def caught_up(relay: Relay, system: System) -> Callable[[], bool]:
    def check() -> bool:
        positions = relay.positions()
        return all(
            positions[app.bounded_context] >= (app.recorder.max_notification_id() or 0)
            for app in case_applications(system)
        )

    return check


def insert_uncommitted(system: System) -> tuple[psycopg.Connection[Any], list[int]]:
    """A new complaint inserted through the library's insert function in a transaction left open."""
    app = system.complaints
    complaint = Complaint.lodge(
        app.context(by(OFFICER)),
        complaint_id=uuid4(),
        received_at=system.clock.now(),
        category=ComplaintCategory.CLAIMS,
        channel=ComplaintChannel.HOTLINE,
        subject_ref=SubjectRef(kind=SubjectKind.POLICY, ref=str(uuid4())),
        customer_id="CUST-held",
        complainant_name="李娜",
        complainant_phone="13900139000",
        facts="the transaction that records this is still open",
        demands="publish me once I commit",
    )
    events = [app.mapper.to_stored_event(e) for e in complaint.collect_events()]
    recorder = app.recorder
    assert isinstance(recorder, PostgresApplicationRecorder)
    schema = sql.Identifier(recorder.datastore.schema)
    row = sql.SQL("ROW(%s, %s, %s, %s)::{}.{}").format(
        schema, sql.Identifier(recorder.stored_event_type_name)
    )
    query = sql.SQL("SELECT * FROM {}.{}(ARRAY[{}])").format(
        schema,
        sql.Identifier(recorder.pg_function_name_insert_events),
        sql.SQL(", ").join([row] * len(events)),
    )
    params = [v for e in events for v in (e.originator_id, e.originator_version, e.topic, e.state)]
    conn = psycopg.connect(system.database_url)  # not autocommit: the transaction stays open
    ids = [int(r[0]) for r in conn.execute(query, params).fetchall()]
    return conn, ids


# ------------------------------------------------------------------------------------------ the hole rule


def test_contiguous_prefix_stops_at_the_first_missing_id() -> None:
    assert contiguous_prefix(10, [11, 12, 13]) == 3
    assert contiguous_prefix(10, [11, 12, 14, 15]) == 2
    assert contiguous_prefix(10, [12, 13]) == 0
    assert contiguous_prefix(10, []) == 0


def test_hole_settles_only_when_every_writer_seen_with_it_has_ended() -> None:
    hole = Hole(first=11, end=14, writers=frozenset({"3/17/901", "5/2/904"}))

    assert not hole_is_settled(hole, {"3/17/901", "5/2/904"})
    assert not hole_is_settled(hole, {"5/2/904", "7/1/950"})  # one of them may still commit
    assert hole_is_settled(hole, {"3/18/901", "7/1/950"})  # later transactions took later ids
    assert hole_is_settled(hole, set())
    assert hole_is_settled(Hole(first=11, end=14, writers=frozenset()), {"3/18/901"})


def test_hole_covers_the_ids_between_its_first_and_the_id_seen_after_it() -> None:
    hole = Hole(first=11, end=14, writers=frozenset())

    assert [p for p in range(8, 16) if hole.covers(p)] == [10, 11, 12]


# ------------------------------------------------------------------------------------------ publication


def test_every_committed_event_is_published_once_in_order_with_the_contract(
    relay_system: System, clock: ControlledClock, kafka_bootstrap: str
) -> None:
    system = relay_system
    tell_stories(system, clock)

    relay_until_idle(system, kafka_bootstrap)

    for app in case_applications(system):
        expected = expected_messages(system, app)
        got = records(kafka_bootstrap, system, app)
        assert len(expected) > 2
        assert ce_ids(got) == ce_ids(expected)
        assert set(ce_ids(got).values()) == {1}
        by_id = {m.header("ce_id"): m for m in expected}
        for record in got:
            message = by_id[record.header("ce_id")]
            assert record.key == message.key
            assert record.value == message.value
            assert dict(record.headers).items() >= dict(message.headers).items()
            assert record.header("ce_subject") == record.key
            assert record.header("ce_specversion") == b"1.0"
            # FastStream's own header, which its consumers read as the message's correlation id.
            assert record.header("correlation_id") == (
                message.header("ce_correlationid") or message.header("ce_id")
            )
            assert record.header("content-type") == b"application/json"
        versions: dict[bytes | None, list[int]] = {}
        partitions: dict[bytes | None, set[int]] = {}
        for record in got:  # partition then offset order
            versions.setdefault(record.key, []).append(int(record.header("caseledger_version") or 0))
            partitions.setdefault(record.key, set()).add(record.partition)
        for key, case_versions in versions.items():
            assert case_versions == list(range(1, len(case_versions) + 1)), key
            assert len(partitions[key]) == 1


def test_the_messages_the_broker_acknowledged_are_those_of_the_contract_in_store_order(
    relay_system: System, clock: ControlledClock, kafka_bootstrap: str
) -> None:
    system = relay_system
    tell_stories(system, clock)
    acked: dict[str, list[EventMessage]] = {}

    def record(context: str, messages: Sequence[EventMessage]) -> None:
        acked.setdefault(context, []).extend(messages)

    relay_until_idle(system, kafka_bootstrap, after_ack=record)

    for app in case_applications(system):
        assert acked.get(app.bounded_context, []) == expected_messages(system, app)


def test_messages_that_fill_several_record_batches_arrive_once_in_log_order_in_the_key_s_partition(
    relay_system: System, clock: ControlledClock, kafka_bootstrap: str
) -> None:
    system = relay_system
    tell_stories(system, clock)

    # Batches of 2 KB hold one or two messages: each partition's messages span many record batches.
    relay_until_idle(system, kafka_bootstrap, options=replace(FAST, record_batch_bytes=2048))

    partitions = list(range(system.settings.topic_partitions))
    default = DefaultPartitioner()
    cases = 0
    for app in case_applications(system):
        expected = expected_messages(system, app)
        got = records(kafka_bootstrap, system, app)
        assert ce_ids(got) == ce_ids(expected)
        assert set(ce_ids(got).values()) == {1}
        positions: dict[bytes | None, list[int]] = {}
        for record in got:  # partition then offset order
            assert record.partition == default(record.key, partitions, partitions)
            positions.setdefault(record.key, []).append(int(record.header("ce_storeposition") or 0))
        cases += len(positions)
        for key, case_positions in positions.items():
            assert case_positions == sorted(case_positions), key
    assert cases > len(case_applications(system))  # several cases share a partition's batches somewhere


def test_event_ids_on_the_wire_are_the_domain_event_ids() -> None:
    for version in [*range(1, 40), 1_000, 123_456_789]:
        case_id = uuid4()
        assert event_id_text(case_id, version) == str(event_id_for(case_id, version))


def test_the_relay_partitions_exactly_as_the_default_partitioner() -> None:
    partitioner, default = KeyHashPartitioner(), DefaultPartitioner()
    partitioner.MAX_KEYS = 50  # the cache is emptied and filled again on the way
    for count in (1, 3, 6, 7, 12):
        partitions = list(range(count))
        for _ in range(100):
            key = str(uuid4()).encode()
            expected = default(key, partitions, partitions)
            assert partitioner(key, partitions, partitions) == expected
            assert partitioner(key, partitions, partitions) == expected  # remembered
    assert partitioner(None, [0, 1, 2], [2]) == 2  # no key: one of the available partitions


def test_relay_killed_between_ack_and_position_write_republishes_only_that_batch(
    relay_system: System, clock: ControlledClock, kafka_bootstrap: str
) -> None:
    system = relay_system
    tell_stories(system, clock)
    crashed: list[EventMessage] = []

    class SimulatedCrashError(Exception):
        pass

    def crash(context: str, messages: Sequence[EventMessage]) -> None:
        crashed.extend(messages)
        raise SimulatedCrashError(context)

    with pytest.raises(SimulatedCrashError):
        relay_until_idle(system, kafka_bootstrap, options=replace(FAST, batch_size=5), after_ack=crash)
    lag = {entry.context: entry for entry in asyncio.run(relay_lag(system))}
    assert len(crashed) == 5
    assert lag["policy"].published_position == 0  # acked by the broker, never recorded

    relay_until_idle(system, kafka_bootstrap, options=replace(FAST, batch_size=5))

    duplicates: Counter[bytes] = Counter()
    for app in case_applications(system):
        got = ce_ids(records(kafka_bootstrap, system, app))
        assert set(got) == set(ce_ids(expected_messages(system, app)))  # no gap
        duplicates += Counter({ce_id: n - 1 for ce_id, n in got.items() if n > 1})
    assert duplicates == ce_ids(crashed)  # each event of the crashed batch exactly twice, nothing else


# ------------------------------------------------------------------------------------------ holes


def test_events_after_an_uncommitted_insert_wait_for_it_and_it_is_not_skipped(
    relay_system: System, clock: ControlledClock, kafka_bootstrap: str
) -> None:
    system = relay_system
    policy_id = tell_stories(system, clock)
    relay = RelayThread(Relay(system, kafka_bootstrap, options=FAST)).start()
    try:
        wait_until(caught_up(relay.relay, system), what="the relay to catch up")
        held, held_ids = insert_uncommitted(system)
        lodge_complaint(system, policy_id)  # commits ids after the held ones
        later = system.complaints.recorder.max_notification_id() or 0
        assert later > held_ids[-1]

        time.sleep(1.0)  # a hundred hole checks
        assert relay.relay.positions()["complaint"] == held_ids[0] - 1
        published = {
            int(r.header("caseledger_position") or 0)
            for r in records(kafka_bootstrap, system, system.complaints)
        }
        assert max(published) < held_ids[0]

        held.commit()
        held.close()
        wait_until(lambda: relay.relay.positions()["complaint"] == later, what="the held events")
    finally:
        relay.stop()

    got = records(kafka_bootstrap, system, system.complaints)
    assert ce_ids(got) == ce_ids(expected_messages(system, system.complaints))
    assert set(ce_ids(got).values()) == {1}
    assert set(held_ids) <= {int(r.header("caseledger_position") or 0) for r in got}


def test_a_rolled_back_insert_leaves_a_permanent_hole_that_the_relay_passes(
    relay_system: System, clock: ControlledClock, kafka_bootstrap: str
) -> None:
    system = relay_system
    policy_id = tell_stories(system, clock)
    relay = RelayThread(Relay(system, kafka_bootstrap, options=FAST)).start()
    try:
        wait_until(caught_up(relay.relay, system), what="the relay to catch up")
        doomed, doomed_ids = insert_uncommitted(system)
        lodge_complaint(system, policy_id)
        later = system.complaints.recorder.max_notification_id() or 0
        doomed.rollback()
        doomed.close()

        wait_until(lambda: relay.relay.positions()["complaint"] == later, what="the relay to pass the hole")
    finally:
        relay.stop()

    got = records(kafka_bootstrap, system, system.complaints)
    assert ce_ids(got) == ce_ids(expected_messages(system, system.complaints))
    assert set(ce_ids(got).values()) == {1}
    assert not set(doomed_ids) & {int(r.header("caseledger_position") or 0) for r in got}


# ------------------------------------------------------------------------------------------ one relay


def test_a_second_relay_stands_by_while_the_first_holds_the_lock_and_takes_over_after_it(
    relay_system: System, clock: ControlledClock, kafka_bootstrap: str
) -> None:
    system = relay_system
    policy_id = tell_stories(system, clock)
    first = RelayThread(Relay(system, kafka_bootstrap, options=FAST)).start()
    second = RelayThread(Relay(system, kafka_bootstrap, options=FAST))
    try:
        wait_until(caught_up(first.relay, system), what="the first relay to catch up")
        second.start()
        lodge_complaint(system, policy_id)
        wait_until(caught_up(first.relay, system), what="the first relay to publish the new complaint")
        time.sleep(5 * FAST.standby_poll_s)

        assert not second.relay.active
        assert sum(second.relay.published_counts().values()) == 0

        first.stop()
        wait_until(lambda: second.relay.active, what="the standby to take over")
        lodge_complaint(system, policy_id)
        wait_until(caught_up(second.relay, system), what="the second relay to publish")
        assert second.relay.published_counts()["complaint"] == 1
    finally:
        first.stop()
        second.stop()

    for app in case_applications(system):
        got = ce_ids(records(kafka_bootstrap, system, app))
        assert got == ce_ids(expected_messages(system, app))
        assert set(got.values()) == {1}


# ------------------------------------------------------------------------------------------ wake-ups


class ReadCountingRelay(Relay):
    """A relay that notes which context's log each of its reads was of."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reads: list[str] = []
        self.last_read = time.monotonic()

    def _read(self, tail: Any, after: int, stop: int | None = None, whole: bool = False) -> Any:
        self.reads.append(tail.context)
        self.last_read = time.monotonic()
        return super()._read(tail, after, stop, whole)

    def quiet_for(self, seconds: float) -> Callable[[], bool]:
        return lambda: time.monotonic() - self.last_read > seconds


def test_a_notify_makes_the_relay_read_only_the_log_of_the_context_that_stored_events(
    relay_system: System, clock: ControlledClock, kafka_bootstrap: str
) -> None:
    system = relay_system
    policy_id = tell_stories(system, clock)
    # A poll reads every log: none may fall inside the measured part, so only the NOTIFY can wake the relay.
    relay = ReadCountingRelay(system, kafka_bootstrap, options=replace(FAST, idle_poll_s=60.0))
    running = RelayThread(relay).start()
    try:
        wait_until(caught_up(relay, system), what="the relay to catch up")
        # The round after the last publish reads that context again: only then is the relay at rest.
        wait_until(relay.quiet_for(0.5), timeout=20.0, what="the relay to stop reading")
        before = {app.bounded_context: app.recorder.max_notification_id() for app in applications(system)}
        relay.reads.clear()

        lodge_complaint(system, policy_id)
        wait_until(caught_up(relay, system), what="the relay to publish the new complaint")
        wait_until(relay.quiet_for(0.5), timeout=20.0, what="the relay to stop reading")
        grown = {
            app.bounded_context
            for app in applications(system)
            if app.recorder.max_notification_id() != before[app.bounded_context]
        }
    finally:
        running.stop()

    assert "complaint" in relay.reads
    assert set(relay.reads) <= grown


# ------------------------------------------------------------------------------------------ republishing


def test_republish_from_1_publishes_everything_again(
    relay_system: System, clock: ControlledClock, kafka_bootstrap: str
) -> None:
    system = relay_system
    tell_stories(system, clock)
    relay = RelayThread(Relay(system, kafka_bootstrap, options=FAST)).start()
    try:
        wait_until(caught_up(relay.relay, system), what="the relay to catch up")
        first_pass = relay.relay.published_counts()

        relay.relay.republish_from(1)

        wait_until(
            lambda: relay.relay.published_counts() == {c: 2 * n for c, n in first_pass.items()},
            what="everything to be published twice",
        )
    finally:
        relay.stop()
    for app in case_applications(system):
        got = ce_ids(records(kafka_bootstrap, system, app))
        assert got == Counter(dict.fromkeys(ce_ids(expected_messages(system, app)), 2))


def test_run_relay_republishes_from_a_position_in_the_named_contexts_and_stops_on_its_event(
    relay_system: System, clock: ControlledClock, kafka_bootstrap: str
) -> None:
    system = relay_system
    tell_stories(system, clock)
    relay_until_idle(system, kafka_bootstrap)
    claims = expected_messages(system, system.claims)
    from_position = int(claims[3].header("caseledger_position") or 0)

    async def scenario() -> None:
        stop = asyncio.Event()
        running = asyncio.create_task(
            run_relay(
                system, kafka_bootstrap, stop, republish_from=from_position, contexts=["claim"], options=FAST
            )
        )
        wanted = len(claims) + len(claims[3:])
        while len(await asyncio.to_thread(records, kafka_bootstrap, system, system.claims)) < wanted:
            assert not running.done()
        stop.set()
        await asyncio.wait_for(running, 5)

    asyncio.run(scenario())

    claim_ids = ce_ids(records(kafka_bootstrap, system, system.claims))
    assert claim_ids == ce_ids(claims) + ce_ids(claims[3:])
    assert set(ce_ids(records(kafka_bootstrap, system, system.policies)).values()) == {1}


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    """An embedded broker of this test's own, which it may restart."""
    broker = EmbeddedBroker(free_port(), tmp_path / "tansu.log")
    broker.start()
    yield broker
    broker.stop()


def test_topics_are_made_whole_again_when_the_broker_restarts_empty(
    relay_system: System, clock: ControlledClock, own_broker: EmbeddedBroker
) -> None:
    system = relay_system
    bootstrap_servers = own_broker.bootstrap_servers
    policy_id = tell_stories(system, clock)
    relay = RelayThread(Relay(system, bootstrap_servers, options=FAST)).start()
    try:
        wait_until(caught_up(relay.relay, system), what="the relay to catch up")
        first_pass = relay.relay.published_counts()

        own_broker.stop()
        own_broker.start()  # same port, no topics

        wait_until(
            lambda: relay.relay.published_counts() == {c: 2 * n for c, n in first_pass.items()},
            what="the relay to republish from the store",
        )
        lodge_complaint(system, policy_id)
        wait_until(caught_up(relay.relay, system), what="the relay to publish after the restart")
    finally:
        relay.stop()
    for app in case_applications(system):
        got = ce_ids(records(bootstrap_servers, system, app))
        assert got == ce_ids(expected_messages(system, app))  # whole, and once each on the new topics


# ------------------------------------------------------------------------------------------ lag


def test_lag_is_reported_in_positions_and_seconds(
    relay_system: System, clock: ControlledClock, kafka_bootstrap: str
) -> None:
    system = relay_system
    started = clock.now()
    tell_stories(system, clock)

    before = {entry.context: entry for entry in asyncio.run(relay_lag(system))}
    relay_until_idle(system, kafka_bootstrap)
    after = asyncio.run(relay_lag(system))

    policy = before["policy"]
    assert policy.published_position == 0
    assert policy.positions_behind == policy.store_position == len(stored(system.policies))
    assert policy.seconds_behind == (clock.now() - started).total_seconds() > 0
    first_complaint = datetime.fromisoformat(orjson.loads(stored(system.complaints)[0].state)["timestamp"])
    assert before["complaint"].seconds_behind == (clock.now() - first_complaint).total_seconds()
    for entry in after:
        assert entry.positions_behind == 0
        assert entry.seconds_behind == 0.0
        # The timers' and data subjects' logs are empty here (no timer ran, nobody was erased); every case
        # context has events.
        assert entry.published_position == entry.store_position
        assert entry.store_position > 0 or entry.context in ("timer", "privacy")


def test_a_cloudevents_sdk_reads_version_order_partition_key_and_trace_parent_from_the_published_messages(
    relay_system: System, clock: ControlledClock, kafka_bootstrap: str
) -> None:
    from cloudevents.core.bindings.kafka import KafkaMessage, from_binary_event
    from opentelemetry.sdk.trace import TracerProvider

    system = relay_system
    # The commands run inside a traced span (as a request's would): their events keep its trace context,
    # and the relay (not tracing here) passes it on as the distributed-tracing extension.
    with TracerProvider().get_tracer("test").start_as_current_span("stories") as span:
        tell_stories(system, clock)
    trace_id = f"{span.get_span_context().trace_id:032x}"

    relay_until_idle(system, kafka_bootstrap)

    got = records(kafka_bootstrap, system, system.claims)
    assert len(got) > 2
    claims = stored(system.claims)
    stored_by_id = {str(event_id_for(UUID(str(n.originator_id)), n.originator_version)): n for n in claims}
    sequences: dict[str, list[str]] = {}
    for record in got:
        message = KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value)
        event = from_binary_event(message)
        # The SDK takes the partition key from the record key; the header says the same for header readers.
        assert record.header("ce_partitionkey") == record.key
        stored_event = stored_by_id[event.get_id()]
        assert event.get_type() == stored_event.topic
        assert event.get_extension("caseversion") == str(stored_event.originator_version)
        assert event.get_extension("storeposition") == str(stored_event.id)
        assert event.get_extension("partitionkey") == str(stored_event.originator_id)
        assert event.get_extension("casecontext") == "claim"
        assert event.get_extension("correlationid")
        traceparent = orjson.loads(stored_event.state)["traceparent"]
        assert traceparent.split("-")[1] == trace_id
        assert event.get_extension("traceparent") == traceparent
        sequences.setdefault(event.get_subject() or "", []).append(event.get_extension("sequence"))
    for case_sequences in sequences.values():
        # The sequence extension orders as text (CloudEvents compares it lexicographically), also past 9.
        assert case_sequences == sorted(case_sequences)
        assert [int(s) for s in case_sequences] == list(range(1, len(case_sequences) + 1))
