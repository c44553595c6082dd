"""`caseledger bench` pipeline sections: relay, projection, end-to-end latency and rebuild, each beside a bare
baseline measured in the same run on the same server and broker.

- **relay**: the relay publishing N stored events from position 0 until all are acknowledged, beside a raw
  aiokafka produce of the very same messages (``message_for`` output). Both are timed from client start to
  stop, on fresh topics of an embedded broker.
- **projection**: the ``projections`` group's core (``Processor.process``, no broker) applying N events,
  beside N single-row ``INSERT … ON CONFLICT DO UPDATE`` statements, one per transaction, into a table
  shaped like the claims row.
- **latency**: commands from ``run_load`` at a target rate with the relay and the ``projections`` group
  running for real (as `up`'s supervised children, then as processes started alone; on an embedded
  broker); the latency of a command is the time from its return to the first poll (every 2 ms) that finds
  its version applied in ``consumer_applied``, which the consumer commits in the same transaction as the
  read-model row. Each row also splits that time at the relay's hand-off to its producer (the Kafka
  record's create timestamp, read back from the topics after the run): command → relay, then relay →
  read model (broker, fetch, the group's batch and its commit). Baseline: the same commands at the same
  rate with no pipeline running (the achieved command rate with and without).
- **rebuild**: ``rebuild_projections`` over N stored events, beside a bare SELECT of the same notification
  pages (no decoding).

The N events of the throughput sections are copies of the stored events of a short realistic load: every
case id (and customer id) is replaced per copy, so each copy is a set of valid case histories, inserted with
the library's own ``insert_events``. Throughput rounds alternate baseline and caseledger and report medians,
as ``cli.bench.write`` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import gc
import heapq
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO, cast
from uuid import UUID, uuid4

import orjson
import psycopg

# aiokafka ships no type information.
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from eventsourcing.persistence import Notification, StoredEvent
from psycopg import sql

from cli.bench.figures import Figure, figure_table, nearest_rank_ms
from cli.children import Supervisor, child_environment, up_children
from cli.load import run_load
from cli.runtime import serve
from cli.system import settle_heap
from consumers.app import MAX_BATCH
from consumers.processing import Outcome, Processor, RawMessage, event_stores
from consumers.read_models import projection_handler
from consumers.rebuild import PAGE, rebuild_projections
from infra.bootstrap import System, bootstrap
from infra.messaging.broker import EmbeddedBroker, ensure_topics
from infra.messaging.contract import H_VERSION, EventMessage, message_for
from infra.messaging.relay import Relay, RelayOptions, applications, topics_for
from infra.migrations import upgrade
from infra.services.claims import Claims
from infra.services.complaints import Complaints
from infra.services.policies import Policies
from infra.settings import Settings
from infra.store.embedded import EmbeddedPostgres
from infra.store.eventstore import CaseApplication, CommandResult, drop_schemas
from projections.schema import PROJECTIONS_GROUP, projections_group_id, read_schema

RELAY, PROJECTION, LATENCY, REBUILD = "relay", "projection", "latency", "rebuild"
POLL_S = 0.002
"""How often the latency watcher looks for applied versions: small beside the figures it measures."""
DRAIN_TIMEOUT_S = 60.0
"""How long a latency run waits, after its last command, for the pipeline to apply the rest."""
RELAY_BATCH_BYTES = RelayOptions().record_batch_bytes
"""The relay's record batch size, given to the raw produce too: only the work differs."""


@dataclass
class LatencyFigure(Figure):
    """An achieved command rate with the pipeline running, and its command → read-model latencies."""

    target_per_second: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    unresolved: int = 0
    """Commands whose version was still not applied when the drain timeout ran out (not in the latencies)."""
    relay_p50_ms: float | None = None
    relay_p99_ms: float | None = None
    """Command return → the relay's hand-off of its event to the producer (None: not split)."""

    def latencies(self) -> str:
        """``p50 … / p95 … / p99 … ms`` for a report line, and the relay's share when it was split."""
        text = f"p50 {self.p50_ms:.1f} / p95 {self.p95_ms:.1f} / p99 {self.p99_ms:.1f} ms"
        text += f" (max {self.max_ms:.1f})"
        if self.relay_p50_ms is not None and self.relay_p99_ms is not None:
            text += f"; command → relay p50 {self.relay_p50_ms:.1f} / p99 {self.relay_p99_ms:.1f} ms"
        return text + (f", {self.unresolved} never applied" if self.unresolved else "")


@dataclass(frozen=True)
class Sizes:
    """How much work each section does."""

    relay_events: int
    projection_events: int
    rates: tuple[float, ...]
    latency_seconds: float
    baseline_seconds: float
    rebuild_events: int
    rounds: int


QUICK = Sizes(20_000, 2_000, (100, 200, 500), 10.0, 5.0, 20_000, 3)
FULL = Sizes(100_000, 10_000, (100, 200, 500), 30.0, 15.0, 100_000, 5)


