"""Consumer groups on a real PostgreSQL and a real Kafka-protocol broker: once, in order, poison parked."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

# aiokafka ships no type information.
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from faststream.kafka import KafkaBroker
from kafka.admin import KafkaAdminClient
from psycopg import Connection, sql

from cli.scenarios import (
    OFFICER,
    a_policy,
    by,
    claim_story,
    complaint_story,
    lodge_sample_complaint,
    register_demo_seller,
)
from consumers.app import (
    PACE,
    ConsumerStoppingError,
    GroupWorker,
    assigned_partitions,
    build_broker,
    running_consumers,
)
from consumers.dlq import dlq_list, dlq_retry, dlq_skip
from consumers.groups import ALL_CONTEXTS, ConsumerGroup, ConsumerSystem, default_groups
from consumers.processing import (
    BatchRefusedError,
    DeadLetterNotParkedError,
    Outcome,
    Processor,
    RawMessage,
    RetryPolicy,
    event_stores,
)
from domain.base import SHANGHAI, DomainEvent
from infra.bootstrap import System
from infra.clock import ControlledClock
from infra.messaging.broker import ensure_topics
from infra.messaging.contract import EventMessage, ReceivedEvent, message_for
from infra.settings import Settings
from infra.store.database import Database
from projections import store
from projections.catalogue import ALL_PROJECTIONS
from projections.schema import read_schema

pytestmark = [
    pytest.mark.integration,
    pytest.mark.anyio,
    pytest.mark.isolated("runs the consumer groups over everything the schema's stores and topics hold"),
]


FAST = RetryPolicy(delays=(0.01, 0.02))
SESSION_MS = 2_000
"""Tansu holds a group join for half the session timeout; real Kafka would refuse one below 6 s."""
PARTITIONS = 3
GROUP = "effects"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# ------------------------------------------------------------------------------------------ a handler


class EffectLog:
    """A handler that writes one row per effect, and refuses the (case, version) pairs it is told to."""

    def __init__(self, schema: str, instance: str = "a") -> None:
        self.schema = schema
        self.instance = instance
        self.refused: set[tuple[UUID, int]] = set()

    def create_table(self, conn: Connection[Any]) -> None:
        conn.execute(
            sql.SQL(
                """CREATE TABLE IF NOT EXISTS {}.effects (
                       id bigserial PRIMARY KEY, instance text, context text, case_id uuid, version int,
                       wire_name text)"""
            ).format(sql.Identifier(self.schema))
        )

    def handle(self, conn: Connection[Any], event: DomainEvent, received: ReceivedEvent) -> None:
        if (event.originator_id, event.originator_version) in self.refused:
            raise RuntimeError("the handler cannot apply this event")
        conn.execute(
            sql.SQL(
                """INSERT INTO {}.effects (instance, context, case_id, version, wire_name)
                   VALUES (%s, %s, %s, %s, %s)"""
            ).format(sql.Identifier(self.schema)),
            (
                self.instance,
                received.context,
                event.originator_id,
                event.originator_version,
                received.wire_name,
            ),
        )

    def group(self, name: str = GROUP) -> ConsumerGroup:
        def build(system: ConsumerSystem, conn: Connection[Any]) -> EffectLog:
            self.create_table(conn)
            return self

        return ConsumerGroup(name, ALL_CONTEXTS, build)


class BatchEffectLog(EffectLog):
    """The same effects, taken a batch at a time (``BatchHandler``): it counts the batches it was given."""

    def __init__(self, schema: str) -> None:
        super().__init__(schema, instance="batch")
        self.batches: list[int] = []

    def handle_many(self, conn: Connection[Any], events: Sequence[tuple[DomainEvent, ReceivedEvent]]) -> None:
        self.batches.append(len(events))
        for event, received in events:
            self.handle(conn, event, received)


def effects(conn: Connection[Any], schema: str) -> list[tuple[str, UUID, int]]:
    """(instance, case id, version) of every effect, in the order they were applied."""
    rows = conn.execute(
        sql.SQL("SELECT instance, case_id, version FROM {}.effects ORDER BY id").format(
            sql.Identifier(schema)
        )
    ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def versions_of(conn: Connection[Any], schema: str, case_id: UUID) -> list[int]:
    return [v for _, c, v in effects(conn, schema) if c == case_id]


# ------------------------------------------------------------------------------------------ fixtures


@pytest.fixture
def conn(database_url: str) -> Iterator[Connection[Any]]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


@pytest.fixture
def cases(system: System, clock: ControlledClock) -> dict[str, UUID]:
    """A motor policy, a claim and a complaint on it: three cases in three contexts."""
    register_demo_seller(system, clock.now().astimezone(SHANGHAI).date())
    policy_id = a_policy(system)
    return {
        "policy": policy_id,
        "claim": claim_story(system, clock, policy_id),
        "complaint": complaint_story(system, clock, policy_id),
    }


@pytest.fixture
def log(system: System, conn: Connection[Any]) -> EffectLog:
    handler = EffectLog(system.settings.db_schema)
    handler.create_table(conn)
    return handler


def processor_for(system: System, handler: EffectLog) -> Processor:
    group_id = handler.group().group_id(system.settings.topic_prefix)
    return Processor(group_id, handler, event_stores(system), system.settings.db_schema, FAST)


def published(system: System, prefix: str) -> list[EventMessage]:
    """Every stored event as the relay publishes it, context by context in store order."""
    messages = []
    for context, app in event_stores(system).items():
        for notification in app.recorder.select_notifications(start=None, limit=100_000):
            messages.append(message_for(prefix, context, notification, notification.state))
    return messages


def raw(messages: Sequence[EventMessage]) -> list[RawMessage]:
    """The messages as delivered from one partition, numbered from offset 0."""
    return [RawMessage(m.topic, 0, i, m.key, m.value, m.headers) for i, m in enumerate(messages)]


def of_case(messages: Sequence[RawMessage], case_id: UUID) -> list[RawMessage]:
    return [m for m in messages if m.key == str(case_id).encode()]


# ------------------------------------------------------------------------------------------ once, in order


def test_message_has_no_second_effect_when_it_is_redelivered(
    system: System, cases: dict[str, UUID], log: EffectLog, conn: Connection[Any]
) -> None:
    messages = raw(published(system, "caseledger"))
    processor = processor_for(system, log)

    first = [processor.process(conn, m) for m in messages]
    again = [processor.process(conn, m) for m in messages]

    assert set(first) == {Outcome.APPLIED}
    assert set(again) == {Outcome.DUPLICATE}
    applied = Counter((c, v) for _, c, v in effects(conn, system.settings.db_schema))
    assert len(applied) == len(messages)
    assert set(applied.values()) == {1}


def test_missing_versions_are_fetched_from_the_store_and_applied_in_order_when_a_later_one_arrives_first(
    system: System, cases: dict[str, UUID], log: EffectLog, conn: Connection[Any]
) -> None:
    claim = of_case(raw(published(system, "caseledger")), cases["claim"])
    processor = processor_for(system, log)

    outcome = processor.process(conn, claim[-1])
    earlier = [processor.process(conn, m) for m in claim[:-1]]

    assert outcome is Outcome.APPLIED
    assert versions_of(conn, system.settings.db_schema, cases["claim"]) == list(range(1, len(claim) + 1))
    assert set(earlier) == {Outcome.DUPLICATE}


def test_each_version_is_applied_once_and_in_order_when_messages_arrive_shuffled(
    system: System, cases: dict[str, UUID], log: EffectLog, conn: Connection[Any]
) -> None:
    complaint = of_case(raw(published(system, "caseledger")), cases["complaint"])
    shuffled = complaint[3::2] + complaint[::-1]
    processor = processor_for(system, log)

    for message in shuffled:
        processor.process(conn, message)

    assert versions_of(conn, system.settings.db_schema, cases["complaint"]) == list(
        range(1, len(complaint) + 1)
    )


def test_a_batch_is_recorded_in_one_transaction_when_every_message_applies(
    system: System, cases: dict[str, UUID], log: EffectLog, conn: Connection[Any]
) -> None:
    messages = raw(published(system, "caseledger"))
    processor = processor_for(system, log)

    outcomes = processor.process_together(conn, messages)

    assert outcomes == [Outcome.APPLIED] * len(messages)
    assert len(effects(conn, system.settings.db_schema)) == len(messages)
    # now() is the transaction's start: one value for every case means one transaction (one commit).
    stamps = conn.execute(
        sql.SQL("SELECT DISTINCT updated_at FROM {}.consumer_applied WHERE group_id = %s").format(
            sql.Identifier(system.settings.db_schema)
        ),
        (processor.group_id,),
    ).fetchall()
    assert len(stamps) == 1


def test_a_batch_applies_each_version_once_and_in_order_when_it_holds_duplicates_and_gaps(
    system: System, cases: dict[str, UUID], log: EffectLog, conn: Connection[Any]
) -> None:
    complaint = of_case(raw(published(system, "caseledger")), cases["complaint"])
    shuffled = complaint[3::2] + complaint[::-1]

    outcomes = processor_for(system, log).process_together(conn, shuffled)

    assert versions_of(conn, system.settings.db_schema, cases["complaint"]) == list(
        range(1, len(complaint) + 1)
    )
    # The first message fills the gap before it; every later one of a version already applied is a duplicate.
    assert outcomes[0] is Outcome.APPLIED
    assert outcomes.count(Outcome.APPLIED) == len(shuffled) - outcomes.count(Outcome.DUPLICATE)
    assert tracked_version(conn, system, log, cases["complaint"]) == len(complaint)


def test_a_batch_gives_a_batch_handler_every_event_in_one_call_in_version_order(
    system: System, cases: dict[str, UUID], conn: Connection[Any]
) -> None:
    handler = BatchEffectLog(system.settings.db_schema)
    handler.create_table(conn)
    claim = of_case(raw(published(system, "caseledger")), cases["claim"])
    batch = [claim[-1], *claim]  # the last first: the versions before it are fetched to fill the gap

    outcomes = processor_for(system, handler).process_together(conn, batch)

    assert handler.batches == [len(claim)]
    assert versions_of(conn, system.settings.db_schema, cases["claim"]) == list(range(1, len(claim) + 1))
    assert outcomes == [Outcome.APPLIED] + [Outcome.DUPLICATE] * len(claim)


def test_a_batch_a_batch_handler_refuses_records_nothing(
    system: System, cases: dict[str, UUID], conn: Connection[Any]
) -> None:
    handler = BatchEffectLog(system.settings.db_schema)
    handler.create_table(conn)
    handler.refused.add((cases["complaint"], 2))
    messages = raw(published(system, "caseledger"))

    with pytest.raises(BatchRefusedError):
        processor_for(system, handler).process_together(conn, messages)

    assert effects(conn, system.settings.db_schema) == []
    assert tracked_version(conn, system, handler, cases["complaint"]) is None


def test_a_batch_holds_the_later_events_of_a_case_whose_event_is_parked(
    system: System, cases: dict[str, UUID], log: EffectLog, conn: Connection[Any]
) -> None:
    messages = raw(published(system, "caseledger"))
    claim = of_case(messages, cases["claim"])
    log.refused.add((cases["claim"], 3))
    processor = processor_for(system, log)
    assert [processor.process(conn, m) for m in claim[:3]] == [Outcome.APPLIED] * 2 + [Outcome.PARKED]

    outcomes = processor.process_together(conn, [m for m in messages if m not in claim[:3]])

    assert outcomes.count(Outcome.HELD) == len(claim) - 3
    assert versions_of(conn, system.settings.db_schema, cases["claim"]) == [1, 2]
    held = sorted(letter.version or 0 for letter in dlq_list(system, GROUP) if letter.status == "held")
    assert held == list(range(4, len(claim) + 1))
    assert versions_of(conn, system.settings.db_schema, cases["complaint"]) == list(
        range(1, len(system.complaints.history(cases["complaint"])) + 1)
    )


def tracked_version(conn: Connection[Any], system: System, handler: EffectLog, case_id: UUID) -> int | None:
    """The version of the case the handler's group recorded as applied (None: nothing recorded)."""
    found = conn.execute(
        sql.SQL("SELECT last_version FROM {}.consumer_applied WHERE group_id = %s AND case_id = %s").format(
            sql.Identifier(system.settings.db_schema)
        ),
        (processor_for(system, handler).group_id, case_id),
    ).fetchone()
    return None if found is None else int(found[0])


