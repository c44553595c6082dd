"""Audit queries, read from the event store itself: a case's full history, and the case as it stood then."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime

from api.auth import require
from api.problems import ApiProblemError, ResourceNotFoundError, problem_responses
from domain.base import Actor, Role
from infra.audit.access_log import AccessEntry, AccessLog
from infra.audit.history import AuditTrail, CaseAsOf, CaseHistory, VersionNotRecordedError
from projections.masking import mask_fields

router = APIRouter(prefix="/audit", tags=["audit"])

AUDIT_READERS = (Role.AUDITOR, Role.SUPERVISOR, Role.SENIOR_MANAGER)
AuditReader = Annotated[Actor, Depends(require(*AUDIT_READERS))]
PROBLEMS = problem_responses(401, 403, 404, 422)


def _trail(request: Request) -> AuditTrail:
    trail: AuditTrail = request.app.state.audit
    return trail


TrailDep = Annotated[AuditTrail, Depends(_trail)]


def _access_log(request: Request) -> AccessLog:
    access_log: AccessLog = request.app.state.services.read_models.access_log
    return access_log


AccessLogDep = Annotated[AccessLog, Depends(_access_log)]
Auditor = Annotated[Actor, Depends(require(Role.AUDITOR))]


def _masked_history(history: CaseHistory) -> CaseHistory:
    # Payloads carry the decrypted personal fields; a history reads them masked like every other read.
    return history.model_copy(
        update={"events": [e.model_copy(update={"payload": mask_fields(e.payload)}) for e in history.events]}
    )


@router.get("/cases/{case_id}/events", responses=PROBLEMS)
def get_case_history(case_id: UUID, _: AuditReader, trail: TrailDep) -> CaseHistory:
    """Every event of a case (any context): actor, role, recorded and business times, legal basis,
    correlation, causation and the event's chain hash."""
    return _masked_history(trail.history(case_id))


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
        state = trail.as_of(case_id, at=as_of, version=version)
    except VersionNotRecordedError as error:
        raise ResourceNotFoundError(str(error)) from None
    return state.model_copy(update={"state": mask_fields(state.state)})


@router.get("/access-log", responses=problem_responses(401, 403, 422))
def get_access_log(
    _: Auditor,
    access_log: AccessLogDep,
    subject: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="A data subject (customer id): their access history (PIPL Art. 45).",
        ),
    ] = None,
    actor: Annotated[str | None, Query(min_length=1, max_length=200, description="Who accessed.")] = None,
    case_id: Annotated[UUID | None, Query(description="The case whose personal data was accessed.")] = None,
    since: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[AccessEntry]:
    """Every full reveal and export of personal data, oldest first: who, when, whose, which field, why,
    and the request id; each row chained to the previous one's hash."""
    return access_log.entries(
        subject=subject, actor=actor, case_id=case_id, since=since, limit=limit, offset=offset
    )


class AsOfAndVersionError(ApiProblemError):
    """Both ``as_of`` and ``version`` were given: they would name two states."""

    status, title, slug = 422, "AsOfAndVersionError", "as-of-and-version"
