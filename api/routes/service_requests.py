"""保全 Policy service requests: one resource per lifecycle step, the request, the policy's service
history and the 保全 worklist. Commands admit the roles the domain's steps declare; reads follow the
policy's scope."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from api.access import PersonalData, check_reveal, personal_data, reader
from api.access import request_id as request_id_of
from api.auth import ALL_ROLES, require
from api.deps import ReadModelsDep, ServiceRequestsDep, case_command, opening_command
from api.gateway import CommandCall
from api.readmodels import PositionContext
from api.routes.answers import command_route
from api.routes.queries import (
    CASE_PROBLEMS,
    LIST_PROBLEMS,
    PERSONAL_PROBLEMS,
    ListMinPosition,
    MinPosition,
    MinVersion,
    Purpose,
    Reveal,
    TrailDep,
)
from domain.base import Actor
from domain.service_request import ServiceRequest
from infra.services.service_requests import (
    ApproveServiceRequest,
    CheckServiceRequest,
    CompleteServiceRequest,
    NotifyServiceCustomer,
    RefuseServiceRequest,
    RequestPolicyService,
    WithdrawServiceRequest,
)
from projections.queries import WorkItem
from projections.service_request_queries import ServiceRequestCase

router = APIRouter(tags=["policy service (保全)"])

RequestId = Annotated[UUID, Path(description="The policy service request's id.")]
Reader = Annotated[Actor, Depends(require(*ALL_ROLES))]


@router.post("/service-requests", **command_route(HTTPStatus.CREATED))
def request_policy_service(
    body: RequestPolicyService,
    call: Annotated[CommandCall, Depends(opening_command(ServiceRequest.request))],
    service: ServiceRequestsDep,
) -> JSONResponse:
    """Take a customer's 保全 request on a policy in force: its item's time standard starts at receipt."""
    return call.open(service, body, service.request)


@router.post("/service-requests/{request_id}/check", **command_route())
def check_service_request(
    request_id: RequestId,
    body: CheckServiceRequest,
    call: Annotated[CommandCall, Depends(case_command(ServiceRequest.check))],
    service: ServiceRequestsDep,
) -> JSONResponse:
    """Verify the requester's identity and every document the item needs (SVC-DOCUMENTS-COMPLETE)."""
    return call.update(service, request_id, body, service.check)


@router.post("/service-requests/{request_id}/approval", **command_route())
def approve_service_request(
    request_id: RequestId,
    body: ApproveServiceRequest,
    call: Annotated[CommandCall, Depends(case_command(ServiceRequest.approve))],
    service: ServiceRequestsDep,
) -> JSONResponse:
    """Review and approve: money items and beneficiary changes by someone other than the handler
    (SVC-FOUR-EYES)."""
    return call.update(service, request_id, body, service.approve)


@router.post("/service-requests/{request_id}/completion", **command_route())
def complete_service_request(
    request_id: RequestId,
    body: CompleteServiceRequest,
    call: Annotated[CommandCall, Depends(case_command(ServiceRequest.complete))],
    service: ServiceRequestsDep,
) -> JSONResponse:
    """Apply the approved change to the policy (an endorsement numbered with the request) and record the
    request done."""
    return call.update(service, request_id, body, service.complete)


@router.post("/service-requests/{request_id}/refusal", **command_route())
def refuse_service_request(
    request_id: RequestId,
    body: RefuseServiceRequest,
    call: Annotated[CommandCall, Depends(case_command(ServiceRequest.refuse))],
    service: ServiceRequestsDep,
) -> JSONResponse:
    """Refuse the request with its reasons (SVC-REFUSAL-REASONS)."""
    return call.update(service, request_id, body, service.refuse)


@router.post("/service-requests/{request_id}/notice", **command_route())
def notify_service_customer(
    request_id: RequestId,
    body: NotifyServiceCustomer,
    call: Annotated[CommandCall, Depends(case_command(ServiceRequest.notify_customer))],
    service: ServiceRequestsDep,
) -> JSONResponse:
    """Tell the customer the outcome; the request closes (CO-SVC-NOTICE-1WD)."""
    return call.update(service, request_id, body, service.notify_customer)


@router.post("/service-requests/{request_id}/withdrawal", **command_route())
def withdraw_service_request(
    request_id: RequestId,
    body: WithdrawServiceRequest,
    call: Annotated[CommandCall, Depends(case_command(ServiceRequest.withdraw))],
    service: ServiceRequestsDep,
) -> JSONResponse:
    """Record the customer's withdrawal of a request not yet done."""
    return call.update(service, request_id, body, service.withdraw)


@router.get("/service-requests/worklist", responses=LIST_PROBLEMS)
def get_service_worklist(
    actor: Reader,
    read_models: ReadModelsDep,
    assignee: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    min_position: ListMinPosition = None,
) -> list[WorkItem]:
    """保全 worklist: requests to handle, review and notify, soonest deadline first, in the reader's
    work-item scope; ``min_position`` is a position of the service_request context."""
    after = None if min_position is None else (PositionContext.SERVICE_REQUEST, min_position)
    return read_models.service_worklist(
        assignee=assignee, limit=limit, offset=offset, after=after, reader=reader(actor)
    )


@router.get("/service-requests/{request_id}", responses=CASE_PROBLEMS)
def get_service_request(
    request_id: RequestId,
    response: Response,
    actor: Reader,
    read_models: ReadModelsDep,
    min_version: MinVersion = None,
    min_position: MinPosition = None,
) -> ServiceRequestCase:
    """A policy service request: item, status, handler and reviewer, its time standard and deadlines,
    outcome (whoever may read its policy; 404 otherwise)."""
    case = read_models.service_request(request_id, min_version, min_position, reader(actor))
    response.headers["ETag"] = f'"{case.version}"'
    return case


@router.get(
    "/service-requests/{request_id}/personal-data", responses=PERSONAL_PROBLEMS, tags=["personal data"]
)
def get_service_request_personal_data(
    request_id: RequestId,
    request: Request,
    response: Response,
    actor: Reader,
    read_models: ReadModelsDep,
    trail: TrailDep,
    reveal: Reveal = None,
    purpose: Purpose = None,
) -> PersonalData:
    """The requester's and the change's personal fields (new phone, e-mail, address, bank account and
    holder, beneficiaries' names and identity numbers) of a request in the reader's scope: masked, or in
    full for `reveal`ed fields the role may see (each logged with `purpose`)."""
    found = read_models.service_request(request_id, reader=reader(actor))
    return personal_data(
        actor=actor,
        case_id=request_id,
        subject_id=found.customer_id,
        reveal=check_reveal(actor, reveal or []),
        purpose=purpose,
        request_id=request_id_of(request, response),
        trail=trail,
        access_log=read_models.access_log,
        clock=read_models.clock,
    )


@router.get("/policies/{policy_id}/service-requests", responses=CASE_PROBLEMS)
def get_policy_service_history(
    policy_id: Annotated[UUID, Path(description="The policy's id.")],
    actor: Reader,
    read_models: ReadModelsDep,
    min_position: ListMinPosition = None,
) -> list[ServiceRequestCase]:
    """The policy's service history (保全记录), oldest first; ``min_position`` is a position of the
    service_request context."""
    after = None if min_position is None else (PositionContext.SERVICE_REQUEST, min_position)
    return read_models.policy_service_history(policy_id, after, reader(actor))