def test_a_batch_records_nothing_when_one_of_its_messages_is_refused(
    system: System, cases: dict[str, UUID], log: EffectLog, conn: Connection[Any]
) -> None:
    log.refused.add((cases["claim"], 3))
    messages = raw(published(system, "caseledger"))

    with pytest.raises(BatchRefusedError):
        processor_for(system, log).process_together(conn, messages)

    assert effects(conn, system.settings.db_schema) == []
    tracked = conn.execute(
        sql.SQL("SELECT count(*) FROM {}.consumer_applied").format(sql.Identifier(system.settings.db_schema))
    ).fetchone()
    assert tracked == (0,)


def test_a_refused_batch_is_taken_one_message_at_a_time_so_only_the_poison_is_parked(
    system: System, cases: dict[str, UUID], log: EffectLog, conn: Connection[Any]
) -> None:
    log.refused.add((cases["claim"], 3))
    messages = raw(published(system, "caseledger"))
    worker = GroupWorker(system, system.settings, log.group(), FAST)
    try:
        together = worker.consume_together(messages)
        outcomes = [worker.consume(m) for m in messages]
    finally:
        worker.close()

    claim_events = len(system.claims.history(cases["claim"]))
    assert together is False
    assert outcomes.count(Outcome.PARKED) == 1
    assert outcomes.count(Outcome.HELD) == claim_events - 3
    assert outcomes.count(Outcome.APPLIED) == len(messages) - 1 - (claim_events - 3)


