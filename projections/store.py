"""The read models in PostgreSQL (psycopg 3): create the tables, apply one event, write a rebuild in bulk,
swap a rebuilt copy in, and compare a rebuilt copy with the live tables.

Rows round-trip: what ``apply`` writes and ``read_rows`` reads back equals what ``projections.base.fold``
computes in memory, because the folds hold values in the normal forms of ``projections.columns`` and this
module writes ``jsonb`` through ``Jsonb`` and reads every ``timestamptz`` back in UTC.

``apply`` runs inside the caller's transaction (READ COMMITTED, PostgreSQL's default) and writes nothing
else: the consumer records what it applied in the same transaction. A row that exists is locked with
``SELECT … FOR UPDATE``; a row that does not exist yet is claimed with a transaction advisory lock on its
key first, so that two cases creating the same shared row (a customer, a statistics total) at once cannot
overwrite each other's insert.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from domain.base import DomainEvent
from projections.base import Key, Projection, Rollup, Row, Table, View, fold

SAMPLE_KEYS = 5
"""How many differing keys ``diff`` names per table and direction."""


@dataclass(frozen=True)
class RowSample:
    """How many rows differ one way, and the keys of the first few."""

    count: int
    keys: tuple[Key, ...]


class TableDiff(NamedTuple):
    """Live against rebuilt: rows the rebuild has that live lacks (``missing``), and the reverse (``extra``).

    A row whose content differs counts in both: its rebuilt form is missing and its live form is extra.
    """

    missing: RowSample
    extra: RowSample

    @property
    def empty(self) -> bool:
        """Whether live and rebuilt rows are the same."""
        return self.missing.count == 0 and self.extra.count == 0


def create_tables(
    conn: psycopg.Connection[Any], schema: str, projection: Projection, suffix: str = "", indexes: bool = True
) -> None:
    """Create the projection's tables (``<name><suffix>``), their primary keys and indexes, if absent.

    ``indexes=False`` leaves out the primary keys and indexes, for a shadow table that a bulk load fills
    first: ``create_indexes`` then builds each one once, by sorting, rather than row by row during the COPY.
    """
    statements: list[sql.Composable] = [
        sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))
    ]
    for table in projection.tables():
        name = table.name + suffix
        columns = sql.SQL(", ").join(
            sql.SQL("{} {}{}").format(
                sql.Identifier(c.name), sql.SQL(c.sql_type), sql.SQL("" if c.nullable else " NOT NULL")
            )
            for c in table.columns
        )
        if indexes:
            columns = sql.SQL("{}, {}").format(columns, _primary_key(table, name))
        statements.append(
            sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(sql.Identifier(schema, name), columns)
        )
        # A nullable column added to a view later is added to a table created before it (it reads as
        # null in the rows written before); anything else needs a rebuild.
        added = [c for c in table.columns if c.nullable]
        if added:
            statements.append(
                sql.SQL("ALTER TABLE {} {}").format(
                    sql.Identifier(schema, name),
                    sql.SQL(", ").join(
                        sql.SQL("ADD COLUMN IF NOT EXISTS {} {}").format(
                            sql.Identifier(c.name), sql.SQL(c.sql_type)
                        )
                        for c in added
                    ),
                )
            )
        if indexes:
            statements += _secondary_indexes(schema, table, name)
    _run(conn, statements)


def create_indexes(conn: psycopg.Connection[Any], schema: str, projection: Projection, suffix: str) -> None:
    """Add the primary keys and indexes to tables made with ``create_tables(..., indexes=False)``."""
    statements: list[sql.Composable] = []
    for table in projection.tables():
        name = table.name + suffix
        statements.append(
            sql.SQL("ALTER TABLE {} ADD {}").format(sql.Identifier(schema, name), _primary_key(table, name))
        )
        statements += _secondary_indexes(schema, table, name)
    _run(conn, statements)


def _primary_key(table: Table, name: str) -> sql.Composed:
    return sql.SQL("CONSTRAINT {} PRIMARY KEY ({})").format(sql.Identifier(f"{name}_pkey"), _names(table.key))


def _secondary_indexes(schema: str, table: Table, name: str) -> list[sql.Composable]:
    return [
        sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} ({})").format(
            sql.Identifier(f"{name}_i{number}"), sql.Identifier(schema, name), _names(index)
        )
        for number, index in enumerate(table.indexes, start=1)
    ]


def _run(conn: psycopg.Connection[Any], statements: Sequence[sql.Composable]) -> None:
    """Run parameterless statements (DDL) in one round trip, in the caller's transaction if it has one."""
    if statements:
        conn.execute(sql.SQL("; ").join(statements))


