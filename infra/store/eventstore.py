"""The event store: `eventsourcing` applications on PostgreSQL with our mapper in its fastest setup."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar, Concatenate, Generic, Literal, ParamSpec, TypeVar, cast
from uuid import UUID

import psycopg
from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.persistence import (
    InfrastructureFactory,
    IntegrityError,
    InterfaceError,
    Mapper,
    OperationalError,
    ProgrammingError,
    Recording,
    StoredEvent,
    Transcoder,
)
from eventsourcing.postgres import (
    ConnectionPool,
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
)
from eventsourcing.utils import Environment, EnvType, get_topic, retry
from psycopg import Connection, sql
from psycopg.adapt import PyFormat
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import DictRow
from psycopg.types.composite import CompositeInfo, register_composite

from domain.base import Actor, CaseAggregate, Context, DomainEvent
from domain.sla import require_clock_days_in_calendar
from infra.clock import Clock
from infra.store.database import Database
from infra.store.keystore import SubjectKeys
from infra.store.mapper import CaseEventMapper, JsonTranscoder, personal_data_of
from infra.tracing import current_trace_context

A = TypeVar("A", bound=CaseAggregate)
P = ParamSpec("P")


class CaseNotFoundError(LookupError):
    """No case with that id exists in this context."""

    def __init__(self, kind: str, case_id: UUID) -> None:
        super().__init__(f"no {kind} with id {case_id}")
        self.case_id = case_id


class ConcurrencyConflictError(Exception):
    """Another command changed the case first: retry against the current version."""

    def __init__(self, case_id: UUID, expected_version: int | None, current_version: int) -> None:
        super().__init__(
            f"case {case_id} is at version {current_version}, not {expected_version}: it changed meanwhile"
        )
        self.case_id = case_id
        self.expected_version = expected_version
        self.current_version = current_version


@dataclass(frozen=True)
class Caller:
    """Who sends a command, and which request or event it belongs to; the server adds the time."""

    actor: Actor
    correlation_id: UUID
    causation_id: UUID | None = None


@dataclass(frozen=True)
class CommandResult:
    """What a command returns: the case, its new version and the store position of its last event."""

    case_id: UUID
    version: int
    position: int


@dataclass(frozen=True)
class Alongside:
    """A data-modifying statement committed in the very statement that stores a command's events, or not
    at all: it may read the positions the events were given from ``stored(notification_id)``, and it writes
    to ``table`` (a unique violation there rolls the events back and raises ``AlongsideRefusedError``)."""

    statement: sql.Composable
    params: Sequence[Any]
    table: str


StatementAlongside = Callable[[UUID, int], Alongside]
"""The statement to commit with the events stored on a case, given the case and its new version."""


class AlongsideRefusedError(Exception):
    """The statement alongside the events met a unique constraint of its table: nothing was stored."""


@dataclass
class _Alongside:
    case_id: UUID
    statement: StatementAlongside
    stored: CommandResult | None = None


_alongside: ContextVar[_Alongside | None] = ContextVar("caseledger_statement_alongside", default=None)


@contextmanager
def committed_with(
    case_id: UUID, statement: StatementAlongside
) -> Iterator[Callable[[], CommandResult | None]]:
    """While the block runs, the first events stored on ``case_id`` are inserted by one SQL statement (one
    round trip, one commit) that also runs ``statement`` (the API keeps an Idempotency-Key's answer so).
    Yields what those events stored once the block has stored them, else None (nothing stored on the case).
    """
    along = _Alongside(case_id, statement)
    token = _alongside.set(along)
    try:
        yield lambda: along.stored
    finally:
        _alongside.reset(token)


def insert_and_notify(
    table: sql.Composable,
    rows: int,
    alongside: sql.Composable | None = None,
    *,
    notify: bool = True,
    chain_hashes: bool = False,
) -> sql.Composed:
    """One statement that does what the library's insert function does, with binary parameters.

    The library's function takes a composite array as text, every payload byte escaped, then parsed back
    by the server and run through PL/pgSQL: that cost a command more than the insert itself. Here the
    events (``event_params``) go in binary: one event as four values, more as four arrays (psycopg's array
    dumper costs a single event 60 µs). The same rows in the same order, so the hash chain's trigger chains
    them as it does the library's; the same NOTIFY on the channel (``pg_notify`` is ``NOTIFY``); the
    notification ids in ascending order. ``alongside`` (a data-modifying statement that may read
    ``stored(notification_id)``) is committed in the same statement. Parameters: the events', the
    alongside statement's, the channel (none with ``notify=False``: the caller NOTIFYs after the commit).
    ``chain_hashes``: the events' own chain hashes are one more parameter after ``event_params``' (a value,
    or an array for several events; a NULL one is left to the chain's trigger, ``infra.audit.chain``).
    """
    columns = ", chain_hash" if chain_hashes else ""
    source = _SOURCES[(rows == 1, chain_hashes)]
    return sql.SQL(
        "WITH stored AS MATERIALIZED ("
        "INSERT INTO {table} (originator_id, originator_version, topic, state{columns}) {source} "
        "RETURNING notification_id){alongside} "
        "SELECT {notified}array_agg(notification_id ORDER BY notification_id) AS notification_ids FROM stored"
    ).format(
        table=table,
        columns=sql.SQL(columns),
        source=sql.SQL(source),
        notified=sql.SQL("pg_notify(%b, '') AS notified, " if notify else ""),
        alongside=sql.SQL("") if alongside is None else sql.SQL(", alongside AS ({})").format(alongside),
    )


_SOURCES = {
    (True, False): "VALUES (%b, %b::bigint, %b, %b)",
    (True, True): "VALUES (%b, %b::bigint, %b, %b, %b::bytea)",
    (False, False): "SELECT * FROM unnest(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[])",
    (False, True): "SELECT * FROM unnest(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[], %b::bytea[])",
}
"""``insert_and_notify``'s rows, by (one event, with their chain hashes)."""


def event_params(stored_events: Sequence[StoredEvent]) -> tuple[Any, Any, Any, Any]:
    """The events' parameters of ``insert_and_notify``, in the order they are to be chained."""
    if len(stored_events) == 1:
        (event,) = stored_events
        return _as_uuid(event.originator_id), event.originator_version, event.topic, event.state
    return (
        [_as_uuid(e.originator_id) for e in stored_events],
        [e.originator_version for e in stored_events],
        [e.topic for e in stored_events],
        [e.state for e in stored_events],
    )


def _as_uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)


class CaseRecorder(PostgresApplicationRecorder):
    """The library's recorder, whose inserts are one prepared statement with binary parameters
    (``insert_and_notify``): the library's insert function's rows, NOTIFY and notification ids, without
    its text-encoded composite array. A command's events are one round trip and one commit, the NOTIFY
    sent with them and committed just after (``_insert``); two writers of one case meet at the unique
    (originator_id, originator_version), raised as the library's ``IntegrityError``, so the command is
    refused as a conflict and nothing of it is stored.

    When ``committed_with`` gives a statement, the same statement commits it with the events and the
    NOTIFY, or none of them. A statement refused rolls the events back and leaves a hole in the
    notification ids, as any failed insert does (the relay passes holes).
    """

    @cached_property
    def _insert_one(self) -> bytes:
        # Composed once: psycopg would otherwise compose the query again on every command.
        return insert_and_notify(self._events_table, 1, notify=False).as_bytes(None)

    @cached_property
    def _insert_many(self) -> bytes:
        return insert_and_notify(self._events_table, 2, notify=False).as_bytes(None)

    @cached_property
    def _events_table(self) -> sql.Identifier:
        return sql.Identifier(self.datastore.schema, self.events_table_name)

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if not stored_events:
            return []
        if (
            not self.datastore.enable_db_functions
            or self.datastore.originator_id_type != "uuid"
            or self.datastore.lock_timeout
        ):
            # What the statement leaves out: the table lock of the library's other mode, text ids, and the
            # function's lock_timeout (0, no timeout, unless configured).
            ids: Sequence[int] | None = super().insert_events(stored_events, **kwargs)
            return ids
        along = _alongside.get()
        last = stored_events[-1]
        if along is None or along.stored is not None or last.originator_id != along.case_id:
            inserted: list[int] = self._insert(stored_events)
            return inserted
        alongside = along.statement(_as_uuid(last.originator_id), last.originator_version)
        statement = insert_and_notify(self._events_table, len(stored_events), alongside.statement)
        # Not retried like the library's insert: a lost connection may have lost the commit's answer only,
        # and the caller (the API's retry) finds out which from what the statement stored.
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            try:
                curs.execute(
                    statement,
                    (*event_params(stored_events), *alongside.params, self.channel_name),
                    prepare=True,
                )
            except psycopg.errors.UniqueViolation as refused:
                if refused.diag.table_name == alongside.table:
                    raise AlongsideRefusedError(str(refused)) from None
                raise
            inserted = _notification_ids(curs.fetchone())
        along.stored = CommandResult(_as_uuid(last.originator_id), last.originator_version, inserted[-1])
        return inserted

    # As the library retries its own insert: a statement that did commit before the connection was lost meets
    # the unique constraint when retried, a conflict, as with the library's.
    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _insert(self, stored_events: Sequence[StoredEvent]) -> list[int]:
        """The events in one transaction, then the NOTIFY in a transaction of its own, sent together.

        A NOTIFY in the events' transaction holds PostgreSQL's cluster-wide notify lock (taken before the
        commit) until its commit record is flushed, so every notifying commit of the cluster waits for the
        previous one's flush: with 8 writers that cut the inserts from 1,900-2,900 to 600-900 a second. After
        the commit, asynchronously committed (a NOTIFY is nothing to keep), it holds the lock for no flush.
        Both statements go in one pipeline, one round trip; the NOTIFY still follows every insert, and
        now only once its events are visible. A process that dies between the two leaves the relay to
        find the events at its next poll (``RelayOptions.idle_poll_s``), as after any lost NOTIFY.
        """
        statement = self._insert_one if len(stored_events) == 1 else self._insert_many
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            with conn.pipeline():
                curs.execute(statement, event_params(stored_events), prepare=True)
                conn.execute(_NOTIFY_COMMITTED, (self.channel_name,), prepare=True)
            return _notification_ids(curs.fetchone())


_NOTIFY_COMMITTED = b"SELECT set_config('synchronous_commit', 'off', true), pg_notify(%b, '')"
"""The NOTIFY of committed events, in a transaction of its own that waits for no flush."""


def _notification_ids(row: DictRow | None) -> list[int]:
    if row is None or row["notification_ids"] is None:
        raise ProgrammingError("the insert returned no notification ids")
    return [int(i) for i in row["notification_ids"]]


class StoreEnv(dict[str, str]):
    """An application's `eventsourcing` settings, and the process's pool its datastore borrows.

    A dict, so that it passes unchanged through the services' constructors (``Claims(env, ...)``).
    """

    def __init__(self, settings: Mapping[str, str], pool: ConnectionPool[Connection[DictRow]]) -> None:
        super().__init__(settings)
        self.pool = pool


def store_env(database_url: str, schema: str, pool_size: int, max_overflow: int) -> dict[str, str]:
    """The `eventsourcing` PostgreSQL settings for a database URL (socket directories included); an
    application built on them has a pool of its own (``shared_store_env`` shares the process's)."""
    params = conninfo_to_dict(database_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(params.get("dbname", "postgres")),
        "POSTGRES_HOST": str(params.get("host", "127.0.0.1")),
        "POSTGRES_PORT": str(params.get("port", "5432")),
        "POSTGRES_USER": str(params.get("user", "postgres")),
        "POSTGRES_PASSWORD": str(params.get("password", "")),
        "POSTGRES_SCHEMA": schema,
        # The insert runs in a PL/pgSQL function, so the table lock that keeps the notification log
        # gap-free is held for one round trip (architecture brief: 0.97x bare with one writer).
        "POSTGRES_ENABLE_DB_FUNCTIONS": "y",
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(max_overflow),
        "CREATE_TABLE": "y",
    }


class PoolSharingDatastore(PostgresDatastore):
    """The library's datastore for one application's schema, on a pool that other schemas' datastores use.

    The library adapts its ``stored_event_uuid`` composite type with psycopg's default namedtuple, which
    psycopg caches by type name: every schema's type would get the SAME Python class, and on a shared
    connection the dumper registered last (another schema's type oid) would win, so an insert would call
    this schema's function with another schema's type. Here each datastore adapts its types with classes
    of its own, registered on every connection it is given.
    """

    def __init__(self, like: PostgresDatastore, pool: ConnectionPool[Connection[DictRow]]) -> None:
        # The connection parameters are the shared pool's: the pool built here is never opened.
        super().__init__(
            dbname="",
            host="",
            port=0,
            user="",
            password="",
            schema=like.schema,
            lock_timeout=like.lock_timeout,
            pre_ping=like.pre_ping,
            single_row_tracking=like.single_row_tracking,
            originator_id_type=cast(Literal["uuid", "text"], like.originator_id_type),
            enable_db_functions=like.enable_db_functions,
        )
        self.pool = pool

    def close(self) -> None:
        """Leave the pool open: it is the process's, and its owner closes it (``Database.close``)."""

    def register_type_adapters(self) -> None:
        unregistered = [name for name in self.db_type_names if name not in self.psycopg_type_adapters]
        if not unregistered:
            return
        with self.get_connection() as conn:
            for name in unregistered:
                info = CompositeInfo.fetch(conn, f"{self.schema}.{name}")
                if info is None:
                    continue  # not created yet: create_table registers it again afterwards
                own = namedtuple(f"{self.schema}_{name}", info.field_names)  # type: ignore[misc]
                register_composite(info, conn, own)
                self.psycopg_type_adapters[name] = info
                self.psycopg_python_types[name] = own

    @contextmanager
    def get_connection(self) -> Iterator[Connection[DictRow]]:
        with super().get_connection() as conn:
            # Inside the library's block, so that a failure here is translated like any other.
            for name, info in self.psycopg_type_adapters.items():
                own = self.psycopg_python_types[name]
                if conn.adapters.get_dumper(own, PyFormat.TEXT).oid != info.oid:
                    register_composite(info, conn, own)
            yield conn


def shared_store_env(database: Database, schema: str) -> StoreEnv:
    """The settings of an application whose datastore borrows ``database``'s pool instead of opening one."""
    # The pool sizes are the shared pool's; the library's own pool object is built but never opened.
    return StoreEnv(store_env(database.url, schema, 1, 0), database.pool)


def ensure_schema(database: Database, schema: str) -> None:
    """Create the schema the applications' tables live in (the library creates tables, not schemas)."""
    with database.connection() as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))


