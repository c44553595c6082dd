"""The relay: tails each application's notification log in order and publishes every committed event to Kafka.

Guarantees, and how they are kept:

- **Nothing lost.** The published position of a context is written to PostgreSQL (``relay_positions``) only
  after the broker acknowledged every message up to it (acks=all); a restarted relay resumes after it.
- **Nothing skipped that will still commit.** The store runs with POSTGRES_ENABLE_DB_FUNCTIONS, which takes
  no table lock: notification ids come from a sequence at insert time, but transactions commit in any
  order, so the log can show id N+1 before N (a *hole*). The relay publishes only the contiguous prefix
  and passes a hole only once every transaction that could still fill it has ended (see
  ``hole_is_settled``): a rolled-back insert, e.g. a refused concurrent write, leaves a permanent hole.
- **At least once, same ids.** A crash between the broker's ack and the position write republishes that
  batch; ``ce_id`` is derived from (case id, version), so consumers recognise the duplicates.
- **One case in order.** The key is the case id, so a case's events share a partition; a case's next
  version can only be written after the previous one committed, so the log already has them in order.
- **One relay at a time.** A session-level PostgreSQL advisory lock, held on a dedicated connection for the
  relay's life; another relay waits as a standby and takes over when the holder's session ends.
- **A lost broker is repaired.** A position is recorded together with the id of the topic it was published
  to (KIP-516 topic ids). If the topic vanished (the embedded Tansu broker keeps nothing across a restart)
  or now has another id (deleted and recreated, or auto-created by a client after the loss), the relay
  creates what is missing and republishes that context from the store; consumers deduplicate. A recreated
  topic is emptied first, after the producer is closed: sends retried across the broker's loss may have
  landed on it, and a subscriber from offset 0 must see each case in version order. End offsets
  are not used for this: Tansu under-reports them after a multi-record batch.

Position semantics: a context's position is the highest notification id such that every id up to it was
published or is proven never to commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import math
import threading
import time
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol

import orjson
import psycopg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError as AioKafkaError
from aiokafka.partitioner import DefaultPartitioner, murmur2
from aiokafka.producer.message_accumulator import BatchBuilder
from eventsourcing.postgres import PostgresApplicationRecorder
from kafka.errors import KafkaError as KafkaPythonError
from psycopg import sql

from infra import metrics
from infra.clock import Clock
from infra.messaging.broker import describe_topics, ensure_topics, recreate_topics
from infra.messaging.contract import (
    CONTENT_TYPE_HEADER,
    EventMessage,
    header_bytes,
    topic_name,
    with_content_type,
)
from infra.messaging.security import KafkaSecurity
from infra.settings import Settings
from infra.store.database import DATABASE_UNAVAILABLE, Database, ProcessKind
from infra.store.eventstore import CaseApplication
from infra.store.listening import listen, notifications
from infra.tracing import H_TRACEPARENT, H_TRACESTATE, published_span, tracing_enabled

log = logging.getLogger(__name__)

AfterAck = Callable[[str, Sequence[EventMessage]], None]
"""Called with a context and the messages the broker just acknowledged, before their position is written."""


# ------------------------------------------------------------------------------------------- hole rule


@dataclass(frozen=True)
class Hole:
    """Notification ids missing from the log right after a context's position, as first seen."""

    first: int
    """The first missing id (the position + 1 when it was seen)."""
    end: int
    """The first id that was visible after the hole: the hole is ``first .. end - 1``."""
    writers: frozenset[str]
    """The transactions holding a write lock on the events table, listed just after the read that showed
    the hole (``pg_locks``: virtual transaction id and backend pid)."""

    def covers(self, position: int) -> bool:
        """True while the id after ``position`` is still one of this hole's ids."""
        return self.first <= position + 1 < self.end


def contiguous_prefix(position: int, ids: Sequence[int]) -> int:
    """How many of ``ids`` (ascending, all after ``position``) follow ``position`` without a hole."""
    count = 0
    for expected, found in enumerate(ids, start=position + 1):
        if found != expected:
            break
        count += 1
    return count


def hole_is_settled(hole: Hole, writers_now: Collection[str]) -> bool:
    """True once no transaction that may still commit an id of ``hole`` is running.

    Every id of the hole was taken before ``hole.end`` was, so before the read that showed the hole. An
    INSERT locks its table (RowExclusiveLock, at parse/plan time) *before* its row's default ``nextval``
    gives it an id, and keeps the lock to the end of its transaction, which PostgreSQL releases only
    after the commit is visible. So the transaction holding a missing id had either ended by the time
    ``hole.writers`` was listed, or is one of them. Once none of them is running (``writers_now`` is
    listed *before* the re-read of the hole), an id still absent on that re-read never commits.

    Why not ``pg_snapshot_xmin(pg_current_snapshot()) >= pg_snapshot_xmax(<snapshot at sight>)``: it
    waits for every transaction of the whole cluster that was running at sight (one long transaction in
    any database stalls the relay at every rolled-back insert), and it misses a writer that has taken
    its id but not yet its xid (a transaction gets its xid at its first row write, after ``nextval``).
    """
    return hole.writers.isdisjoint(writers_now)