def drop_tables(conn: psycopg.Connection[Any], schema: str, projection: Projection, suffix: str) -> None:
    """Drop the projection's tables with ``suffix`` (an abandoned rebuild's shadow copy)."""
    _run(
        conn,
        [
            sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(schema, table.name + suffix))
            for table in projection.tables()
        ],
    )


def apply(conn: psycopg.Connection[Any], schema: str, projection: Projection, event: DomainEvent) -> None:
    """Apply one event to the projection's live tables, inside the caller's transaction."""
    rollups = [v for v in projection.views if isinstance(v, Rollup)]
    for view in projection.views:
        keys = view.keys(event)
        if not keys:
            continue
        # One round trip locks every row the event names (a claim decision touches a dozen work items).
        current = _select(conn, schema, view.table, keys)
        for key in keys:
            step = functools.partial(_view_step, view, key, event)
            old, new = _evolve_locked(conn, schema, view.table, key, step, current.get(key))
            _store(conn, schema, view.table, key, old, new)
            _remember(current, key, new)
            for rollup in rollups:
                if rollup.source != view.table.name:
                    continue
                # Sorted, so that two transactions changing the same totals lock them in the same order.
                for total_key, change in sorted(rollup.changes(old, new).items()):
                    total = _select(conn, schema, rollup.table, [total_key]).get(total_key)
                    add = functools.partial(rollup.combine, total_key, change=change)
                    total, combined = _evolve_locked(conn, schema, rollup.table, total_key, add, total)
                    _store(conn, schema, rollup.table, total_key, total, combined)


def apply_many(
    conn: psycopg.Connection[Any],
    schema: str,
    projections: Sequence[Projection],
    events: Sequence[DomainEvent],
) -> None:
    """Apply events in order to every projection, with the rows ``apply`` would leave, reading and writing
    each row once.

    A consumer's batch then costs a few round trips whatever its size and however many projections it
    touches: the rows the events name are locked with one ``SELECT … FOR UPDATE`` per table, all sent in one
    pipeline (one round trip), folded in memory (``fold``'s loop, from those rows), the rows to be created
    claimed with their advisory locks and looked for again in one more, and the changes written with one
    ``executemany`` per table, all in a last pipeline. Totals change by the difference between their source
    rows before and after the batch: sums, so the steps in between do not matter.
    """
    views = [v for p in projections for v in p.views if not isinstance(v, Rollup)]
    named = {view.table: _keys_named(view, events) for view in views}
    start = _select_all(conn, schema, named)
    final = fold(views, events, start)
    to_create = {
        table: [k for k in keys if k in final[table.name] and k not in start[table.name]]
        for table, keys in named.items()
    }
    if any(to_create.values()):
        # Another transaction may have created some of them since: claim the keys, then look again.
        found = _select_all(conn, schema, to_create, claim=True)
        if any(found.values()):
            for name, rows in found.items():
                start[name].update(rows)
            final = fold(views, events, start)
    totals = _totals(
        conn, schema, [v for p in projections for v in p.views if isinstance(v, Rollup)], start, final
    )
    with conn.pipeline():
        for view in views:
            _write_changes(conn, schema, view.table, start[view.table.name], final[view.table.name])
        for table, (before, after) in totals.items():
            _write_changes(conn, schema, table, before, after)


def _totals(
    conn: psycopg.Connection[Any],
    schema: str,
    rollups: Sequence[Rollup],
    start: Mapping[str, Mapping[Key, Row]],
    final: Mapping[str, Mapping[Key, Row]],
) -> dict[Table, tuple[dict[Key, Row], dict[Key, Row]]]:
    """Each rollup's totals that the batch changes: as they are (locked), and as they become."""
    changed = [
        (rollup, changes)
        for rollup in rollups
        if (changes := _net_changes(rollup, start[rollup.source], final[rollup.source]))
    ]
    if not changed:
        return {}
    found = _select_all(conn, schema, {rollup.table: list(changes) for rollup, changes in changed})
    absent = {
        rollup.table: [
            key
            for key in changes
            if key not in found[rollup.table.name] and rollup.combine(key, None, changes[key]) is not None
        ]
        for rollup, changes in changed
    }
    if any(absent.values()):
        for name, rows in _select_all(conn, schema, absent, claim=True).items():
            found[name].update(rows)
    result: dict[Table, tuple[dict[Key, Row], dict[Key, Row]]] = {}
    for rollup, changes in changed:
        current = found[rollup.table.name]
        combined: dict[Key, Row] = {}
        for key in changes:
            total = rollup.combine(key, current.get(key), changes[key])
            if total is not None:
                combined[key] = total
        result[rollup.table] = ({k: current[k] for k in changes if k in current}, combined)
    return result