def run_pipeline_bench(settings: Settings, quick: bool, out: TextIO | None = None) -> list[Figure]:
    """Run the four sections, each on schemas and a broker of its own; progress lines go to ``out``."""
    sizes = QUICK if quick else FULL
    # One embedded server for every section, rather than one start and stop per section.
    with _database(settings) as ready:
        template = realistic_template(_section_settings(ready, "tpl"))

        def section(name: str) -> Settings:
            _say(out, f"bench: {name} …")
            return _section_settings(ready, name)

        figures = bench_relay(section(RELAY), sizes.relay_events, sizes.rounds, template)
        figures += bench_projection(section(PROJECTION), sizes.projection_events, sizes.rounds, template)
        figures += bench_latency(section(LATENCY), sizes.rates, sizes.latency_seconds, sizes.baseline_seconds)
        figures += bench_latency(
            section(LATENCY),
            sizes.rates,
            sizes.latency_seconds,
            sizes.baseline_seconds,
            separate_processes=True,
        )
        figures += bench_rebuild(section(REBUILD), sizes.rebuild_events, sizes.rounds, template)
    return figures


def run_relay_bench(settings: Settings, quick: bool, out: TextIO | None = None) -> list[Figure]:
    """The relay rows of ``run_pipeline_bench`` alone, at its sizes (`caseledger bench --only relay`)."""
    sizes = QUICK if quick else FULL
    return _run_alone(settings, RELAY, out, lambda s, t: bench_relay(s, sizes.relay_events, sizes.rounds, t))


def run_projection_bench(settings: Settings, quick: bool, out: TextIO | None = None) -> list[Figure]:
    """The projection rows of ``run_pipeline_bench`` alone (`caseledger bench --only projection`)."""
    sizes = QUICK if quick else FULL
    return _run_alone(
        settings, PROJECTION, out, lambda s, t: bench_projection(s, sizes.projection_events, sizes.rounds, t)
    )


def run_latency_bench(settings: Settings, quick: bool, out: TextIO | None = None) -> list[Figure]:
    """The latency rows of ``run_pipeline_bench`` alone: as `up`'s children, then as separate processes
    (`caseledger bench --only latency`)."""
    sizes = QUICK if quick else FULL
    with _database(settings) as ready:
        figures: list[Figure] = []
        for separate in (False, True):
            _say(out, f"bench: {LATENCY} …")
            figures += bench_latency(
                _section_settings(ready, LATENCY),
                sizes.rates,
                sizes.latency_seconds,
                sizes.baseline_seconds,
                separate_processes=separate,
            )
        return figures


def run_rebuild_bench(settings: Settings, quick: bool, out: TextIO | None = None) -> list[Figure]:
    """The rebuild rows of ``run_pipeline_bench`` alone, at its sizes (`caseledger bench --only rebuild`)."""
    sizes = QUICK if quick else FULL
    return _run_alone(
        settings, REBUILD, out, lambda s, t: bench_rebuild(s, sizes.rebuild_events, sizes.rounds, t)
    )


def _run_alone(
    settings: Settings, name: str, out: TextIO | None, measure: Callable[[Settings, Template], list[Figure]]
) -> list[Figure]:
    """One throughput section of ``run_pipeline_bench`` on its own database, from the same template."""
    with _database(settings) as ready:
        template = realistic_template(_section_settings(ready, "tpl"))
        _say(out, f"bench: {name} …")
        return measure(_section_settings(ready, name), template)


@contextlib.contextmanager
def _database(settings: Settings) -> Iterator[Settings]:
    """The settings with a database: the configured one, or an embedded server started (and stopped) here."""
    if settings.database_url is not None:
        yield settings
        return
    embedded = EmbeddedPostgres(settings.data_dir)
    url = embedded.start()
    try:
        yield settings.model_copy(update={"database_url": url})
    finally:
        embedded.stop()


def pipeline_table(figures: Sequence[Figure]) -> str:
    """The figures as a table; latency rows add their percentiles on a line of their own."""

    def percentiles(f: Figure) -> str | None:
        return f"command → read model: {f.latencies()}" if isinstance(f, LatencyFigure) else None

    return figure_table(figures, percentiles)


def _section_settings(settings: Settings, name: str) -> Settings:
    schema = f"bench_{name}_{uuid4().hex[:8]}"
    return settings.model_copy(
        update={"db_schema": schema, "topic_prefix": schema, "db_pool_size": 10, "db_max_overflow": 10}
    )


def _say(out: TextIO | None, line: str) -> None:
    if out is not None:
        out.write(line + "\n")
        out.flush()


