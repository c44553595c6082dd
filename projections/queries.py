"""The read-model queries the API serves: one function per question, a typed answer for each.

Every function takes a psycopg connection and the schema of the read-model tables, and never reads a
clock: a question about "now" (ageing, timer colours) takes the instant as an argument.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from pydantic import BaseModel, ConfigDict, Field

from domain.base import SHANGHAI, Role
from domain.claim import ClaimStatus
from projections import clocks
from projections.base import Row
from projections.claims import CLAIMS
from projections.columns import from_iso, utc
from projections.complaints import COMPLAINT_STATS, COMPLAINTS
from projections.customers import CUSTOMERS
from projections.masking import mask_fields
from projections.policies import POLICIES
from projections.scopes import Reader, Resource, condition, visible, visible_ids
from projections.store import read_key
from projections.worklist import WORKLIST, colour

_FROZEN = ConfigDict(frozen=True)


class PolicySummary(BaseModel):
    """保单查询: a policy as staff look it up."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "policy_id": "c4e2a8f6-1d3b-4a5c-9e7f-2b4d6f8a0c1e",
                    "proposal_no": "TB0B8A4F2E3C",
                    "policy_no": "PL2026SH000123",
                    "product_code": "LIFE-WL-20",
                    "line": "life",
                    "status": "in_cooling_off",
                    "customer_id": "CUST-0b8a4f2e",
                    "seller_id": "li.na.agent",
                    "applicant_name": "张*",
                    "sum_insured_fen": 50_000_000,
                    "premium_fen": 1_200_000,
                    "premium_received_fen": 1_200_000,
                    "effective_from": "2026-03-06",
                    "effective_to": "2046-03-05",
                    "cooling_off_ends_on": "2026-03-23",
                    "exclusions_proven": True,
                    "callback_check_required": False,
                    "submitted_at": "2026-03-02T02:10:00Z",
                    "issued_at": "2026-03-06T01:30:00Z",
                    "version": 13,
                    "updated_at": "2026-03-08T06:45:00Z",
                }
            ]
        },
    )

    policy_id: UUID
    proposal_no: str
    policy_no: str | None
    product_code: str
    line: str
    status: str
    customer_id: str
    seller_id: str
    applicant_name: str = Field(
        description="Personal data, masked (王*): the full name only through the personal-data reveal."
    )
    sum_insured_fen: int
    premium_fen: int
    premium_received_fen: int
    effective_from: date | None
    effective_to: date | None
    cooling_off_ends_on: date | None
    exclusions_proven: bool
    callback_check_required: bool
    submitted_at: datetime
    issued_at: datetime | None
    version: int
    updated_at: datetime
    premium_frequency_months: int | None = Field(
        default=None, description="续期: instalments every this many months (none: single premium)."
    )
    instalments: int | None = None
    instalments_paid: int | None = None
    next_due_on: date | None = Field(default=None, description="The renewal instalment due and unpaid.")
    next_due_fen: int | None = None
    payment_period_ends_at: datetime | None = Field(
        default=None,
        description="Art. 36: unpaid by then, the cover is suspended (60 days after the due date, or 30 "
        "after the payment demand if earlier; holidays rolled over).",
    )
    reminded_on: date | None = Field(default=None, description="催告: the day of the payment demand.")
    suspended_at: datetime | None = Field(default=None, description="效力中止: the suspension's start.")
    reinstatement_ends_at: datetime | None = Field(
        default=None, description="Art. 37: the end of the applicant's two years to reinstate."
    )
    surrender_received_on: date | None = Field(default=None, description="退保: the notice's receipt.")
    refund_due_at: datetime | None = Field(
        default=None, description="Art. 47: the refund is due by then (30 days from the notice)."
    )
    refund_fen: int | None = None
    refund_basis: str | None = Field(
        default=None, description="cooling_off, cash_value, unearned_premium, stated or cash_value_art37."
    )
    refund_paid_on: date | None = None


class TimelineEntry(BaseModel):
    """One event of a claim's history, as the case view lists it."""

    model_config = _FROZEN

    version: int
    event: str
    at: datetime
    actor_id: str
    role: str


class RunningDeadline(BaseModel):
    """One running SLA clock of a case: its rule, its deadline (none while paused or unknown), its state."""

    model_config = _FROZEN

    rule_id: str
    started_at: datetime
    due_at: datetime | None
    paused: bool
    note: str | None