def _keys_named(view: View, events: Sequence[DomainEvent]) -> list[Key]:
    """Every key the events name for this view, once each (the statements lock them in key order)."""
    return list(dict.fromkeys(key for event in events for key in view.keys(event)))


def _net_changes(
    rollup: Rollup, before: Mapping[Key, Row], after: Mapping[Key, Row]
) -> dict[Key, dict[str, int]]:
    """What the batch's source row changes add to each total, summed (zero changes left out)."""
    changes: dict[Key, dict[str, int]] = {}
    for key in before.keys() | after.keys():
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        for total_key, change in rollup.changes(old, new).items():
            summed = changes.setdefault(total_key, dict.fromkeys(rollup.counters(), 0))
            for name, amount in change.items():
                summed[name] += amount
    return {key: change for key, change in changes.items() if any(change.values())}


_CLAIM = "SELECT pg_advisory_xact_lock(id) FROM (SELECT id FROM unnest(%s::bigint[]) AS id ORDER BY id) AS i"


def _select_all(
    conn: psycopg.Connection[Any],
    schema: str,
    keys: Mapping[Table, Sequence[Key]],
    *,
    claim: bool = False,
) -> dict[str, dict[Key, Row]]:
    """Table name → the rows with these keys that exist, locked (``FOR UPDATE``) in key order, by key.

    One statement per table, all sent in one pipeline: one round trip. With ``claim``, the advisory locks
    of rows about to be created (as ``_evolve_locked`` takes them, in one order) are taken first, in the
    same round trip.
    """
    with conn.pipeline():
        if claim:
            ids = sorted({_lock_id(schema, table, key) for table, named in keys.items() for key in named})
            conn.execute(_CLAIM, (ids,))
        sent = [
            (
                table,
                conn.execute(
                    _select_many_sql(schema, table), [list(c) for c in zip(*named, strict=True)], prepare=True
                ),
            )
            for table, named in keys.items()
            if named
        ]
    found: dict[str, dict[Key, Row]] = {table.name: {} for table in keys}
    for table, cursor in sent:
        rows = (_row(table, values) for values in cursor.fetchall())
        found[table.name] = {tuple(row[k] for k in table.key): row for row in rows}
    return found


@functools.lru_cache(maxsize=256)
def _select_many_sql(schema: str, table: Table) -> bytes:
    types = {c.name: c.sql_type for c in table.columns}
    keys = sql.SQL(", ").join(sql.SQL("%s::{}[]").format(sql.SQL(types[k])) for k in table.key)
    on = sql.SQL(" AND ").join(sql.SQL("t.{0} = k.{0}").format(sql.Identifier(k)) for k in table.key)
    return (
        sql.SQL("SELECT {} FROM {} AS t JOIN unnest({}) AS k({}) ON {} ORDER BY {} FOR UPDATE OF t")
        .format(
            sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(n)) for n in table.column_names()),
            sql.Identifier(schema, table.name),
            keys,
            _names(table.key),
            on,
            sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(k)) for k in table.key),
        )
        .as_bytes()
    )


def _write_changes(
    conn: psycopg.Connection[Any],
    schema: str,
    table: Table,
    before: Mapping[Key, Row],
    after: Mapping[Key, Row],
) -> None:
    """Delete the rows the batch removed and upsert those it created or changed, one ``executemany`` each."""
    gone = [key for key in before if key not in after]
    changed = [row for key, row in after.items() if before.get(key) != row]
    with conn.cursor() as cursor:
        if gone:
            cursor.executemany(_delete_sql(schema, table), gone)
        if changed:
            jsonb = {c.name for c in table.columns if c.sql_type == "jsonb"}
            names = table.column_names()
            cursor.executemany(
                _upsert_sql(schema, table),
                [[Jsonb(row[n], _dumps) if n in jsonb else row[n] for n in names] for row in changed],
            )


def write_rows(
    conn: psycopg.Connection[Any], schema: str, table: Table, rows: Iterable[Row], suffix: str = ""
) -> int:
    """Bulk-insert rows (a rebuild's fold) into ``<table><suffix>`` with COPY; returns how many."""
    names = table.column_names()
    jsonb = {c.name for c in table.columns if c.sql_type == "jsonb"}
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(schema, table.name + suffix), _names(names)
    )
    count = 0
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([Jsonb(row[n], _dumps) if n in jsonb else row[n] for n in names])
            count += 1
    return count


