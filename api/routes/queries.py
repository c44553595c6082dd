"""Queries, served from the read models only; the case views carry the case version as their ETag."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import AwareDatetime

from api.auth import ALL_ROLES, require
from api.deps import ReadModelsDep
from api.problems import problem_responses
from api.readmodels import PositionContext
from domain.base import Actor, Role
from domain.complaint import ComplaintCategory, ComplaintChannel
from projections.queries import (
    AgeingBucket,
    ClaimCase,
    ComplaintCase,
    ComplaintStatistics,
    CustomerCases,
    PolicySummary,
    WorkItem,
)

router = APIRouter(tags=["queries"])

MANAGEMENT = (
    Role.SUPERVISOR,
    Role.SENIOR_MANAGER,
    Role.AUDITOR,
    Role.COMPLAINTS_OFFICER,
    Role.CLAIMS_HANDLER,
)

Reader = Annotated[Actor, Depends(require(*ALL_ROLES))]
Manager = Annotated[Actor, Depends(require(*MANAGEMENT))]
MinVersion = Annotated[
    int | None,
    Query(
        ge=1,
        le=10**12,
        description="Read your writes: wait (bounded) until the read model holds this version of the case "
        "(a command's answer), else 503 with Retry-After.",
    ),
]
MinPosition = Annotated[
    int | None,
    Query(
        ge=1,
        le=10**15,
        description="Read your writes by position: a command's `position`. Wait (bounded) until the read "
        "model has applied every event of this case stored at or before it, else 503 with Retry-After.",
    ),
]
ListMinPosition = Annotated[
    int | None,
    Query(
        ge=1,
        le=10**15,
        description="Read your writes by position: a command's `position`, with `context` naming the bounded "
        "context of that command (positions are numbered per context). Wait (bounded) until the read "
        "models have applied every event of that context stored at or before it (the relay has passed it, "
        "so none can still commit below it), else 503 with Retry-After.",
    ),
]
Context = Annotated[
    PositionContext | None,
    Query(description="The bounded context of `min_position` (required with it)."),
]
CASE_PROBLEMS = problem_responses(401, 403, 404, 422, 503)
LIST_PROBLEMS = problem_responses(401, 403, 422, 503)
Month = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]


def _etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


def _after(context: PositionContext | None, min_position: int | None) -> tuple[PositionContext, int] | None:
    if min_position is None:
        return None
    if context is None:
        raise RequestValidationError(
            [
                {
                    "type": "missing",
                    "loc": ("query", "context"),
                    "msg": "min_position needs the context whose store position it is",
                    "input": None,
                }
            ]
        )
    return context, min_position


@router.get("/claims/{claim_id}", responses=CASE_PROBLEMS)
def get_claim(
    claim_id: UUID,
    response: Response,
    _: Reader,
    read_models: ReadModelsDep,
    min_version: MinVersion = None,
    min_position: MinPosition = None,
) -> ClaimCase:
    """案件查询: a claim's status, timeline, outstanding documents, money, handler and deadlines."""
    case = read_models.claim(claim_id, min_version, min_position)
    _etag(response, case.version)
    return case


@router.get("/complaints/{complaint_id}", responses=CASE_PROBLEMS)
def get_complaint(
    complaint_id: UUID,
    response: Response,
    _: Reader,
    read_models: ReadModelsDep,
    min_version: MinVersion = None,
    min_position: MinPosition = None,
) -> ComplaintCase:
    """A complaint: status, handler, its period and whether it was answered on time."""
    case = read_models.complaint(complaint_id, min_version, min_position)
    _etag(response, case.version)
    return case


@router.get("/policies/{policy_id}", responses=CASE_PROBLEMS)
def get_policy(
    policy_id: UUID,
    response: Response,
    _: Reader,
    read_models: ReadModelsDep,
    min_version: MinVersion = None,
    min_position: MinPosition = None,
) -> PolicySummary:
    """保单查询: a policy as staff look it up."""
    policy = read_models.policy(policy_id, min_version, min_position)
    _etag(response, policy.version)
    return policy


@router.get("/customers/{customer_id}", responses=CASE_PROBLEMS)
def get_customer(
    customer_id: Annotated[str, Path(min_length=1, max_length=200)],
    _: Reader,
    read_models: ReadModelsDep,
    min_position: ListMinPosition = None,
    context: Context = None,
) -> CustomerCases:
    """Every policy, claim and complaint of one customer."""
    return read_models.customer(customer_id, _after(context, min_position))


@router.get("/worklist", responses=LIST_PROBLEMS)
def get_worklist(
    _: Reader,
    read_models: ReadModelsDep,
    role: Role | None = None,
    assignee: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    due_before: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    min_position: ListMinPosition = None,
    context: Context = None,
) -> list[WorkItem]:
    """Open work items, soonest deadline first, by role, assignee and due time."""
    return read_models.worklist(
        role=role,
        assignee=assignee,
        due_before=due_before,
        limit=limit,
        offset=offset,
        after=_after(context, min_position),
    )


@router.get("/statistics/complaints", responses=LIST_PROBLEMS)
def get_complaint_statistics(
    _: Manager,
    read_models: ReadModelsDep,
    category: ComplaintCategory | None = None,
    channel: ComplaintChannel | None = None,
    month_from: Month = None,
    month_to: Month = None,
    min_position: ListMinPosition = None,
    context: Context = None,
) -> list[ComplaintStatistics]:
    """Complaints by category, channel and month (Asia/Shanghai), with the on-time rate."""
    return read_models.complaint_statistics(
        category=category,
        channel=channel,
        month_from=month_from,
        month_to=month_to,
        after=_after(context, min_position),
    )


@router.get("/statistics/claims-ageing", responses=LIST_PROBLEMS)
def get_claims_ageing(
    _: Manager,
    read_models: ReadModelsDep,
    as_of: AwareDatetime | None = None,
    min_position: ListMinPosition = None,
    context: Context = None,
) -> list[AgeingBucket]:
    """Open claims by age in calendar days since the report; ``as_of`` defaults to the server's now."""
    return read_models.claims_ageing(as_of, _after(context, min_position))