def _median(runs: list[Figure]) -> Figure:
    return sorted(runs, key=lambda f: f.per_second)[len(runs) // 2]


def _figure(section: str, name: str, operations: int, seconds: float) -> Figure:
    return Figure(section, name, 1, operations, round(seconds, 3), round(operations / seconds, 1))


def _paired(baselines: list[Figure], measured: list[Figure]) -> list[Figure]:
    base, figure = _median(baselines), _median(measured)
    figure.baseline_per_second = base.per_second
    return [base, figure]


@contextlib.contextmanager
def _system(settings: Settings) -> Iterator[System]:
    """A system on the settings' schema, closed and its schemas dropped on the way out."""
    system = bootstrap(settings)
    try:
        yield system
    finally:
        system.close()
        drop_schemas(system.database_url, settings.db_schema)


@contextlib.contextmanager
def _broker(bootstrap_servers: str | None) -> Iterator[str]:
    """The given Kafka, or an embedded broker of our own on a free port, stopped on the way out."""
    if bootstrap_servers is not None:
        yield bootstrap_servers
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    with EmbeddedBroker(port) as broker:
        yield broker.bootstrap_servers


async def _delete_topics(bootstrap_servers: str, topics: Sequence[str]) -> None:
    # The embedded broker keeps every record in memory: a round's topics go before the next round's.
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        await admin.delete_topics(list(topics))
    except Exception:  # noqa: BLE001, S110 - best effort: a cluster may refuse deletions, the bench goes on
        pass
    finally:
        await admin.close()


# ------------------------------------------------------------------------------------------- the events

_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CUSTOMER = re.compile(rb'"(CUST-[^"]*)"')


@dataclass(frozen=True)
class Template:
    """The stored events of a short realistic load, in the order they were recorded, by context."""

    events: tuple[tuple[str, StoredEvent], ...]
    case_ids: frozenset[bytes]
    """Every case id of the load, as its JSON text: replaced in each copy."""
    subject_keys: tuple[tuple[str, bytes, str], ...] = ()
    """The load's customers' wrapped data keys (customer id, wrapped key, master key id): the copies'
    personal fields stay sealed under them, so each copy's store needs them to open its events."""


def realistic_template(settings: Settings, cases: int = 40, seed: int = 3) -> Template:
    """Run a short realistic load on the settings' schema, read its events back, drop the schema."""
    with _system(settings) as system:
        run_load(system, cases=cases, rate=0, seed=seed)
        by_context = [
            [(_recorded_at(n), app.bounded_context, _stored(n)) for n in _notifications(app)]
            for app in applications(system)
        ]
        with psycopg.connect(system.database_url) as conn:
            keys = conn.execute(
                sql.SQL("SELECT customer_id, wrapped_key, master_key_id FROM {}").format(
                    sql.Identifier(system.settings.db_schema, "subject_keys")
                )
            ).fetchall()
    # One order across the contexts, as the commands ran; merging keeps each log's own order, so a case's
    # versions stay in order even if the wall clock stepped back during the load.
    merged = list(heapq.merge(*by_context, key=lambda e: e[0]))
    if not merged:
        raise RuntimeError("the load stored no events to copy")
    return Template(
        events=tuple((context, stored) for _, context, stored in merged),
        case_ids=frozenset(str(stored.originator_id).encode() for _, _, stored in merged),
        subject_keys=tuple((c, bytes(k), m) for c, k, m in keys),
    )


def _recorded_at(n: Notification) -> datetime:
    return datetime.fromisoformat(orjson.loads(n.state)["timestamp"])


def _stored(n: Notification) -> StoredEvent:
    return StoredEvent(n.originator_id, n.originator_version, n.topic, n.state)


def _notifications(app: CaseApplication[Any]) -> Iterator[Notification]:
    position = 0
    while page := app.recorder.select_notifications(position, PAGE, inclusive_of_start=False):
        yield from page
        position = page[-1].id


def _swap_id(fresh: dict[bytes, bytes], found: re.Match[bytes]) -> bytes:
    return fresh.get(found.group(0), found.group(0))


def _copies(template: Template, count: int) -> list[tuple[str, StoredEvent]]:
    """``count`` events: copies of the template under fresh case and customer ids (the last one cut short)."""
    out: list[tuple[str, StoredEvent]] = []
    copy = 0
    while len(out) < count:
        fresh = {old: str(uuid4()).encode() for old in template.case_ids}
        swap = functools.partial(_swap_id, fresh)
        # Customers are per copy too: one customer row must not collect the cases of every copy.
        customer = rb'"\1-c%d"' % copy
        for context, event in template.events[: count - len(out)]:
            state = _CUSTOMER.sub(customer, _UUID.sub(swap, event.state))
            case_id = UUID(fresh[str(event.originator_id).encode()].decode())
            out.append((context, StoredEvent(case_id, event.originator_version, event.topic, state)))
        copy += 1
    return out


def fill(system: System, template: Template, count: int) -> list[tuple[str, StoredEvent]]:
    """Store ``count`` realistic events through the library's ``insert_events``; return them in order."""
    events = _copies(template, count)
    with psycopg.connect(system.database_url) as conn:
        conn.cursor().executemany(
            sql.SQL(
                "INSERT INTO {} (customer_id, wrapped_key, master_key_id) VALUES (%s, %s, %s)"
                " ON CONFLICT (customer_id) DO NOTHING"
            ).format(sql.Identifier(system.settings.db_schema, "subject_keys")),
            template.subject_keys,
        )
    stores = {app.bounded_context: app for app in applications(system)}
    for context, app in stores.items():
        mine = [event for c, event in events if c == context]
        for start in range(0, len(mine), 1_000):
            app.recorder.insert_events(mine[start : start + 1_000])
    return events


def _stored_in_order(
    system: System, events: Sequence[tuple[str, StoredEvent]]
) -> list[tuple[str, Notification]]:
    """The notifications of ``events`` (store positions included), in the order of ``events``."""
    found = {
        (app.bounded_context, n.originator_id, n.originator_version): n
        for app in applications(system)
        for n in _notifications(app)
    }
    return [(c, found[(c, e.originator_id, e.originator_version)]) for c, e in events]


# ------------------------------------------------------------------------------------------- relay


def bench_relay(
    settings: Settings,
    events: int,
    rounds: int,
    template: Template | None = None,
    bootstrap_servers: str | None = None,
) -> list[Figure]:
    """The relay publishing ``events`` stored events from position 0, beside a raw produce of the same."""
    template = template or realistic_template(_scratch(settings))
    with _broker(bootstrap_servers) as kafka, _system(settings) as system:
        fill(system, template, events)
        # As `caseledger relay` does once started; both rows run on the frozen heap (the template, the
        # store's rows), so that the collector walks in each only what its own round allocates. Thawed
        # after: the sections that follow in this process (and a test session) run as they did.
        settle_heap()
        try:
            raw_runs: list[Figure] = []
            relay_runs: list[Figure] = []
            for number in range(rounds):
                # Fresh topics every round: both start from empty topics, and the relay from position 0.
                raw_runs.append(_raw_round(system, kafka, f"{settings.topic_prefix}.raw{number}"))
                relay_runs.append(_relay_round(system, kafka, f"{settings.topic_prefix}.relay{number}"))
        finally:
            gc.unfreeze()
        return _paired(raw_runs, relay_runs)


RAW_PRODUCE = "raw aiokafka produce, same messages (acks=all)"
RELAY_PUBLISH = "relay: store → Kafka, from position 0"


def _scratch(settings: Settings) -> Settings:
    return settings.model_copy(update={"db_schema": f"{settings.db_schema}_tpl"})


def _with_prefix(system: System, prefix: str) -> System:
    """The same applications, publishing under another topic prefix."""
    return dataclasses.replace(system, settings=system.settings.model_copy(update={"topic_prefix": prefix}))


def _raw_round(system: System, kafka: str, prefix: str) -> Figure:
    messages = [
        message_for(prefix, app.bounded_context, n, n.state)
        for app in applications(system)
        for n in _notifications(app)
    ]
    topics = topics_for(_with_prefix(system, prefix))
    ensure_topics(kafka, topics, system.settings.topic_partitions)
    try:
        started = time.perf_counter()
        acknowledged = asyncio.run(_produce(kafka, messages))
        return _figure(RELAY, RAW_PRODUCE, acknowledged, time.perf_counter() - started)
    finally:
        asyncio.run(_delete_topics(kafka, topics))


async def _produce(kafka: str, messages: Sequence[EventMessage]) -> int:
    """Send every message without waiting for each, flush, and count the acknowledgements."""
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka,
        client_id="caseledger-bench-raw",
        acks="all",
        enable_idempotence=False,
        max_batch_size=RELAY_BATCH_BYTES,
    )
    await producer.start()
    try:
        pending = [
            await producer.send(m.topic, m.value, key=m.key, headers=list(m.headers)) for m in messages
        ]
        await producer.flush()
        return len(await asyncio.gather(*pending))
    finally:
        await producer.stop()