def read_rows(conn: psycopg.Connection[Any], schema: str, table: Table, suffix: str = "") -> dict[Key, Row]:
    """Every row of ``<table><suffix>``, by key, in the same form as a fold's rows."""
    names = table.column_names()
    cursor = conn.execute(
        sql.SQL("SELECT {} FROM {}").format(_names(names), sql.Identifier(schema, table.name + suffix))
    )
    rows = (_row(table, values) for values in cursor.fetchall())
    return {tuple(row[k] for k in table.key): row for row in rows}


def read_key(
    conn: psycopg.Connection[Any], schema: str, table: Table, key: Key, suffix: str = ""
) -> Row | None:
    """The row of ``<table><suffix>`` with this key, in the same form as a fold's row, or None."""
    found = conn.execute(_read_key_sql(schema, table, suffix), key, prepare=True).fetchone()
    return None if found is None else _row(table, found)


@functools.lru_cache(maxsize=1024)
def _read_key_sql(schema: str, table: Table, suffix: str) -> bytes:
    # Every case query of the API runs it: composed once, not per request.
    return (
        sql.SQL("SELECT {} FROM {} WHERE {}")
        .format(_names(table.column_names()), sql.Identifier(schema, table.name + suffix), _where(table))
        .as_bytes()
    )


def write_folded(
    conn: psycopg.Connection[Any],
    schema: str,
    projection: Projection,
    folded: Mapping[str, Mapping[Key, Row]],
    suffix: str,
) -> int:
    """Write a fold of the whole projection (``projections.base.fold``) into its ``suffix`` tables."""
    return sum(
        write_rows(conn, schema, table, folded[table.name].values(), suffix) for table in projection.tables()
    )


def swap(conn: psycopg.Connection[Any], schema: str, projection: Projection, suffix: str) -> None:
    """Replace the live tables by their ``suffix`` copies, all at once (one transaction).

    The live consumer of this projection must be paused from the moment the rebuild stopped reading
    events until the swap commits, or its later events replayed onto the copy: otherwise what it applied
    to the old tables in between is dropped with them.
    """
    statements: list[sql.Composable] = []
    for table in projection.tables():
        shadow, live = table.name + suffix, table.name
        statements.append(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(schema, live)))
        statements.append(
            sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                sql.Identifier(schema, shadow), sql.Identifier(live)
            )
        )
        # Index names are unique per schema: give the live names back, so the next shadow can be made.
        statements.append(
            sql.SQL("ALTER TABLE {} RENAME CONSTRAINT {} TO {}").format(
                sql.Identifier(schema, live), sql.Identifier(f"{shadow}_pkey"), sql.Identifier(f"{live}_pkey")
            )
        )
        statements += [
            sql.SQL("ALTER INDEX {} RENAME TO {}").format(
                sql.Identifier(schema, f"{shadow}_i{number}"), sql.Identifier(f"{live}_i{number}")
            )
            for number in range(1, len(table.indexes) + 1)
        ]
    with conn.transaction():
        _run(conn, statements)


def diff(
    conn: psycopg.Connection[Any], schema: str, projection: Projection, suffix: str
) -> dict[str, TableDiff]:
    """Compare each live table with its rebuilt ``suffix`` copy, both ways (``EXCEPT``), by table name."""
    result: dict[str, TableDiff] = {}
    for table in projection.tables():
        live = sql.Identifier(schema, table.name)
        rebuilt = sql.Identifier(schema, table.name + suffix)
        result[table.name] = TableDiff(
            missing=_except(conn, table, rebuilt, live), extra=_except(conn, table, live, rebuilt)
        )
    return result


def _except(
    conn: psycopg.Connection[Any], table: Table, left: sql.Identifier, right: sql.Identifier
) -> RowSample:
    names = _names(table.column_names())
    key = _names(table.key)
    query = sql.SQL(
        "SELECT {key}, count(*) OVER () "
        "FROM (SELECT {names} FROM {left} EXCEPT SELECT {names} FROM {right}) d "
        "ORDER BY {key} LIMIT %s"
    ).format(key=key, names=names, left=left, right=right)
    found = conn.execute(query, (SAMPLE_KEYS,)).fetchall()
    if not found:
        return RowSample(0, ())
    return RowSample(int(found[0][-1]), tuple(tuple(values[:-1]) for values in found))