# ------------------------------------------------------------------------------------------ poison


def park_claim_at_version_3(
    system: System, cases: dict[str, UUID], log: EffectLog, conn: Connection[Any]
) -> list[Outcome]:
    log.refused.add((cases["claim"], 3))
    return [processor_for(system, log).process(conn, m) for m in raw(published(system, "caseledger"))]


def test_event_is_parked_and_holds_back_only_its_own_case_when_the_handler_refuses_it(
    system: System, cases: dict[str, UUID], log: EffectLog, conn: Connection[Any]
) -> None:
    outcomes = park_claim_at_version_3(system, cases, log, conn)

    schema = system.settings.db_schema
    claim_events = len(system.claims.history(cases["claim"]))
    assert outcomes.count(Outcome.PARKED) == 1
    assert outcomes.count(Outcome.HELD) == claim_events - 3
    assert versions_of(conn, schema, cases["claim"]) == [1, 2]
    assert versions_of(conn, schema, cases["complaint"]) == list(
        range(1, len(system.complaints.history(cases["complaint"])) + 1)
    )
    letters = dlq_list(system, GROUP)
    parked = [letter for letter in letters if letter.status == "parked"]
    assert [(p.case_id, p.version, p.attempts) for p in parked] == [(cases["claim"], 3, FAST.attempts)]
    assert parked[0].error is not None
    assert "the handler cannot apply this event" in parked[0].error
    assert sorted(letter.version or 0 for letter in letters if letter.status == "held") == list(
        range(4, claim_events + 1)
    )