def _relay_round(system: System, kafka: str, prefix: str) -> Figure:
    relayed = _with_prefix(system, prefix)
    _forget_positions(system)
    topics = topics_for(relayed)
    ensure_topics(kafka, topics, system.settings.topic_partitions)
    try:
        relay = Relay(relayed, kafka)
        started = time.perf_counter()
        asyncio.run(relay.run(until_idle=True))
        elapsed = time.perf_counter() - started
        return _figure(RELAY, RELAY_PUBLISH, sum(relay.published_counts().values()), elapsed)
    finally:
        asyncio.run(_delete_topics(kafka, topics))


def _forget_positions(system: System) -> None:
    """Drop the previous round's published positions, so that this round's relay starts at 0."""
    table = f"{system.settings.db_schema}.relay_positions"
    with psycopg.connect(system.database_url, autocommit=True) as conn:
        found = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()
        if found is not None and found[0] is not None:
            conn.execute(
                sql.SQL("DELETE FROM {}").format(sql.Identifier(system.settings.db_schema, "relay_positions"))
            )


# ------------------------------------------------------------------------------------------- projection

RAW_UPSERT = "raw upsert, 1 row/tx (claims-shaped + jsonb)"
PROCESS = "projections consumer core (Processor.process)"
PROCESS_TOGETHER = f"projections consumer core, batches of {MAX_BATCH} (Processor.process_together)"
UPSERT_TABLE = "bench_claims_upsert"


