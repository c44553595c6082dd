"""`caseledger projections rebuild | verify`: read models replayed from the event store into shadow tables.

A rebuild reads every stored event a page at a time, folds them into rows in memory (the same pure folds
the live consumer applies one event at a time, so each row is written once however many events made it),
writes the rows into ``<table>_rebuild`` with COPY, builds the keys and indexes after the load, and swaps
the copies in by renaming, in the one transaction, under the schema lock. The API keeps reading the old
tables until that commit. ``verify`` does the same into the shadow tables and compares them with the live
ones instead of swapping.

The rebuilt copy must equal what the live consumer has applied, no more and no less, or a swap would make
the consumer apply an event twice (or never). So the rebuild holds the ``projections`` group's pause lock
(the consumer takes it shared in every transaction, exclusive here: live consumers wait, nothing is lost)
and folds each case only up to the version the group's tracking says it applied.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO
from uuid import UUID

import psycopg
from eventsourcing.persistence import StoredEvent
from psycopg import sql

from domain.base import DomainEvent
from infra.settings import Settings
from infra.store.database import Database
from infra.store.eventstore import CaseApplication
from infra.store.keystore import KeyStore, sealed_customers
from projections import shapes, store
from projections.base import fold
from projections.catalogue import ALL_PROJECTIONS, projection_by_name
from projections.schema import PAUSE_LOCK, projections_group_id, read_schema

SUFFIX = "_rebuild"
PAGE = 5_000


@dataclass
class RebuildReport:
    """What a rebuild or verify did, and (verify) where live and rebuilt rows differ."""

    projections: list[str]
    events: int = 0
    rows: int = 0
    seconds: float = 0.0
    differences: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    @property
    def consistent(self) -> bool:
        return not any(
            missing or extra for tables in self.differences.values() for missing, extra in tables.values()
        )


ProgressReport = Callable[[int, int], None]
"""Called with (events done, events in all) as a rebuild advances: a caller's own progress display."""


class Progress:
    """A one-line progress display (events done, events/s and the time left), or a caller's own."""

    def __init__(self, total: int, out: TextIO | None, report: ProgressReport | None = None) -> None:
        self.total = max(total, 1)
        self.out = out
        self.report = report
        self.started = time.perf_counter()
        self.shown_at = 0.0

    def show(self, done: int, final: bool = False) -> None:
        if self.out is None and self.report is None:
            return
        now = time.perf_counter()
        if not final and now - self.shown_at < 0.2:
            return
        self.shown_at = now
        if self.report is not None:
            self.report(done, self.total)
        elif self.out is not None:
            self._line(self.out, done, now, final)

    def _line(self, out: TextIO, done: int, now: float, final: bool) -> None:
        elapsed = max(now - self.started, 1e-9)
        rate = done / elapsed
        left = (self.total - done) / rate if rate else 0.0
        width = 30
        filled = int(width * min(done / self.total, 1.0))
        bar = "#" * filled + "-" * (width - filled)
        out.write(f"\r[{bar}] {done}/{self.total} events  {rate:,.0f} events/s  ETA {left:,.0f} s ")
        if final:
            out.write("\n")
        out.flush()


class RebuildSystem(Protocol):
    """What a rebuild reads: every store (and the keys that open their personal fields), the read side's
    database and settings."""

    @property
    def database(self) -> Database: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def keys(self) -> KeyStore: ...

    def applications(self) -> list[CaseApplication[Any]]: ...


def _applications(system: RebuildSystem) -> list[CaseApplication[Any]]:
    return system.applications()


def _tracked_versions(conn: psycopg.Connection[Any], system: RebuildSystem) -> dict[tuple[str, UUID], int]:
    group_id = projections_group_id(system.settings.topic_prefix)
    table = sql.Identifier(system.settings.db_schema, "consumer_applied")
    exists = conn.execute("SELECT to_regclass(%s)", (f"{system.settings.db_schema}.consumer_applied",))
    found = exists.fetchone()
    if found is None or found[0] is None:
        return {}
    rows = conn.execute(
        sql.SQL("SELECT context, case_id, last_version FROM {} WHERE group_id = %s").format(table),
        (group_id,),
    )
    return {(context, case_id): int(version) for context, case_id, version in rows.fetchall()}


StoredRow = tuple[UUID, int, str, bytes]
"""A stored event as the rebuild reads it: case id, version, topic, payload."""


