"""The console's operations page on the consumer groups: lag, dead letters, retry and skip, projections
verify. The API cannot import ``consumers/`` (they are siblings in the layers); the command line, above
both, builds this and hands it to ``create_app``.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from api.console.operations import DeadLetterRow, GroupLag, ProjectionsCheck, Resolution
from consumers.dlq import DeadLetter, dlq_list, dlq_retry, dlq_skip
from consumers.groups import default_groups
from consumers.processing import DeadLetterNotFoundError, RetryResult
from consumers.rebuild import verify_projections
from infra.audit.chain import chained_table
from infra.bootstrap import System


class ConsumerOperations:
    """``Operations`` on a system's consumer groups: the calls of ``caseledger dlq`` and ``projections``."""

    def __init__(self, system: System) -> None:
        self._system = system

    def group_lag(self) -> list[GroupLag]:
        """Per group and context: events stored, and versions the group recorded as applied."""
        prefix = self._system.settings.topic_prefix
        schema = self._system.settings.db_schema
        tables = {app.bounded_context: chained_table(app) for app in self._system.applications()}
        lags = []
        with self._system.database.connection() as conn:
            applied_table = conn.execute("SELECT to_regclass(%s)", (f"{schema}.consumer_applied",)).fetchone()
            stored = {
                context: _count(conn, sql.SQL("SELECT count(*) FROM {}").format(table.identifier))
                for context, table in tables.items()
            }
            for group in default_groups().values():
                for context in group.contexts:
                    applied = 0
                    if applied_table is not None and applied_table[0] is not None:
                        applied = _count(
                            conn,
                            sql.SQL(
                                "SELECT coalesce(sum(last_version), 0) FROM {}"
                                " WHERE group_id = %s AND context = %s"
                            ).format(sql.Identifier(schema, "consumer_applied")),
                            (group.group_id(prefix), context),
                        )
                    lags.append(GroupLag(group.name, context, stored.get(context, 0), applied))
        return lags

    def dead_letters(self, include_resolved: bool) -> list[DeadLetterRow]:
        prefix = f"{self._system.settings.topic_prefix}."
        return [_row(letter, prefix) for letter in dlq_list(self._system, include_resolved=include_resolved)]

    def retry(self, dead_letter_id: int, by: str) -> Resolution:
        owner = self._group_of(dead_letter_id)
        if owner is None:
            return Resolution((), None, f"no dead letter {dead_letter_id}")
        return _resolution(dlq_retry(self._system, owner, dead_letter_id=dead_letter_id, by=by))

    def skip(self, dead_letter_id: int, by: str, reason: str) -> Resolution:
        try:
            return _resolution(dlq_skip(self._system, dead_letter_id, by=by, reason=reason))
        except DeadLetterNotFoundError as missing:
            return Resolution((), None, str(missing))

    def verify_projections(self) -> ProjectionsCheck:
        report = verify_projections(self._system, out=None)
        differences = tuple(
            f"{projection}.{table}: {missing} rows missing, {extra} rows extra"
            for projection, tables in report.differences.items()
            for table, (missing, extra) in tables.items()
            if missing or extra
        )
        return ProjectionsCheck(report.consistent, report.events, report.seconds, differences)

    def _group_of(self, dead_letter_id: int) -> str | None:
        prefix = f"{self._system.settings.topic_prefix}."
        for letter in dlq_list(self._system, include_resolved=True):
            if letter.id == dead_letter_id:
                return letter.group_id.removeprefix(prefix)
        return None


def _count(conn: psycopg.Connection[Any], query: sql.Composed, params: tuple[Any, ...] = ()) -> int:
    row = conn.execute(query, params).fetchone()
    return 0 if row is None else int(row[0])


def _row(letter: DeadLetter, prefix: str) -> DeadLetterRow:
    return DeadLetterRow(
        id=letter.id,
        group=letter.group_id.removeprefix(prefix),
        context=letter.context,
        case_id=letter.case_id,
        version=letter.version,
        wire_name=letter.wire_name,
        error=letter.error,
        attempts=letter.attempts,
        status=letter.status,
        parked_at=letter.parked_at,
        resolved_by=letter.resolved_by,
        resolution_reason=letter.resolution_reason,
    )


def _resolution(result: RetryResult) -> Resolution:
    return Resolution(result.resolved, result.still_parked, result.error)