def test_held_message_is_held_once_when_it_is_redelivered(
    system: System, cases: dict[str, UUID], log: EffectLog, conn: Connection[Any]
) -> None:
    park_claim_at_version_3(system, cases, log, conn)
    claim = of_case(raw(published(system, "caseledger")), cases["claim"])

    again = [processor_for(system, log).process(conn, m) for m in claim]

    assert again[:2] == [Outcome.DUPLICATE, Outcome.DUPLICATE]
    assert set(again[2:]) == {Outcome.HELD}
    assert len(dlq_list(system, GROUP)) == len(claim) - 2


def test_retry_applies_the_parked_event_then_the_held_ones_in_order_when_the_fix_is_in(
    system: System, cases: dict[str, UUID], log: EffectLog, conn: Connection[Any]
) -> None:
    park_claim_at_version_3(system, cases, log, conn)
    log.refused.clear()  # the fix is deployed

    result = dlq_retry(
        system, GROUP, case_id=cases["claim"], by="ops.li", groups={GROUP: log.group()}, retry=FAST
    )

    claim_events = len(system.claims.history(cases["claim"]))
    assert result.ok
    assert len(result.resolved) == claim_events - 2
    assert versions_of(conn, system.settings.db_schema, cases["claim"]) == list(range(1, claim_events + 1))
    assert dlq_list(system, GROUP) == []
    resolved = dlq_list(system, GROUP, include_resolved=True)
    assert {(r.status, r.resolved_by) for r in resolved} == {("retried", "ops.li")}


