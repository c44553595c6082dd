"""The query side of the API: answers come from the projections only, never from loading an aggregate.

Read your writes: a command answers with the case's new version; a query that passes it as
``min_version`` waits (bounded) until the ``projections`` consumer group has applied that version of the
case. The group records, per case, the last version it applied in the same transaction as the rows, so
the comparison is exact.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from api.problems import ProjectionBehindError, ReadModelsUnavailableError, ResourceNotFoundError
from consumers.read_models import read_schema
from domain.base import Role
from infra.clock import Clock
from projections import queries
from projections.queries import (
    AgeingBucket,
    ClaimCase,
    ComplaintCase,
    ComplaintStatistics,
    CustomerCases,
    PolicySummary,
    WorkItem,
)

T = TypeVar("T")


class ReadModels:
    """Queries on the read models of one deployment (base schema)."""

    def __init__(
        self,
        pool: ConnectionPool[Any],
        base_schema: str,
        projections_group: str,
        clock: Clock,
        wait_seconds: float,
    ) -> None:
        self._pool = pool
        self._base_schema = base_schema
        self._schema = read_schema(base_schema)
        self._group = projections_group
        self._clock = clock
        self._wait_seconds = wait_seconds

    def claim(self, claim_id: UUID, min_version: int | None = None) -> ClaimCase:
        """案件查询: a claim as projected, once the projection holds ``min_version``."""
        return self._case("claim", claim_id, min_version, queries.get_claim)

    def complaint(self, complaint_id: UUID, min_version: int | None = None) -> ComplaintCase:
        """A complaint as projected, once the projection holds ``min_version``."""
        return self._case("complaint", complaint_id, min_version, queries.get_complaint)

    def policy(self, policy_id: UUID, min_version: int | None = None) -> PolicySummary:
        """保单查询: a policy as projected, once the projection holds ``min_version``."""
        return self._case("policy", policy_id, min_version, queries.get_policy)

    def customer(self, customer_id: str) -> CustomerCases:
        """Every case of one customer."""
        with self._connection() as conn:
            found = queries.get_customer(conn, self._schema, customer_id)
        if found is None:
            raise ResourceNotFoundError(f"no customer with id {customer_id}")
        return found

    def worklist(
        self,
        *,
        role: Role | None,
        assignee: str | None,
        due_before: datetime | None,
        limit: int,
        offset: int,
    ) -> list[WorkItem]:
        """Open work items, soonest deadline first."""
        with self._connection() as conn:
            return queries.worklist(
                conn,
                self._schema,
                role=role,
                assignee=assignee,
                due_before=due_before,
                limit=limit,
                offset=offset,
            )

    def complaint_statistics(
        self,
        *,
        category: str | None,
        channel: str | None,
        month_from: str | None,
        month_to: str | None,
    ) -> list[ComplaintStatistics]:
        """Complaint counts and on-time rate by category, channel and month."""
        with self._connection() as conn:
            return queries.complaint_statistics(
                conn,
                self._schema,
                category=category,
                channel=channel,
                month_from=month_from,
                month_to=month_to,
            )

    def claims_ageing(self, as_of: datetime | None) -> list[AgeingBucket]:
        """Open claims by age at ``as_of`` (the server's now when not given)."""
        with self._connection() as conn:
            return queries.claims_ageing(conn, self._schema, as_of or self._clock.now())

    def _case(
        self,
        context: str,
        case_id: UUID,
        min_version: int | None,
        get: Callable[[psycopg.Connection[Any], str, UUID], T | None],
    ) -> T:
        with self._connection() as conn:
            if min_version is not None:
                self._wait_for(conn, context, case_id, min_version)
            found = get(conn, self._schema, case_id)
        if found is None:
            raise ResourceNotFoundError(f"no {context} with id {case_id}")
        return found

    def _wait_for(self, conn: psycopg.Connection[Any], context: str, case_id: UUID, version: int) -> None:
        query = sql.SQL(
            "SELECT last_version FROM {} WHERE group_id = %s AND context = %s AND case_id = %s"
        ).format(sql.Identifier(self._base_schema, "consumer_applied"))
        deadline = time.monotonic() + self._wait_seconds
        while True:
            row = conn.execute(query, (self._group, context, case_id)).fetchone()
            applied = 0 if row is None else int(row[0])
            if applied >= version:
                return
            if time.monotonic() >= deadline:
                raise ProjectionBehindError(
                    f"the read models hold version {applied} of {context} {case_id}, not yet {version}"
                )
            time.sleep(0.05)

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            with self._pool.connection() as conn:
                yield conn
        except psycopg.errors.UndefinedTable:
            raise ReadModelsUnavailableError(
                "the read models are not there yet: the projections consumer has not started"
            ) from None
