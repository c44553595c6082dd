"""The processing core of a consumer group: one effect per event, in version order per case, poison parked.

Broker-independent and synchronous (psycopg 3). Each message is handled in ONE PostgreSQL transaction that
holds three things together: the handler's effect, the case's applied version, and the message's
(topic, partition, offset). A redelivered or replayed message therefore finds its version already applied
and has no second effect, whatever Kafka's committed offsets say.

The version, not the offset, decides what is a duplicate: a broker that comes back empty (the embedded
Tansu broker keeps nothing) numbers its offsets from zero again, and the relay republishes from the store.

A failing effect is retried with backoff, then parked in ``dead_letters``; the later events of that case
are held there too (Axon's sequenced dead-letter queue), while every other case flows on.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from contextvars import Token
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

import orjson
from psycopg import Connection, errors, sql
from psycopg.pq import TransactionStatus

from consumers.handling import HANDLING, Handling
from domain.base import DomainEvent
from infra import metrics
from infra.messaging.contract import Headers, ReceivedEvent
from infra.store.database import DATABASE_UNAVAILABLE
from infra.store.eventstore import CaseApplication
from infra.tracing import consumed_batch_span, consumed_span

log = logging.getLogger(__name__)

OPEN = ("parked", "held")
"""Dead-letter states that hold back the later events of their case."""

_ERROR_LIMIT = 8_000


class Handler(Protocol):
    """What a consumer group does with one event, inside the transaction that also records it."""

    def handle(self, conn: Connection[Any], event: DomainEvent, received: ReceivedEvent) -> None:
        """Apply the event's effect through ``conn``; raise to refuse it (it is retried, then parked)."""
        ...


@runtime_checkable
class BatchHandler(Handler, Protocol):
    """A handler that can also apply a batch's events in one go, with the effect of applying them in turn."""

    def handle_many(self, conn: Connection[Any], events: Sequence[tuple[DomainEvent, ReceivedEvent]]) -> None:
        """Apply the events' effects in their order through ``conn``; raise to refuse the whole batch."""
        ...


@dataclass(frozen=True)
class RawMessage:
    """A Kafka record as the broker delivered it: where it sits and its undecoded bytes."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: Headers

    @property
    def where(self) -> str:
        """``topic[partition]@offset``, for logs: never the value, which may hold personal data."""
        return f"{self.topic}[{self.partition}]@{self.offset}"


@dataclass(frozen=True)
class RetryPolicy:
    """How often a failing effect is tried again before it is parked: one wait before each new try."""

    delays: tuple[float, ...] = (0.05, 0.2, 1.0)

    @property
    def attempts(self) -> int:
        return len(self.delays) + 1


class Decision(Enum):
    """What to do with an event given the last version of its case this group applied."""

    DUPLICATE = "duplicate"
    APPLY = "apply"
    FILL_GAP = "fill_gap"


def decide(version: int, last_version: int) -> Decision:
    """Already applied, next in line, or after a gap that must be filled from the store first."""
    if version <= last_version:
        return Decision.DUPLICATE
    if version == last_version + 1:
        return Decision.APPLY
    return Decision.FILL_GAP


class Outcome(StrEnum):
    """What became of one delivered message; each outcome is recorded before the offset is committed."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    HELD = "held"
    PARKED = "parked"


@dataclass(frozen=True)
class RetryResult:
    """What ``dlq retry`` or ``dlq skip`` achieved: the dead letters resolved, and the one still parked."""

    resolved: tuple[int, ...]
    still_parked: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.still_parked is None


class EffectFailedError(Exception):
    """An event's effect could not be applied: its decoding or the group's handler refused it."""

    def __init__(self, received: ReceivedEvent, reason: str, cause: BaseException | None = None) -> None:
        super().__init__(f"{received.context} case {received.case_id} version {received.version}: {reason}")
        self.received = received
        self.detail = str(self)
        if cause is not None:
            self.detail += "\n" + "".join(traceback.format_exception(cause))


class BatchRefusedError(Exception):
    """A message of a batch needs the one-at-a-time path (retry, park): nothing of the batch was recorded."""


class DeadLetterNotFoundError(LookupError):
    """No dead letter with that id exists in this group."""


class DeadLetterNotParkedError(ValueError):
    """Only a parked dead letter can be skipped: a held one waits for the parked one before it."""


