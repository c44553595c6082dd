"""The read-model queries of the counter's contacts: inquiries, their statistics and the link from a case
to the inquiry it came from, service orders, and a customer's contact history. One function per question.

None of these rows holds a personal field (the service order's phone and location stay sealed in the event
store), so nothing here is masked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from pydantic import BaseModel, ConfigDict

from projections.contact_history import CONTACT_HISTORY
from projections.inquiries import INQUIRIES, INQUIRY_STATS
from projections.service_orders import SERVICE_ORDERS
from projections.service_requests import SERVICE_REQUESTS
from projections.store import read_key

_FROZEN = ConfigDict(frozen=True)


class InquiryCase(BaseModel):
    """An inquiry: channel, category, status, first-contact resolution, where it went, its reply clock."""

    model_config = _FROZEN

    inquiry_id: UUID
    channel: str
    category: str
    status: str
    customer_id: str | None
    policy_ref: str | None
    contacted_at: datetime
    taken_by: str
    deferred_at: datetime | None
    answered_at: datetime | None
    first_contact: bool | None
    transferred_kind: str | None
    transferred_to: UUID | None
    closed_at: datetime | None
    next_deadline: datetime | None
    next_deadline_rule: str | None
    version: int
    updated_at: datetime


class InquiryOrigin(BaseModel):
    """The inquiry a case was opened from (the case's side of the transfer link)."""

    model_config = _FROZEN

    case_id: UUID
    case_kind: str
    inquiry_id: UUID
    channel: str
    category: str
    contacted_at: datetime


class InquiryStatistics(BaseModel):
    """Inquiries of one category and channel in one month (Asia/Shanghai), with the first-contact rate."""

    model_config = _FROZEN

    category: str
    channel: str
    month: str
    logged: int
    answered: int
    first_contact_resolved: int
    transferred: int
    first_contact_resolution_rate: float | None
    """Answered during the first contact / logged; none while nothing was logged."""


class ServiceOrderCase(BaseModel):
    """A value-added service order: kind, provider, the arrival standard and whether it was kept."""

    model_config = _FROZEN

    order_id: UUID
    kind: str
    status: str
    customer_id: str
    policy_ref: str
    requested_at: datetime
    provider: str | None
    dispatched_at: datetime | None
    arrival_due_at: datetime | None
    arrived_at: datetime | None
    arrived_on_time: bool | None
    done_at: datetime | None
    cancelled_at: datetime | None
    next_deadline: datetime | None
    next_deadline_rule: str | None
    version: int
    updated_at: datetime


class Contact(BaseModel):
    """One contact in a customer's history: an inquiry, a service order or a case, and its latest step."""

    model_config = _FROZEN

    case_id: UUID
    contact_kind: str
    topic: str
    channel: str | None
    opened_at: datetime
    last_step: str
    last_step_at: datetime


class ContactHistory(BaseModel):
    """Every contact of one customer, newest first."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "customer_id": "CUST-0b8a4f2e",
                    "contacts": [
                        {
                            "case_id": "3d9e2b71-5a4c-4f08-b6e1-7c2d9a0f4e13",
                            "contact_kind": "inquiry",
                            "topic": "claim_progress",
                            "channel": "hotline",
                            "opened_at": "2026-03-09T01:00:00Z",
                            "last_step": "InquiryAnswered",
                            "last_step_at": "2026-03-09T01:04:00Z",
                        }
                    ],
                }
            ]
        },
    )

    customer_id: str
    contacts: list[Contact]


def get_inquiry(conn: psycopg.Connection[Any], schema: str, inquiry_id: UUID) -> InquiryCase | None:
    """The inquiry with this id, or None."""
    row = read_key(conn, schema, INQUIRIES, (inquiry_id,))
    return None if row is None else InquiryCase.model_validate(row)


def inquiry_origin(conn: psycopg.Connection[Any], schema: str, case_id: UUID) -> InquiryOrigin | None:
    """The inquiry that was transferred to the case ``case_id`` (a complaint, claim or service request);
    for a service request, else the inquiry it names as the one it was opened for (``inquiry_id``)."""
    query = sql.SQL(
        "SELECT transferred_to, transferred_kind, inquiry_id, channel, category, contacted_at FROM {} "
        "WHERE transferred_to = %s ORDER BY contacted_at, inquiry_id LIMIT 1"
    ).format(sql.Identifier(schema, INQUIRIES.name))
    found = conn.execute(query, (case_id,)).fetchone()
    if found is None:
        named = sql.SQL(
            "SELECT s.request_id, 'service_request', i.inquiry_id, i.channel, i.category, i.contacted_at "
            "FROM {} s JOIN {} i ON i.inquiry_id = s.inquiry_id WHERE s.request_id = %s"
        ).format(sql.Identifier(schema, SERVICE_REQUESTS.name), sql.Identifier(schema, INQUIRIES.name))
        found = conn.execute(named, (case_id,)).fetchone()
    if found is None:
        return None
    target, kind, inquiry_id, channel, category, contacted_at = found
    return InquiryOrigin(
        case_id=target,
        case_kind=kind,
        inquiry_id=inquiry_id,
        channel=channel,
        category=category,
        contacted_at=contacted_at,
    )


def inquiry_statistics(
    conn: psycopg.Connection[Any],
    schema: str,
    *,
    month_from: str | None = None,
    month_to: str | None = None,
) -> list[InquiryStatistics]:
    """Inquiry volume by category, channel and month ('YYYY-MM', bounds inclusive), with the
    first-contact resolution rate."""
    conditions: list[sql.Composable] = []
    params: list[Any] = []
    if month_from is not None:
        conditions.append(sql.SQL("month >= %s"))
        params.append(month_from)
    if month_to is not None:
        conditions.append(sql.SQL("month <= %s"))
        params.append(month_to)
    where = sql.SQL("WHERE ") + sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("")
    query = sql.SQL(
        "SELECT category, channel, month, logged, answered, first_contact_resolved, transferred FROM {} {} "
        "ORDER BY month, category, channel"
    ).format(sql.Identifier(schema, INQUIRY_STATS.name), where)
    return [
        InquiryStatistics(
            category=category,
            channel=channel,
            month=month,
            logged=logged,
            answered=answered,
            first_contact_resolved=resolved,
            transferred=transferred,
            first_contact_resolution_rate=resolved / logged if logged else None,
        )
        for category, channel, month, logged, answered, resolved, transferred in conn.execute(
            query, params
        ).fetchall()
    ]


def get_service_order(conn: psycopg.Connection[Any], schema: str, order_id: UUID) -> ServiceOrderCase | None:
    """The service order with this id, or None."""
    row = read_key(conn, schema, SERVICE_ORDERS, (order_id,))
    return None if row is None else ServiceOrderCase.model_validate(row)


def contact_history(
    conn: psycopg.Connection[Any], schema: str, customer_id: str, limit: int = 200
) -> ContactHistory:
    """The customer's contacts (inquiries, service orders, complaints, claims), newest first."""
    query = sql.SQL(
        "SELECT case_id, contact_kind, topic, channel, opened_at, last_step, last_step_at FROM {} "
        "WHERE customer_id = %s ORDER BY opened_at DESC, case_id LIMIT %s"
    ).format(sql.Identifier(schema, CONTACT_HISTORY.name))
    rows = conn.execute(query, (customer_id, limit)).fetchall()
    return ContactHistory(
        customer_id=customer_id,
        contacts=[
            Contact(
                case_id=case_id,
                contact_kind=kind,
                topic=topic,
                channel=channel,
                opened_at=opened_at,
                last_step=step,
                last_step_at=step_at,
            )
            for case_id, kind, topic, channel, opened_at, step, step_at in rows
        ],
    )
