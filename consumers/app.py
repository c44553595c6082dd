"""Consumer groups on Kafka through FastStream: one subscriber per group, offsets committed after PostgreSQL.

How a message travels: FastStream (0.7.8) hands a BATCH subscriber (``batch=True``) the records that one
``getmany`` returned, one batch at a time per subscriber; our async function records them one by one, in
order, in ONE worker thread (``anyio.to_thread.run_sync``), so blocking psycopg calls never stall the event
loop and one partition's records stay in order. Each message still has its own PostgreSQL transaction, so
a poison message parks alone. The subscriber's ``AckPolicy.NACK_ON_ERROR`` commits the Kafka offsets
(``consumer.commit()``: the consumed positions) once per batch, only after the function returned, i.e.
after every message of the batch was recorded. If one could not be recorded (the consumer is stopping
while the database is away), the function seeks every partition back to its first unrecorded record of
the batch before it returns: the commit then covers the recorded messages only, and the rest is read again.

Why a failed message can never be passed over silently here (ag2ai/faststream#2618: with a policy that
leaves a failed record unacknowledged, the commit of a LATER record moves the group's offset past it):

1. The function does not return until each message is recorded in PostgreSQL: applied, a duplicate,
   held behind its case's dead letter, or parked as a dead letter itself. A failing effect is retried,
   then parked; it is not raised. So a committed offset only ever covers recorded messages.
2. What may still fail is the database itself. Then the function retries with backoff until the database
   answers; it gives up only when the consumer is stopping, and the seek-back makes the record the next
   one read (by this or another instance), never skipped.
3. Nothing before our function can fail on a record: the parser tolerates non-UTF-8 headers and the decoder
   hands over the raw bytes, so a malformed record reaches us and is parked (a failure in FastStream's own
   parsing would escape the ack policy, and the next record's commit would pass over it).
4. Even if an offset were committed past an unrecorded event, the next event of that case would find a
   version gap and fetch the missing events from the store before applying itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, Protocol

import anyio
from aiokafka import TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, Topic
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage

from consumers.groups import ConsumerGroup, ConsumerSystem, default_groups, groups_named
from consumers.pacing import Pace, Pacer
from consumers.processing import (
    BatchRefusedError,
    Outcome,
    Processor,
    RawMessage,
    RetryPolicy,
    event_stores,
)
from consumers.wakeup import Pacers, listen_for_published
from infra.messaging.broker import ensure_topics
from infra.messaging.relay import published_channel
from infra.messaging.security import KafkaSecurity
from infra.settings import Settings
from infra.store.keystore import sealed_customers

log = logging.getLogger(__name__)


class Subscription(Protocol):
    """What the broker needs from a group: its Kafka group id, its topics, and where a message goes."""

    @property
    def group_id(self) -> str: ...

    @property
    def topics(self) -> tuple[str, ...]: ...

    def consume(self, message: RawMessage) -> object:
        """Handle one message; return only once it is recorded, else raise (it is then read again)."""
        ...

    def consume_together(self, messages: Sequence[RawMessage]) -> bool:
        """Record all the messages at once if they all apply; False (nothing recorded) if one cannot."""
        ...


class ConsumerStoppingError(Exception):
    """The consumer stops before the database recorded the message: its offset must not be committed."""


class GroupWorker:
    """One consumer group in this process: its processor, and its stop flag.

    Each batch (or message) borrows a connection of the process's pool for its transaction, and gives it
    back: a connection the database dropped is not given out again (the pool replaces it).
    """

    def __init__(
        self,
        system: ConsumerSystem,
        settings: Settings,
        group: ConsumerGroup,
        retry: RetryPolicy | None = None,
        reconnect_delays: tuple[float, float] = (0.5, 5.0),
    ) -> None:
        self.system = system
        self.settings = settings
        self.group = group
        self.retry = retry
        self.reconnect_delays = reconnect_delays
        self.stopping = threading.Event()
        self._processor: Processor | None = None
        self._lock = threading.Lock()

    @property
    def group_id(self) -> str:
        return self.group.group_id(self.settings.topic_prefix)

    @property
    def topics(self) -> tuple[str, ...]:
        return self.group.topics(self.settings.topic_prefix)

    def prepare(self) -> Processor:
        """Build the group's handler, and the tables it writes (once)."""
        with self._lock:
            if self._processor is None:
                database = self.system.database
                with database.connection() as conn, database.schema_lock(conn):
                    handler = self.group.build_handler(self.system, conn)
                self._processor = Processor(
                    self.group_id, handler, event_stores(self.system), self.settings.db_schema, self.retry
                )
            return self._processor

    def consume(self, message: RawMessage) -> Outcome:
        """Process one message, waiting out database outages; raise only when stopping."""
        delay, longest = self.reconnect_delays
        while True:
            try:
                processor = self.prepare()
                with self.system.database.connection() as conn:
                    return processor.process(conn, message)
            except Exception:
                # Not about this message (a failing effect is parked inside process): the database is
                # away, or our own bookkeeping is broken. Either way the message must be read again,
                # never passed over, and not in a tight loop: wait, then retry on another connection.
                log.exception("%s: cannot record %s; retrying in %.1fs", self.group_id, message.where, delay)
            if self.stopping.wait(delay):
                raise ConsumerStoppingError(f"{self.group_id} stopped before recording {message.where}")
            delay = min(delay * 2, longest)

    def consume_together(self, messages: Sequence[RawMessage]) -> bool:
        """Record a batch in one transaction; False, with nothing recorded, when ``consume`` must take it.

        Any failure here (a refused effect, or the database away) leaves the batch unrecorded, and the
        messages then go one by one through ``consume``, which retries, parks and waits out outages.
        """
        if len(messages) < 2:
            return False
        try:
            processor = self.prepare()
            self.system.keys.preload(sealed_customers(m.value for m in messages))
            with self.system.database.connection() as conn:
                processor.process_together(conn, messages)
            return True
        except BatchRefusedError as refused:
            log.info(
                "%s: a batch of %d is taken one message at a time: %s",
                self.group_id,
                len(messages),
                refused.__cause__ or refused,
            )
            return False
        except Exception:  # noqa: BLE001 - not lost: ``consume`` takes the messages and reports the outage
            log.warning("%s: a batch of %d was not recorded together", self.group_id, len(messages))
            return False

    def close(self) -> None:
        """Nothing to release: the worker holds no connection between batches."""


