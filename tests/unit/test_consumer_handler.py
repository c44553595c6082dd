"""The consumer's wiring on FastStream's in-memory broker, and the pure decisions of its processing core."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from types import SimpleNamespace

import pytest
from aiokafka import TopicPartition
from faststream import AckPolicy
from faststream.kafka import TestKafkaBroker
from faststream.kafka.subscriber.usecase import BatchSubscriber
from faststream.kafka.subscriber.usecase import LogicSubscriber as KafkaSubscriber

from consumers.app import MAX_BATCH, ConsumerStoppingError, _consume_batch, _rewind, build_broker
from consumers.processing import (
    Decision,
    RawMessage,
    RetryPolicy,
    decide,
    headers_from_json,
    headers_to_json,
)
from infra.settings import Settings

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class RecordingSubscription:
    """Stands in for a group worker: records what reached it and on which thread."""

    group_id = "caseledger.test"
    topics = ("caseledger.claim", "caseledger.complaint")

    def __init__(self) -> None:
        self.received: list[RawMessage] = []
        self.threads: list[str] = []

    def consume(self, message: RawMessage) -> None:
        self.received.append(message)
        self.threads.append(threading.current_thread().name)

    def consume_together(self, messages: Sequence[RawMessage]) -> bool:
        return False  # one at a time, so each message's thread is recorded


async def test_message_reaches_the_group_with_its_key_headers_and_exact_bytes_when_published() -> None:
    subscription = RecordingSubscription()
    broker = build_broker(Settings(), "localhost:9092", [subscription])

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(
            b'{"cause": "hail"}',
            "caseledger.claim",
            key=b"5c1f9a1e-0000-4000-8000-000000000001",
            headers={"ce_type": "claim.reported.v2", "caseledger_version": "1"},
        )

    (message,) = subscription.received
    assert message.topic == "caseledger.claim"
    assert message.key == b"5c1f9a1e-0000-4000-8000-000000000001"
    assert message.value == b'{"cause": "hail"}'
    assert ("ce_type", b"claim.reported.v2") in message.headers
    assert ("caseledger_version", b"1") in message.headers


async def test_malformed_json_reaches_the_group_undecoded_when_it_claims_to_be_json() -> None:
    subscription = RecordingSubscription()
    broker = build_broker(Settings(), "localhost:9092", [subscription])

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(
            b"{not json", "caseledger.complaint", headers={"content-type": "application/json"}
        )

    assert [m.value for m in subscription.received] == [b"{not json"]


async def test_group_runs_in_a_worker_thread_when_its_function_is_sync() -> None:
    subscription = RecordingSubscription()
    broker = build_broker(Settings(), "localhost:9092", [subscription])

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(b"{}", "caseledger.claim")

    assert subscription.threads != [threading.main_thread().name]
    assert subscription.threads[0].startswith("AnyIO worker thread")


def test_offset_is_committed_only_after_the_function_returned_when_the_group_subscribes() -> None:
    broker = build_broker(Settings(), "localhost:9092", [RecordingSubscription()])

    (subscriber,) = broker.subscribers
    assert isinstance(subscriber, KafkaSubscriber)
    assert subscriber.topic_names == ["caseledger.claim", "caseledger.complaint"]
    assert subscriber.group_id == "caseledger.test"
    assert subscriber.ack_policy is AckPolicy.NACK_ON_ERROR


@pytest.mark.parametrize(
    ("version", "last_version", "decision"),
    [
        (1, 0, Decision.APPLY),
        (5, 4, Decision.APPLY),
        (4, 4, Decision.DUPLICATE),
        (2, 4, Decision.DUPLICATE),
        (3, 0, Decision.FILL_GAP),
        (9, 4, Decision.FILL_GAP),
    ],
)
def test_event_is_a_duplicate_the_next_or_after_a_gap_when_compared_with_the_last_version(
    version: int, last_version: int, decision: Decision
) -> None:
    assert decide(version, last_version) is decision


def test_effect_is_tried_once_more_than_the_policy_waits_when_it_keeps_failing() -> None:
    assert RetryPolicy().attempts == 4
    assert RetryPolicy(delays=()).attempts == 1


def test_stored_headers_keep_their_exact_bytes_when_they_are_not_utf8() -> None:
    headers = (("ce_type", b"claim.reported.v2"), ("trace", b"\xff\x00\xfe"))

    assert headers_from_json(headers_to_json(headers)) == headers


def test_offsets_are_committed_once_per_batch_when_the_group_subscribes() -> None:
    broker = build_broker(Settings(), "localhost:9092", [RecordingSubscription()])

    (subscriber,) = broker.subscribers
    assert isinstance(subscriber, BatchSubscriber)
    assert subscriber.max_records == MAX_BATCH


class FailsAt(RecordingSubscription):
    """Records messages until the one at ``offset``, which it cannot record."""

    def __init__(self, offset: int) -> None:
        super().__init__()
        self.offset = offset

    def consume(self, message: RawMessage) -> None:
        if message.offset == self.offset:
            raise ConsumerStoppingError("not recorded")
        super().consume(message)


class SeekRecorder:
    def __init__(self) -> None:
        self.seeks: list[tuple[str, int, int]] = []

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self.seeks.append((partition.topic, partition.partition, offset))


def test_batch_stops_at_the_first_message_it_cannot_record_when_one_fails() -> None:
    subscription = FailsAt(offset=11)
    raws = [
        RawMessage("caseledger.claim", p, o, None, b"{}", ()) for p, o in [(0, 10), (0, 11), (0, 12), (1, 5)]
    ]

    recorded, error = _consume_batch(subscription, raws)

    assert recorded == 1
    assert isinstance(error, ConsumerStoppingError)
    assert [m.offset for m in subscription.received] == [10]


def test_every_partition_is_rewound_to_its_first_unrecorded_record_when_a_batch_stops() -> None:
    consumer = SeekRecorder()
    message = SimpleNamespace(consumer=consumer)
    unrecorded = [
        RawMessage("caseledger.claim", p, o, None, b"{}", ()) for p, o in [(0, 11), (0, 12), (1, 5), (1, 6)]
    ]

    _rewind(message, unrecorded)  # type: ignore[arg-type]

    assert sorted(consumer.seeks) == [("caseledger.claim", 0, 11), ("caseledger.claim", 1, 5)]
