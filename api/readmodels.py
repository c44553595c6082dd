"""The query side of the API: answers come from the projections only, never from loading an aggregate.

Read your writes. A command answers with the case's new ``version`` and the store ``position`` of its last
event (the notification id in its bounded context's log; each context numbers its own). A query waits,
bounded, until the ``projections`` consumer group has reached what it names, else answers 503. A bound
that no wait can meet (a case the store does not hold, a version beyond its last, a position beyond the
context's last) is refused at once: 404 for an unknown case, else 422.

- ``min_version`` (case queries): the group has applied that version of the case. The group records, per
  case, the last version it applied in the same transaction as the rows, so the comparison is exact.
- ``min_position`` on a case query: the group has applied every event of *that case* stored at a position
  up to P (the case's last version at or before P, looked up in the store, then as ``min_version``).
- ``min_position`` with ``context`` on a list query: the group has applied every event of the context at a
  position up to P. That holds once (a) the relay's published position of the context is at least P, so
  no hole at or below P can still be filled by a late commit (the relay passes a hole only when no
  transaction that could fill it is left), and (b) no event at or below P is of a version greater than the
  one the group recorded for its case. Both only grow, so each API process remembers the highest position
  it proved per context and checks only the events after it.

A parked event (``caseledger dlq``) holds its case back, so a position after it is not reached until the
event is retried or skipped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar
from uuid import UUID

import psycopg
from psycopg import sql

from api.problems import (
    ProjectionBehindError,
    ReadModelsUnavailableError,
    ResourceNotFoundError,
    UnreachableReadBoundError,
)
from api.routes.timers import TimerViews
from domain.base import Role
from infra.audit.access_log import AccessLog
from infra.clock import Clock
from infra.messaging.relay import published_position
from infra.store.database import Database
from infra.store.eventstore import CaseApplication
from projections import contact_queries, queries, service_request_queries, watermarks
from projections.contact_queries import (
    ContactHistory,
    InquiryCase,
    InquiryOrigin,
    InquiryStatistics,
    ServiceOrderCase,
)
from projections.queries import (
    AgeingBucket,
    ClaimCase,
    ComplaintCase,
    ComplaintStatistics,
    CustomerCases,
    PolicySummary,
    WorkItem,
)
from projections.schema import read_schema
from projections.scopes import Reader
from projections.service_request_queries import ServiceRequestCase

T = TypeVar("T")

_POLL_SECONDS = 0.05


class PositionContext(StrEnum):
    """The bounded context whose store position a list query's ``min_position`` is."""

    POLICY = "policy"
    CLAIM = "claim"
    COMPLAINT = "complaint"
    CALLBACK = "callback"
    TIMER = "timer"
    SERVICE_REQUEST = "service_request"
    INQUIRY = "inquiry"
    SERVICE_ORDER = "service_order"