DEFAULT_SESSION_TIMEOUT_MS = 6_000
"""The lowest session timeout Kafka accepts by default (``group.min.session.timeout.ms``): a dead instance's
partitions move on soonest. Tansu also holds a new member's join for half of it."""

METADATA_MAX_AGE_MS = 30_000
"""How long a group's view of the topics and partitions may grow old (aiokafka's default is 5 minutes)."""


PACE = Pace(
    busy_fetch_wait_ms=5,
    busy_batch_timeout_ms=5,
    idle_fetch_wait_ms=500,
    idle_batch_timeout_ms=100,
    idle_after_s=5.0,
    woken_for_s=0.5,
    safety_poll_s=10.0,
    probe_s=0.75,
)
"""Under load: Tansu answers a fetch only when its wait is over, records or not, so the busy fetch wait
bounds every latency from below (measured: 20 ms gave p99 ~107 ms at 200 commands/s, 5 ms ~92–126 ms).
Idle: asleep, no fetch at all until the relay's NOTIFY wakes the group, or a probe every 10 s
(consumers/pacing.py, consumers/wakeup.py)."""

MAX_BATCH = 200
"""The most records one call of a group's function records before their offsets are committed (once)."""


def build_broker(
    settings: Settings,
    bootstrap: str,
    subscriptions: Sequence[Subscription],
    *,
    session_timeout_ms: int = DEFAULT_SESSION_TIMEOUT_MS,
    pacers: Pacers | None = None,
    pace: Pace = PACE,
) -> KafkaBroker:
    """A Kafka broker with one subscriber per group; starting it starts consuming (the topics must exist).

    Each group's pacer joins ``pacers`` (when given), which wakes and starts them."""
    broker = KafkaBroker(
        bootstrap,
        client_id=f"{settings.topic_prefix}-consumers",
        # One log line per message at INFO would drown everything else at thousands of events a second.
        log_level=logging.DEBUG,
        # A logger of ours, not FastStream's own colourful stdout handler: lines render like every other.
        logger=logging.getLogger("consumers.kafka"),
        security=KafkaSecurity.from_settings(settings).faststream(),
        # aiokafka otherwise looks at the cluster again only every 5 minutes: a group whose metadata lacks a
        # topic (it looked while a broker that came back empty had none) or shows the partitions a client's
        # auto-creation gave it would leave the records of the missing partitions unread that long. The
        # relay's ``recreated`` notice makes it look at once; this bounds the wait when that notice is lost.
        metadata_max_age_ms=METADATA_MAX_AGE_MS,
    )
    for subscription in subscriptions:
        pacer = subscribe(broker, subscription, session_timeout_ms, pace)
        if pacers is not None:
            pacers.add(pacer, subscription.topics)
    return broker


