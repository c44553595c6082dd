"""An asleep consumer group fetches nothing: the relay's NOTIFY wakes it, a probe finds foreign records."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from faststream.kafka import KafkaBroker
from psycopg import Connection, sql

from cli.scenarios import a_policy, register_demo_seller
from consumers.app import build_broker, running_consumers
from consumers.groups import ALL_CONTEXTS, ConsumerGroup, ConsumerSystem
from consumers.pacing import Pace
from consumers.processing import RawMessage, RetryPolicy
from consumers.wakeup import Pacers
from domain.base import SHANGHAI, DomainEvent
from infra.bootstrap import System, bootstrap
from infra.clock import ControlledClock
from infra.messaging.broker import ensure_topics, recreate_topics
from infra.messaging.contract import EventMessage, ReceivedEvent, message_for
from infra.messaging.relay import Relay, RelayOptions, published_channel, recreated_notice
from infra.settings import Settings
from tests.integration.test_consumers import produce

pytestmark = [
    pytest.mark.integration,
    pytest.mark.anyio,
    pytest.mark.isolated("runs the relay and a consumer group over its own schema and topics"),
]

SESSION_MS = 2_000
"""Tansu holds a group join for half the session timeout; real Kafka would refuse one below 6 s."""

NEVER = 3_600.0
WAKE_ONLY = Pace(idle_after_s=0.5, woken_for_s=0.5, safety_poll_s=NEVER)
"""No probe during the test: only a wake can bring a record to an asleep group."""
PROBE_ONLY = Pace(idle_after_s=0.5, safety_poll_s=1.0, probe_s=0.75)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def wake_system(database_url: str, schema: str, clock: ControlledClock) -> Iterator[System]:
    settings = Settings(
        database_url=database_url, db_schema=schema, topic_prefix=f"t{uuid4().hex[:8]}", db_pool_size=4
    )
    built = bootstrap(settings, clock)
    register_demo_seller(built, clock.now().astimezone(SHANGHAI).date())
    yield built
    built.close()


class Seen:
    """A handler that keeps the ids of the cases whose events it applied."""

    def __init__(self) -> None:
        self.cases: set[UUID] = set()

    def handle(self, conn: Connection[Any], event: DomainEvent, received: ReceivedEvent) -> None:
        self.cases.add(event.originator_id)

    def group(self) -> ConsumerGroup:
        return ConsumerGroup("wakeup", ALL_CONTEXTS, lambda system, conn: self)


def asleep(broker: KafkaBroker) -> bool:
    """Every partition of the group is paused: it sends the broker no fetch."""
    (subscriber,) = broker.subscribers
    consumer: Any = subscriber.consumer  # type: ignore[attr-defined]  # aiokafka ships no type information
    return bool(consumer.assignment()) and consumer.paused() == consumer.assignment()


async def eventually(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not reached in time"
        await asyncio.sleep(0.05)


def notified_while(
    system: System, database_url: str, run: Callable[[], None], timeout: float = 2.0
) -> list[str]:
    """The payloads NOTIFYed on the deployment's published channel while ``run`` ran, in order."""
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute(
            sql.SQL("LISTEN {}").format(sql.Identifier(published_channel(system.settings.db_schema)))
        )
        run()
        return [n.payload for n in listener.notifies(timeout=timeout, stop_after=100)]


def consuming(system: ConsumerSystem, bootstrap: str, seen: Seen, pace: Pace) -> Any:
    return running_consumers(
        system,
        system.settings,
        bootstrap,
        [seen.group()],
        retry=RetryPolicy(delays=(0.01,)),
        session_timeout_ms=SESSION_MS,
        pace=pace,
    )


async def test_an_asleep_group_gets_the_event_the_relay_published_without_polling_the_broker(
    wake_system: System, kafka_bootstrap: str
) -> None:
    system, seen = wake_system, Seen()
    relay = Relay(system, kafka_bootstrap, options=RelayOptions(idle_poll_s=0.1, hole_poll_s=0.01))
    await relay.run(until_idle=True)  # the topics exist and the seller's events are out

    async with consuming(system, kafka_bootstrap, seen, WAKE_ONLY) as broker:
        await eventually(lambda: asleep(broker))
        policy_id = await asyncio.to_thread(a_policy, system)
        await relay.run(until_idle=True)  # publishes, then NOTIFYs
        await eventually(lambda: policy_id in seen.cases)


async def test_an_asleep_group_finds_records_another_producer_wrote_at_its_next_probe(
    wake_system: System, kafka_bootstrap: str
) -> None:
    system, seen = wake_system, Seen()
    relay = Relay(system, kafka_bootstrap, options=RelayOptions(idle_poll_s=0.1, hole_poll_s=0.01))
    await relay.run(until_idle=True)
    policy_id = await asyncio.to_thread(a_policy, system)
    (notification, *_) = [
        n
        for n in system.policies.recorder.select_notifications(start=None, limit=1_000)
        if n.originator_id == policy_id
    ]
    foreign = message_for(system.settings.topic_prefix, "policy", notification, notification.state)

    async with consuming(system, kafka_bootstrap, seen, PROBE_ONLY) as broker:
        await eventually(lambda: asleep(broker))
        await produce(kafka_bootstrap, [foreign])  # no relay, so no NOTIFY
        await eventually(lambda: policy_id in seen.cases)


