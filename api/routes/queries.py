"""Queries, served from the read models only; the case views carry the case version as their ETag."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import AwareDatetime

from api.access import PersonalData, check_reveal, personal_data, reader, request_id
from api.auth import ALL_ROLES, require
from api.deps import ReadModelsDep
from api.problems import problem_responses
from api.readmodels import PositionContext, ReadModels
from domain.base import Actor, Role
from domain.complaint import ComplaintCategory, ComplaintChannel
from infra.audit.history import AuditTrail
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
Reveal = Annotated[
    list[str] | None,
    Query(
        description="Personal fields to show in full (e.g. `applicant_id_number`), for a role whose task "
        "needs them (else 403); needs `purpose`. Each one shown is recorded in the personal-data access log.",
    ),
]
Purpose = Annotated[
    str | None,
    Query(
        min_length=3,
        max_length=500,
        description="Why the full value is needed (recorded with the reveal; a reveal without one is 403).",
    ),
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
    actor: Reader,
    read_models: ReadModelsDep,
    min_version: MinVersion = None,
    min_position: MinPosition = None,
) -> ClaimCase:
    """案件查询: a claim's status, timeline, outstanding documents, money, handler and deadlines.

    Claims staff read every claim; complaints officers the claims complained about; others none (404)."""
    case = read_models.claim(claim_id, min_version, min_position, reader(actor))
    _etag(response, case.version)
    return case


@router.get("/complaints/{complaint_id}", responses=CASE_PROBLEMS)
def get_complaint(
    complaint_id: UUID,
    response: Response,
    actor: Reader,
    read_models: ReadModelsDep,
    min_version: MinVersion = None,
    min_position: MinPosition = None,
) -> ComplaintCase:
    """A complaint: status, handler, its period and whether it was answered on time (complaints staff)."""
    case = read_models.complaint(complaint_id, min_version, min_position, reader(actor))
    _etag(response, case.version)
    return case


@router.get("/policies/{policy_id}", responses=CASE_PROBLEMS)
def get_policy(
    policy_id: UUID,
    response: Response,
    actor: Reader,
    read_models: ReadModelsDep,
    min_version: MinVersion = None,
    min_position: MinPosition = None,
) -> PolicySummary:
    """保单查询: a policy as staff look it up, personal fields masked.

    A seller reads the policies they sold; claims staff the policies claimed on; complaints officers the
    policies complained about; callback agents the policies of their open callbacks (404 otherwise)."""
    policy = read_models.policy(policy_id, min_version, min_position, reader(actor))
    _etag(response, policy.version)
    return policy


@router.get("/customers/{customer_id}", responses=CASE_PROBLEMS)
def get_customer(
    customer_id: Annotated[str, Path(min_length=1, max_length=200)],
    actor: Reader,
    read_models: ReadModelsDep,
    min_position: ListMinPosition = None,
    context: Context = None,
) -> CustomerCases:
    """Every policy, claim and complaint of one customer that the reader may see (a seller: the customers
    of the policies they sold, and only those policies)."""
    return read_models.customer(customer_id, _after(context, min_position), reader(actor))


@router.get("/worklist", responses=LIST_PROBLEMS)
def get_worklist(
    actor: Reader,
    read_models: ReadModelsDep,
    role: Role | None = None,
    assignee: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    due_before: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    min_position: ListMinPosition = None,
    context: Context = None,
) -> list[WorkItem]:
    """Open work items in the reader's scope (their team's; a seller's on policies they sold; a callback
    agent's assigned to them or to nobody yet; all for supervisors, managers and auditors), soonest
    deadline first, by role, assignee and due time."""
    return read_models.worklist(
        role=role,
        assignee=assignee,
        due_before=due_before,
        limit=limit,
        offset=offset,
        after=_after(context, min_position),
        reader=reader(actor),
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


def _trail(request: Request) -> AuditTrail:
    trail: AuditTrail = request.app.state.audit
    return trail


TrailDep = Annotated[AuditTrail, Depends(_trail)]
PERSONAL_PROBLEMS = problem_responses(401, 403, 404, 422, 503)


@router.get("/policies/{policy_id}/personal-data", responses=PERSONAL_PROBLEMS, tags=["personal data"])
def get_policy_personal_data(
    policy_id: UUID,
    request: Request,
    response: Response,
    actor: Reader,
    read_models: ReadModelsDep,
    trail: TrailDep,
    reveal: Reveal = None,
    purpose: Purpose = None,
) -> PersonalData:
    """The applicant's, insured's and beneficiaries' personal fields of a policy in the reader's scope:
    masked, or in full for `reveal`ed fields the role may see (each logged with `purpose`)."""
    found = read_models.policy(policy_id, reader=reader(actor))
    return _personal(
        actor, policy_id, found.customer_id, reveal, purpose, request, response, read_models, trail
    )


@router.get("/claims/{claim_id}/personal-data", responses=PERSONAL_PROBLEMS, tags=["personal data"])
def get_claim_personal_data(
    claim_id: UUID,
    request: Request,
    response: Response,
    actor: Reader,
    read_models: ReadModelsDep,
    trail: TrailDep,
    reveal: Reveal = None,
    purpose: Purpose = None,
) -> PersonalData:
    """The reporter's and payee's personal fields of a claim in the reader's scope: masked, or in full
    for `reveal`ed fields the role may see (each logged with `purpose`)."""
    found = read_models.claim(claim_id, reader=reader(actor))
    return _personal(
        actor, claim_id, found.customer_id, reveal, purpose, request, response, read_models, trail
    )


@router.get("/complaints/{complaint_id}/personal-data", responses=PERSONAL_PROBLEMS, tags=["personal data"])
def get_complaint_personal_data(
    complaint_id: UUID,
    request: Request,
    response: Response,
    actor: Reader,
    read_models: ReadModelsDep,
    trail: TrailDep,
    reveal: Reveal = None,
    purpose: Purpose = None,
) -> PersonalData:
    """The complainant's personal fields of a complaint in the reader's scope: masked, or in full for
    `reveal`ed fields the role may see (each logged with `purpose`)."""
    found = read_models.complaint(complaint_id, reader=reader(actor))
    return _personal(
        actor, complaint_id, found.customer_id, reveal, purpose, request, response, read_models, trail
    )


def _personal(
    actor: Actor,
    case_id: UUID,
    subject_id: str,
    reveal: list[str] | None,
    purpose: str | None,
    request: Request,
    response: Response,
    read_models: ReadModels,
    trail: AuditTrail,
) -> PersonalData:
    return personal_data(
        actor=actor,
        case_id=case_id,
        subject_id=subject_id,
        reveal=check_reveal(actor, reveal or []),
        purpose=purpose,
        request_id=request_id(request, response),
        trail=trail,
        access_log=read_models.access_log,
        clock=read_models.clock,
    )