def subscribe(
    broker: KafkaBroker,
    subscription: Subscription,
    session_timeout_ms: int = DEFAULT_SESSION_TIMEOUT_MS,
    pace: Pace = PACE,
) -> Pacer:
    """Register the group's batch subscriber: its offsets are committed after every message is recorded."""

    async def on_batch(message: KafkaMessage) -> None:
        pacer.batch_arrived()
        records = message.raw_message
        batch = records if isinstance(records, tuple | list) else (records,)
        raws = [
            RawMessage(
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                key=record.key,
                value=record.value or b"",
                headers=tuple(record.headers),
            )
            for record in batch
        ]
        # One worker thread per batch, the messages in their order (each partition's records stay in order).
        try:
            recorded, error = await anyio.to_thread.run_sync(_consume_batch, subscription, raws)
        finally:
            pacer.batch_recorded()
        if error is not None:
            # Rewind every partition to its first record that is not recorded, then let the commit that
            # follows cover the recorded ones only: nothing at or after the failure is committed.
            _rewind(message, raws[recorded:])
            log.warning("%s: %s; it is read again", subscription.group_id, error)

    # ``declare=False``: FastStream would create a missing topic with ONE partition and replication 1;
    # ``running_consumers`` creates them first, as the relay does (``infra.messaging.broker.ensure_topics``).
    topics = [Topic(name, declare=False) for name in subscription.topics]
    subscriber = broker.subscriber(
        *topics,
        group_id=subscription.group_id,
        # One Kafka offset commit per batch, after every message of it is recorded in PostgreSQL.
        batch=True,
        max_records=MAX_BATCH,
        # FastStream sleeps this long again after an empty poll. A group starts idle; its pacer shortens
        # this and the fetch wait while batches arrive, and pauses it when asleep (consumers/pacing.py).
        batch_timeout_ms=pace.idle_batch_timeout_ms,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        # A new group builds its read models from the start of the topics.
        auto_offset_reset="earliest",
        session_timeout_ms=session_timeout_ms,
        heartbeat_interval_ms=session_timeout_ms // 3,
        # Tansu holds every fetch for the full wait even when records are there; 500 ms (the default)
        # would be the floor of every command-to-read-model latency under load. Harmless on real Kafka.
        fetch_max_wait_ms=pace.idle_fetch_wait_ms,
        parser=_tolerant_parse,
        decoder=_raw_body,
        title=f"{subscription.group_id}:consume",
    )
    subscriber(on_batch)
    pacer = Pacer(subscriber, pace)
    return pacer


def _consume_batch(subscription: Subscription, raws: Sequence[RawMessage]) -> tuple[int, Exception | None]:
    """Record the messages in order; how many were recorded, and what stopped the rest (if anything)."""
    if subscription.consume_together(raws):
        return len(raws), None
    for number, raw in enumerate(raws):
        try:
            subscription.consume(raw)
        except Exception as exc:  # noqa: BLE001 - the caller rewinds to this message
            return number, exc
    return len(raws), None


def _rewind(message: KafkaMessage, unrecorded: Sequence[RawMessage]) -> None:
    earliest: dict[tuple[str, int], int] = {}
    for raw in unrecorded:
        where = (raw.topic, raw.partition)
        earliest[where] = min(raw.offset, earliest.get(where, raw.offset))
    for (topic, partition), offset in earliest.items():
        message.consumer.seek(partition=TopicPartition(topic, partition), offset=offset)