def test_case_stays_parked_with_the_new_error_when_a_retry_fails_again(
    system: System, cases: dict[str, UUID], log: EffectLog, conn: Connection[Any]
) -> None:
    park_claim_at_version_3(system, cases, log, conn)

    result = dlq_retry(system, GROUP, case_id=cases["claim"], groups={GROUP: log.group()}, retry=FAST)

    (parked,) = [letter for letter in dlq_list(system, GROUP) if letter.status == "parked"]
    assert not result.ok
    assert result.still_parked == parked.id
    assert parked.attempts == 2 * FAST.attempts
    assert versions_of(conn, system.settings.db_schema, cases["claim"]) == [1, 2]


def test_later_events_are_applied_and_who_and_why_recorded_when_a_parked_event_is_skipped(
    system: System, cases: dict[str, UUID], log: EffectLog, conn: Connection[Any]
) -> None:
    park_claim_at_version_3(system, cases, log, conn)
    (parked,) = [letter for letter in dlq_list(system, GROUP) if letter.status == "parked"]

    result = dlq_skip(
        system,
        parked.id,
        by="supervisor.wang",
        reason="duplicate survey entered by mistake",
        groups={GROUP: log.group()},
    )

    claim_events = len(system.claims.history(cases["claim"]))
    assert result.ok
    assert versions_of(conn, system.settings.db_schema, cases["claim"]) == [1, 2, *range(4, claim_events + 1)]
    (skipped,) = [r for r in dlq_list(system, GROUP, include_resolved=True) if r.id == parked.id]
    assert (skipped.status, skipped.resolved_by, skipped.resolution_reason) == (
        "skipped",
        "supervisor.wang",
        "duplicate survey entered by mistake",
    )
    assert dlq_list(system, GROUP) == []


def test_held_event_is_refused_when_someone_tries_to_skip_it(
    system: System, cases: dict[str, UUID], log: EffectLog, conn: Connection[Any]
) -> None:
    park_claim_at_version_3(system, cases, log, conn)
    held = next(letter for letter in dlq_list(system, GROUP) if letter.status == "held")

    with pytest.raises(DeadLetterNotParkedError):
        dlq_skip(system, held.id, by="ops.li", reason="impatient", groups={GROUP: log.group()})

    assert next(letter for letter in dlq_list(system, GROUP) if letter.id == held.id).status == "held"


def test_retry_by_dead_letter_id_resumes_its_case_when_the_fix_is_in(
    system: System, cases: dict[str, UUID], log: EffectLog, conn: Connection[Any]
) -> None:
    park_claim_at_version_3(system, cases, log, conn)
    log.refused.clear()
    (parked,) = [letter for letter in dlq_list(system, GROUP) if letter.status == "parked"]

    result = dlq_retry(system, GROUP, dead_letter_id=parked.id, groups={GROUP: log.group()}, retry=FAST)

    assert result.ok
    assert versions_of(conn, system.settings.db_schema, cases["claim"]) == list(
        range(1, len(system.claims.history(cases["claim"])) + 1)
    )