def drop_schemas(database_url: str, prefix: str) -> None:
    """Drop the schema ``prefix`` and the applications' schemas named after it (tests and benchmarks only:
    they run it after the system that used the schemas is closed, so it opens a connection of its own)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname = %s OR nspname LIKE %s",
            (prefix, prefix.replace("_", "\\_") + "\\_%"),
        ).fetchall()
        for (name,) in rows:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


class CaseApplication(Application[UUID], Generic[A]):
    """The event-store adapter for one kind of case: load a case, run one domain command on it, save what it
    recorded, report the result. The application services (infra/services/) subclass it and give each use
    case a named method; entry points call those, not ``run`` or ``open_case``."""

    aggregate_class: ClassVar[type[CaseAggregate]]
    kind: ClassVar[str]
    bounded_context: ClassVar[str]
    """The bounded context: names the Kafka topic (``<prefix>.<context>``) and the wire names' prefix."""
    is_snapshotting_enabled = True

    def __init__(self, env: dict[str, str], clock: Clock, snapshot_interval: int = 50) -> None:
        # Per instance, because the interval is a setting; the library reads it through self.
        self.snapshotting_intervals = {self.aggregate_class: snapshot_interval}  # type: ignore[misc]
        self._borrowed_pool = env.pool if isinstance(env, StoreEnv) else None
        super().__init__(env)
        self.clock = clock

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        # Only our settings configure the store: the library would also read os.environ here.
        return Environment(
            name,
            {
                "IS_SNAPSHOTTING_ENABLED": "y",
                "APPLICATION_RECORDER_TOPIC": get_topic(CaseRecorder),
                **(env or {}),
            },
        )

    def construct_factory(self, env: Environment) -> InfrastructureFactory:
        factory = super().construct_factory(env)
        if self._borrowed_pool is not None:
            # Before any recorder exists: the library's datastore (its pool built closed) is never used, and
            # every statement of this application runs on the process's pool, in the application's schema.
            if not isinstance(factory, PostgresFactory):
                raise TypeError("a shared pool needs the eventsourcing.postgres persistence module")
            factory.datastore = PoolSharingDatastore(factory.datastore, self._borrowed_pool)
        return factory

    # ------------------------------------------------------------------------------ where events are

    @property
    def _postgres(self) -> PostgresApplicationRecorder:
        recorder = self.recorder
        if not isinstance(recorder, PostgresApplicationRecorder):
            raise TypeError(f"{type(self).__name__} does not store its events in PostgreSQL")
        return recorder

    @property
    def events_schema(self) -> str:
        """The schema of this application's events table (one schema per application)."""
        return self._postgres.datastore.schema

    @property
    def events_table_name(self) -> str:
        """The unqualified name of the events table (the library names it after the application class)."""
        return self._postgres.events_table_name

    def events_table(self) -> sql.Identifier:
        """The events table, schema-qualified, for SQL beside the library's (audit, read-your-writes)."""
        return sql.Identifier(self.events_schema, self.events_table_name)

    @property
    def notification_channel(self) -> str:
        """The channel every insert of events NOTIFYs once it is committed (the relay LISTENs)."""
        return self._postgres.channel_name

    def read_events(self, query: sql.Composed, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows (dicts) of a read-only query over this application's store, through its datastore."""
        with self._postgres.datastore.transaction(commit=False) as cursor:
            cursor.execute(query, params)
            return cursor.fetchall()

    @classmethod
    def schema_for(cls, base_schema: str) -> str:
        """Each application keeps its events in a schema of its own.

        With POSTGRES_ENABLE_DB_FUNCTIONS the library names its insert function per schema
        (``es_insert_events_uuid``), so two applications sharing a schema would replace each other's
        function and write into one table. One schema per application keeps them apart.
        """
        return f"{base_schema}_{cls.kind.replace(' ', '_')}"

    def construct_mapper(self) -> Mapper[UUID]:
        return self.factory.mapper(transcoder=self.construct_transcoder(), mapper_class=CaseEventMapper)

    def construct_transcoder(self) -> Transcoder:
        return JsonTranscoder()

    def use_keys(self, keys: SubjectKeys) -> None:
        """Seal and open personal fields with the customers' keys (the composition root calls this)."""
        mapper = self.mapper
        assert isinstance(mapper, CaseEventMapper)
        mapper.use_keys(keys)

    def context(self, caller: Caller) -> Context:
        """The domain's command envelope: the caller plus the server's time and the command's trace."""
        traceparent, tracestate = current_trace_context()
        return Context(
            actor=caller.actor,
            recorded_at=self.clock.now(),
            correlation_id=caller.correlation_id,
            causation_id=caller.causation_id,
            traceparent=traceparent,
            tracestate=tracestate,
        )

    def load(self, case_id: UUID, version: int | None = None) -> A:
        """The case as it stands now, or as it stood at ``version``."""
        try:
            aggregate: A = self.repository.get(case_id, version=version)
        except AggregateNotFoundError:
            raise CaseNotFoundError(self.kind, case_id) from None
        if not isinstance(aggregate, self.aggregate_class):
            raise CaseNotFoundError(self.kind, case_id)
        return aggregate

    def history(self, case_id: UUID) -> list[DomainEvent]:
        """Every event of the case, oldest first."""
        events = [e for e in self.events.get(case_id) if isinstance(e, DomainEvent)]
        if not events:
            raise CaseNotFoundError(self.kind, case_id)
        return events

    def open_case(
        self,
        caller: Caller,
        factory: Callable[Concatenate[Context, P], A],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> CommandResult:
        """Open a new case with one of the aggregate's creating commands (e.g. ``Complaint.lodge``)."""
        return self.save_new(factory(self.context(caller), *args, **kwargs))

    def save_new(self, aggregate: A) -> CommandResult:
        """Store a case that a creating command has just opened."""
        return self._save(aggregate, expected_version=None)

    def run(
        self,
        case_id: UUID,
        caller: Caller,
        expected_version: int | None,
        command: Callable[Concatenate[A, Context, P], object],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> CommandResult:
        """Run one command (an aggregate method) on a case and store what it recorded.

        A stale ``expected_version`` (the If-Match of the API) is a conflict before anything runs; a writer
        that got in between our load and our save is a conflict at the store's unique constraint.
        """
        aggregate = self.load(case_id)
        if expected_version is not None and aggregate.version != expected_version:
            raise ConcurrencyConflictError(case_id, expected_version, aggregate.version)
        loaded_version = aggregate.version
        command(aggregate, self.context(caller), *args, **kwargs)
        return self._save(aggregate, expected_version=loaded_version)

    def _save(self, aggregate: A, expected_version: int | None) -> CommandResult:
        # A date no holiday calendar covers is refused with the command (CAL-OUT-OF-RANGE), not accepted
        # and left to fail in the timers consumer.
        for event in aggregate.pending_events:
            if isinstance(event, DomainEvent):
                require_clock_days_in_calendar(event)
        try:
            # Events without a customer_id of their own (a payee, a disclosure) are sealed for the case's.
            with personal_data_of(getattr(aggregate, "customer_id", None)):
                recordings = self.save_aggregates([aggregate])
        except IntegrityError:
            # The unique (case id, version) constraint refused our events: someone else wrote first.
            current = self._current_version(aggregate.id)
            raise ConcurrencyConflictError(aggregate.id, expected_version, current) from None
        position = recordings[-1].notification.id if recordings else 0
        return CommandResult(aggregate.id, aggregate.version, position)

    def save_aggregates(self, aggregates: Sequence[CaseAggregate]) -> list[Recording[UUID]]:
        """``Application.save`` of aggregates, in the library's own steps (9.5): collect their pending events,
        record them in one insert, take the snapshots due at the interval, ``_notify``.

        Without ``save``'s two runtime-protocol ``isinstance`` checks per object, which on Python 3.11 walk
        the protocol's attributes on every call: a sixth of a timer burst's Python time, and 40 µs of every
        command. The library's deprecated ``notify`` hook is not called: no application here implements it.
        """
        processing: ProcessingEvent[UUID] = ProcessingEvent()
        for aggregate in aggregates:
            processing.events.extend(aggregate.collect_events())
            processing.aggregates[aggregate.id] = aggregate
        recordings = self._record(processing)
        self._take_snapshots(processing)
        self._notify(recordings)
        return recordings

    def stored_by(self, case_id: UUID, caller: Caller) -> CommandResult | None:
        """What a command of ``caller``'s request (same correlation id and actor, no causing event) stored
        on the case, if anything: a repeat of a request whose first attempt died, or that met its own
        events at the unique constraint, answers with this instead of running twice.

        The case's events are few, and this runs only when a request meets a dead attempt or a conflict.
        """
        rows = self.read_events(
            sql.SQL(
                "SELECT originator_version, topic, state, notification_id FROM {} "
                "WHERE originator_id = %s ORDER BY originator_version"
            ).format(self.events_table()),
            (case_id,),
        )
        found: CommandResult | None = None
        for row in rows:
            stored = StoredEvent(case_id, row["originator_version"], row["topic"], bytes(row["state"]))
            event = self.mapper.to_domain_event(stored)
            if (
                isinstance(event, DomainEvent)
                and event.correlation_id == caller.correlation_id
                and event.causation_id is None
                and event.actor.id == caller.actor.id
            ):
                found = CommandResult(case_id, event.originator_version, int(row["notification_id"]))
        return found

    def _current_version(self, case_id: UUID) -> int:
        last = list(self.events.get(case_id, desc=True, limit=1))
        return last[0].originator_version if last else 0