async def _tolerant_parse(
    record: Any, parse: Callable[[Any], Awaitable[StreamMessage[Any]]]
) -> StreamMessage[Any]:
    # ``record`` is aiokafka's ConsumerRecord (a dataclass); aiokafka ships no type information.
    try:
        return await parse(record)
    except UnicodeDecodeError:
        # FastStream decodes every header as UTF-8 for its own use; ours are ASCII, but a foreign header
        # must not stop the record before our function sees it. Our function reads the original record.
        def safe(one: Any) -> Any:
            headers = [(name, value.decode(errors="replace").encode()) for name, value in one.headers]
            return dataclasses.replace(one, headers=headers)

        parsed = await parse(tuple(map(safe, record)) if isinstance(record, tuple) else safe(record))
        parsed.raw_message = record
        return parsed


async def _raw_body(message: StreamMessage[Any], decode: Callable[..., Any]) -> Any:
    # The body is read from the records by our function; FastStream's JSON decoding would raise on a
    # malformed value before it got there. A batch's body is the list of the records' values.
    body = message.body
    return list(body) if isinstance(body, list) else bytes(body)


def assigned_partitions(broker: KafkaBroker) -> set[tuple[str, int]]:
    """The (topic, partition) pairs this broker's group members own right now."""
    owned: set[tuple[str, int]] = set()
    for subscriber in broker.subscribers:
        consumer = getattr(subscriber, "consumer", None)
        if consumer is not None:
            owned |= {(tp.topic, tp.partition) for tp in consumer.assignment()}
    return owned


@asynccontextmanager
async def running_consumers(
    system: ConsumerSystem,
    settings: Settings,
    bootstrap: str,
    groups: Sequence[ConsumerGroup],
    *,
    retry: RetryPolicy | None = None,
    session_timeout_ms: int = DEFAULT_SESSION_TIMEOUT_MS,
    pace: Pace = PACE,
) -> AsyncIterator[KafkaBroker]:
    """Consume with these groups while inside the block; stop cleanly on the way out.

    The groups sleep when nothing comes; the relay's NOTIFY wakes them (one LISTEN connection for all)."""
    workers = [GroupWorker(system, settings, group, retry) for group in groups]
    topics = sorted({topic for worker in workers for topic in worker.topics})
    security = KafkaSecurity.from_settings(settings)
    await anyio.to_thread.run_sync(ensure_topics, bootstrap, topics, settings.topic_partitions, security)
    async with AsyncExitStack() as stack:
        for worker in workers:
            stack.callback(worker.close)
            await anyio.to_thread.run_sync(worker.prepare)
        pacers = Pacers()
        broker = build_broker(
            settings, bootstrap, workers, session_timeout_ms=session_timeout_ms, pacers=pacers, pace=pace
        )
        # Listening before the groups join (a join takes seconds on Tansu): a topic that the relay recreates
        # meanwhile is announced once, and a group that joined before it must hear it (``Pacer.rewind``).
        channel = published_channel(settings.db_schema)
        listener = asyncio.create_task(listen_for_published(system.database, channel, pacers))
        try:
            await broker.start()
            pacers.start()
            yield broker
        finally:
            pacers.stop()
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            for worker in workers:
                worker.stopping.set()
            await broker.stop()


async def run_consumers(
    system: ConsumerSystem,
    settings: Settings,
    bootstrap: str,
    group_names: Sequence[str],
    stop_event: asyncio.Event,
    *,
    groups: Mapping[str, ConsumerGroup] | None = None,
    retry: RetryPolicy | None = None,
) -> None:
    """Run the named groups (all of caseledger's for ``up``, one for ``consume --group``) until stopped."""
    chosen = groups_named(tuple(group_names), groups or default_groups())
    async with running_consumers(system, settings, bootstrap, chosen, retry=retry):
        log.info("consuming as %s", ", ".join(g.group_id(settings.topic_prefix) for g in chosen))
        await stop_event.wait()
