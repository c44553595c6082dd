"""How far the read models are: the queries behind the API's read-your-writes (``min_version``,
``min_position``).

A consumer group records, per case, the last version it applied, in the same transaction as its rows
(``<base schema>.consumer_applied``, written by ``consumers.processing``). These queries compare that with
the event store: the store's events tables are passed in by the caller (the event store names them), and
so is the relay's published position (the relay keeps it).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import Connection, sql

STORE_END = 2**63 - 1
"""Above every store position (PostgreSQL's bigint maximum)."""

APPLIED_TABLE = "consumer_applied"
"""Per consumer group and case, the last version applied (kept by every group's consumer)."""


def applied_table(base_schema: str) -> sql.Identifier:
    return sql.Identifier(base_schema, APPLIED_TABLE)


def applied_version(
    conn: Connection[Any], base_schema: str, group_id: str, context: str, case_id: UUID
) -> int:
    """The last version of the case the group has applied (0: none yet)."""
    row = conn.execute(
        sql.SQL("SELECT last_version FROM {} WHERE group_id = %s AND context = %s AND case_id = %s").format(
            applied_table(base_schema)
        ),
        (group_id, context, case_id),
    ).fetchone()
    return 0 if row is None else int(row[0])


def version_at(conn: Connection[Any], events_table: sql.Composable, case_id: UUID, position: int) -> int:
    """The case's last version stored at or before store ``position`` (0 when it had none yet)."""
    row = conn.execute(
        sql.SQL(
            "SELECT coalesce(max(originator_version), 0) FROM {}"
            " WHERE originator_id = %s AND notification_id <= %s"
        ).format(events_table),
        (case_id, position),
    ).fetchone()
    return 0 if row is None else int(row[0])


def case_head(conn: Connection[Any], events_table: sql.Composable, case_id: UUID) -> int:
    """The case's last stored version (0: the store holds no such case)."""
    return version_at(conn, events_table, case_id, STORE_END)


def store_head(conn: Connection[Any], events_table: sql.Composable) -> int:
    """The highest store position taken in the context so far (0: none). Read from the primary key's end.

    A position above it belongs to no committed command: no read can wait for it to be applied.
    """
    row = conn.execute(
        sql.SQL("SELECT coalesce(max(notification_id), 0) FROM {}").format(events_table)
    ).fetchone()
    return 0 if row is None else int(row[0])


def first_unapplied(
    conn: Connection[Any],
    events_table: sql.Composable,
    base_schema: str,
    group_id: str,
    context: str,
    after: int,
    upto: int,
) -> int | None:
    """The first store position in ``(after, upto]`` whose event the group has not applied yet, if any."""
    row = conn.execute(
        sql.SQL(
            """SELECT min(e.notification_id) FROM {events} e
               LEFT JOIN {applied} a
                 ON a.group_id = %s AND a.context = %s AND a.case_id = e.originator_id
               WHERE e.notification_id > %s AND e.notification_id <= %s
                 AND e.originator_version > coalesce(a.last_version, 0)"""
        ).format(events=events_table, applied=applied_table(base_schema)),
        (group_id, context, after, upto),
    ).fetchone()
    return None if row is None or row[0] is None else int(row[0])