def test_message_is_parked_without_a_case_when_it_is_not_a_caseledger_event(
    system: System, log: EffectLog, conn: Connection[Any]
) -> None:
    garbage = RawMessage(
        "caseledger.claim", 0, 7, b"k", b"{not json", (("content-type", b"application/json"),)
    )

    outcome = processor_for(system, log).process(conn, garbage)

    assert outcome is Outcome.PARKED
    (letter,) = dlq_list(system, GROUP)
    assert (letter.case_id, letter.kafka_offset, letter.status) == (None, 7, "parked")
    assert letter.error is not None
    assert "not a caseledger event" in letter.error


# ------------------------------------------------------------------------------------------ through Kafka


def broker_settings(system: System) -> Settings:
    """The test's settings with topics of its own on the shared broker."""
    return system.settings.model_copy(
        update={"topic_prefix": f"t{uuid4().hex[:12]}", "topic_partitions": PARTITIONS}
    )


def consuming(
    system: System, settings: Settings, bootstrap: str, group: ConsumerGroup
) -> AbstractAsyncContextManager[KafkaBroker]:
    return running_consumers(system, settings, bootstrap, [group], retry=FAST, session_timeout_ms=SESSION_MS)


async def produce(bootstrap: str, messages: Sequence[EventMessage]) -> list[tuple[str, int, int]]:
    """Publish as the relay does (keyed by case, idempotence off); (topic, partition, offset) of each."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, acks="all")
    await producer.start()
    try:
        sent = [await producer.send(m.topic, m.value, key=m.key, headers=list(m.headers)) for m in messages]
        done = [await future for future in sent]
    finally:
        await producer.stop()
    return [(d.topic, d.partition, d.offset) for d in done]


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not reached in time"
        await asyncio.sleep(0.05)


def all_recorded(
    conn: Connection[Any],
    schema: str,
    group_id: str,
    placed: Sequence[tuple[str, int, int]],
    since: datetime | None = None,
) -> Callable[[], bool]:
    """True once the group recorded the last offset of every partition that got a message (since then)."""
    last: dict[tuple[str, int], int] = {}
    for topic, partition, offset in placed:
        last[(topic, partition)] = max(offset, last.get((topic, partition), -1))
    query = sql.SQL(
        """SELECT topic, partition, last_offset FROM {}.consumer_offsets
           WHERE group_id = %(g)s AND (%(since)s::timestamptz IS NULL OR updated_at >= %(since)s)"""
    ).format(sql.Identifier(schema))

    def check() -> bool:
        rows = conn.execute(query, {"g": group_id, "since": since}).fetchall()
        return {(r[0], r[1]): r[2] for r in rows} == last

    return check


async def test_every_event_is_applied_once_when_the_relay_published_each_twice(
    system: System, cases: dict[str, UUID], log: EffectLog, conn: Connection[Any], kafka_bootstrap: str
) -> None:
    settings = broker_settings(system)
    messages = published(system, settings.topic_prefix)
    group = log.group()

    async with consuming(system, settings, kafka_bootstrap, group):
        placed = await produce(kafka_bootstrap, messages + messages)
        await eventually(
            all_recorded(conn, settings.db_schema, group.group_id(settings.topic_prefix), placed)
        )

    applied = Counter((c, v) for _, c, v in effects(conn, settings.db_schema))
    assert len(applied) == len(messages)
    assert set(applied.values()) == {1}


def read_models(conn: Connection[Any], schema: str) -> dict[str, dict[Any, Any]]:
    return {
        table.name: store.read_rows(conn, schema, table)
        for projection in ALL_PROJECTIONS
        for table in projection.tables()
    }


def forget_offsets(bootstrap: str, group_id: str) -> None:
    """Delete the group's committed offsets (no member may be active), as an operator replays a topic."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.delete_groups([group_id])
    finally:
        admin.close()


