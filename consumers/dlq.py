"""The dead-letter queue as operators see it: ``caseledger dlq list | retry | skip``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import Connection, sql

from consumers.groups import ConsumerGroup, ConsumerSystem, default_groups, groups_named
from consumers.processing import (
    OPEN,
    DeadLetterNotFoundError,
    Processor,
    RetryPolicy,
    RetryResult,
    event_stores,
)


@dataclass(frozen=True)
class DeadLetter:
    """A parked or held message, or one that was retried or skipped (with who and why)."""

    id: int
    group_id: str
    context: str | None
    case_id: UUID | None
    version: int | None
    topic: str
    partition: int
    kafka_offset: int
    wire_name: str | None
    error: str | None
    attempts: int
    status: str
    parked_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_reason: str | None


_COLUMNS = (
    "id, group_id, context, case_id, version, topic, partition, kafka_offset, wire_name, error, attempts,"
    " status, parked_at, resolved_at, resolved_by, resolution_reason"
)


def list_dead_letters(
    conn: Connection[Any], schema: str, group_id: str | None = None, *, include_resolved: bool = False
) -> list[DeadLetter]:
    """Dead letters, oldest first: the open ones (parked, held), or all of them."""
    query = sql.SQL(
        """SELECT {cols} FROM {s}.dead_letters
           WHERE (%(g)s::text IS NULL OR group_id = %(g)s) AND (%(all)s OR status IN ('parked', 'held'))
           ORDER BY id"""
    ).format(cols=sql.SQL(_COLUMNS), s=sql.Identifier(schema))
    rows = conn.execute(query, {"g": group_id, "all": include_resolved}).fetchall()
    return [DeadLetter(*row) for row in rows]


def dlq_list(
    system: ConsumerSystem, group: str | None = None, *, include_resolved: bool = False
) -> list[DeadLetter]:
    """``caseledger dlq list [--group NAME] [--all]``."""
    group_id = None if group is None else f"{system.settings.topic_prefix}.{group}"
    with _connection(system) as conn:
        return list_dead_letters(conn, system.settings.db_schema, group_id, include_resolved=include_resolved)


def dlq_retry(
    system: ConsumerSystem,
    group: str,
    *,
    case_id: UUID | None = None,
    dead_letter_id: int | None = None,
    by: str = "operator",
    groups: Mapping[str, ConsumerGroup] | None = None,
    retry: RetryPolicy | None = None,
) -> RetryResult:
    """``caseledger dlq retry --group NAME (CASE_ID | --id N)``: re-apply a case's parked and held events."""
    if (case_id is None) == (dead_letter_id is None):
        raise ValueError("name either a case id or a dead-letter id")
    (chosen,) = groups_named([group], groups or default_groups())
    with _processor(system, chosen, retry) as (conn, processor):
        if dead_letter_id is not None:
            return processor.retry_dead_letter(conn, dead_letter_id, by)
        assert case_id is not None
        contexts = conn.execute(
            sql.SQL(
                """SELECT DISTINCT context FROM {s}.dead_letters
                   WHERE group_id = %s AND case_id = %s AND status = ANY(%s) ORDER BY context"""
            ).format(s=sql.Identifier(processor.schema)),
            (processor.group_id, case_id, list(OPEN)),
        ).fetchall()
        resolved: list[int] = []
        for (context,) in contexts:
            result = processor.retry_case(conn, context, case_id, by)
            resolved.extend(result.resolved)
            if not result.ok:
                return RetryResult(tuple(resolved), result.still_parked, result.error)
        return RetryResult(tuple(resolved))


def dlq_skip(
    system: ConsumerSystem,
    dead_letter_id: int,
    *,
    by: str,
    reason: str,
    groups: Mapping[str, ConsumerGroup] | None = None,
    retry: RetryPolicy | None = None,
) -> RetryResult:
    """``caseledger dlq skip ID --by WHO --reason WHY``: pass over a parked event, then retry the rest."""
    schema = system.settings.db_schema
    with _connection(system) as conn:
        row = conn.execute(
            sql.SQL("SELECT group_id FROM {s}.dead_letters WHERE id = %s").format(s=sql.Identifier(schema)),
            (dead_letter_id,),
        ).fetchone()
    if row is None:
        raise DeadLetterNotFoundError(f"no dead letter {dead_letter_id}")
    prefix = system.settings.topic_prefix
    candidates = groups or default_groups()
    owner = next((g for g in candidates.values() if g.group_id(prefix) == row[0]), None)
    if owner is None:
        raise DeadLetterNotFoundError(f"dead letter {dead_letter_id} belongs to unknown group {row[0]}")
    with _processor(system, owner, retry) as (conn, processor):
        return processor.skip(conn, dead_letter_id, by, reason)


@contextmanager
def _connection(system: ConsumerSystem) -> Iterator[Connection[Any]]:
    with system.database.connection() as conn:
        yield conn


@contextmanager
def _processor(
    system: ConsumerSystem, group: ConsumerGroup, retry: RetryPolicy | None
) -> Iterator[tuple[Connection[Any], Processor]]:
    schema = system.settings.db_schema
    with _connection(system) as conn:
        handler = group.build_handler(system, conn)
        group_id = group.group_id(system.settings.topic_prefix)
        yield conn, Processor(group_id, handler, event_stores(system), schema, retry)
