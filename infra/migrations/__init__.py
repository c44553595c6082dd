"""Versioned migrations of caseledger's own tables: ``<prefix>.schema_version`` records each step applied.

``upgrade`` applies the pending steps of ``infra.migrations.steps`` in order, each in one transaction with
its row in ``schema_version`` (its number, name, and when), all under the database-wide schema lock
(``caseledger.schema``, the advisory lock processes create what they need under), so two upgrades at once
run one after the other and the second finds nothing to do. Every process checks the version at start
(``prepare``, from the composition root): behind, it upgrades when ``CASELEDGER_DB_AUTO_UPGRADE`` is on
(the default, what ``caseledger up`` on a laptop wants) and refuses in one line when it is off (the
deployment's processes, after its one-shot ``caseledger db upgrade``); ahead (a newer release migrated
the database) it always refuses.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import Connection, sql

from infra.migrations.steps import BASELINE_TABLES, STEPS, Step
from infra.store.database import SCHEMA_LOCK

VERSION_TABLE = "schema_version"

TARGET_VERSION = STEPS[-1].version
"""The version this release's code needs."""


class SchemaBehindError(RuntimeError):
    """The base schema misses migrations this release needs, and this process may not apply them."""

    def __init__(self, schema: str, current: int, target: int) -> None:
        super().__init__(
            f"the database schema {schema!r} is at version {current}, this release needs {target}: "
            "run `caseledger db upgrade` first (or set CASELEDGER_DB_AUTO_UPGRADE=true)"
        )


class SchemaAheadError(RuntimeError):
    """The base schema was migrated by a newer release than this one."""

    def __init__(self, schema: str, current: int, target: int) -> None:
        super().__init__(
            f"the database schema {schema!r} is at version {current}, newer than this release's {target}: "
            "run the release that migrated it (or a newer one)"
        )


@dataclass(frozen=True)
class AppliedStep:
    """A row of ``schema_version``: a step applied, when, and whether it adopted tables already there."""

    version: int
    name: str
    applied_at: datetime
    adopted: bool


@dataclass(frozen=True)
class SchemaStatus:
    """Where a base schema stands: its version, this release's, and the steps between."""

    schema: str
    current: int
    target: int
    applied: tuple[AppliedStep, ...]
    pending: tuple[Step, ...]


def status(conn: Connection[Any], schema: str) -> SchemaStatus:
    """The schema's version and the steps still to apply (reads only: creates nothing)."""
    applied = _applied(conn, schema)
    current = max((step.version for step in applied), default=0)
    return SchemaStatus(
        schema=schema,
        current=current,
        target=TARGET_VERSION,
        applied=applied,
        pending=tuple(step for step in STEPS if step.version > current),
    )


def upgrade(conn: Connection[Any], schema: str) -> list[Step]:
    """Apply the pending steps in order, each in its own transaction; the steps applied (none: up to date).

    ``conn`` is in autocommit mode; the schema lock is taken on it (a session that already holds it, as
    the composition root's does, takes it again), so concurrent upgrades wait for each other.
    """
    if not conn.autocommit:
        raise ValueError("upgrade runs on an autocommit connection: each step is its own transaction")
    with _schema_lock(conn):
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        conn.execute(
            sql.SQL(
                """CREATE TABLE IF NOT EXISTS {} (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                    adopted boolean NOT NULL DEFAULT false)"""
            ).format(sql.Identifier(schema, VERSION_TABLE))
        )
        current = status(conn, schema)
        if current.current > current.target:
            raise SchemaAheadError(schema, current.current, current.target)
        for step in current.pending:
            _apply(conn, schema, step)
        return list(current.pending)


def prepare(conn: Connection[Any], schema: str, *, auto_upgrade: bool) -> list[Step]:
    """At a process's start: upgrade when allowed, else refuse a schema behind; always refuse one ahead."""
    current = status(conn, schema)
    if current.current > current.target:
        raise SchemaAheadError(schema, current.current, current.target)
    if not current.pending:
        return []
    if not auto_upgrade:
        raise SchemaBehindError(schema, current.current, current.target)
    return upgrade(conn, schema)


def _apply(conn: Connection[Any], schema: str, step: Step) -> None:
    with conn.transaction():
        adopted = step.version == 1 and _has_any_table(conn, schema, BASELINE_TABLES)
        for statement in step.statements:
            conn.execute(sql.SQL(statement).format(s=sql.Identifier(schema)))
        conn.execute(
            sql.SQL("INSERT INTO {} (version, name, adopted) VALUES (%s, %s, %s)").format(
                sql.Identifier(schema, VERSION_TABLE)
            ),
            (step.version, step.name, adopted),
        )


def _applied(conn: Connection[Any], schema: str) -> tuple[AppliedStep, ...]:
    if not _has_any_table(conn, schema, (VERSION_TABLE,)):
        return ()
    rows = conn.execute(
        sql.SQL("SELECT version, name, applied_at, adopted FROM {} ORDER BY version").format(
            sql.Identifier(schema, VERSION_TABLE)
        )
    ).fetchall()
    return tuple(AppliedStep(*_values(row)) for row in rows)


def _values(row: Any) -> tuple[Any, ...]:
    # Pooled connections give dict rows outside ``Database.connection``; ours are tuples.
    return tuple(row.values()) if isinstance(row, dict) else tuple(row)


def _has_any_table(conn: Connection[Any], schema: str, tables: tuple[str, ...]) -> bool:
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = ANY(%s))",
        (schema, list(tables)),
    ).fetchone()
    assert row is not None
    return bool(_values(row)[0])


@contextmanager
def _schema_lock(conn: Connection[Any]) -> Iterator[None]:
    conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (SCHEMA_LOCK,))
    try:
        yield
    finally:
        conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (SCHEMA_LOCK,))


__all__ = [
    "STEPS",
    "TARGET_VERSION",
    "AppliedStep",
    "SchemaAheadError",
    "SchemaBehindError",
    "SchemaStatus",
    "Step",
    "prepare",
    "status",
    "upgrade",
]
