"""The hash chain in PostgreSQL: a ``chain_hash`` column on each application's events table, set by a trigger.

The trigger computes exactly what ``infra.audit.verify.chain_hash`` computes (see there for the encoding),
from the chain hash of the same case's previous version. A BEFORE ROW trigger sees the rows that earlier
rows of the same INSERT wrote, so the library's one-statement insert of a command's several events chains
them in order. Snapshot tables are not chained: a snapshot is derived data, and the events it summarises
are.

A writer that already holds the case's previous chain hash may store the new one itself (the SLA scheduler
does, for a burst of breaches: it read the timers' hashes with their events when it staged them); the
trigger runs only for rows stored without one (``WHEN (NEW.chain_hash IS NULL)``: no call, no look-up).
Such a hash is not checked at insert: a wrong one is a broken link that ``caseledger audit verify`` names,
as it names a tampered row, and the writer's hashes are tested to equal the trigger's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from infra.store.database import Database
from infra.store.eventstore import CaseApplication

FUNCTION = "caseledger_chain_hash"
TRIGGER = "caseledger_chain_hash"


@dataclass(frozen=True)
class ChainedTable:
    """Where one application's events are stored: its bounded context, schema and table."""

    context: str
    schema: str
    table: str

    @property
    def identifier(self) -> sql.Composed:
        return sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(self.table))


def chained_table(app: CaseApplication[Any]) -> ChainedTable:
    """The events table of an application (the library names it after the application class)."""
    return ChainedTable(app.bounded_context, app.events_schema, app.events_table_name)


_FUNCTION_BODY = """
CREATE OR REPLACE FUNCTION {schema}.{function}() RETURNS trigger LANGUAGE plpgsql AS $BODY$
DECLARE
    previous bytea;
    topic_bytes bytea := convert_to(coalesce(NEW.topic, ''), 'UTF8');
BEGIN
    IF NEW.originator_version = 1 THEN
        previous := '\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
    ELSE
        SELECT p.chain_hash INTO previous FROM {table} AS p
         WHERE p.originator_id = NEW.originator_id AND p.originator_version = NEW.originator_version - 1;
        IF previous IS NULL THEN
            -- Refuse rather than start a second chain: the case's previous version is absent or unchained.
            RAISE EXCEPTION 'hash chain: % version % has no chained predecessor',
                NEW.originator_id, NEW.originator_version USING ERRCODE = 'data_corrupted';
        END IF;
    END IF;
    NEW.chain_hash := sha256(previous || uuid_send(NEW.originator_id) || int8send(NEW.originator_version)
                             || int4send(octet_length(topic_bytes)) || topic_bytes
                             || coalesce(NEW.state, ''::bytea));
    RETURN NEW;
END;
$BODY$
"""


def install_chains(database: Database, apps: Iterable[CaseApplication[Any]]) -> list[ChainedTable]:
    """Chain every application's events table; idempotent, and safe for several processes starting at once.

    Rows stored before the chain existed are chained once, in version order, under the library's own write
    lock, so no event is written between the backfill and the trigger.
    """
    tables = [chained_table(app) for app in apps]
    with database.connection() as conn:
        for table in tables:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtext('caseledger.audit.chain'))")
                _install(conn, table)
    return tables


def _install(conn: psycopg.Connection[Any], table: ChainedTable) -> None:
    conn.execute(
        sql.SQL(_FUNCTION_BODY).format(
            schema=sql.Identifier(table.schema), function=sql.Identifier(FUNCTION), table=table.identifier
        )
    )
    installed = conn.execute(
        # Whether it is there, and whether it is this release's (only for rows stored without a hash).
        "SELECT tgqual IS NOT NULL FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname = %s",
        (f"{_quoted(table.schema)}.{_quoted(table.table)}", TRIGGER),
    ).fetchone()
    if installed is not None and installed[0]:
        # Checked first, so that an ordinary start takes no table lock: ALTER and CREATE TRIGGER would.
        return
    conn.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(table.identifier))
    if installed is None:
        conn.execute(
            sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS chain_hash bytea").format(table.identifier)
        )
        _backfill(conn, table)
    # Or replace an earlier release's trigger, which ran for every row, with one that lets a writer's own
    # hash stand (every row is chained already). CREATE OR REPLACE needs no lock stronger than the one held:
    # DROP TRIGGER would upgrade it to ACCESS EXCLUSIVE behind any open reader, and deadlock with a reader
    # that then writes.
    conn.execute(
        sql.SQL(
            "CREATE OR REPLACE TRIGGER {trigger} BEFORE INSERT ON {table}"
            " FOR EACH ROW WHEN (NEW.chain_hash IS NULL) EXECUTE FUNCTION {schema}.{function}()"
        ).format(
            trigger=sql.Identifier(TRIGGER),
            table=table.identifier,
            schema=sql.Identifier(table.schema),
            function=sql.Identifier(FUNCTION),
        )
    )


def _backfill(conn: psycopg.Connection[Any], table: ChainedTable) -> None:
    """Chain rows stored before the trigger existed, one version level at a time."""
    hash_of = sql.SQL(
        "sha256({previous} || uuid_send(t.originator_id) || int8send(t.originator_version)"
        " || int4send(octet_length(convert_to(coalesce(t.topic, ''), 'UTF8')))"
        " || convert_to(coalesce(t.topic, ''), 'UTF8') || coalesce(t.state, ''::bytea))"
    )
    genesis = sql.SQL("'\\x{}'::bytea").format(sql.SQL("00" * 32))
    conn.execute(
        sql.SQL(
            "UPDATE {t} AS t SET chain_hash = {h} WHERE t.originator_version = 1 AND t.chain_hash IS NULL"
        ).format(t=table.identifier, h=hash_of.format(previous=genesis))
    )
    step = sql.SQL(
        "UPDATE {t} AS t SET chain_hash = {h} FROM {t} AS p"
        " WHERE t.chain_hash IS NULL AND p.originator_id = t.originator_id"
        " AND p.originator_version = t.originator_version - 1 AND p.chain_hash IS NOT NULL"
    ).format(t=table.identifier, h=hash_of.format(previous=sql.SQL("p.chain_hash")))
    while conn.execute(step).rowcount:
        pass


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