class ClaimCase(BaseModel):
    """案件查询: a claim's status, timeline, outstanding documents, money, handler and deadlines."""

    model_config = _FROZEN

    claim_id: UUID
    claim_no: str | None
    policy_id: UUID
    policy_no: str
    customer_id: str
    status: str
    ctpl: bool
    reported_at: datetime
    loss_at: datetime | None
    outstanding_docs: list[str]
    timeline: list[TimelineEntry]
    approved_fen: int | None
    agreed_fen: int | None
    paid_fen: int
    outcome: str | None
    closure: str | None
    handler: str | None
    next_deadline: datetime | None
    next_deadline_rule: str | None
    deadlines: list[RunningDeadline]
    version: int
    updated_at: datetime
    premium_due_fen: int | None = Field(
        default=None,
        description="Art. 36: the loss fell in the grace period of an unpaid renewal instalment; the claim "
        "is paid less this premium (rule IL36-GRACE-DEDUCT).",
    )


class ComplaintCase(BaseModel):
    """A complaint: status, handler, its period and whether it was answered on time."""

    model_config = _FROZEN

    complaint_id: UUID
    category: str
    channel: str
    status: str
    customer_id: str
    subject_kind: str
    subject_ref: str
    handler_id: str | None
    complexity: str | None
    received_at: datetime
    deadline_days: int
    paused: bool
    due_at: datetime | None
    responded_at: datetime | None
    closed_at: datetime | None
    outcome: str | None
    on_time: bool | None
    regulator_reportable: bool
    next_deadline: datetime | None
    next_deadline_rule: str | None
    deadlines: list[RunningDeadline]
    version: int
    updated_at: datetime