def _dumps(value: Any) -> bytes:
    # orjson rather than psycopg's default ``json.dumps``: a few percent of a rebuild and of a live upsert.
    # Non-string keys become strings, as ``json.dumps`` makes them.
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def _names(names: Iterable[str]) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


def _where(table: Table) -> sql.Composed:
    return sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(k)) for k in table.key)


def _row(table: Table, values: Iterable[Any]) -> Row:
    row = dict(zip(table.column_names(), values, strict=True))
    for column in table.columns:
        value = row[column.name]
        if column.sql_type == "timestamptz" and isinstance(value, datetime):
            # The session's time zone decides the zone psycopg returns; rows always hold UTC.
            row[column.name] = value.astimezone(UTC)
    return row


def _select(conn: psycopg.Connection[Any], schema: str, table: Table, keys: Sequence[Key]) -> dict[Key, Row]:
    """The rows with these keys that exist, locked (``FOR UPDATE``), by key."""
    found = conn.execute(_select_sql(schema, table, len(keys)), [v for key in keys for v in key])
    rows = (_row(table, values) for values in found)
    return {tuple(row[k] for k in table.key): row for row in rows}


# The live consumer runs the same few statements for every event: compose each once (it costs more
# than a local round trip), and let psycopg prepare them.
@functools.lru_cache(maxsize=1024)
def _select_sql(schema: str, table: Table, count: int) -> bytes:
    one_key = sql.SQL("({})").format(sql.SQL(", ").join(sql.Placeholder() * len(table.key)))
    return (
        sql.SQL("SELECT {} FROM {} WHERE ({}) IN ({}) FOR UPDATE")
        .format(
            _names(table.column_names()),
            sql.Identifier(schema, table.name),
            _names(table.key),
            sql.SQL(", ").join([one_key] * count),
        )
        .as_bytes()
    )


@functools.lru_cache(maxsize=256)
def _delete_sql(schema: str, table: Table) -> bytes:
    return (
        sql.SQL("DELETE FROM {} WHERE {}")
        .format(sql.Identifier(schema, table.name), _where(table))
        .as_bytes()
    )


@functools.lru_cache(maxsize=256)
def _upsert_sql(schema: str, table: Table) -> bytes:
    names = table.column_names()
    others = [n for n in names if n not in table.key]
    on_conflict = (
        sql.SQL("DO UPDATE SET {}").format(
            sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(n)) for n in others)
        )
        if others
        else sql.SQL("DO NOTHING")
    )
    return (
        sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT ({}) {}")
        .format(
            sql.Identifier(schema, table.name),
            _names(names),
            sql.SQL(", ").join(sql.Placeholder() * len(names)),
            _names(table.key),
            on_conflict,
        )
        .as_bytes()
    )


def _remember(rows: dict[Key, Row], key: Key, row: Row | None) -> None:
    if row is None:
        rows.pop(key, None)
    else:
        rows[key] = row


def _view_step(view: View, key: Key, event: DomainEvent, row: Row | None) -> Row | None:
    return view.evolve(key, row, event)


def _evolve_locked(
    conn: psycopg.Connection[Any],
    schema: str,
    table: Table,
    key: Key,
    step: Callable[[Row | None], Row | None],
    row: Row | None,
) -> tuple[Row | None, Row | None]:
    """The row as it is (``row``, already locked, or None) and as ``step`` leaves it."""
    if row is not None:
        return row, step(row)
    new = step(None)
    if new is None:
        return None, None  # nothing to create: most events name items they neither open nor find
    # No row to lock: claim the key instead, then look again, as another transaction may have inserted
    # and committed it while we waited.
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_id(schema, table, key),))
    row = _select(conn, schema, table, [key]).get(key)
    return (None, new) if row is None else (row, step(row))


def _lock_id(schema: str, table: Table, key: Key) -> int:
    digest = hashlib.blake2b(repr((schema, table.name, key)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _store(
    conn: psycopg.Connection[Any], schema: str, table: Table, key: Key, old: Row | None, new: Row | None
) -> None:
    if new is None:
        if old is not None:
            conn.execute(_delete_sql(schema, table), key)
        return
    if new == old:
        return
    jsonb = {c.name for c in table.columns if c.sql_type == "jsonb"}
    conn.execute(
        _upsert_sql(schema, table),
        [Jsonb(new[n], _dumps) if n in jsonb else new[n] for n in table.column_names()],
    )