class ReadModels:
    """Queries on the read models of one deployment (base schema)."""

    def __init__(
        self,
        database: Database,
        base_schema: str,
        projections_group: str,
        clock: Clock,
        wait_seconds: float,
        stores: Mapping[str, CaseApplication[Any]],
    ) -> None:
        self._database = database
        self._base_schema = base_schema
        self._schema = read_schema(base_schema)
        self._group = projections_group
        self._clock = clock
        self._wait_seconds = wait_seconds
        self._events: dict[str, sql.Composable] = {
            context: app.events_table() for context, app in stores.items()
        }
        self._reached: dict[str, int] = {}
        self._reached_lock = threading.Lock()
        self.access_log = AccessLog(database, base_schema)
        """The personal-data access log (its table is created on the first access recorded)."""
        self.clock = clock

    def claim(
        self,
        claim_id: UUID,
        min_version: int | None = None,
        min_position: int | None = None,
        reader: Reader | None = None,
    ) -> ClaimCase:
        """案件查询: a claim as projected, once the projection holds ``min_version`` / ``min_position``;
        one out of ``reader``'s scope is not found."""
        return self._case("claim", claim_id, min_version, min_position, queries.get_claim, reader)

    def complaint(
        self,
        complaint_id: UUID,
        min_version: int | None = None,
        min_position: int | None = None,
        reader: Reader | None = None,
    ) -> ComplaintCase:
        """A complaint as projected, once the projection holds ``min_version`` / ``min_position``."""
        return self._case("complaint", complaint_id, min_version, min_position, queries.get_complaint, reader)

    def policy(
        self,
        policy_id: UUID,
        min_version: int | None = None,
        min_position: int | None = None,
        reader: Reader | None = None,
    ) -> PolicySummary:
        """保单查询: a policy as projected, once the projection holds ``min_version`` / ``min_position``."""
        return self._case("policy", policy_id, min_version, min_position, queries.get_policy, reader)

    def customer(
        self,
        customer_id: str,
        after: tuple[PositionContext, int] | None = None,
        reader: Reader | None = None,
    ) -> CustomerCases:
        """Every case of one customer (once the projection reached ``after``: context and position)."""
        with self._connection() as conn:
            self._reach(conn, after)
            found = queries.get_customer(conn, self._schema, customer_id, reader)
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
        after: tuple[PositionContext, int] | None = None,
        reader: Reader | None = None,
    ) -> list[WorkItem]:
        """Open work items in ``reader``'s scope, soonest deadline first."""
        with self._connection() as conn:
            self._reach(conn, after)
            return queries.worklist(
                conn,
                self._schema,
                role=role,
                assignee=assignee,
                due_before=due_before,
                limit=limit,
                offset=offset,
                reader=reader,
            )

    def complaint_statistics(
        self,
        *,
        category: str | None,
        channel: str | None,
        month_from: str | None,
        month_to: str | None,
        after: tuple[PositionContext, int] | None = None,
    ) -> list[ComplaintStatistics]:
        """Complaint counts and on-time rate by category, channel and month."""
        with self._connection() as conn:
            self._reach(conn, after)
            return queries.complaint_statistics(
                conn,
                self._schema,
                category=category,
                channel=channel,
                month_from=month_from,
                month_to=month_to,
            )

    def claims_ageing(
        self, as_of: datetime | None, after: tuple[PositionContext, int] | None = None
    ) -> list[AgeingBucket]:
        """Open claims by age at ``as_of`` (the server's now when not given)."""
        with self._connection() as conn:
            self._reach(conn, after)
            return queries.claims_ageing(conn, self._schema, as_of or self._clock.now())

    # 保全 policy service requests (projections.service_request_queries).

    def service_request(
        self,
        request_id: UUID,
        min_version: int | None = None,
        min_position: int | None = None,
        reader: Reader | None = None,
    ) -> ServiceRequestCase:
        """A policy service request as projected, once the projection holds ``min_version`` /
        ``min_position``; one whose policy is out of ``reader``'s scope is not found."""
        return self._case(
            "service_request",
            request_id,
            min_version,
            min_position,
            service_request_queries.get_service_request,
            reader,
        )

    def policy_service_history(
        self, policy_id: UUID, after: tuple[PositionContext, int] | None = None, reader: Reader | None = None
    ) -> list[ServiceRequestCase]:
        """The policy's 保全 requests, oldest first (404 when ``reader`` may not read the policy)."""
        with self._connection() as conn:
            self._reach(conn, after)
            found = service_request_queries.policy_service_history(conn, self._schema, policy_id, reader)
        if found is None:
            raise ResourceNotFoundError(f"no policy with id {policy_id}")
        return found

    def service_worklist(
        self,
        *,
        assignee: str | None,
        limit: int,
        offset: int,
        after: tuple[PositionContext, int] | None = None,
        reader: Reader | None = None,
    ) -> list[WorkItem]:
        """The 保全 work items in ``reader``'s scope, soonest deadline first."""
        with self._connection() as conn:
            self._reach(conn, after)
            return service_request_queries.service_worklist(
                conn, self._schema, assignee=assignee, limit=limit, offset=offset, reader=reader
            )

    # ---- 咨询 inquiries, 其他 service orders and the contact history (issue #14 points 1, 5, 6): their
    # rows hold no personal field and the routes admit only the roles that serve customers.

    def inquiry(
        self, inquiry_id: UUID, min_version: int | None = None, min_position: int | None = None
    ) -> InquiryCase:
        """An inquiry as projected, once the projection holds ``min_version`` / ``min_position``."""
        return self._case(
            "inquiry", inquiry_id, min_version, min_position, _unscoped(contact_queries.get_inquiry), None
        )

    def service_order(
        self, order_id: UUID, min_version: int | None = None, min_position: int | None = None
    ) -> ServiceOrderCase:
        """A service order as projected, once the projection holds ``min_version`` / ``min_position``."""
        get = _unscoped(contact_queries.get_service_order)
        return self._case("service_order", order_id, min_version, min_position, get, None)

    def inquiry_origin(self, case_id: UUID) -> InquiryOrigin:
        """The inquiry the case ``case_id`` was opened from."""
        with self._connection() as conn:
            found = contact_queries.inquiry_origin(conn, self._schema, case_id)
        if found is None:
            raise ResourceNotFoundError(f"no inquiry was transferred to case {case_id}")
        return found

    def inquiry_statistics(
        self,
        *,
        month_from: str | None,
        month_to: str | None,
        after: tuple[PositionContext, int] | None = None,
    ) -> list[InquiryStatistics]:
        """Inquiry volume by category, channel and month, with the first-contact resolution rate."""
        with self._connection() as conn:
            self._reach(conn, after)
            return contact_queries.inquiry_statistics(
                conn, self._schema, month_from=month_from, month_to=month_to
            )

    def contact_history(
        self, customer_id: str, after: tuple[PositionContext, int] | None = None
    ) -> ContactHistory:
        """The customer's inquiries, service orders and cases, newest first."""
        with self._connection() as conn:
            self._reach(conn, after)
            return contact_queries.contact_history(conn, self._schema, customer_id)

    def _case(
        self,
        context: str,
        case_id: UUID,
        min_version: int | None,
        min_position: int | None,
        get: Callable[[psycopg.Connection[Any], str, UUID, Reader | None], T | None],
        reader: Reader | None,
    ) -> T:
        with self._connection() as conn:
            needed = min_version or 0
            if min_position is not None:
                self._require_stored(conn, context, min_position)
                needed = max(needed, self._version_at(conn, context, case_id, min_position))
            if needed:
                self._require_version(conn, context, case_id, needed)
                self._wait_for(conn, context, case_id, needed)
            found = get(conn, self._schema, case_id, reader)
        if found is None:
            raise ResourceNotFoundError(f"no {context} with id {case_id}")
        return found

    def _require_version(
        self, conn: psycopg.Connection[Any], context: str, case_id: UUID, version: int
    ) -> None:
        """Refuse at once a version the store does not hold: waiting for it would only end in 503."""
        head = watermarks.case_head(conn, self._events[context], case_id)
        if head == 0:
            raise ResourceNotFoundError(
                f"no {context} with id {case_id} is stored: min_version {version} can never be met"
            )
        if version > head:
            raise UnreachableReadBoundError(
                f"{context} {case_id} is at version {head}: min_version {version} can never be met"
            )

    def _require_stored(self, conn: psycopg.Connection[Any], context: str, position: int) -> None:
        """Refuse at once a position beyond the context's store head: no command has answered with it."""
        head = watermarks.store_head(conn, self._events[context])
        if position > head:
            raise UnreachableReadBoundError(
                f"the {context} store is at position {head}: min_position {position} can never be met"
            )

    def _version_at(self, conn: psycopg.Connection[Any], context: str, case_id: UUID, position: int) -> int:
        """The case's last version stored at or before ``position`` (0 when it had none yet)."""
        return watermarks.version_at(conn, self._events[context], case_id, position)

    def _wait_for(self, conn: psycopg.Connection[Any], context: str, case_id: UUID, version: int) -> None:
        deadline = time.monotonic() + self._wait_seconds
        while True:
            applied = watermarks.applied_version(conn, self._base_schema, self._group, context, case_id)
            if applied >= version:
                return
            if time.monotonic() >= deadline:
                raise ProjectionBehindError(
                    f"the read models hold version {applied} of {context} {case_id}, not yet {version}"
                )
            time.sleep(_POLL_SECONDS)

    def _reach(self, conn: psycopg.Connection[Any], after: tuple[PositionContext, int] | None) -> None:
        """Wait (bounded) until the projections applied every event of the context up to the position."""
        if after is None:
            return
        context, position = after
        self._require_stored(conn, context, position)
        deadline = time.monotonic() + self._wait_seconds
        while (reached := self._reached_position(conn, context, position)) < position:
            if time.monotonic() >= deadline:
                raise ProjectionBehindError(
                    f"the read models hold every {context} event up to position {reached}, not yet {position}"
                )
            time.sleep(_POLL_SECONDS)

    def _reached_position(self, conn: psycopg.Connection[Any], context: str, position: int) -> int:
        """The highest position up to ``position`` that the projections have reached in ``context``."""
        with self._reached_lock:
            proven = self._reached.get(context, 0)
        if proven >= position:
            return proven
        # The relay's position: no hole at or below it can still be filled by a late commit.
        upto = min(position, published_position(conn, self._base_schema, context))
        if upto <= proven:
            return proven
        first_missing = watermarks.first_unapplied(
            conn, self._events[context], self._base_schema, self._group, context, proven, upto
        )
        reached = upto if first_missing is None else first_missing - 1
        with self._reached_lock:
            self._reached[context] = max(self._reached.get(context, 0), reached)
            return self._reached[context]

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            with self._database.connection() as conn:
                yield conn
        except psycopg.errors.UndefinedTable:
            raise ReadModelsUnavailableError(
                "the read models are not there yet: the projections consumer has not started"
            ) from None