def bench_projection(
    settings: Settings, events: int, rounds: int, template: Template | None = None
) -> list[Figure]:
    """The ``projections`` group applying ``events`` events (no broker), beside as many raw upserts."""
    template = template or realistic_template(_scratch(settings))
    schema = settings.db_schema
    with _system(settings) as system:
        stored = _stored_in_order(system, fill(system, template, events))
        messages = _raw_messages(settings.topic_prefix, stored)
        # The upsert writes the row of each event's case: the same keys, in the same order, as the consumer.
        rows = [(_uuid(n.originator_id), n.topic, n.originator_version, n.state.decode()) for _, n in stored]
        with psycopg.connect(system.database_url, autocommit=True) as conn:
            handler = projection_handler(system, conn)
            processor = Processor(
                projections_group_id(settings.topic_prefix), handler, event_stores(system), schema
            )
            _create_upsert_table(conn, schema)
            upsert_runs: list[Figure] = []
            process_runs: list[Figure] = []
            together_runs: list[Figure] = []
            for _ in range(rounds):
                upsert_runs.append(_upsert_round(conn, schema, rows))
                _reset_projections(conn, system)
                handler.create_tables(conn)
                process_runs.append(_process_round(conn, processor, messages))
                _reset_projections(conn, system)
                handler.create_tables(conn)
                together_runs.append(_process_together_round(conn, processor, messages))
        return [*_paired(upsert_runs, process_runs), _paired(upsert_runs, together_runs)[1]]


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)


def _raw_messages(prefix: str, stored: Sequence[tuple[str, Notification]]) -> list[RawMessage]:
    """The messages as the broker would deliver them (one partition per topic: offsets count up)."""
    offsets: dict[str, int] = {}
    messages = []
    for context, n in stored:
        m = message_for(prefix, context, n, n.state)
        offset = offsets[m.topic] = offsets.get(m.topic, -1) + 1
        messages.append(RawMessage(m.topic, 0, offset, m.key, m.value, m.headers))
    return messages


def _create_upsert_table(conn: psycopg.Connection[Any], schema: str) -> None:
    conn.execute(
        sql.SQL(
            "CREATE TABLE {} (claim_id uuid PRIMARY KEY, status text NOT NULL, version integer NOT NULL,"
            " updated_at timestamptz NOT NULL, timeline jsonb NOT NULL)"
        ).format(sql.Identifier(schema, UPSERT_TABLE))
    )


def _upsert_round(
    conn: psycopg.Connection[Any], schema: str, rows: Sequence[tuple[UUID, str, int, str]]
) -> Figure:
    table = sql.Identifier(schema, UPSERT_TABLE)
    conn.execute(sql.SQL("TRUNCATE {}").format(table))
    upsert = (
        sql.SQL(
            "INSERT INTO {} (claim_id, status, version, updated_at, timeline)"
            " VALUES (%s, %s, %s, now(), %s::jsonb)"
            " ON CONFLICT (claim_id) DO UPDATE SET status = EXCLUDED.status, version = EXCLUDED.version,"
            " updated_at = EXCLUDED.updated_at, timeline = EXCLUDED.timeline"
        )
        .format(table)
        .as_bytes(conn)
    )
    started = time.perf_counter()
    for row in rows:
        conn.execute(upsert, row)  # autocommit: one transaction each, as the consumer commits per event
    return _figure(PROJECTION, RAW_UPSERT, len(rows), time.perf_counter() - started)


def _reset_projections(conn: psycopg.Connection[Any], system: System) -> None:
    """Forget what the group applied and drop the read models: the next round applies every event anew."""
    schema = system.settings.db_schema
    tables = [sql.Identifier(schema, t) for t in ("consumer_applied", "consumer_offsets", "dead_letters")]
    conn.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(tables)))
    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(read_schema(schema))))


def _process_round(
    conn: psycopg.Connection[Any], processor: Processor, messages: Sequence[RawMessage]
) -> Figure:
    started = time.perf_counter()
    applied = sum(processor.process(conn, m) is Outcome.APPLIED for m in messages)
    return _figure(PROJECTION, PROCESS, applied, time.perf_counter() - started)


def _process_together_round(
    conn: psycopg.Connection[Any], processor: Processor, messages: Sequence[RawMessage]
) -> Figure:
    """The same messages in the batches the live group records together (``consumers.app.MAX_BATCH``)."""
    started = time.perf_counter()
    applied = 0
    for first in range(0, len(messages), MAX_BATCH):
        outcomes = processor.process_together(conn, messages[first : first + MAX_BATCH])
        applied += sum(outcome is Outcome.APPLIED for outcome in outcomes)
    return _figure(PROJECTION, PROCESS_TOGETHER, applied, time.perf_counter() - started)


# ------------------------------------------------------------------------------------------- latency

Seen = Callable[[CommandResult, float], None]
"""Told of every command as it returns: its result and the ``perf_counter`` at its return."""


class _Observed:
    """An application service whose commands report their result and return time (the latency's start)."""

    def __init__(self, app: CaseApplication[Any], seen: Seen) -> None:
        self._app = app
        self._seen = seen

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._app, name)
        if not callable(found):
            return found

        def call(*args: Any, **kwargs: Any) -> Any:
            result = found(*args, **kwargs)
            if isinstance(result, CommandResult):
                self._seen(result, time.perf_counter())
            return result

        return call


def _observed(system: System, seen: Seen) -> System:
    """The system as ``run_load`` drives it, with each command's result reported to ``seen``."""
    # run_load returns no per-command results; wrapping the services it calls gives each command's
    # (case, version) at the moment it returned, without changing what the command does.
    return dataclasses.replace(
        system,
        policies=cast(Policies, _Observed(system.policies, seen)),
        claims=cast(Claims, _Observed(system.claims, seen)),
        complaints=cast(Complaints, _Observed(system.complaints, seen)),
    )