# ------------------------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class RelayOptions:
    """Tuning of the relay; the defaults suit production, tests shorten the waits."""

    batch_size: int = 4000
    """The most notifications read per select, and published before waiting for the broker's acks.

    Each batch ends with a wait for the last acks and a position write, with nothing sent meanwhile: 4,000
    rather than 1,000 cut that wait from about a third of a backlog's publishing time to under a tenth
    (``caseledger bench --only relay``). A crash between the acks and the position write republishes one
    batch (consumers deduplicate); reads of a relay that keeps up are far smaller than this."""
    idle_poll_s: float = 5.0
    """Longest sleep when caught up: NOTIFY wakes the relay sooner, this is the fallback."""
    hole_poll_s: float = 0.05
    """Sleep while a hole is open: a rolled-back insert sends no NOTIFY."""
    verify_interval_s: float = 5.0
    """How often the topics are checked for loss (a broker restarted empty)."""
    standby_poll_s: float = 1.0
    """How often a standby relay tries to take the lock."""
    retry_backoff_s: float = 1.0
    """Pause before a new session after a broker or database failure."""
    kafka_request_timeout_ms: int = 15_000
    record_batch_bytes: int = 256 * 1024
    """The most bytes of one record batch (aiokafka's ``max_batch_size``), larger than its 16 KB: fewer
    produce requests per 1,000 events. A message larger than this travels in a batch of its own."""
    notify_every_s: float = 0.25
    """The least time between two wake-ups of the consumer groups for one topic. A woken group stays awake
    longer than this (``Pace.woken_for_s``, 0.5 s), so it fetches the records of a batch whose NOTIFY was
    left out; under load this spares a NOTIFY per batch."""


# ------------------------------------------------------------------------------------------- lag


@dataclass(frozen=True)
class ContextLag:
    """How far the relay is behind the store in one context."""

    context: str
    store_position: int
    """The highest notification id in the store."""
    published_position: int
    positions_behind: int
    seconds_behind: float
    """Age of the oldest unpublished event (its recorded time against the clock's now); 0 when caught up."""


class RelaySystem(Protocol):
    """What the relay uses of the composition root: the stores it tails, their database, the clock."""

    @property
    def settings(self) -> Settings: ...

    @property
    def database(self) -> Database: ...

    @property
    def clock(self) -> Clock: ...

    def applications(self) -> list[CaseApplication[Any]]: ...


async def relay_lag(system: RelaySystem, clock: Clock | None = None) -> list[ContextLag]:
    """The relay's lag per context, read from the store and ``relay_positions`` (any process may ask)."""
    the_clock = clock or system.clock
    positions = await asyncio.to_thread(_read_positions, system.database, system.settings.db_schema)
    lags = []
    for app in applications(system):
        store_position = await asyncio.to_thread(app.recorder.max_notification_id) or 0
        published = positions.get(app.bounded_context, 0)
        behind = max(0, store_position - published)
        seconds = 0.0
        if behind:
            oldest = await asyncio.to_thread(app.recorder.select_notifications, published + 1, 1)
            if oldest:
                recorded = _recorded_at(oldest[0].state)
                seconds = max(0.0, (the_clock.now() - recorded).total_seconds())
        lags.append(ContextLag(app.bounded_context, store_position, published, behind, seconds))
    return lags


def _recorded_at(state: bytes) -> datetime:
    recorded: str = orjson.loads(state)["timestamp"]
    return datetime.fromisoformat(recorded)


# ------------------------------------------------------------------------------------------- helpers


def applications(system: RelaySystem) -> list[CaseApplication[Any]]:
    """The applications whose events the relay publishes, one topic each."""
    return system.applications()


def topics_for(system: RelaySystem) -> list[str]:
    """The relay's topics: ``<prefix>.<context>`` for every application."""
    return [topic_name(system.settings.topic_prefix, app.bounded_context) for app in applications(system)]