async def test_projections_are_identical_when_the_whole_topic_is_consumed_twice(
    system: System, cases: dict[str, UUID], conn: Connection[Any], kafka_bootstrap: str
) -> None:
    settings = broker_settings(system)
    group = default_groups()["projections"]
    group_id = group.group_id(settings.topic_prefix)
    ensure_topics(kafka_bootstrap, group.topics(settings.topic_prefix), PARTITIONS)
    placed = await produce(kafka_bootstrap, published(system, settings.topic_prefix))
    async with consuming(system, settings, kafka_bootstrap, group):
        await eventually(all_recorded(conn, settings.db_schema, group_id, placed))
    once = read_models(conn, read_schema(settings.db_schema))
    forget_offsets(kafka_bootstrap, group_id)
    replay_started = conn.execute("SELECT now()").fetchone()

    async with consuming(system, settings, kafka_bootstrap, group):
        assert replay_started is not None
        await eventually(all_recorded(conn, settings.db_schema, group_id, placed, since=replay_started[0]))

    twice = read_models(conn, read_schema(settings.db_schema))
    assert twice == once
    assert once["claims"]
    assert once["complaints"]
    assert once["policies"]


async def test_other_cases_flow_on_when_poison_and_unreadable_messages_are_parked(
    system: System, cases: dict[str, UUID], log: EffectLog, conn: Connection[Any], kafka_bootstrap: str
) -> None:
    settings = broker_settings(system)
    log.refused.add((cases["claim"], 3))
    # Not even UTF-8 in its headers: FastStream's own parsing would refuse it before our function.
    garbage = EventMessage(f"{settings.topic_prefix}.claim", b"?", b"{not json", (("content-type", b"\xff"),))
    group = log.group()

    async with consuming(system, settings, kafka_bootstrap, group):
        placed = await produce(kafka_bootstrap, [garbage, *published(system, settings.topic_prefix)])
        await eventually(
            all_recorded(conn, settings.db_schema, group.group_id(settings.topic_prefix), placed)
        )

    schema = settings.db_schema
    assert versions_of(conn, schema, cases["claim"]) == [1, 2]
    assert len(versions_of(conn, schema, cases["complaint"])) == len(
        system.complaints.history(cases["complaint"])
    )
    assert len(versions_of(conn, schema, cases["policy"])) == len(system.policies.history(cases["policy"]))
    letters = dlq_list(system)
    assert {(letter.case_id, letter.version) for letter in letters if letter.status == "parked"} == {
        (None, None),
        (cases["claim"], 3),
    }


def lodge_until_every_partition_has_a_complaint(system: System, policy_id: UUID) -> None:
    """More complaints, until each partition of their topic holds one: then both consumers get work."""
    partitions = list(range(PARTITIONS))
    covered: set[int] = set()
    while covered != set(partitions):
        complaint_id = uuid4()
        lodge_sample_complaint(system, by(OFFICER), complaint_id, system.clock.now(), policy_id)
        covered.add(DefaultPartitioner()(str(complaint_id).encode(), partitions, partitions))


async def test_partitions_are_split_and_each_event_applied_once_when_two_consumers_share_a_group(
    system: System, cases: dict[str, UUID], conn: Connection[Any], kafka_bootstrap: str
) -> None:
    settings = broker_settings(system)
    schema = settings.db_schema
    first, second = EffectLog(schema, "first"), EffectLog(schema, "second")
    lodge_until_every_partition_has_a_complaint(system, cases["policy"])
    messages = published(system, settings.topic_prefix)
    every_partition = {(f"{settings.topic_prefix}.{c}", p) for c in ALL_CONTEXTS for p in range(PARTITIONS)}

    async with consuming(system, settings, kafka_bootstrap, first.group()) as one:
        await eventually(lambda: assigned_partitions(one) == every_partition)
        async with consuming(system, settings, kafka_bootstrap, second.group()) as two:

            def split() -> bool:
                a, b = assigned_partitions(one), assigned_partitions(two)
                return bool(a) and bool(b) and not a & b and a | b == every_partition

            await eventually(split, timeout=12)
            owned = {"first": assigned_partitions(one), "second": assigned_partitions(two)}
            placed = await produce(kafka_bootstrap, messages)
            await eventually(
                all_recorded(conn, schema, first.group().group_id(settings.topic_prefix), placed)
            )

    where = {
        (UUID(m.key.decode()), int(m.header("caseledger_version") or 0)): (topic, partition)
        for m, (topic, partition, _) in zip(messages, placed, strict=True)
    }
    applied = effects(conn, schema)
    assert Counter((c, v) for _, c, v in applied) == Counter(where.keys())
    assert {instance for instance, _, _ in applied} == {"first", "second"}
    assert all(where[(c, v)] in owned[instance] for instance, c, v in applied)


