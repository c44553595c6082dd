"""Complaint commands (投诉), one resource per lifecycle step."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse

from api.bodies import (
    AcknowledgeComplaint,
    AssignComplaint,
    ClassifyComplaint,
    CloseComplaint,
    CompleteAppraisal,
    DecideReview,
    EscalateComplaint,
    ExtendComplaint,
    LodgeComplaint,
    Reason,
    ReceiveNewFacts,
    RequestReview,
    RespondToComplaint,
    StartAppraisal,
    WithdrawComplaint,
)
from api.commands import CommandCall
from api.deps import ComplaintsDep, command_call, opening_call
from api.routes.answers import command_response, command_route
from domain.base import Role

router = APIRouter(prefix="/complaints", tags=["complaints"])

OFFICERS = (Role.COMPLAINTS_OFFICER, Role.SUPERVISOR)
REVIEWERS = (Role.SUPERVISOR, Role.SENIOR_MANAGER)

IntakeCall = Annotated[CommandCall, Depends(opening_call(*OFFICERS, Role.SYSTEM))]
IntakeStepCall = Annotated[CommandCall, Depends(command_call(*OFFICERS, Role.SYSTEM))]
OfficerCall = Annotated[CommandCall, Depends(command_call(*OFFICERS))]
ReviewerCall = Annotated[CommandCall, Depends(command_call(*REVIEWERS))]
ComplaintId = Annotated[UUID, Path(description="The complaint's id.")]


@router.post("", **command_route(HTTPStatus.CREATED))
def lodge_complaint(body: LodgeComplaint, call: IntakeCall, complaints: ComplaintsDep) -> JSONResponse:
    """Lodge a complaint as received: the 15-day period counts from its receipt."""
    return command_response(complaints.lodge(call, body))


@router.post("/{complaint_id}/acknowledgement", **command_route())
def acknowledge_complaint(
    complaint_id: ComplaintId, body: AcknowledgeComplaint, call: IntakeStepCall, complaints: ComplaintsDep
) -> JSONResponse:
    """Tell the complainant the complaint was received."""
    return command_response(complaints.acknowledge(call, complaint_id, body))


@router.post("/{complaint_id}/assignment", **command_route())
def assign_complaint(
    complaint_id: ComplaintId, body: AssignComplaint, call: OfficerCall, complaints: ComplaintsDep
) -> JSONResponse:
    """Assign (or reassign) a handler who had no part in the case complained about (回避)."""
    return command_response(complaints.assign(call, complaint_id, body))


@router.post("/{complaint_id}/classification", **command_route())
def classify_complaint(
    complaint_id: ComplaintId, body: ClassifyComplaint, call: OfficerCall, complaints: ComplaintsDep
) -> JSONResponse:
    """Classify the complaint by complexity, confirming or correcting its category."""
    return command_response(complaints.classify(call, complaint_id, body))


@router.post("/{complaint_id}/appraisals", **command_route())
def start_appraisal(
    complaint_id: ComplaintId, body: StartAppraisal, call: OfficerCall, complaints: ComplaintsDep
) -> JSONResponse:
    """Start an external appraisal: the clock pauses."""
    return command_response(complaints.start_appraisal(call, complaint_id, body))


@router.post("/{complaint_id}/appraisals/complete", **command_route())
def complete_appraisal(
    complaint_id: ComplaintId, body: CompleteAppraisal, call: OfficerCall, complaints: ComplaintsDep
) -> JSONResponse:
    """Record the external appraisal's result: the clock resumes."""
    return command_response(complaints.complete_appraisal(call, complaint_id, body))


@router.post("/{complaint_id}/new-facts", **command_route())
def receive_new_facts(
    complaint_id: ComplaintId, body: ReceiveNewFacts, call: OfficerCall, complaints: ComplaintsDep
) -> JSONResponse:
    """Record new facts from the complainant: the period restarts from their receipt."""
    return command_response(complaints.receive_new_facts(call, complaint_id, body))


@router.post("/{complaint_id}/extension", **command_route())
def extend_complaint(
    complaint_id: ComplaintId, body: ExtendComplaint, call: OfficerCall, complaints: ComplaintsDep
) -> JSONResponse:
    """Extend a complex complaint's period: to 30 days with a reason, to 60 with approval and notice."""
    return command_response(complaints.extend(call, complaint_id, body))


@router.post("/{complaint_id}/response", **command_route())
def respond_to_complaint(
    complaint_id: ComplaintId, body: RespondToComplaint, call: OfficerCall, complaints: ComplaintsDep
) -> JSONResponse:
    """Deliver the decision with how the facts were checked, its basis and the remedies (Art. 20)."""
    return command_response(complaints.respond(call, complaint_id, body))


@router.post("/{complaint_id}/review-request", **command_route())
def request_review(
    complaint_id: ComplaintId, body: RequestReview, call: OfficerCall, complaints: ComplaintsDep
) -> JSONResponse:
    """Record the complainant's request for review (核查), within 30 days of the response."""
    return command_response(complaints.request_review(call, complaint_id, body))


@router.post("/{complaint_id}/review-decision", **command_route())
def decide_review(
    complaint_id: ComplaintId, body: DecideReview, call: ReviewerCall, complaints: ComplaintsDep
) -> JSONResponse:
    """Decide the review: never by the one who answered or anyone involved in the case."""
    return command_response(complaints.decide_review(call, complaint_id, body))


@router.post("/{complaint_id}/withdrawal", **command_route())
def withdraw_complaint(
    complaint_id: ComplaintId, body: WithdrawComplaint, call: OfficerCall, complaints: ComplaintsDep
) -> JSONResponse:
    """Record the complainant's withdrawal: the procedure ends on the day it was received."""
    return command_response(complaints.withdraw(call, complaint_id, body))


@router.post("/{complaint_id}/closure", **command_route())
def close_complaint(
    complaint_id: ComplaintId, body: CloseComplaint, call: OfficerCall, complaints: ComplaintsDep
) -> JSONResponse:
    """Close an answered (or reviewed) complaint with its outcome."""
    return command_response(complaints.close(call, complaint_id, body))


@router.post("/{complaint_id}/reopening", **command_route())
def reopen_complaint(
    complaint_id: ComplaintId, body: Reason, call: ReviewerCall, complaints: ComplaintsDep
) -> JSONResponse:
    """Reopen a closed complaint for a new investigation, with the reason."""
    return command_response(complaints.reopen(call, complaint_id, body))


@router.post("/{complaint_id}/external-escalation", **command_route())
def escalate_complaint(
    complaint_id: ComplaintId, body: EscalateComplaint, call: IntakeStepCall, complaints: ComplaintsDep
) -> JSONResponse:
    """Record that the complaint went to an outside body; a regulator makes it reportable."""
    return command_response(complaints.escalate_externally(call, complaint_id, body))