@dataclass(frozen=True)
class _Letter:
    id: int
    status: str
    context: str | None
    case_id: UUID | None
    version: int | None
    key: bytes | None
    value: bytes
    headers: Headers


def headers_to_json(headers: Headers) -> list[dict[str, str]]:
    """Headers as JSON that keeps their exact bytes (text when UTF-8, else hex) and stays readable."""
    out: list[dict[str, str]] = []
    for name, value in headers:
        try:
            out.append({"name": name, "value": value.decode()})
        except UnicodeDecodeError:
            out.append({"name": name, "hex": value.hex()})
    return out


def headers_from_json(items: Sequence[Mapping[str, str]]) -> Headers:
    """The inverse of ``headers_to_json``."""
    return tuple(
        (item["name"], item["value"].encode() if "value" in item else bytes.fromhex(item["hex"]))
        for item in items
    )


class EventStores(Protocol):
    """Where the events of every bounded context are stored."""

    def applications(self) -> list[CaseApplication[Any]]: ...


def event_stores(system: EventStores) -> dict[str, CaseApplication[Any]]:
    """Each bounded context's application, where the events of a gap are fetched from."""
    return {app.bounded_context: app for app in system.applications()}


class Processor:
    """One consumer group's processing of messages and of its dead letters, against one schema."""

    def __init__(
        self,
        group_id: str,
        handler: Handler,
        stores: Mapping[str, CaseApplication[Any]],
        schema: str,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.group_id = group_id
        self.handler = handler
        self.stores = stores
        self.schema = schema
        self.retry = retry or RetryPolicy()
        self._sleep = sleep

    # -------------------------------------------------------------------------------------- messages

    def process(self, conn: Connection[Any], message: RawMessage) -> Outcome:
        """Apply, skip, hold or park one message; whatever happens is committed before this returns.

        ``conn`` must be in autocommit mode: each step opens its own transaction. An exception escaping
        this method is not about the message (the database is unreachable, say): nothing of it was
        recorded, so the caller must not commit its offset.
        """
        outcome = self._process(conn, message)
        metrics.events_recorded(self.group_id, (outcome,))
        return outcome

    def _process(self, conn: Connection[Any], message: RawMessage) -> Outcome:
        # The message's span (a child of its ce_traceparent): the handler's statements are its children.
        with consumed_span(message.topic, self.group_id, message.headers):
            return self._process_traced(conn, message)

    def _process_traced(self, conn: Connection[Any], message: RawMessage) -> Outcome:
        try:
            received = ReceivedEvent.from_message(message.key, message.value, message.headers)
        except ValueError as exc:
            self._park_unreadable(conn, message, str(exc))
            return Outcome.PARKED
        handling = self._handling(received)
        try:
            failure: EffectFailedError | None = None
            for delay in (0.0, *self.retry.delays):
                if delay:
                    self._sleep(delay)
                try:
                    with conn.transaction():
                        return self._deliver(conn, received, message)
                except EffectFailedError as exc:
                    if conn.broken:
                        raise
                    failure = exc
                    log.info("%s: %s (attempt failed, will retry or park)", self.group_id, exc)
            assert failure is not None
            return self._park(conn, received, message, failure)
        finally:
            HANDLING.reset(handling)

    def _handling(self, received: ReceivedEvent) -> Token[Handling | None]:
        """Name the message in every log line until the token is reset (a context manager costs 3 µs)."""
        return HANDLING.set(
            Handling(self.group_id, str(received.case_id), received.version, received.wire_name)
        )

    def process_together(self, conn: Connection[Any], messages: Sequence[RawMessage]) -> list[Outcome]:
        """Record a batch in ONE transaction: one commit (and one WAL flush) instead of one per message.

        The cases are locked, and what was applied and read recorded, with one statement each for the whole
        batch; a handler that can apply many events at once (``BatchHandler``) gets them all in one call.

        Only for the path where every message applies, is a duplicate or is held: if one is unreadable or
        its effect fails, the whole transaction is rolled back and ``BatchRefusedError`` raised, so that
        nothing of the batch is recorded and the caller can take the messages one at a time through
        ``process`` (retries, then parking). Savepoints per message would cost two round trips each.
        """
        outcomes: list[Outcome] = []
        together = isinstance(self.handler, BatchHandler)
        with conn.transaction():
            received = [self._read_for_batch(message) for message in messages]
            cases = self._lock_cases(conn, {(r.context, r.case_id) for r in received})
            applied: dict[tuple[str, UUID], int] = {}
            effects: list[tuple[DomainEvent, ReceivedEvent]] = []
            for message, event in zip(messages, received, strict=True):
                handling = self._handling(event)
                try:
                    with consumed_span(message.topic, self.group_id, message.headers):
                        outcome, due = self._decide_in_batch(conn, event, message, cases)
                        for missing in due:
                            if together:
                                effects.append((self._decoded(missing), missing))
                            else:
                                self._effect(conn, missing)
                except EffectFailedError as exc:
                    if conn.broken:
                        raise
                    raise BatchRefusedError(message.where) from exc
                finally:
                    HANDLING.reset(handling)
                if outcome is Outcome.APPLIED:
                    applied[(event.context, event.case_id)] = event.version
                outcomes.append(outcome)
            if effects:
                self._effects_together(conn, effects, messages)
            self._record_batch(conn, applied, messages)
        # Counted once committed, per batch: a refused batch is counted by ``process``, message by message.
        metrics.events_recorded(self.group_id, outcomes)
        return outcomes

    def _read_for_batch(self, message: RawMessage) -> ReceivedEvent:
        try:
            return ReceivedEvent.from_message(message.key, message.value, message.headers)
        except ValueError as exc:
            raise BatchRefusedError(message.where) from exc

    def _decide_in_batch(
        self,
        conn: Connection[Any],
        received: ReceivedEvent,
        message: RawMessage,
        cases: dict[tuple[str, UUID], tuple[int, bool]],
    ) -> tuple[Outcome, list[ReceivedEvent]]:
        """The message's outcome against its case's version so far in the batch, and the events to apply."""
        case = (received.context, received.case_id)
        last, blocked = cases[case]
        if decide(received.version, last) is Decision.DUPLICATE:
            return Outcome.DUPLICATE, []
        if blocked:
            self._insert_letter(conn, received, message, status="held", error=None, attempts=0)
            return Outcome.HELD, []
        due = self._missing(received, last) if decide(received.version, last) is Decision.FILL_GAP else []
        cases[case] = (received.version, blocked)
        return Outcome.APPLIED, [*due, received]

    def _decoded(self, received: ReceivedEvent) -> DomainEvent:
        store = self.stores.get(received.context)
        if store is None:
            raise EffectFailedError(received, f"no event store for context {received.context!r}")
        try:
            return received.event(store.mapper)
        except DATABASE_UNAVAILABLE:
            raise  # the key store is away, not the event at fault: see ``_effect``
        except Exception as exc:
            raise EffectFailedError(received, f"{type(exc).__name__}: {exc}", exc) from exc

    def _effects_together(
        self,
        conn: Connection[Any],
        effects: Sequence[tuple[DomainEvent, ReceivedEvent]],
        messages: Sequence[RawMessage],
    ) -> None:
        assert isinstance(self.handler, BatchHandler)
        try:
            # The batch's writes belong to no single message: their span is the batch's, linked to each.
            topics = ", ".join(sorted({m.topic for m in messages}))
            with consumed_batch_span(topics, self.group_id, [m.headers for m in messages]):
                self.handler.handle_many(conn, effects)
            if conn.info.transaction_status is TransactionStatus.INERROR:
                raise RuntimeError("the handler swallowed a database error: its transaction is aborted")
        except DATABASE_UNAVAILABLE:
            raise
        except Exception as exc:
            if conn.broken:
                raise
            raise BatchRefusedError(f"{len(effects)} events from {messages[0].where}") from exc

    def _deliver(self, conn: Connection[Any], received: ReceivedEvent, message: RawMessage) -> Outcome:
        last, blocked = self._lock_case(conn, received.context, received.case_id)
        if decide(received.version, last) is Decision.DUPLICATE:
            self._record_offset(conn, message)
            return Outcome.DUPLICATE
        if blocked:
            self._insert_letter(conn, received, message, status="held", error=None, attempts=0)
            self._record_offset(conn, message)
            return Outcome.HELD
        self._apply(conn, received, last)
        self._record_applied(conn, received, message)
        return Outcome.APPLIED

    def _park(
        self, conn: Connection[Any], received: ReceivedEvent, message: RawMessage, failure: EffectFailedError
    ) -> Outcome:
        with conn.transaction():
            last, _ = self._lock_case(conn, received.context, received.case_id)
            if received.version <= last:
                # Another instance of the group applied it meanwhile (a rebalance): nothing to park.
                self._record_offset(conn, message)
                return Outcome.DUPLICATE
            self._insert_letter(
                conn, received, message, status="parked", error=failure.detail, attempts=self.retry.attempts
            )
            self._record_offset(conn, message)
        log.warning("%s: parked %s", self.group_id, failure)
        return Outcome.PARKED

    def _park_unreadable(self, conn: Connection[Any], message: RawMessage, error: str) -> None:
        with conn.transaction():
            conn.execute(
                self._sql(
                    """INSERT INTO {s}.dead_letters (group_id, topic, partition, kafka_offset, wire_name, key,
                           headers, value, error, attempts, status)
                       VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 1, 'parked')
                       ON CONFLICT (group_id, topic, partition, kafka_offset)
                           WHERE case_id IS NULL AND status IN ('parked', 'held') DO NOTHING"""
                ),
                (
                    self.group_id,
                    message.topic,
                    message.partition,
                    message.offset,
                    dict(message.headers).get("ce_type", b"").decode(errors="replace") or None,
                    message.key,
                    orjson.dumps(headers_to_json(message.headers)).decode(),
                    message.value,
                    error[:_ERROR_LIMIT],
                ),
            )
            self._record_offset(conn, message)
        log.warning("%s: parked an unreadable message at %s", self.group_id, message.where)

    # -------------------------------------------------------------------------------------- the effect

    def _apply(self, conn: Connection[Any], received: ReceivedEvent, last: int) -> None:
        """Apply the missing versions first (a gap means they went astray), then the event itself."""
        if decide(received.version, last) is Decision.FILL_GAP:
            for missing in self._missing(received, last):
                self._effect(conn, missing)
        self._effect(conn, received)

    def _effect(self, conn: Connection[Any], received: ReceivedEvent) -> None:
        event = self._decoded(received)
        try:
            self.handler.handle(conn, event, received)
            if conn.info.transaction_status is TransactionStatus.INERROR:
                raise RuntimeError("the handler swallowed a database error: its transaction is aborted")
        except DATABASE_UNAVAILABLE:
            # Not a refusal of this event: the database is away. Parking it would need the database too,
            # and could succeed just after it came back; the caller waits the outage out and retries.
            raise
        except Exception as exc:
            # Any refusal, whatever its type, is retried and then parked: never passed over as success.
            raise EffectFailedError(received, f"{type(exc).__name__}: {exc}", exc) from exc

    def _missing(self, received: ReceivedEvent, last: int) -> list[ReceivedEvent]:
        store = self.stores.get(received.context)
        if store is None:
            raise EffectFailedError(received, f"no event store for context {received.context!r}")
        stored = store.recorder.select_events(received.case_id, gt=last, lte=received.version - 1)
        found = [s.originator_version for s in stored]
        if found != list(range(last + 1, received.version)):
            raise EffectFailedError(received, f"the store lacks versions after {last}: it has {found}")
        # The store's records carry no notification position; 0 marks "fetched to fill a gap".
        return [
            ReceivedEvent(received.context, received.case_id, s.originator_version, s.topic, 0, s.state)
            for s in stored
        ]

    # -------------------------------------------------------------------------------------- tracking

    def _lock_case(self, conn: Connection[Any], context: str, case_id: UUID) -> tuple[int, bool]:
        """The case's last applied version and whether it has open dead letters, its row locked.

        The row lock makes two instances of the group (a rebalance in progress, or ``dlq retry`` beside
        a live consumer) take their turns on one case instead of interleaving it.
        """
        return self._lock_cases(conn, {(context, case_id)})[(context, case_id)]

    def _lock_cases(
        self, conn: Connection[Any], cases: set[tuple[str, UUID]]
    ) -> dict[tuple[str, UUID], tuple[int, bool]]:
        """``_lock_case`` for every case of a batch in one round trip, locked in (context, case) order.

        The rows are created if missing and locked either way (ON CONFLICT DO UPDATE waits for a concurrent
        holder, then returns the version it committed), their open dead letters looked up with them.
        """
        contexts, ids = zip(*sorted(cases), strict=True) if cases else ((), ())
        found = conn.execute(
            self._sql(
                """INSERT INTO {s}.consumer_applied AS a (group_id, context, case_id, last_version)
                   SELECT %(g)s, k.context, k.case_id, 0
                   FROM unnest(%(c)s::text[], %(id)s::uuid[]) AS k(context, case_id)
                   ORDER BY k.context, k.case_id
                   ON CONFLICT (group_id, context, case_id) DO UPDATE SET last_version = a.last_version
                   RETURNING a.context, a.case_id, a.last_version,
                       EXISTS (SELECT 1 FROM {s}.dead_letters d
                               WHERE d.group_id = %(g)s AND d.context = a.context
                                 AND d.case_id = a.case_id AND d.status IN ('parked', 'held'))"""
            ),
            {"g": self.group_id, "c": list(contexts), "id": list(ids)},
        ).fetchall()
        return {(row[0], row[1]): (int(row[2]), bool(row[3])) for row in found}

    def _record_batch(
        self, conn: Connection[Any], applied: Mapping[tuple[str, UUID], int], messages: Sequence[RawMessage]
    ) -> None:
        """The batch's last applied version per case and last offset per partition: one statement each, sent
        together (one round trip)."""
        with conn.pipeline():
            if applied:
                contexts, ids = zip(*applied, strict=True)
                conn.execute(
                    self._sql(
                        """UPDATE {s}.consumer_applied AS a SET last_version = v.version, updated_at = now()
                           FROM unnest(%s::text[], %s::uuid[], %s::bigint[]) AS v(context, case_id, version)
                           WHERE a.group_id = %s AND a.context = v.context AND a.case_id = v.case_id"""
                    ),
                    (list(contexts), list(ids), list(applied.values()), self.group_id),
                )
            # The last offset processed per partition, in the order the broker delivered them.
            last = {(m.topic, m.partition): m.offset for m in messages}
            topics, partitions = zip(*last, strict=True)
            conn.execute(
                self._sql(
                    """INSERT INTO {s}.consumer_offsets (group_id, topic, partition, last_offset)
                       SELECT %s, o.topic, o.partition, o.last_offset
                       FROM unnest(%s::text[], %s::integer[], %s::bigint[])
                           AS o(topic, partition, last_offset)
                       ON CONFLICT (group_id, topic, partition)
                       DO UPDATE SET last_offset = EXCLUDED.last_offset, updated_at = now()"""
                ),
                (self.group_id, list(topics), list(partitions), list(last.values())),
            )

    def _record_applied(self, conn: Connection[Any], received: ReceivedEvent, message: RawMessage) -> None:
        conn.execute(
            self._sql(
                """WITH applied AS (
                       UPDATE {s}.consumer_applied SET last_version = %(v)s, updated_at = now()
                       WHERE group_id = %(g)s AND context = %(c)s AND case_id = %(id)s)
                   INSERT INTO {s}.consumer_offsets (group_id, topic, partition, last_offset)
                   VALUES (%(g)s, %(t)s, %(p)s, %(o)s)
                   ON CONFLICT (group_id, topic, partition)
                   DO UPDATE SET last_offset = EXCLUDED.last_offset, updated_at = now()"""
            ),
            {
                "g": self.group_id,
                "c": received.context,
                "id": received.case_id,
                "v": received.version,
                "t": message.topic,
                "p": message.partition,
                "o": message.offset,
            },
        )

    def _set_last_version(self, conn: Connection[Any], context: str, case_id: UUID, version: int) -> None:
        conn.execute(
            self._sql(
                """UPDATE {s}.consumer_applied SET last_version = %s, updated_at = now()
                   WHERE group_id = %s AND context = %s AND case_id = %s"""
            ),
            (version, self.group_id, context, case_id),
        )

    def _record_offset(self, conn: Connection[Any], message: RawMessage) -> None:
        # The last offset processed, not the greatest: after an empty broker restart offsets start again.
        conn.execute(
            self._sql(
                """INSERT INTO {s}.consumer_offsets (group_id, topic, partition, last_offset)
                   VALUES (%s, %s, %s, %s)
                   ON CONFLICT (group_id, topic, partition)
                   DO UPDATE SET last_offset = EXCLUDED.last_offset, updated_at = now()"""
            ),
            (self.group_id, message.topic, message.partition, message.offset),
        )

    def _insert_letter(
        self,
        conn: Connection[Any],
        received: ReceivedEvent,
        message: RawMessage,
        *,
        status: str,
        error: str | None,
        attempts: int,
    ) -> None:
        conn.execute(
            self._sql(
                """INSERT INTO {s}.dead_letters (group_id, context, case_id, version, topic, partition,
                       kafka_offset, wire_name, key, headers, value, error, attempts, status)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                   ON CONFLICT (group_id, context, case_id, version)
                       WHERE status IN ('parked', 'held') DO NOTHING"""
            ),
            (
                self.group_id,
                received.context,
                received.case_id,
                received.version,
                message.topic,
                message.partition,
                message.offset,
                received.wire_name,
                message.key,
                orjson.dumps(headers_to_json(message.headers)).decode(),
                message.value,
                None if error is None else error[:_ERROR_LIMIT],
                attempts,
                status,
            ),
        )

    # -------------------------------------------------------------------------------------- dead letters

    def retry_case(self, conn: Connection[Any], context: str, case_id: UUID, by: str) -> RetryResult:
        """Re-apply the case's parked and held messages in version order, through the same path.

        Stops at the first that still fails (it stays parked, with the new error; the later ones stay
        held). A message held while this runs is picked up too: the next letter is read afresh each time.
        """
        resolved: list[int] = []
        while (letter := self._next_open(conn, context, case_id)) is not None:
            failure = self._retry_letter(conn, letter, by)
            if failure is not None:
                return RetryResult(tuple(resolved), still_parked=letter.id, error=failure)
            resolved.append(letter.id)
        return RetryResult(tuple(resolved))

    def retry_dead_letter(self, conn: Connection[Any], dead_letter_id: int, by: str) -> RetryResult:
        """Retry the case of one dead letter; an unreadable message is read again (after a fix)."""
        letter = self._letter(conn, dead_letter_id)
        if letter.context is not None and letter.case_id is not None:
            return self.retry_case(conn, letter.context, letter.case_id, by)
        if letter.status not in OPEN:
            return RetryResult(())
        try:
            received = ReceivedEvent.from_message(letter.key, letter.value, letter.headers)
        except ValueError as exc:
            with conn.transaction():
                conn.execute(
                    self._sql(
                        "UPDATE {s}.dead_letters SET attempts = attempts + 1, error = %s WHERE id = %s"
                    ),
                    (str(exc)[:_ERROR_LIMIT], letter.id),
                )
            return RetryResult((), still_parked=letter.id, error=str(exc))
        try:
            with conn.transaction():
                conn.execute(
                    self._sql(
                        """UPDATE {s}.dead_letters SET context = %s, case_id = %s, version = %s,
                               wire_name = %s WHERE id = %s"""
                    ),
                    (received.context, received.case_id, received.version, received.wire_name, letter.id),
                )
        except errors.UniqueViolation:
            # The same case version is already waiting in the queue: this copy adds nothing.
            self._resolve(conn, letter.id, "retried", by, "a copy of an event already in the queue")
            return RetryResult((letter.id,))
        return self.retry_case(conn, received.context, received.case_id, by)

    def skip(self, conn: Connection[Any], dead_letter_id: int, by: str, reason: str) -> RetryResult:
        """Pass over a parked message for good, recording who and why; then retry the held ones."""
        if not by.strip() or not reason.strip():
            raise ValueError("skipping an event needs the name of who skips it and the reason")
        letter = self._letter(conn, dead_letter_id)
        with conn.transaction():
            # The case row first, then the letter: the order every other path locks them in.
            context, case_id, version = letter.context, letter.case_id, letter.version
            last = None
            if context is not None and case_id is not None:
                last, _ = self._lock_case(conn, context, case_id)
            status = conn.execute(
                self._sql("SELECT status FROM {s}.dead_letters WHERE id = %s FOR UPDATE"), (letter.id,)
            ).fetchone()
            if status is None or status[0] != "parked":
                raise DeadLetterNotParkedError(
                    f"dead letter {letter.id} is {status and status[0]}, not parked"
                )
            self._resolve(conn, letter.id, "skipped", by, reason)
            if context is not None and case_id is not None and version is not None and last is not None:
                self._pass_over(conn, context, case_id, version, last)
        log.warning("%s: dead letter %s skipped by %s: %s", self.group_id, letter.id, by, reason)
        if letter.context is None or letter.case_id is None:
            return RetryResult((letter.id,))
        after = self.retry_case(conn, letter.context, letter.case_id, by)
        return RetryResult((letter.id, *after.resolved), after.still_parked, after.error)

    def _pass_over(self, conn: Connection[Any], context: str, case_id: UUID, version: int, last: int) -> None:
        """Mark a version as done without its effect; the missing versions before it still apply."""
        if version <= last:
            return
        if decide(version, last) is Decision.FILL_GAP:
            for missing in self._missing(ReceivedEvent(context, case_id, version, "", 0, b""), last):
                self._effect(conn, missing)
        self._set_last_version(conn, context, case_id, version)

    def _retry_letter(self, conn: Connection[Any], letter: _Letter, by: str) -> str | None:
        """Apply one open letter (with retries); the error text when it is parked again, else None."""
        received = ReceivedEvent.from_message(letter.key, letter.value, letter.headers)
        failure: EffectFailedError | None = None
        for delay in (0.0, *self.retry.delays):
            if delay:
                self._sleep(delay)
            try:
                with conn.transaction():
                    last, _ = self._lock_case(conn, received.context, received.case_id)
                    status = conn.execute(
                        self._sql("SELECT status FROM {s}.dead_letters WHERE id = %s FOR UPDATE"),
                        (letter.id,),
                    ).fetchone()
                    if status is None or status[0] not in OPEN:
                        return None
                    if decide(received.version, last) is Decision.DUPLICATE:
                        self._resolve(conn, letter.id, "retried", by, "already applied")
                        return None
                    self._apply(conn, received, last)
                    self._set_last_version(conn, received.context, received.case_id, received.version)
                    self._resolve(conn, letter.id, "retried", by, "applied on retry")
                    return None
            except EffectFailedError as exc:
                if conn.broken:
                    raise
                failure = exc
        assert failure is not None
        with conn.transaction():
            conn.execute(
                self._sql(
                    """UPDATE {s}.dead_letters SET status = 'parked', attempts = attempts + %s, error = %s
                       WHERE id = %s AND status IN ('parked', 'held')"""
                ),
                (self.retry.attempts, failure.detail[:_ERROR_LIMIT], letter.id),
            )
        return str(failure)

    def _resolve(self, conn: Connection[Any], letter_id: int, status: str, by: str, reason: str) -> None:
        conn.execute(
            self._sql(
                """UPDATE {s}.dead_letters SET status = %s, resolved_at = now(), resolved_by = %s,
                       resolution_reason = %s WHERE id = %s"""
            ),
            (status, by, reason, letter_id),
        )

    def _next_open(self, conn: Connection[Any], context: str, case_id: UUID) -> _Letter | None:
        row = conn.execute(
            self._sql(
                """SELECT id, status, context, case_id, version, key, value, headers FROM {s}.dead_letters
                   WHERE group_id = %s AND context = %s AND case_id = %s AND status IN ('parked', 'held')
                   ORDER BY version, id LIMIT 1"""
            ),
            (self.group_id, context, case_id),
        ).fetchone()
        return None if row is None else _letter_from_row(row)

    def _letter(self, conn: Connection[Any], dead_letter_id: int) -> _Letter:
        row = conn.execute(
            self._sql(
                """SELECT id, status, context, case_id, version, key, value, headers FROM {s}.dead_letters
                   WHERE id = %s AND group_id = %s"""
            ),
            (dead_letter_id, self.group_id),
        ).fetchone()
        if row is None:
            raise DeadLetterNotFoundError(f"no dead letter {dead_letter_id} in group {self.group_id}")
        return _letter_from_row(row)

    def _sql(self, template: str) -> sql.Composed:
        return sql.SQL(template).format(s=sql.Identifier(self.schema))


def _letter_from_row(row: tuple[Any, ...]) -> _Letter:
    return _Letter(
        id=row[0],
        status=row[1],
        context=row[2],
        case_id=row[3],
        version=row[4],
        key=None if row[5] is None else bytes(row[5]),
        value=bytes(row[6]),
        headers=headers_from_json(row[7]),
    )