class CustomerCases(BaseModel):
    """Every policy, claim and complaint of one customer, oldest first."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "customer_id": "CUST-0b8a4f2e",
                    "policy_ids": [
                        "0b8a4f2e-3c1d-4e5f-8a9b-0c1d2e3f4a5b",
                        "c4e2a8f6-1d3b-4a5c-9e7f-2b4d6f8a0c1e",
                    ],
                    "claim_ids": ["6f1c0f3e-7d2a-4c55-9f4e-1a2b3c4d5e6f"],
                    "complaint_ids": ["3d9e2b71-5a4c-4f08-b6e1-7c2d9a0f4e13"],
                    "updated_at": "2026-03-09T01:00:00Z",
                }
            ]
        },
    )

    customer_id: str
    policy_ids: list[UUID]
    claim_ids: list[UUID]
    complaint_ids: list[UUID]
    service_request_ids: list[UUID] = Field(
        default_factory=list, description="保全 requests, in scope when their policy is (oldest first)."
    )
    updated_at: datetime


class WorkItem(BaseModel):
    """One open piece of work: the case, what to do, who, and by when."""

    model_config = _FROZEN

    case_id: UUID
    item: str
    case_type: str
    role: str
    assignee: str | None
    due_at: datetime | None
    rule_id: str | None
    amber_at: datetime | None
    red_at: datetime | None
    paused: bool
    provisional: bool = False
    """The deadline rests on a year whose holiday notice is not out yet (2027 for now): it may move."""
    opened_at: datetime
    related_case_id: UUID | None

    def colour(self, at: datetime) -> str:
        """The timer colour at ``at``: none, green, amber (≥ 50 %), red (≥ 80 %) or breached."""
        return colour(self.due_at, self.amber_at, self.red_at, at)


class ComplaintStatistics(BaseModel):
    """Complaints of one category and channel received in one month (Asia/Shanghai), with the on-time rate."""

    model_config = _FROZEN

    category: str
    channel: str
    month: str
    lodged: int
    responded: int
    responded_on_time: int
    on_time_rate: float | None
    """Responded on time / responded; none while nothing was answered."""


class AgeingBucket(BaseModel):
    """Open claims whose age (calendar days since the report, Asia/Shanghai) falls in one bucket."""

    model_config = _FROZEN

    label: str
    min_days: int
    max_days: int | None
    count: int


AGEING_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-7", 0, 7),
    ("8-30", 8, 30),
    ("31-60", 31, 60),
    (">60", 61, None),
)
"""The claims-ageing buckets (reference §4): label, first and last day of age."""

_ENDED_CLAIM = (ClaimStatus.CLOSED.value, ClaimStatus.WITHDRAWN.value)


def get_policy(
    conn: psycopg.Connection[Any], schema: str, policy_id: UUID, reader: Reader | None = None
) -> PolicySummary | None:
    """The policy with this id (None when absent or out of ``reader``'s scope), personal fields masked."""
    if reader is not None and not visible(conn, schema, Resource.POLICY, policy_id, reader):
        return None
    row = read_key(conn, schema, POLICIES, (policy_id,))
    return None if row is None else PolicySummary.model_validate(mask_fields(row))


def get_claim(
    conn: psycopg.Connection[Any], schema: str, claim_id: UUID, reader: Reader | None = None
) -> ClaimCase | None:
    """The claim with this id, with its timeline and running deadlines (None when absent or out of scope)."""
    if reader is not None and not visible(conn, schema, Resource.CLAIM, claim_id, reader):
        return None
    row = read_key(conn, schema, CLAIMS, (claim_id,))
    return None if row is None else ClaimCase.model_validate({**row, "deadlines": _deadlines(row)})


def get_complaint(
    conn: psycopg.Connection[Any], schema: str, complaint_id: UUID, reader: Reader | None = None
) -> ComplaintCase | None:
    """The complaint with this id (None when absent or out of ``reader``'s scope)."""
    if reader is not None and not visible(conn, schema, Resource.COMPLAINT, complaint_id, reader):
        return None
    row = read_key(conn, schema, COMPLAINTS, (complaint_id,))
    return None if row is None else ComplaintCase.model_validate({**row, "deadlines": _deadlines(row)})


def get_customer(
    conn: psycopg.Connection[Any], schema: str, customer_id: str, reader: Reader | None = None
) -> CustomerCases | None:
    """The cases of this customer, or None when they have none or the customer is out of scope; each
    list holds only the cases ``reader`` may see."""
    if reader is not None and not visible(conn, schema, Resource.CUSTOMER, customer_id, reader):
        return None
    row = read_key(conn, schema, CUSTOMERS, (customer_id,))
    if row is None:
        return None
    cases = CustomerCases.model_validate({**row, "service_request_ids": row.get("service_request_ids") or []})
    if reader is None:
        return cases
    return cases.model_copy(
        update={
            "policy_ids": visible_ids(conn, schema, Resource.POLICY, cases.policy_ids, reader),
            "claim_ids": visible_ids(conn, schema, Resource.CLAIM, cases.claim_ids, reader),
            "complaint_ids": visible_ids(conn, schema, Resource.COMPLAINT, cases.complaint_ids, reader),
            "service_request_ids": _requests_on_visible_policies(
                conn, schema, cases.service_request_ids, reader
            ),
        }
    )


def _requests_on_visible_policies(
    conn: psycopg.Connection[Any], schema: str, request_ids: list[UUID], reader: Reader
) -> list[UUID]:
    """The 保全 requests among ``request_ids`` whose policy ``reader`` may see, in the given order."""
    if not request_ids or reader.sees_all(Resource.POLICY):
        return request_ids
    rows = conn.execute(
        sql.SQL("SELECT request_id, policy_id FROM {} WHERE request_id = ANY(%s)").format(
            sql.Identifier(schema, "service_requests")
        ),
        (request_ids,),
    ).fetchall()
    policy_of = {row[0]: row[1] for row in rows}
    shown = set(visible_ids(conn, schema, Resource.POLICY, list(set(policy_of.values())), reader))
    return [r for r in request_ids if policy_of.get(r) in shown]


def worklist(
    conn: psycopg.Connection[Any],
    schema: str,
    *,
    role: Role | str | None = None,
    assignee: str | None = None,
    due_before: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
    case_type: str | None = None,
    rule_id: str | None = None,
    reader: Reader | None = None,
) -> list[WorkItem]:
    """Open work items, soonest deadline first (items without one last), filtered by role, assignee, due,
    case type and rule, and by ``reader``'s scope (so a page never counts what they may not see)."""
    conditions: list[sql.Composable] = []
    params: list[Any] = []
    if reader is not None:
        conditions.append(condition(schema, Resource.WORK_ITEM, reader))
    if role is not None:
        conditions.append(sql.SQL("role = %s"))
        params.append(role.value if isinstance(role, Role) else role)
    for column, value in (("case_type", case_type), ("rule_id", rule_id)):
        if value is not None:
            conditions.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
            params.append(value)
    if assignee is not None:
        conditions.append(sql.SQL("assignee = %s"))
        params.append(assignee)
    if due_before is not None:
        conditions.append(sql.SQL("due_at < %s"))
        params.append(utc(due_before))
    names = list(WorkItem.model_fields)
    query = sql.SQL(
        "SELECT {} FROM {} t {} ORDER BY due_at ASC NULLS LAST, opened_at, case_id, item LIMIT %s OFFSET %s"
    ).format(
        sql.SQL(", ").join(sql.Identifier(n) for n in names),
        sql.Identifier(schema, WORKLIST.name),
        _where_all(conditions),
    )
    rows = conn.execute(query, [*params, limit, offset]).fetchall()
    items = [_utc_row(dict(zip(names, values, strict=True))) for values in rows]
    # Items written before the flag was kept have none: they were never flagged provisional.
    return [WorkItem.model_validate({**item, "provisional": bool(item["provisional"])}) for item in items]


def complaint_statistics(
    conn: psycopg.Connection[Any],
    schema: str,
    *,
    category: str | None = None,
    channel: str | None = None,
    month_from: str | None = None,
    month_to: str | None = None,
) -> list[ComplaintStatistics]:
    """Complaint counts and on-time rate by category, channel and month ('YYYY-MM', bounds inclusive)."""
    conditions: list[sql.Composable] = []
    params: list[Any] = []
    for column, operator, value in (
        ("category", "=", category),
        ("channel", "=", channel),
        ("month", ">=", month_from),
        ("month", "<=", month_to),
    ):
        if value is not None:
            conditions.append(sql.SQL("{} {} %s").format(sql.Identifier(column), sql.SQL(operator)))
            params.append(value)
    query = sql.SQL(
        "SELECT category, channel, month, lodged, responded, responded_on_time FROM {} {} "
        "ORDER BY month, category, channel"
    ).format(sql.Identifier(schema, COMPLAINT_STATS.name), _where_all(conditions))
    return [
        ComplaintStatistics(
            category=category_,
            channel=channel_,
            month=month,
            lodged=lodged,
            responded=responded,
            responded_on_time=on_time,
            on_time_rate=on_time / responded if responded else None,
        )
        for category_, channel_, month, lodged, responded, on_time in conn.execute(query, params).fetchall()
    ]


def claims_ageing(conn: psycopg.Connection[Any], schema: str, as_of: datetime) -> list[AgeingBucket]:
    """Open claims by age at ``as_of``: calendar days from the day of the report (Asia/Shanghai)."""
    as_of_day = as_of.astimezone(SHANGHAI).date()
    query = sql.SQL(
        "SELECT (%s::date - (reported_at AT TIME ZONE 'Asia/Shanghai')::date) AS age, count(*) "
        "FROM {} WHERE status <> ALL(%s) AND reported_at <= %s GROUP BY age"
    ).format(sql.Identifier(schema, CLAIMS.name))
    ages = conn.execute(query, (as_of_day, list(_ENDED_CLAIM), utc(as_of))).fetchall()
    return [
        AgeingBucket(
            label=label,
            min_days=low,
            max_days=high,
            count=sum(n for age, n in ages if age >= low and (high is None or age <= high)),
        )
        for label, low, high in AGEING_BUCKETS
    ]


def _deadlines(row: Row) -> list[RunningDeadline]:
    return [
        RunningDeadline(
            rule_id=clock["rule_id"],
            started_at=from_iso(clock["restarted_at"] or clock["started_at"]),
            due_at=None if clock["due_at"] is None else from_iso(clock["due_at"]),
            paused=clocks.is_paused(clock),
            note=clock.get("note"),
        )
        for clock in row["sla_clocks"]
    ]


def _where_all(conditions: list[sql.Composable]) -> sql.Composable:
    if not conditions:
        return sql.SQL("")
    return sql.SQL("WHERE ") + sql.SQL(" AND ").join(conditions)


def _utc_row(row: Row) -> Row:
    return {k: utc(v) if isinstance(v, datetime) else v for k, v in row.items()}
