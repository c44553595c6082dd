"""Inquiry commands and queries (咨询): log, answer, defer, transfer, close; the inquiry, the inquiry a case
came from, the inquiry statistics and a customer's contact history."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.responses import JSONResponse

from api.auth import require
from api.deps import InquiriesDep, ReadModelsDep, case_command, opening_command
from api.gateway import CommandCall
from api.problems import problem_responses
from api.readmodels import PositionContext
from api.routes.answers import command_route
from domain.base import Actor, Role
from domain.inquiry import Inquiry
from infra.services.inquiries import (
    AnswerInquiry,
    CloseInquiry,
    DeferInquiry,
    LogInquiry,
    TransferInquiry,
)
from projections.contact_queries import ContactHistory, InquiryCase, InquiryOrigin, InquiryStatistics

router = APIRouter(tags=["inquiries"])

CONTACT_READERS = (
    Role.CALLBACK_AGENT,
    Role.COMPLAINTS_OFFICER,
    Role.CLAIMS_HANDLER,
    Role.SUPERVISOR,
    Role.SENIOR_MANAGER,
    Role.AUDITOR,
)
"""Who reads inquiries, service orders and contact histories: the staff who serve customers, their
managers and the auditors."""

InquiryId = Annotated[UUID, Path(description="The inquiry's id.")]
ContactReader = Annotated[Actor, Depends(require(*CONTACT_READERS))]
Manager = Annotated[
    Actor, Depends(require(Role.SUPERVISOR, Role.SENIOR_MANAGER, Role.AUDITOR, Role.COMPLAINTS_OFFICER))
]
MinVersion = Annotated[int | None, Query(ge=1, le=10**12, description="Read your writes: the case version.")]
Month = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]
CASE_PROBLEMS = problem_responses(401, 403, 404, 422, 503)
LIST_PROBLEMS = problem_responses(401, 403, 422, 503)


@router.post("/inquiries", **command_route(HTTPStatus.CREATED))
def log_inquiry(
    body: LogInquiry,
    call: Annotated[CommandCall, Depends(opening_command(Inquiry.log))],
    inquiries: InquiriesDep,
) -> JSONResponse:
    """Log an inquiry as received, with its channel, category, and the customer and policy when known."""
    return call.open(inquiries, body, inquiries.log_inquiry)


@router.post("/inquiries/{inquiry_id}/answer", **command_route())
def answer_inquiry(
    inquiry_id: InquiryId,
    body: AnswerInquiry,
    call: Annotated[CommandCall, Depends(case_command(Inquiry.answer))],
    inquiries: InquiriesDep,
) -> JSONResponse:
    """Give the answer: during the first contact it counts as resolved at first contact."""
    return call.update(inquiries, inquiry_id, body, inquiries.answer)


@router.post("/inquiries/{inquiry_id}/deferral", **command_route())
def defer_inquiry(
    inquiry_id: InquiryId,
    body: DeferInquiry,
    call: Annotated[CommandCall, Depends(case_command(Inquiry.defer))],
    inquiries: InquiriesDep,
) -> JSONResponse:
    """Promise a reply within the service standard (INQ-REPLY-1WD); only to an identified customer."""
    return call.update(inquiries, inquiry_id, body, inquiries.defer)


@router.post("/inquiries/{inquiry_id}/transfer", **command_route())
def transfer_inquiry(
    inquiry_id: InquiryId,
    body: TransferInquiry,
    call: Annotated[CommandCall, Depends(case_command(Inquiry.transfer))],
    inquiries: InquiriesDep,
) -> JSONResponse:
    """Link the inquiry to the complaint, claim report or service request opened for it."""
    return call.update(inquiries, inquiry_id, body, inquiries.transfer)


@router.post("/inquiries/{inquiry_id}/closure", **command_route())
def close_inquiry(
    inquiry_id: InquiryId,
    body: CloseInquiry,
    call: Annotated[CommandCall, Depends(case_command(Inquiry.close))],
    inquiries: InquiriesDep,
) -> JSONResponse:
    """Close an answered or transferred inquiry."""
    return call.update(inquiries, inquiry_id, body, inquiries.close_inquiry)


@router.get("/inquiries/{inquiry_id}", responses=CASE_PROBLEMS, tags=["queries"])
def get_inquiry(
    inquiry_id: InquiryId,
    response: Response,
    _: ContactReader,
    read_models: ReadModelsDep,
    min_version: MinVersion = None,
) -> InquiryCase:
    """An inquiry: channel, category, status, first-contact resolution, its transfer and reply clock."""
    case = read_models.inquiry(inquiry_id, min_version)
    response.headers["ETag"] = f'"{case.version}"'
    return case


@router.get("/cases/{case_id}/inquiry", responses=CASE_PROBLEMS, tags=["queries"])
def get_inquiry_origin(
    case_id: Annotated[UUID, Path(description="A complaint, claim or service request's id.")],
    _: ContactReader,
    read_models: ReadModelsDep,
) -> InquiryOrigin:
    """The inquiry a complaint, claim or service request was opened from (404 when none was)."""
    return read_models.inquiry_origin(case_id)


@router.get("/statistics/inquiries", responses=LIST_PROBLEMS, tags=["queries"])
def get_inquiry_statistics(
    _: Manager,
    read_models: ReadModelsDep,
    month_from: Month = None,
    month_to: Month = None,
    min_position: Annotated[int | None, Query(ge=1, le=10**15)] = None,
) -> list[InquiryStatistics]:
    """Inquiry volume by category, channel and month (Asia/Shanghai), with the first-contact resolution
    rate; ``min_position`` is an inquiry command's position."""
    after = None if min_position is None else (PositionContext.INQUIRY, min_position)
    return read_models.inquiry_statistics(month_from=month_from, month_to=month_to, after=after)


@router.get("/customers/{customer_id}/contacts", responses=LIST_PROBLEMS, tags=["queries"])
def get_contact_history(
    customer_id: Annotated[str, Path(min_length=1, max_length=200)],
    _: ContactReader,
    read_models: ReadModelsDep,
) -> ContactHistory:
    """The customer's contact history: inquiries, value-added services, complaints and claims, newest
    first, each with its latest step."""
    return read_models.contact_history(customer_id)