def _stored_pages(conn: psycopg.Connection[Any], app: CaseApplication[Any]) -> Iterator[list[StoredRow]]:
    """The application's stored events in store order, a page at a time, as plain rows.

    The library's ``select_notifications`` builds a dict and a ``Notification`` per row, about as much work
    again as the read itself; a rebuild only needs what the mapper reads.
    """
    query = sql.SQL(
        "SELECT originator_id, originator_version, topic, state, notification_id FROM {}"
        " WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
    ).format(app.events_table())
    position = 0
    while rows := conn.execute(query, (position, PAGE)).fetchall():
        yield [(case_id, version, topic, state) for case_id, version, topic, state, _ in rows]
        position = rows[-1][-1]


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Hold back Python's cycle collector while a fold builds its rows.

    A fold allocates a few objects per event and frees almost none of them (events, rows), so the collector
    runs over and over across an ever larger heap without ever finding a cycle: about a tenth of a
    rebuild's time. Reference counting still frees everything acyclic; the collector runs again after.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _event_total(system: RebuildSystem) -> int:
    return sum(app.recorder.max_notification_id() or 0 for app in _applications(system))


def _rebuild(
    system: RebuildSystem,
    names: Sequence[str],
    verify: bool,
    out: TextIO | None,
    report_progress: ProgressReport | None = None,
) -> RebuildReport:
    projections = [projection_by_name(n) for n in names] if names else list(ALL_PROJECTIONS)
    schema = read_schema(system.settings.db_schema)
    report = RebuildReport([p.name for p in projections])
    progress = Progress(_event_total(system), out, report_progress)
    started = time.perf_counter()
    database = system.database
    # One transaction for the whole replay (it holds the pause lock), on a pooled connection that also reads
    # the stores' pages; the keys' reads take another connection of the pool meanwhile.
    # The with statements end in reverse: the transaction first, then the schema lock (if taken), then the
    # connection goes back to the pool.
    with database.connection() as conn, contextlib.ExitStack() as until_committed, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (PAUSE_LOCK,))
        applied = _tracked_versions(conn, system)

        def applied_events() -> Iterator[DomainEvent]:
            for app in _applications(system):
                context, mapper = app.bounded_context, app.mapper
                for page in _stored_pages(conn, app):
                    # Only what the live consumer has applied: the copy must be interchangeable with
                    # it. Checked on the stored rows, so what is left out is not decoded either.
                    wanted = [
                        StoredEvent(case_id, version, topic, state)
                        for case_id, version, topic, state in page
                        if version <= applied.get((context, case_id), 0)
                    ]
                    system.keys.preload(sealed_customers(s.state for s in wanted))
                    for stored in wanted:
                        event = mapper.to_domain_event(stored)
                        if isinstance(event, DomainEvent):
                            yield event
                    report.events += len(page)
                    progress.show(report.events)

        views = [view for projection in projections for view in projection.views]
        with _collector_paused():
            folded = fold(views, applied_events())
        progress.show(report.events, final=True)
        # The tables are made, filled and swapped under the schema lock, taken on this session (so
        # that PostgreSQL sees any wait between it and this transaction's locks) and let go only after
        # the commit: a process starting meanwhile creates its tables before or after, never across.
        until_committed.enter_context(database.schema_lock(conn))
        # Every shadow is filled before any live table is touched: the API reads the live tables
        # undisturbed until the swaps, which only drop and rename, just before the commit.
        for projection in projections:
            store.drop_tables(conn, schema, projection, SUFFIX)
            store.create_tables(conn, schema, projection, SUFFIX, indexes=False)
            report.rows += store.write_folded(conn, schema, projection, folded, SUFFIX)
            store.create_indexes(conn, schema, projection, SUFFIX)
        for projection in projections:
            if verify:
                store.create_tables(conn, schema, projection)
                differences = store.diff(conn, schema, projection, SUFFIX)
                report.differences[projection.name] = {
                    table: (d.missing.count, d.extra.count) for table, d in differences.items()
                }
                store.drop_tables(conn, schema, projection, SUFFIX)
            else:
                store.swap(conn, schema, projection, SUFFIX)
                shapes.record_shapes(conn, schema, [projection], rebuilt=True)
    report.seconds = time.perf_counter() - started
    return report


def rebuild_projections(
    system: RebuildSystem,
    names: Sequence[str] = (),
    out: TextIO | None = sys.stderr,
    progress: ProgressReport | None = None,
) -> RebuildReport:
    """Replay the store into shadow tables and swap them in (all projections when ``names`` is empty).

    The progress goes to ``progress`` when given, else as a line to ``out``.
    """
    return _rebuild(system, names, verify=False, out=out, report_progress=progress)


def verify_projections(
    system: RebuildSystem,
    names: Sequence[str] = (),
    out: TextIO | None = sys.stderr,
    progress: ProgressReport | None = None,
) -> RebuildReport:
    """Rebuild into shadow tables and compare them with the live ones; the live tables are not touched."""
    return _rebuild(system, names, verify=True, out=out, report_progress=progress)
