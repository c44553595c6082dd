"""保全 queries: a policy service request, a policy's service history, and the 保全 worklist.

A request is read under its policy's scope: whoever may read the policy may read its requests (a seller
the requests on policies they sold; underwriting, supervisors and auditors all). The worklist is the
shared worklist's ``service_request`` items, under the work-item scope.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from pydantic import BaseModel, ConfigDict

from projections import clocks
from projections.base import Row
from projections.columns import from_iso, utc
from projections.queries import RunningDeadline, WorkItem, worklist
from projections.scopes import Reader, Resource, visible
from projections.service_requests import SERVICE_REQUESTS
from projections.store import read_key

SERVICE_CASE_TYPE = "service_request"
"""The worklist's case type of the 保全 items."""


class ServiceRequestCase(BaseModel):
    """A policy service request as staff follow it (no personal field: those stay sealed in its events)."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "request_id": "5b0e6c7d-8f9a-4b1c-9d2e-3f4a5b6c7d8e",
                    "request_no": "SR5B0E6C7D8F",
                    "policy_id": "c4e2a8f6-1d3b-4a5c-9e7f-2b4d6f8a0c1e",
                    "policy_no": "PL2026SH000123",
                    "customer_id": "CUST-0b8a4f2e",
                    "item": "beneficiary_change",
                    "channel": "agent",
                    "requested_by": "applicant",
                    "status": "approved",
                    "outcome": None,
                    "four_eyes": True,
                    "time_standard": "CO-SVC-CHANGE-5WD",
                    "received_at": "2026-03-09T02:00:00Z",
                    "requested_by_staff": "li.na.seller",
                    "handler_id": "qian.yu.ops",
                    "reviewer_id": "feng.jun.ops",
                    "effective_on": None,
                    "refusal_reasons": [],
                    "decided_at": None,
                    "notified_at": None,
                    "next_deadline": "2026-03-16T16:00:00Z",
                    "next_deadline_rule": "CO-SVC-CHANGE-5WD",
                    "deadlines": [],
                    "version": 3,
                    "updated_at": "2026-03-10T03:00:00Z",
                }
            ]
        },
    )

    request_id: UUID
    request_no: str
    policy_id: UUID
    policy_no: str
    customer_id: str
    item: str
    channel: str
    requested_by: str
    status: str
    outcome: str | None = None
    four_eyes: bool
    time_standard: str
    received_at: datetime
    requested_by_staff: str
    handler_id: str | None = None
    reviewer_id: str | None = None
    effective_on: date | None = None
    refusal_reasons: list[str]
    decided_at: datetime | None = None
    notified_at: datetime | None = None
    next_deadline: datetime | None = None
    next_deadline_rule: str | None = None
    inquiry_id: UUID | None = None
    deadlines: list[RunningDeadline]
    version: int
    updated_at: datetime


def get_service_request(
    conn: psycopg.Connection[Any], schema: str, request_id: UUID, reader: Reader | None = None
) -> ServiceRequestCase | None:
    """The request with this id (None when absent, or when ``reader`` may not read its policy)."""
    row = read_key(conn, schema, SERVICE_REQUESTS, (request_id,))
    if row is None:
        return None
    if reader is not None and not visible(conn, schema, Resource.POLICY, row["policy_id"], reader):
        return None
    return _case(row)


def policy_service_history(
    conn: psycopg.Connection[Any], schema: str, policy_id: UUID, reader: Reader | None = None
) -> list[ServiceRequestCase] | None:
    """The policy's service requests, oldest first (None when ``reader`` may not read the policy)."""
    if reader is not None and not visible(conn, schema, Resource.POLICY, policy_id, reader):
        return None
    names = SERVICE_REQUESTS.column_names()
    query = sql.SQL("SELECT {} FROM {} WHERE policy_id = %s ORDER BY received_at, request_id").format(
        sql.SQL(", ").join(sql.Identifier(n) for n in names), sql.Identifier(schema, SERVICE_REQUESTS.name)
    )
    rows = conn.execute(query, (policy_id,)).fetchall()
    return [_case(dict(zip(names, values, strict=True))) for values in rows]


def service_worklist(
    conn: psycopg.Connection[Any],
    schema: str,
    *,
    assignee: str | None = None,
    limit: int = 50,
    offset: int = 0,
    reader: Reader | None = None,
) -> list[WorkItem]:
    """保全 work items (handle, review, notify), soonest deadline first, in ``reader``'s scope."""
    return worklist(
        conn,
        schema,
        assignee=assignee,
        limit=limit,
        offset=offset,
        case_type=SERVICE_CASE_TYPE,
        reader=reader,
    )


def _case(row: Row) -> ServiceRequestCase:
    deadlines = [
        RunningDeadline(
            rule_id=clock["rule_id"],
            started_at=from_iso(clock["restarted_at"] or clock["started_at"]),
            due_at=None if clock["due_at"] is None else from_iso(clock["due_at"]),
            paused=clocks.is_paused(clock),
            note=clock.get("note"),
        )
        for clock in row["sla_clocks"]
    ]
    fields = {k: utc(v) if isinstance(v, datetime) else v for k, v in row.items() if k != "sla_clocks"}
    return ServiceRequestCase.model_validate({**fields, "deadlines": deadlines})