def test_the_relay_notifies_its_deployments_channel_with_the_topic_after_each_publish(
    wake_system: System, kafka_bootstrap: str, database_url: str
) -> None:
    system = wake_system
    relay = Relay(system, kafka_bootstrap)
    topics = notified_while(system, database_url, lambda: asyncio.run(relay.run(until_idle=True)))

    assert f"{system.settings.topic_prefix}.policy" in topics


def test_the_relay_wakes_the_groups_of_a_topic_at_most_once_per_notify_interval(
    wake_system: System, kafka_bootstrap: str, database_url: str
) -> None:
    system = wake_system
    policy_topic = f"{system.settings.topic_prefix}.policy"
    seldom = Relay(system, kafka_bootstrap, options=RelayOptions(notify_every_s=NEVER))
    always = Relay(system, kafka_bootstrap, options=RelayOptions(notify_every_s=0.0))

    def policy_wakes(relay: Relay) -> int:
        def two_batches() -> None:
            for _ in range(2):  # a policy, then another, each published before the next
                a_policy(system)
                asyncio.run(relay.run(until_idle=True))

        return notified_while(system, database_url, two_batches, timeout=1.0).count(policy_topic)

    assert (policy_wakes(seldom), policy_wakes(always)) == (1, 2)


class ClaimOffsets:
    """A group of one claim topic that keeps the offsets it recorded, each after ``seconds``."""

    def __init__(self, prefix: str, seconds: float = 0.0) -> None:
        self.group_id = f"{prefix}.offsets"
        self.topics = (f"{prefix}.claim",)
        self.seconds = seconds
        self.seen: list[int] = []
        self.claim = EventMessage(self.topics[0], b"k", b"{}", ())

    def consume(self, message: RawMessage) -> None:
        time.sleep(self.seconds)
        self.seen.append(message.offset)

    def consume_together(self, messages: Sequence[RawMessage]) -> bool:
        return False


@asynccontextmanager
async def paced(system: System, kafka_bootstrap: str, group: ClaimOffsets, pace: Pace) -> AsyncIterator[Any]:
    """The group consuming on its own broker client, its topic of one partition; yields (pacers, broker)."""
    settings = system.settings
    ensure_topics(kafka_bootstrap, group.topics, 1)
    pacers = Pacers()
    broker = build_broker(
        settings, kafka_bootstrap, [group], session_timeout_ms=SESSION_MS, pacers=pacers, pace=pace
    )
    await broker.start()
    try:
        pacers.start()
        yield pacers, broker
    finally:
        pacers.stop()
        await broker.stop()


async def test_a_group_whose_batch_outlasts_its_quiet_spell_keeps_fetching_after_the_batch(
    wake_system: System, kafka_bootstrap: str
) -> None:
    slow = ClaimOffsets(f"t{uuid4().hex[:10]}", seconds=0.4)  # each message outlasts the quiet spell
    # Asleep after 0.3 s without a batch and never probing: only a batch or a wake makes it fetch.
    pace = Pace(idle_after_s=0.3, woken_for_s=5.0, safety_poll_s=NEVER)
    async with paced(wake_system, kafka_bootstrap, slow, pace) as (pacers, _):
        await produce(kafka_bootstrap, [slow.claim] * 3)
        pacers.wake_all()  # as the relay's NOTIFY would
        await eventually(lambda: len(slow.seen) == 3)  # one batch of 1.2 s: the quiet spell ended inside it
        await produce(kafka_bootstrap, [slow.claim])  # no wake this time
        await eventually(lambda: len(slow.seen) == 4, timeout=5.0)


def test_the_relay_announces_a_topic_it_recreated_before_it_republishes_the_topic(
    wake_system: System, kafka_bootstrap: str, database_url: str
) -> None:
    system = wake_system
    policy_topic = f"{system.settings.topic_prefix}.policy"
    relay = Relay(system, kafka_bootstrap, options=RelayOptions(notify_every_s=0.0))
    a_policy(system)
    asyncio.run(relay.run(until_idle=True))  # the policy is out, the topics' ids are recorded
    recreate_topics(kafka_bootstrap, [policy_topic], system.settings.topic_partitions)  # another id now

    payloads = notified_while(system, database_url, lambda: asyncio.run(relay.run(until_idle=True)))

    assert recreated_notice(policy_topic) in payloads
    after_notice = payloads[payloads.index(recreated_notice(policy_topic)) :]
    assert policy_topic in after_notice, "the republish's wake-up follows the notice"


async def test_a_group_reads_a_recreated_topic_from_its_first_offset_when_the_relay_says_so(
    wake_system: System, kafka_bootstrap: str
) -> None:
    group = ClaimOffsets(f"t{uuid4().hex[:10]}")
    pace = Pace(idle_after_s=0.3, woken_for_s=1.0, safety_poll_s=NEVER)
    async with paced(wake_system, kafka_bootstrap, group, pace) as (pacers, broker):
        await produce(kafka_bootstrap, [group.claim] * 5)
        pacers.wake_all()
        await eventually(lambda: group.seen == [0, 1, 2, 3, 4])
        await eventually(lambda: asleep(broker))  # paused: it fetches nothing, so it cannot notice the loss
        await asyncio.to_thread(recreate_topics, kafka_bootstrap, list(group.topics), 1)
        pacers.recreated(group.topics[0])  # as the relay's NOTIFY would, before it republishes
        await produce(kafka_bootstrap, [group.claim] * 7)  # the history again, from offset 0 of the new topic
        pacers.wake_all()
        # Its position 5 from the old topic would have skipped offsets 0 to 4 of the new one.
        await eventually(lambda: group.seen[5:] == list(range(7)), timeout=10.0)