# ------------------------------------------------------------------------------------------ acks


class FailsOnceAt:
    """A group whose function raises the first time it meets one offset, as when the database is away."""

    def __init__(self, prefix: str, offset: int) -> None:
        self.group_id = f"{prefix}.flaky"
        self.topics = (f"{prefix}.claim",)
        self.offset = offset
        self.seen: list[int] = []

    def consume(self, message: RawMessage) -> None:
        self.seen.append(message.offset)
        if message.offset == self.offset and self.seen.count(self.offset) == 1:
            raise ConsumerStoppingError("not recorded")

    def consume_together(self, messages: Sequence[RawMessage]) -> bool:
        return False


async def test_message_is_read_again_before_the_ones_after_it_when_it_was_not_recorded(
    system: System, kafka_bootstrap: str
) -> None:
    settings = broker_settings(system)
    subscription = FailsOnceAt(settings.topic_prefix, offset=1)
    ensure_topics(kafka_bootstrap, subscription.topics, 1)
    claim = EventMessage(subscription.topics[0], b"k", b"{}", ())
    broker = build_broker(settings, kafka_bootstrap, [subscription], session_timeout_ms=SESSION_MS)

    await broker.start()
    try:
        await produce(kafka_bootstrap, [claim] * 4)
        await eventually(lambda: subscription.seen[-1:] == [3])
    finally:
        await broker.stop()

    assert subscription.seen == [0, 1, 1, 2, 3]


async def test_a_group_polls_with_the_long_waits_until_a_batch_comes_then_with_the_short_ones(
    system: System, kafka_bootstrap: str
) -> None:
    settings = broker_settings(system)
    subscription = FailsOnceAt(settings.topic_prefix, offset=99)
    ensure_topics(kafka_bootstrap, subscription.topics, 1)
    broker = build_broker(settings, kafka_bootstrap, [subscription], session_timeout_ms=SESSION_MS)

    def waits() -> tuple[int, int]:
        (subscriber,) = broker.subscribers
        fetcher = subscriber.consumer._fetcher  # type: ignore[attr-defined]  # what aiokafka reads per fetch
        return fetcher._fetch_max_wait_ms, subscriber.batch_timeout_ms  # type: ignore[attr-defined]

    await broker.start()
    try:
        idle = waits()
        await produce(kafka_bootstrap, [EventMessage(subscription.topics[0], b"k", b"{}", ())])
        await eventually(lambda: subscription.seen == [0])
        busy = waits()
    finally:
        await broker.stop()

    assert idle == (PACE.idle_fetch_wait_ms, PACE.idle_batch_timeout_ms)
    assert busy == (PACE.busy_fetch_wait_ms, PACE.busy_batch_timeout_ms)


async def test_message_is_left_for_redelivery_when_the_database_is_away_and_the_consumer_stops(
    system: System, log: EffectLog
) -> None:
    nowhere = Database("postgresql://postgres@127.0.0.1:1/nowhere", min_size=1, max_size=1, timeout=0.2)
    nowhere.pool.open(wait=False)  # it keeps trying to connect; a request for a connection times out
    unreachable = dataclasses.replace(system, database=nowhere)
    worker = GroupWorker(unreachable, system.settings, log.group(), FAST, reconnect_delays=(0.01, 0.01))
    worker.stopping.set()
    message = RawMessage("caseledger.claim", 0, 0, None, b"{}", ())

    try:
        with pytest.raises(ConsumerStoppingError):
            await asyncio.to_thread(worker.consume, message)
    finally:
        nowhere.close()
