"""Which read models were built in a shape this release no longer declares, and so need a rebuild.

Read models are not migrated: they are disposable and rebuilt from the events (``projections rebuild``).
What a release must say instead is *whether* one needs a rebuild. ``<read schema>.read_model_shapes`` keeps,
per projection, a fingerprint of the tables its rows were built in (columns, types, keys, indexes): the
projections group records it when it first creates a projection's tables (a deployment from before the
fingerprints is taken to be in the current shape), and a rebuild records the new one when it swaps its copy
in. A projection whose recorded fingerprint differs from the one its code declares is stale: the group
still applies events to it (a nullable column added later reads as null in older rows), the group says so
in its log at start, and ``caseledger db status`` names it with the rebuild to run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from psycopg import Connection, sql

from projections.base import Projection

SHAPES_TABLE = "read_model_shapes"


def shape(projection: Projection) -> str:
    """The fingerprint of the tables ``projection`` declares (a change of any column, key or index shows)."""
    described = [
        (
            table.name,
            [(c.name, c.sql_type.lower(), c.nullable) for c in table.columns],
            list(table.key),
            [list(index) for index in table.indexes],
        )
        for table in projection.tables()
    ]
    return hashlib.sha256(repr(described).encode()).hexdigest()[:16]


def create_shapes_table(conn: Connection[Any], schema: str) -> None:
    """The fingerprints' table, beside the read models (in the caller's transaction, under its lock)."""
    conn.execute(
        sql.SQL(
            """CREATE TABLE IF NOT EXISTS {} (
                projection text PRIMARY KEY,
                shape text NOT NULL,
                recorded_at timestamptz NOT NULL DEFAULT now())"""
        ).format(sql.Identifier(schema, SHAPES_TABLE))
    )


def record_shapes(
    conn: Connection[Any], schema: str, projections: Iterable[Projection], *, rebuilt: bool
) -> None:
    """Record each projection's current fingerprint: where none is recorded yet, or (``rebuilt``) always."""
    create_shapes_table(conn, schema)
    conflict = "DO UPDATE SET shape = EXCLUDED.shape, recorded_at = now()" if rebuilt else "DO NOTHING"
    for projection in projections:
        conn.execute(
            sql.SQL("INSERT INTO {} (projection, shape) VALUES (%s, %s) ON CONFLICT (projection) {}").format(
                sql.Identifier(schema, SHAPES_TABLE), sql.SQL(conflict)
            ),
            (projection.name, shape(projection)),
        )


def stale_projections(conn: Connection[Any], schema: str, projections: Sequence[Projection]) -> list[str]:
    """The projections whose rows were built in another shape than the one declared now (reads only)."""
    exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f'"{schema}"."{SHAPES_TABLE}"',)).fetchone()
    if exists is None or not _first(exists):
        return []
    rows = conn.execute(
        sql.SQL("SELECT projection, shape FROM {}").format(sql.Identifier(schema, SHAPES_TABLE))
    ).fetchall()
    recorded = {str(_first(row)): str(_second(row)) for row in rows}
    return [p.name for p in projections if p.name in recorded and recorded[p.name] != shape(p)]


def _first(row: Any) -> Any:
    return row[next(iter(row))] if isinstance(row, dict) else row[0]


def _second(row: Any) -> Any:
    return list(row.values())[1] if isinstance(row, dict) else row[1]