class _TimeUpError(Exception):
    """Ends a paced load when its time is up (``run_load`` runs until its cases are done)."""


def _paced(system: System, rate: float, seconds: float, seed: int, seen: Seen) -> tuple[int, float]:
    """Realistic commands at ``rate`` per second for ``seconds``; the commands run and the time taken."""
    commands = 0
    started = time.perf_counter()
    deadline = started + seconds

    def counted(result: CommandResult, returned_at: float) -> None:
        # Counted here, not from run_load's own count, which leaves out the last command of each case.
        nonlocal commands
        commands += 1
        seen(result, returned_at)

    def tick(_: int) -> None:
        if time.perf_counter() >= deadline:
            raise _TimeUpError

    # More cases than the time allows: every script has at least three commands.
    with contextlib.suppress(_TimeUpError):
        run_load(
            _observed(system, counted), cases=int(rate * seconds) + 50, rate=rate, seed=seed, on_command=tick
        )
    return commands, time.perf_counter() - started


def _ignore(result: CommandResult, at: float) -> None:
    """No latency is measured without the pipeline."""


_WALL = time.time() - time.perf_counter()
"""Added to a ``perf_counter`` instant, the wall-clock time that Kafka's record timestamps are in."""


class _Watcher:
    """Times each command from its return to the first poll that finds its version applied."""

    # Why ``consumer_applied`` and not the read-model rows: the projections group commits it in the same
    # transaction as the claim, policy or complaint row, so the version shows in both at the same instant,
    # and one query per poll covers every context. A poll's time is taken before its query: a latency is
    # over by at most one polling interval plus one query (about 3 ms), never under.

    def __init__(self, database_url: str, schema: str, group_id: str) -> None:
        self._url = database_url
        self._schema = schema
        self._group_id = group_id
        self._query = sql.SQL(
            "SELECT case_id, last_version FROM {} WHERE group_id = %s AND case_id = ANY(%s)"
        ).format(sql.Identifier(schema, "consumer_applied"))
        self._pending: dict[UUID, list[tuple[int, float, int]]] = {}
        """Case → (version, return time, window) of its commands not yet seen applied."""
        self._latencies: dict[int, list[float]] = {}
        self._applied: dict[int, list[tuple[UUID, int, float]]] = {}
        """Window → (case, version, return time) of its commands seen applied."""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="bench-latency-watcher", daemon=True)
        self.window = 0
        """The run that the commands returning now belong to."""
        self.error: BaseException | None = None

    def start(self) -> None:
        with psycopg.connect(self._url, autocommit=True) as conn:
            upgrade(conn, self._schema)  # the processes' start does too, whoever comes first
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def expect(self, result: CommandResult, returned_at: float) -> None:
        """Wait for this command's version to be applied (a ``Seen`` callback)."""
        with self._lock:
            self._pending.setdefault(result.case_id, []).append((result.version, returned_at, self.window))

    def outstanding(self) -> int:
        with self._lock:
            return sum(len(entries) for entries in self._pending.values())

    def drain(self, timeout: float, check: Callable[[], None]) -> None:
        """Wait until every command seen so far is applied, or the timeout is over."""
        deadline = time.monotonic() + timeout
        while self.outstanding() and time.monotonic() < deadline:
            check()
            if self.error is not None:
                raise RuntimeError("the latency watcher failed") from self.error
            time.sleep(0.01)

    def take(self, window: int) -> tuple[list[float], int]:
        """The latencies (s) of a window, and how many of its commands are still not applied (dropped)."""
        with self._lock:
            self._applied.pop(window, None)
            latencies = self._latencies.pop(window, [])
            unresolved = 0
            for case_id in list(self._pending):
                kept = [e for e in self._pending[case_id] if e[2] != window]
                unresolved += len(self._pending[case_id]) - len(kept)
                if kept:
                    self._pending[case_id] = kept
                else:
                    del self._pending[case_id]
        return latencies, unresolved

    def applied(self, window: int) -> list[tuple[UUID, int, float]]:
        """(case, version, return time on the wall clock) of each command of a window seen applied."""
        with self._lock:
            return list(self._applied.get(window, []))

    def _main(self) -> None:
        try:
            with psycopg.connect(self._url, autocommit=True) as conn:
                while not self._stop.is_set():
                    with self._lock:
                        cases = list(self._pending)
                    if cases:
                        looked_at = time.perf_counter()
                        rows = conn.execute(self._query, (self._group_id, cases)).fetchall()
                        with self._lock:
                            for case_id, last_version in rows:
                                self._resolve(case_id, int(last_version), looked_at)
                    self._stop.wait(POLL_S)
        except BaseException as exc:  # noqa: BLE001 - handed to the thread that drains
            self.error = exc

    def _resolve(self, case_id: UUID, last_version: int, looked_at: float) -> None:
        kept = []
        for version, returned_at, window in self._pending.get(case_id, []):
            # A command that returned after this poll began waits for the next poll: never a negative time.
            if version <= last_version and returned_at <= looked_at:
                self._latencies.setdefault(window, []).append(looked_at - returned_at)
                self._applied.setdefault(window, []).append((case_id, version, returned_at + _WALL))
            else:
                kept.append((version, returned_at, window))
        if kept:
            self._pending[case_id] = kept
        else:
            self._pending.pop(case_id, None)