def advisory_lock_key(base_schema: str) -> int:
    """The advisory lock of the relay of one deployment (base schema) in its database, as a signed bigint."""
    digest = hashlib.sha256(f"caseledger.relay/{base_schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


RECREATED = "recreated:"
"""Prefix of the payload on ``published_channel`` that names a topic the relay deleted and created again
(``:`` is not allowed in a topic name, so no topic is mistaken for it)."""


def recreated_notice(topic: str) -> str:
    """What the relay NOTIFYs once ``topic`` is recreated empty, before it republishes its history."""
    return f"{RECREATED}{topic}"


def published_channel(base_schema: str) -> str:
    """The NOTIFY channel on which the relay of one deployment (base schema) tells its consumer groups,
    after each batch the broker acknowledged, which topic has new records (the payload; consumers/wakeup.py
    LISTENs).

    One channel per deployment: deployments sharing a database must not wake each other's groups (the event
    store's own channels are named after the events table only, so those do wake every relay of the database).
    A name too long for an identifier ends in a digest of the schema instead.
    """
    channel = f"caseledger_published.{base_schema}"
    if len(channel.encode()) <= MAX_IDENTIFIER_BYTES:
        return channel
    return f"caseledger_published.{hashlib.sha256(base_schema.encode()).hexdigest()[:32]}"


MAX_IDENTIFIER_BYTES = 63
"""PostgreSQL cuts longer identifiers (channel names) to this."""


def _positions_table(base_schema: str) -> sql.Composed:
    return sql.SQL("{}.relay_positions").format(sql.Identifier(base_schema))


def _positions_exist(conn: psycopg.Connection[Any], base_schema: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s)", (f"{base_schema}.relay_positions",)).fetchone()
    return row is not None and row[0] is not None


def _read_positions(database: Database, base_schema: str) -> dict[str, int]:
    """Every context's published position (none before the first relay ran), on a pooled connection."""
    with database.connection() as conn:
        if not _positions_exist(conn, base_schema):
            return {}
        rows = conn.execute(
            sql.SQL("SELECT context, position FROM {}").format(_positions_table(base_schema))
        ).fetchall()
    return {str(context): int(position) for context, position in rows}


def published_position(conn: psycopg.Connection[Any], base_schema: str, context: str) -> int:
    """The relay's published position of one context (0 before the first relay ran): no notification id
    at or below it can still commit unseen (see ``hole_is_settled``)."""
    if not _positions_exist(conn, base_schema):
        return 0
    row = conn.execute(
        sql.SQL("SELECT position FROM {} WHERE context = %s").format(_positions_table(base_schema)),
        (context,),
    ).fetchone()
    return 0 if row is None else int(row[0])


class KeyHashPartitioner:
    """aiokafka's default partitioner (the Java client's murmur2 of the key), with each key's hash remembered.

    Every event of a case has the same key, and aiokafka's murmur2 is pure Python (several µs a key): the
    relay's hot path hashes each case once. The partition chosen is exactly the default partitioner's.
    """

    MAX_KEYS = 100_000
    """The cache is emptied when it holds this many keys (a few MB at most)."""

    def __init__(self) -> None:
        self._hashes: dict[bytes, int] = {}
        self._default = DefaultPartitioner()

    def __call__(self, key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
        if key is None:
            return int(self._default(key, all_partitions, available))
        hashed = self._hashes.get(key)
        if hashed is None:
            if len(self._hashes) >= self.MAX_KEYS:
                self._hashes.clear()
            hashed = self._hashes[key] = murmur2(key) & 0x7FFFFFFF
        return all_partitions[hashed % len(all_partitions)]


class LockLostError(RuntimeError):
    """The relay's database session (and with it the advisory lock) is gone: it must stop publishing."""


class TopicsRecreatedError(Exception):
    """Topics are not the ones the positions were published to: the session's producer must be fenced."""

    def __init__(self, tails: Sequence[_Tail]) -> None:
        super().__init__(", ".join(t.topic for t in tails))
        self.tails = list(tails)


# A failure of the broker or the database ends the session; a new one starts after a pause. Anything else
# is a bug (or the test seam's simulated crash) and propagates.
_RECOVERABLE: tuple[type[BaseException], ...] = (
    *DATABASE_UNAVAILABLE,  # psycopg's, and the same re-raised by the store's recorders (the relay's reads)
    AioKafkaError,  # what the producer (aiokafka) raises
    KafkaPythonError,  # what the admin client raises
    OSError,
    TimeoutError,
    LockLostError,
)


# ------------------------------------------------------------------------------------------- the relay

MIN_READ = 64
"""The smallest read of a notification log (see ``Relay._step``)."""


@dataclass
class _Tail:
    """One context's progress through its notification log."""

    app: CaseApplication[Any]
    context: str
    topic: str
    position: int = 0
    hole: Hole | None = None
    prefetch: asyncio.Task[_Batch] | None = None
    read_size: int = MIN_READ
    """How many notifications the next read asks for (at most the batch size)."""
    table_oid: int | None = None
    topic_id: str | None = None
    """The id of the topic instance that ``position`` was published to."""
    published: int = 0
    """Messages acknowledged in this relay's life (all sessions)."""
    notified_at: float = -math.inf
    """When (monotonic) the consumer groups were last told that this topic has new records."""
    due: bool = True
    """A read may find rows after ``position``: the store NOTIFYed this context's channel, the last read
    published (more may wait), or the relay polls every context (session start, a pause that timed out)."""

    @property
    def recorder(self) -> PostgresApplicationRecorder:
        recorder = self.app.recorder
        assert isinstance(recorder, PostgresApplicationRecorder)
        return recorder


LogRow = tuple[int, str, bytes, int, str, bytes]
"""One row of a context's notification log, as the relay reads it: the fields of the library's
``Notification`` that the messages need (notification id, the case id as text and as its 16 bytes, version,
topic, state), as psycopg's plain tuple (a named tuple's ``_make`` per row was measurable)."""


_NO_STOP = 2**63 - 1


@functools.lru_cache(maxsize=64)
def _log_query(schema: str, table: str) -> bytes:
    # The case id as text and bytes, from the server: a uuid.UUID per row, and its str(), cost the reading
    # thread more than both columns' transfer. Cast to uuid first (a no-op for the default uuid column) so
    # that a store with text ids (the library's ORIGINATOR_ID_TYPE=text) gives the same canonical text.
    return (
        sql.SQL(
            "SELECT notification_id, originator_id::uuid::text, uuid_send(originator_id::uuid),"
            " originator_version, topic, state FROM {} WHERE notification_id > %s AND notification_id <= %s"
            " ORDER BY notification_id LIMIT %s"
        )
        .format(sql.Identifier(schema, table))
        .as_bytes()
    )


_FASTSTREAM_CORRELATION = "correlation_id"
"""FastStream's own correlation header, which its consumers read: the event's correlation id."""


class _Outgoing(NamedTuple):
    """One message ready for a record batch: its headers are encoded here, in the reading thread."""

    topic: str
    key: bytes
    value: bytes
    """The stored JSON state, sent as it is (never decoded and encoded again)."""
    position: int
    wire: list[tuple[str, bytes]]
    """The headers as sent: FastStream's layout (its ``content-type`` and ``correlation_id`` first, then
    the contract's headers), so that the messages are the same as when the relay published through
    FastStream."""

    @classmethod
    def of(cls, topic: str, context: str, row: LogRow, traced: bool) -> _Outgoing:
        """The message of a row; ``traced``: this process traces (asked once per read, not per row)."""
        position, case_text, case_bytes, version, event_topic, value = row
        state = orjson.loads(value)
        headers = header_bytes(context, case_text, case_bytes, version, position, event_topic, state)
        if traced and state.get("traceparent"):
            headers = _traced(topic, case_text, headers)
        # FastStream's own correlation_id header: the event's correlation id, so that FastStream consumers
        # see a meaningful one (and a republished message carries the same). ``ce_id`` is the second header.
        correlation = state.get("correlation_id")
        wire = [
            CONTENT_TYPE_HEADER,
            (_FASTSTREAM_CORRELATION, str(correlation).encode() if correlation else headers[1][1]),
            *headers,
        ]
        return cls(topic, case_text.encode(), value, position, wire)

    @property
    def message(self) -> EventMessage:
        """The message as ``message_for`` builds it (only the test seam ``after_ack`` needs it)."""
        return EventMessage(self.topic, self.key, self.value, tuple(with_content_type(self.wire[2:])))


def _ignore_outcome(ack: asyncio.Future[Any]) -> None:
    if not ack.cancelled():
        ack.exception()


def _traced(topic: str, subject: str, headers: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """The headers with the message's trace context its producer span's, a child of the command's."""
    found = dict(headers)
    stored = found.get(H_TRACEPARENT), found.get(H_TRACESTATE)
    traced = published_span(topic, subject, *(None if v is None else v.decode() for v in stored))
    if traced is None:
        return headers
    traceparent, tracestate = traced
    kept = [(name, value) for name, value in headers if name not in (H_TRACEPARENT, H_TRACESTATE)]
    kept.append((H_TRACEPARENT, traceparent.encode()))
    if tracestate:
        kept.append((H_TRACESTATE, tracestate.encode()))
    return kept


@dataclass(frozen=True)
class _Batch:
    """What one read found after a position."""

    after: int
    ready: list[_Outgoing]
    """The rows that follow ``after`` without a hole, prepared for publishing."""
    through: int
    """The last of their ids (``after`` when there are none)."""
    next_present: int | None
    """The first id seen after a hole, when the read showed one."""
    full: bool
    """The read returned as many rows as it asked for: more may be waiting."""


@dataclass(frozen=True)
class _Session:
    lock_conn: psycopg.AsyncConnection[Any]
    producer: AIOKafkaProducer
    tails: list[_Tail]


class Relay:
    """Publishes every committed event of the system's applications to Kafka, in order, at least once.

    A Relay runs once: after ``stop()`` build a new one.
    """

    def __init__(
        self,
        system: RelaySystem,
        bootstrap_servers: str,
        *,
        options: RelayOptions | None = None,
        after_ack: AfterAck | None = None,
    ) -> None:
        self.system = system
        self.bootstrap_servers = bootstrap_servers
        self._security = KafkaSecurity.from_settings(system.settings)
        self.options = options or RelayOptions()
        self.after_ack = after_ack
        """Test seam: runs after the broker's ack and before the position write (a crash there)."""
        settings = system.settings
        self._base_schema = settings.db_schema
        self._published_channel = published_channel(settings.db_schema)
        self._partitions = settings.topic_partitions
        self._prefix = settings.topic_prefix
        self._tails = [
            _Tail(
                app,
                app.bounded_context,
                topic_name(self._prefix, app.bounded_context),
                read_size=self.options.batch_size,
            )
            for app in applications(system)
        ]
        # Reads of the contexts' logs (prefetches start for every context at once) take turns on the pool
        # beside the position writes: the relay stays within its pool, however many contexts there are.
        self._reading = threading.BoundedSemaphore(max(1, settings.db_pool_size - 1))
        self._stop_requested = threading.Event()
        self._rewinds: dict[str, int] = {}
        self._rewinds_lock = threading.Lock()
        self._partitioner = KeyHashPartitioner()
        """The producer's partitioner, also asked by ``_send_batches`` for each message's partition."""
        self._contexts = {tail.app.notification_channel: tail.context for tail in self._tails}
        """Channel → context: a NOTIFY makes only its own context's log worth reading."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self.active = False
        """True while this relay holds the lock and publishes (False as a standby)."""

    # ------------------------------------------------------------------- control (any thread)

    def stop(self) -> None:
        """Ask the relay to finish its current batch and return from ``run`` (safe from any thread)."""
        self._stop_requested.set()
        self._poke()

    def republish_from(self, position: int, contexts: Collection[str] | None = None) -> None:
        """Publish again every event from notification id ``position`` on (all contexts, or those named).

        Applied by the active relay at its next round; given before ``run`` it applies once this relay
        holds the lock (``caseledger relay --from POSITION``).
        """
        if position < 1:
            raise ValueError("positions start at 1")
        known = {t.context for t in self._tails}
        chosen = known if contexts is None else set(contexts)
        if chosen - known:
            raise ValueError(f"unknown contexts {sorted(chosen - known)}; known: {sorted(known)}")
        with self._rewinds_lock:
            for context in chosen:
                self._rewinds[context] = position - 1
        self._poke()

    def positions(self) -> dict[str, int]:
        """The published position per context as this relay last wrote it."""
        return {t.context: t.position for t in self._tails}

    def published_counts(self) -> dict[str, int]:
        """Messages the broker acknowledged to this relay, per context, since it was built."""
        return {t.context: t.published for t in self._tails}

    async def lag(self) -> list[ContextLag]:
        """Positions and seconds behind, per context."""
        return await relay_lag(self.system)

    def _poke(self) -> None:
        """Wake the relay from any thread: every context's log is read at its next round."""
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed: nothing to wake
                loop.call_soon_threadsafe(self._woken, None)

    def _woken(self, context: str | None) -> None:
        """In the event loop: ``context``'s log (every log with None) is due a read; the round starts now."""
        for tail in self._tails:
            if context is None or tail.context == context:
                tail.due = True
        if self._wake is not None:
            self._wake.set()

    # ------------------------------------------------------------------- running

    async def run(self, *, until_idle: bool = False) -> None:
        """Relay until ``stop()``; with ``until_idle``, return once everything committed is published.

        Broker and database failures end the session and a new one starts after a pause (as standby
        first if another relay took the lock meanwhile); any other error propagates.
        """
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        try:
            while not self._stop_requested.is_set():
                try:
                    await self._session(until_idle)
                    return
                except _RECOVERABLE as exc:
                    log.warning(
                        "relay session ended (%r); a new one in %.1f s", exc, self.options.retry_backoff_s
                    )
                    await self._pause(self.options.retry_backoff_s)
        finally:
            self.active = False
            self._loop = None
            self._wake = None

    async def _pause(self, seconds: float) -> None:
        """Sleep up to ``seconds``; NOTIFY from the store, stop() and republish_from() cut it short.

        A pause that runs out is a poll: every context's log is read again (a NOTIFY may have been lost).
        """
        assert self._wake is not None
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            self._woken(None)
        self._wake.clear()

    async def _session(self, until_idle: bool) -> None:
        database = self.system.database
        # Two dedicated asyncio sessions, outside the process's pool: the advisory lock must live on one
        # session for the relay's life (the positions are written on it, so a lost lock fails the write),
        # and LISTEN needs a connection that waits for notifications without a thread. The library's
        # recorder (sync, on the process's pool) still reads the notification log, in a worker thread: one
        # thread hop per batch of up to `batch_size` rows costs microseconds, and the store is not
        # reimplemented.
        async with await database.dedicated_async() as lock_conn:
            if not await self._take_lock(lock_conn):
                return
            self.active = True
            try:
                async with self._listening(database):
                    while True:
                        try:
                            async with self._kafka() as producer:
                                session = _Session(lock_conn, producer, self._tails)
                                await self._start(session)
                                await self._loop_rounds(session, until_idle)
                            return
                        except TopicsRecreatedError as recreated:
                            # The producer is closed (fenced): every send was acked or failed before
                            # _verify ran, and none can follow. Empty the recreated topics; then a fresh
                            # producer republishes them from the first position.
                            await self._refill(lock_conn, recreated.tails)
            finally:
                self.active = False
                for tail in self._tails:
                    if tail.prefetch is not None:
                        tail.prefetch.cancel()
                        with contextlib.suppress(asyncio.CancelledError, Exception):
                            await tail.prefetch
                        tail.prefetch = None

    async def _take_lock(self, conn: psycopg.AsyncConnection[Any]) -> bool:
        key = advisory_lock_key(self._base_schema)
        announced = False
        while not self._stop_requested.is_set():
            row = await (await conn.execute("SELECT pg_try_advisory_lock(%s)", (key,))).fetchone()
            if row is not None and row[0]:
                log.info("relay active (lock %d taken)", key)
                return True
            if not announced:
                log.info("another relay holds the lock: standing by")
                announced = True
            await self._pause(self.options.standby_poll_s)
        return False

    @contextlib.asynccontextmanager
    async def _listening(self, database: Database) -> AsyncIterator[None]:
        """LISTEN on the store's channels: every insert of events is followed by a NOTIFY on its channel."""
        async with await database.dedicated_async() as conn:
            await listen(conn, [tail.app.notification_channel for tail in self._tails])

            async def forward() -> None:
                try:
                    async for notice in notifications(conn):
                        self._woken(self._contexts.get(notice.channel))
                except psycopg.Error as exc:
                    # Wake-ups are an optimisation: the relay still polls every idle_poll_s.
                    log.warning("LISTEN connection lost (%r): polling until the next session", exc)

            listener = asyncio.create_task(forward())
            try:
                yield
            finally:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError, psycopg.Error):
                    await listener

    @contextlib.asynccontextmanager
    async def _kafka(self) -> AsyncIterator[AIOKafkaProducer]:
        # aiokafka's producer itself, not FastStream's broker around it: FastStream's publish (a command
        # object, middlewares, codec and a header dict per message) cost as much as aiokafka's send.
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap_servers,
            client_id="caseledger-relay",
            acks="all",
            # Tansu refuses InitProducerId; exactly-once effect comes from idempotent consumers anyway.
            enable_idempotence=False,
            request_timeout_ms=self.options.kafka_request_timeout_ms,
            max_batch_size=self.options.record_batch_bytes,
            partitioner=self._partitioner,
            **self._security.client_options(),
        )
        try:
            await producer.start()
            yield producer
        finally:
            # Waits for what is queued (acknowledged or failed), then closes; after a failed start it closes.
            await producer.stop()

    async def _start(self, session: _Session) -> None:
        stored = await self._stored_positions(session.lock_conn)
        for tail in session.tails:
            tail.position, tail.topic_id = stored.get(tail.context, (0, None))
            tail.hole = None
            tail.table_oid = None
            tail.read_size = self.options.batch_size
            tail.due = True
        await self._verify(session)  # creates missing topics, repairs lost ones
        log.info("relay resuming at %s", {t.context: t.position for t in session.tails})

    async def _loop_rounds(self, session: _Session, until_idle: bool) -> None:
        next_verify = time.monotonic() + self.options.verify_interval_s
        while not self._stop_requested.is_set():
            await self._apply_rewinds(session)
            progressed = False
            # Only the logs that may have grown: reading all nine contexts' logs on every NOTIFY put the read
            # of the one that NOTIFYed behind eight others (command → relay at 200/s: p50 4.3 ms, now 0.4).
            due = [t for t in session.tails if t.due or t.hole is not None]
            for index, tail in enumerate(due):
                if index + 1 < len(due):
                    # The next context's read runs in its worker thread while this one publishes.
                    self._prefetch(due[index + 1])
                if await self._step(session, tail):
                    progressed = tail.due = True
            holes = any(t.hole is not None for t in session.tails)
            if time.monotonic() >= next_verify:
                await self._verify(session)
                next_verify = time.monotonic() + self.options.verify_interval_s
            if progressed:
                continue
            if until_idle and not holes:
                return
            await self._pause(self.options.hole_poll_s if holes else self.options.idle_poll_s)

    async def _step(self, session: _Session, tail: _Tail) -> bool:
        """One read of a context's log: publish what follows the position without a hole; watch holes."""
        if tail.hole is not None and tail.hole.covers(tail.position):
            return await self._step_in_hole(session, tail, tail.hole)
        tail.hole = None
        batch = await self._next_batch(tail)
        # Under concurrent writers most holes close within milliseconds, and rows read past a hole are read
        # again: read about twice the last hole-free run, growing back to batch_size while reads are whole.
        if batch.next_present is not None:
            tail.read_size = min(self.options.batch_size, max(MIN_READ, 2 * len(batch.ready)))
        elif batch.full:
            tail.read_size = min(self.options.batch_size, 2 * tail.read_size)
        if batch.next_present is None and batch.full:
            # More is likely waiting: read and prepare it while this batch is sent and acknowledged.
            tail.prefetch = self._read_on(tail, batch.through)
        if batch.ready:
            await self._publish(session, tail, batch.ready, through=batch.through)
        if batch.next_present is not None:
            # Listed after the read that showed the hole: see hole_is_settled.
            tail.hole = Hole(tail.position + 1, batch.next_present, await self._writers(session, tail))
        return bool(batch.ready)

    async def _step_in_hole(self, session: _Session, tail: _Tail, hole: Hole) -> bool:
        """Read only the hole's ids: publish those committed meanwhile; pass the rest once it is settled."""
        settled = hole_is_settled(hole, await self._writers(session, tail))
        # Read after the check: whatever is missing now, with the hole settled, never commits.
        batch = await asyncio.to_thread(self._read, tail, tail.position, hole.end - 1, settled)
        if not settled:
            if batch.ready:
                await self._publish(session, tail, batch.ready, through=batch.through)
            return bool(batch.ready)
        present = {o.position for o in batch.ready}
        never = [i for i in range(tail.position + 1, hole.end) if i not in present]
        await self._publish(session, tail, batch.ready, through=hole.end - 1)
        tail.hole = None
        log.info("%s: notification ids %s never committed (rolled back): passed over", tail.context, never)
        await self._step(session, tail)  # on at once with what follows the hole
        return True

    def _prefetch(self, tail: _Tail) -> None:
        """Start the read that ``tail``'s next ``_step`` makes, unless one is under way or a hole is open."""
        if tail.prefetch is None and tail.hole is None:
            tail.prefetch = self._read_on(tail, tail.position)

    def _read_on(self, tail: _Tail, after: int) -> asyncio.Task[_Batch]:
        """Read ``tail``'s log after ``after`` in a worker thread; it is no longer due.

        Cleared before the read's query starts: a NOTIFY that arrives from now on marks it due again, and
        one that arrived before followed a commit that this read sees.
        """
        tail.due = False
        return asyncio.create_task(asyncio.to_thread(self._read, tail, after))

    async def _next_batch(self, tail: _Tail) -> _Batch:
        prefetched, tail.prefetch = tail.prefetch, None
        if prefetched is not None:
            batch = await prefetched
            if batch.after == tail.position:
                return batch
        return await self._read_on(tail, tail.position)

    def _read(self, tail: _Tail, after: int, stop: int | None = None, whole: bool = False) -> _Batch:
        """Read the notifications after ``after`` (up to ``stop``) and prepare their messages (worker thread).

        Only the rows that follow ``after`` without a hole are prepared, unless ``whole``.
        """
        # The library's recorder is synchronous (on the process's pool); building the messages here too keeps
        # that CPU work off the event loop while it waits for the broker's acks of the previous batch.
        limit = tail.read_size if stop is None else stop - after
        with self._reading:
            rows = self._log_rows(tail, after, limit, stop) if limit > 0 else []
        count = len(rows) if whole else contiguous_prefix(after, [row[0] for row in rows])
        traced = tracing_enabled()
        ready = [_Outgoing.of(tail.topic, tail.context, row, traced) for row in rows[:count]]
        return _Batch(
            after=after,
            ready=ready,
            through=ready[-1].position if ready else after,
            next_present=rows[count][0] if count < len(rows) else None,
            full=len(rows) == limit,
        )

    def _log_rows(self, tail: _Tail, after: int, limit: int, stop: int | None) -> list[LogRow]:
        """The notification log after ``after``: the library's page query (``select_notifications``, its
        columns and order), read in binary into plain tuples. The library's own builds a dict and a
        frozen ``Notification`` per row, which cost the relay's reading thread more than the rows' transfer
        (a third of its CPU, ``docs/performance.md``)."""
        with self.system.database.connection() as conn:
            return (
                conn.cursor(binary=True)
                .execute(
                    _log_query(tail.app.events_schema, tail.app.events_table_name),
                    (after, stop if stop is not None else _NO_STOP, limit),
                )
                .fetchall()
            )

    async def _publish(
        self, session: _Session, tail: _Tail, outgoing: Sequence[_Outgoing], through: int
    ) -> None:
        """Send the messages as record batches, wait for every ack, then record ``through`` as published."""
        failed: BaseException | None = None
        # Awaited one by one rather than gathered: the batches complete close together, so most are done
        # by the time they are awaited, and a done future costs nothing to await.
        for ack in await self._send_batches(session.producer, tail.topic, outgoing):
            try:
                await ack
            except Exception as exc:  # noqa: BLE001 - every future is awaited, the first failure is raised
                failed = failed or exc
        if failed is not None:
            # Nothing is recorded: the next session republishes from the last recorded position.
            raise failed
        if self.after_ack is not None and outgoing:
            self.after_ack(tail.context, [o.message for o in outgoing])
        # Counted as soon as the broker acknowledged them, before the position moves: whoever sees the new
        # position (``positions()``) also sees them counted.
        tail.published += len(outgoing)
        metrics.events_published(tail.context, len(outgoing))
        tail.position = through
        await self._store_position(session.lock_conn, tail)

    async def _send_batches(
        self, producer: AIOKafkaProducer, topic: str, outgoing: Sequence[_Outgoing]
    ) -> list[asyncio.Future[Any]]:
        """Enqueue the messages in record batches of their own, one partition at a time: an ack per batch.

        aiokafka's ``send`` costs each message a coroutine, a partitioner call, a future and its metadata
        on the ack: the relay published at 0.6x of a bare ``send`` loop of the same messages. Filled here
        (``create_batch``/``send_batch``), a message costs only its append. The partition is the one
        ``send`` would choose (the producer's own partitioner on the key), and a partition's batches are
        enqueued in log order, so each case's events keep their order.
        """
        if not outgoing:
            return []
        partitions = sorted(await producer.partitions_for(topic))
        builders: dict[int, BatchBuilder] = {}
        acks: list[asyncio.Future[Any]] = []
        try:
            for o in outgoing:
                partition = self._partitioner(o.key, partitions, partitions)
                builder = builders.get(partition)
                if builder is None:
                    builder = builders[partition] = producer.create_batch()
                if builder.append(timestamp=None, key=o.key, value=o.value, headers=o.wire) is None:
                    # Full: enqueue it (this waits while the partition's previous batch is not yet taken by
                    # the sender, which lets the loop ship it) and go on in a new one, which takes any one
                    # message (the broker judges its size, as it would ``send``'s).
                    acks.append(await producer.send_batch(builder, topic, partition=partition))
                    builder = builders[partition] = producer.create_batch()
                    builder.append(timestamp=None, key=o.key, value=o.value, headers=o.wire)
            for partition, builder in builders.items():
                acks.append(await producer.send_batch(builder, topic, partition=partition))
        except BaseException:
            # The session ends on this error: the batches already enqueued still complete, and their
            # outcome is not wanted (without this asyncio logs each failed one as never retrieved).
            for ack in acks:
                ack.add_done_callback(_ignore_outcome)
            raise
        return acks

    async def _verify(self, session: _Session) -> None:
        """Check that each topic is still the one the position was published to; if not, end the session's
        producer (``TopicsRecreatedError``) so that the topic can be emptied and republished."""
        # Also proves the lock's session is alive: a relay that lost it must not go on publishing.
        await session.lock_conn.execute("SELECT 1")
        topics = [t.topic for t in session.tails]
        states = await asyncio.to_thread(describe_topics, self.bootstrap_servers, topics, self._security)
        if len(states) < len(topics):
            await asyncio.to_thread(
                ensure_topics, self.bootstrap_servers, topics, self._partitions, self._security
            )
            states = await asyncio.to_thread(describe_topics, self.bootstrap_servers, topics, self._security)
        recreated = []
        for tail in session.tails:
            state = states.get(tail.topic)
            if state is None or state.topic_id == tail.topic_id:
                continue  # unchanged, or not yet visible after its creation: the next check sees it
            if tail.topic_id is not None and state.topic_id is not None:
                log.warning(
                    "topic %s is not the one published to up to position %d (id %s, was %s): "
                    "emptying it and republishing %s from the store",
                    tail.topic,
                    tail.position,
                    state.topic_id,
                    tail.topic_id,
                    tail.context,
                )
                recreated.append(tail)
                continue
            if state.partitions != self._partitions:
                log.warning(
                    "topic %s has %d partitions, not the configured %d (auto-created by a client?)",
                    tail.topic,
                    state.partitions,
                    self._partitions,
                )
            tail.topic_id = state.topic_id
            await self._store_position(session.lock_conn, tail)
        if recreated:
            # Sends the producer retried after the broker's loss may already have landed on the new topic,
            # ahead of the history that the republish puts there: a subscriber from offset 0 would see a
            # case's later versions first. So the producer stops here, and the topic is emptied before the
            # republish (``_refill``).
            raise TopicsRecreatedError(recreated)

    async def _refill(self, lock_conn: psycopg.AsyncConnection[Any], tails: Sequence[_Tail]) -> None:
        """Empty the recreated topics and record that they are republished from the first position.

        Position 0 is first recorded with the topic id it was published to, so a crash before the topics
        are empty again finds the mismatch at the next start and empties them again; the new topic's id is
        recorded only once it is empty.
        """
        for tail in tails:
            tail.position = 0
            tail.hole = None
            await self._store_position(lock_conn, tail)
        topics = [t.topic for t in tails]
        await asyncio.to_thread(
            recreate_topics, self.bootstrap_servers, topics, self._partitions, self._security
        )
        states = await asyncio.to_thread(describe_topics, self.bootstrap_servers, topics)
        for tail in tails:
            state = states.get(tail.topic)
            tail.topic_id = None if state is None else state.topic_id
            await self._store_position(lock_conn, tail)
        # A consumer's positions in a deleted topic are void in the new one (the broker dropped the group's
        # committed offsets with the topic, but not what a running consumer holds in memory), and its
        # metadata may still show the old partitions or none: told before the republish, it reads again
        # from offset 0 (consumers/wakeup.py).
        notices = [recreated_notice(topic) for topic in topics]
        try:
            await lock_conn.execute(
                "SELECT pg_notify(%s, notice) FROM unnest(%s::text[]) AS notice",
                (self._published_channel, notices),
            )
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise LockLostError(f"the relay's database session is gone: {exc}") from exc

    async def _apply_rewinds(self, session: _Session) -> None:
        with self._rewinds_lock:
            rewinds, self._rewinds = self._rewinds, {}
        for tail in session.tails:
            if tail.context in rewinds:
                tail.position = rewinds[tail.context]
                tail.hole = None
                tail.due = True
                await self._store_position(session.lock_conn, tail)
                log.info("%s: republishing from notification id %d", tail.context, tail.position + 1)

    # ------------------------------------------------------------------- SQL

    async def _stored_positions(
        self, conn: psycopg.AsyncConnection[Any]
    ) -> dict[str, tuple[int, str | None]]:
        cursor = await conn.execute(
            sql.SQL("SELECT context, position, topic_id FROM {}").format(_positions_table(self._base_schema))
        )
        return {str(c): (int(p), None if t is None else str(t)) for c, p, t in await cursor.fetchall()}

    async def _store_position(self, conn: psycopg.AsyncConnection[Any], tail: _Tail) -> None:
        # Written on the lock's own connection: if that session died, the lock went with it and this fails.
        # The same statement NOTIFYs the consumer groups that the topic has new records (delivered at commit,
        # so after the broker's ack): an asleep group wakes at once instead of polling the broker.
        upsert = sql.SQL(
            "INSERT INTO {} (context, position, topic_id, updated_at) VALUES (%s, %s, %s, now())"
            " ON CONFLICT (context) DO UPDATE"
            " SET position = excluded.position, topic_id = excluded.topic_id, updated_at = now()"
        ).format(_positions_table(self._base_schema))
        values: tuple[object, ...] = (tail.context, tail.position, tail.topic_id)
        now = time.monotonic()
        if now - tail.notified_at >= self.options.notify_every_s:
            notify = "WITH stored AS ({} RETURNING 1) SELECT pg_notify(%s, %s) FROM stored"
            upsert = sql.SQL(notify).format(upsert)
            values += (self._published_channel, tail.topic)
            tail.notified_at = now
        try:
            await conn.execute(upsert, values)
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise LockLostError(f"the relay's database session is gone: {exc}") from exc

    async def _writers(self, session: _Session, tail: _Tail) -> frozenset[str]:
        """The transactions that hold (or wait for) a lock on the events table that lets them write rows."""
        if tail.table_oid is None:
            schema, table = tail.app.events_schema, tail.app.events_table_name
            row = await (
                await session.lock_conn.execute(
                    "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname = %s AND c.relname = %s",
                    (schema, table),
                )
            ).fetchone()
            if row is None:
                raise LookupError(f"no events table {schema}.{table}")
            tail.table_oid = int(row[0])
        # Readers (AccessShareLock) and VACUUM (ShareUpdateExclusiveLock) never take notification ids.
        cursor = await session.lock_conn.execute(
            "SELECT DISTINCT virtualtransaction || '/' || coalesce(pid, 0) FROM pg_locks"
            " WHERE locktype = 'relation' AND relation = %s::oid"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND mode IN"
            " ('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')",
            (tail.table_oid,),
        )
        return frozenset(str(r[0]) for r in await cursor.fetchall())


# ------------------------------------------------------------------------------------------- entry points


async def run_relay(
    system: RelaySystem,
    bootstrap_servers: str,
    stop: asyncio.Event,
    *,
    republish_from: int | None = None,
    contexts: Collection[str] | None = None,
    options: RelayOptions | None = None,
) -> None:
    """Run a relay until ``stop`` is set: an asyncio task of ``caseledger up``, or ``caseledger relay``.

    ``republish_from`` (``caseledger relay --from POSITION``) republishes from that notification id, in
    every context or in ``contexts``, once this relay holds the lock.
    """
    system.database.name_process(ProcessKind.RELAY)
    relay = Relay(system, bootstrap_servers, options=options)
    if republish_from is not None:
        relay.republish_from(republish_from, contexts)
    runner = asyncio.create_task(relay.run())
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        relay.stop()
        stopper.cancel()
    await runner


class RelayThread:
    """A relay on an event loop of its own in a background thread, for synchronous callers."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="caseledger-relay", daemon=True)

    def _main(self) -> None:
        try:
            asyncio.run(self.relay.run())
        except BaseException as exc:  # noqa: BLE001 - handed to the thread that calls stop() or join()
            self.error = exc

    def start(self) -> RelayThread:
        """Start relaying in the background."""
        self._thread.start()
        return self

    def is_alive(self) -> bool:
        """True until the relay's run() returned or raised."""
        return self._thread.is_alive()

    def join(self, timeout: float = 30.0) -> None:
        """Wait for the relay to end, and re-raise what ended it, if it failed."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError("the relay did not stop in time")
        if self.error is not None:
            raise self.error

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the relay and wait for it; re-raises the relay's failure, if any."""
        self.relay.stop()
        self.join(timeout)