class ReadSideTimerViews(TimerViews):
    """The timer routes' views on the process's pool, without DDL: ``sla_due`` is created by the timers
    consumer and the scheduler that write it; before either ran, a view answers 503 (read models missing).

    The routes (``api.routes.timers``) read ``base_schema``, ``read_schema``, ``clock`` and ``connection()``.
    """

    def __init__(self, database: Database, base_schema: str, clock: Clock) -> None:
        # Not TimerViews.__init__: it expects a pool of its own, and creates sla_due on first use.
        self.database = database
        self.base_schema = base_schema
        self.read_schema = read_schema(base_schema)
        self.clock = clock

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection; a missing ``sla_due`` or worklist table is 503, not 500."""
        try:
            with self.database.connection() as conn:
                yield conn
        except psycopg.errors.UndefinedTable:
            raise ReadModelsUnavailableError(
                "the timer views are not there yet: the timers consumer and the scheduler have not started"
            ) from None


def _unscoped(
    get: Callable[[psycopg.Connection[Any], str, UUID], T | None],
) -> Callable[[psycopg.Connection[Any], str, UUID, Reader | None], T | None]:
    """A query whose rows every admitted role may read whole (the route has checked the role)."""

    def scoped(conn: psycopg.Connection[Any], schema: str, case_id: UUID, reader: Reader | None) -> T | None:
        return get(conn, schema, case_id)

    return scoped