class _Pipeline:
    """The relay and the ``projections`` group as child processes of this one, started and supervised by
    the code ``caseledger up`` runs them with (cli/children.py, from ``serve``)."""

    def __init__(self, system: System, kafka: str) -> None:
        self.system = system
        self.kafka = kafka
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="bench-pipeline", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(30)

    def check(self) -> None:
        """Raise if the pipeline has ended: a drain would otherwise wait for nothing."""
        if not self._thread.is_alive():
            raise RuntimeError("the relay and consumers stopped during the benchmark") from self.error

    def stop(self) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                loop.call_soon_threadsafe(stop.set)
        self._thread.join(30)
        if self.error is not None:
            raise RuntimeError("the relay or consumers failed") from self.error

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # noqa: BLE001 - handed to the thread that stops the pipeline
            self.error = exc
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        environment = child_environment(
            self.system.settings, self.system.database_url, self.kafka, os.environ
        )
        children = Supervisor(up_children((PROJECTIONS_GROUP,), scheduler=False), environment)
        await serve(self.system, self.kafka, self._stop, relay=False, groups=(), children=children)


class _ProcessPipeline:
    """The relay and the ``projections`` group as separate processes, as the scale-out mode runs them."""

    def __init__(self, system: System, kafka: str) -> None:
        settings = system.settings
        self._env = {k: v for k, v in os.environ.items() if not k.startswith("CASELEDGER_")} | {
            "CASELEDGER_DATABASE_URL": system.database_url,
            "CASELEDGER_DB_SCHEMA": settings.db_schema,
            "CASELEDGER_TOPIC_PREFIX": settings.topic_prefix,
            "CASELEDGER_KAFKA_BOOTSTRAP_SERVERS": kafka,
        }
        self._processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        for args in (["relay"], ["consume", "--group", PROJECTIONS_GROUP]):
            self._processes.append(
                subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
                    [sys.executable, "-m", "cli.main", *args],
                    env=self._env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )

    def check(self) -> None:
        """Raise if a process has ended: a drain would otherwise wait for nothing."""
        for process in self._processes:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args!r} stopped during the benchmark ({process.returncode})")

    def stop(self) -> None:
        for process in self._processes:
            process.send_signal(signal.SIGTERM)
        for process in self._processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def bench_latency(
    settings: Settings,
    rates: Sequence[float],
    seconds: float,
    baseline_seconds: float,
    bootstrap_servers: str | None = None,
    *,
    separate_processes: bool = False,
) -> list[Figure]:
    """Command → read-model latency at each rate with the pipeline running, beside the rate without it.

    By default the relay and consumer run as child processes of this one, started by `caseledger up`'s
    supervisor as `up` runs them; with ``separate_processes`` they run as `caseledger relay` and
    `caseledger consume` started on their own, as in scale-out.
    """
    baselines = []
    bare_settings = settings.model_copy(update={"db_schema": f"{settings.db_schema}_np"})
    with _system(bare_settings) as bare:
        for rate in rates:
            count, elapsed = _paced(bare, rate, baseline_seconds, int(rate), _ignore)
            baselines.append(_figure(LATENCY, f"commands at {rate:g}/s, no pipeline", count, elapsed))
    figures: list[Figure] = []
    with _broker(bootstrap_servers) as kafka, _system(settings) as system:
        group_id = projections_group_id(settings.topic_prefix)
        watcher = _Watcher(system.database_url, settings.db_schema, group_id)
        pipeline: _Pipeline | _ProcessPipeline = (
            _ProcessPipeline(system, kafka) if separate_processes else _Pipeline(system, kafka)
        )
        watcher.start()
        try:
            pipeline.start()
            try:
                # Warm-up: the relay takes its lock and the group joins before the first measured command.
                watcher.window = -1
                _paced(system, 20, 1.0, 1, watcher.expect)
                watcher.drain(DRAIN_TIMEOUT_S, pipeline.check)
                if watcher.take(-1)[1]:
                    raise RuntimeError(f"the pipeline applied nothing within {DRAIN_TIMEOUT_S:.0f} s")
                for number, (rate, base) in enumerate(zip(rates, baselines, strict=True)):
                    watcher.window = number
                    count, elapsed = _paced(system, rate, seconds, int(rate), watcher.expect)
                    watcher.drain(DRAIN_TIMEOUT_S, pipeline.check)
                    handed = relay_delays(kafka, topics_for(system), watcher.applied(number))
                    latencies, _ = watcher.take(number)
                    figure = _latency_figure(rate, count, elapsed, latencies, base, handed)
                    if separate_processes:
                        figure.name = f"commands at {rate:g}/s, relay + consumer processes"
                    figures += [base, figure]
            finally:
                pipeline.stop()
        finally:
            watcher.stop()
            asyncio.run(_delete_topics(kafka, topics_for(system)))
    return figures


