"""Audit queries, read from the event store itself: a case's full history, and the case as it stood then."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime

from api.auth import require
from api.problems import ApiProblemError, ResourceNotFoundError, problem_responses
from domain.base import Actor, Role
from infra.audit.history import AuditTrail, CaseAsOf, CaseHistory, VersionNotRecordedError

router = APIRouter(prefix="/audit", tags=["audit"])

AUDIT_READERS = (Role.AUDITOR, Role.SUPERVISOR, Role.SENIOR_MANAGER)
AuditReader = Annotated[Actor, Depends(require(*AUDIT_READERS))]
PROBLEMS = problem_responses(401, 403, 404, 422)


def _trail(request: Request) -> AuditTrail:
    trail: AuditTrail = request.app.state.audit
    return trail


TrailDep = Annotated[AuditTrail, Depends(_trail)]


@router.get("/cases/{case_id}/events", responses=PROBLEMS)
def get_case_history(case_id: UUID, _: AuditReader, trail: TrailDep) -> CaseHistory:
    """Every event of a case (any context): actor, role, recorded and business times, legal basis,
    correlation, causation and the event's chain hash."""
    return trail.history(case_id)


@router.get("/cases/{case_id}/state", responses=PROBLEMS)
def get_case_as_of(
    case_id: UUID,
    _: AuditReader,
    trail: TrailDep,
    as_of: Annotated[
        AwareDatetime | None,
        Query(description="The case as it stood at this instant (its last event recorded at or before it)."),
    ] = None,
    version: Annotated[int | None, Query(ge=1, le=10**12, description="The case at this version.")] = None,
) -> CaseAsOf:
    """The case's state at a version or an instant, with its SLA timers as they were computed then."""
    if as_of is not None and version is not None:
        raise AsOfAndVersionError("give as_of or version, not both")
    try:
        return trail.as_of(case_id, at=as_of, version=version)
    except VersionNotRecordedError as error:
        raise ResourceNotFoundError(str(error)) from None


class AsOfAndVersionError(ApiProblemError):
    """Both ``as_of`` and ``version`` were given: they would name two states."""

    status, title, slug = 422, "AsOfAndVersionError", "as-of-and-version"