def relay_delays(
    kafka: str, topics: Sequence[str], applied: Sequence[tuple[UUID, int, float]]
) -> list[float]:
    """Each applied command's time (s) from its return to the relay's hand-off of its event to Kafka."""
    handed_off = asyncio.run(_handed_off(kafka, topics))
    return relay_shares(applied, handed_off)


def relay_shares(
    applied: Sequence[tuple[UUID, int, float]], handed_off: dict[tuple[UUID, int], float]
) -> list[float]:
    """From return (wall clock) to hand-off, for the commands whose event was found on the topics."""
    return [
        handed_off[(case, version)] - returned
        for case, version, returned in applied
        if (case, version) in handed_off
    ]


async def _handed_off(kafka: str, topics: Sequence[str]) -> dict[tuple[UUID, int], float]:
    """(case, version) → the record's create timestamp (s): when the relay handed the event to its producer
    (aiokafka stamps a record as it is appended; millisecond resolution)."""
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=kafka, auto_offset_reset="earliest")
    await consumer.start()
    found: dict[tuple[UUID, int], float] = {}
    try:
        while batches := await consumer.getmany(timeout_ms=2_000):
            for records in batches.values():
                for record in records:
                    version = dict(record.headers).get(H_VERSION)
                    if record.key is not None and version is not None:
                        found[(UUID(record.key.decode()), int(version))] = record.timestamp / 1000
    finally:
        await consumer.stop()
    return found


def _latency_figure(
    rate: float,
    commands: int,
    elapsed: float,
    latencies: list[float],
    base: Figure,
    relayed: list[float] | None = None,
) -> LatencyFigure:
    ordered = sorted(latencies)
    handed = sorted(relayed) if relayed else None
    return LatencyFigure(
        LATENCY,
        f"commands at {rate:g}/s, relay + projections as `up`'s children",
        1,
        commands,
        round(elapsed, 3),
        round(commands / elapsed, 1),
        baseline_per_second=base.per_second,
        target_per_second=rate,
        p50_ms=nearest_rank_ms(ordered, 0.50),
        p95_ms=nearest_rank_ms(ordered, 0.95),
        p99_ms=nearest_rank_ms(ordered, 0.99),
        max_ms=nearest_rank_ms(ordered, 1.0),
        unresolved=commands - len(ordered),
        relay_p50_ms=nearest_rank_ms(handed, 0.50) if handed else None,
        relay_p99_ms=nearest_rank_ms(handed, 0.99) if handed else None,
    )


# ------------------------------------------------------------------------------------------- rebuild

BARE_SELECT = "bare SELECT of the notification pages"
REBUILD_ALL = "rebuild_projections (all projections)"


def bench_rebuild(
    settings: Settings, events: int, rounds: int, template: Template | None = None
) -> list[Figure]:
    """``rebuild_projections`` over ``events`` stored events, beside a bare read of the same pages."""
    template = template or realistic_template(_scratch(settings))
    with _system(settings) as system:
        fill(system, template, events)
        _mark_applied(system)
        select_runs: list[Figure] = []
        rebuild_runs: list[Figure] = []
        for _ in range(rounds):
            select_runs.append(_select_round(system))
            rebuild_runs.append(_rebuild_round(system))
        return _paired(select_runs, rebuild_runs)


def _events_table(app: CaseApplication[Any]) -> sql.Identifier:
    return app.events_table()


def _mark_applied(system: System) -> None:
    """Record every stored case as applied by the projections group, as if the live consumer had run."""
    # A rebuild folds only what the group applied (its copy must be interchangeable with the live tables).
    schema = system.settings.db_schema
    group_id = projections_group_id(system.settings.topic_prefix)
    with psycopg.connect(system.database_url, autocommit=True) as conn:
        for app in applications(system):
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} (group_id, context, case_id, last_version)"
                    " SELECT %s, %s, originator_id, max(originator_version) FROM {} GROUP BY originator_id"
                ).format(sql.Identifier(schema, "consumer_applied"), _events_table(app)),
                (group_id, app.bounded_context),
            )


def _select_round(system: System) -> Figure:
    rows = 0
    with psycopg.connect(system.database_url) as conn:
        started = time.perf_counter()
        for app in applications(system):
            # The library's page query (select_notifications) and columns, without building notifications.
            query = sql.SQL(
                "SELECT originator_id, originator_version, topic, state, notification_id FROM {}"
                " WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
            ).format(_events_table(app))
            position = 0
            while page := conn.execute(query, (position, PAGE)).fetchall():
                rows += len(page)
                position = page[-1][-1]
        elapsed = time.perf_counter() - started
    return _figure(REBUILD, BARE_SELECT, rows, elapsed)


def _rebuild_round(system: System) -> Figure:
    started = time.perf_counter()
    report = rebuild_projections(system, out=None)
    elapsed = time.perf_counter() - started
    if report.rows == 0:
        raise RuntimeError("the rebuild wrote no rows: it folded none of the stored events")
    return _figure(REBUILD, REBUILD_ALL, report.events, elapsed)
