"""Complaint commands (投诉), one resource per lifecycle step."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse

from api.deps import ComplaintsDep, case_command, opening_command
from api.gateway import CommandCall
from api.routes.answers import command_route
from domain.complaint import Complaint
from infra.services.complaints import (
    AcknowledgeComplaint,
    ApproveComplaintExtension,
    AssignComplaint,
    ClassifyComplaint,
    CloseComplaint,
    CompleteAppraisal,
    DecideReview,
    EscalateComplaint,
    ExtendComplaint,
    LodgeComplaint,
    ReceiveNewFacts,
    ReopenComplaint,
    RequestReview,
    RespondToComplaint,
    StartAppraisal,
    WithdrawComplaint,
)

router = APIRouter(prefix="/complaints", tags=["complaints"])

ComplaintId = Annotated[UUID, Path(description="The complaint's id.")]


@router.post("", **command_route(HTTPStatus.CREATED))
def lodge_complaint(
    body: LodgeComplaint,
    call: Annotated[CommandCall, Depends(opening_command(Complaint.lodge))],
    complaints: ComplaintsDep,
) -> JSONResponse:
    """Lodge a complaint as received: the 15-day period counts from its receipt."""
    return call.open(complaints, body, complaints.lodge)


@router.post("/{complaint_id}/acknowledgement", **command_route())
def acknowledge_complaint(
    complaint_id: ComplaintId,
    body: AcknowledgeComplaint,
    call: Annotated[CommandCall, Depends(case_command(Complaint.acknowledge))],
    complaints: ComplaintsDep,
) -> JSONResponse:
    """Tell the complainant the complaint was received."""
    return call.update(complaints, complaint_id, body, complaints.acknowledge)


@router.post("/{complaint_id}/assignment", **command_route())
def assign_complaint(
    complaint_id: ComplaintId,
    body: AssignComplaint,
    call: Annotated[CommandCall, Depends(case_command(Complaint.assign))],
    complaints: ComplaintsDep,
) -> JSONResponse:
    """Assign (or reassign) a handler who had no part in the case complained about (回避)."""
    return call.update(complaints, complaint_id, body, complaints.assign)


@router.post("/{complaint_id}/classification", **command_route())
def classify_complaint(
    complaint_id: ComplaintId,
    body: ClassifyComplaint,
    call: Annotated[CommandCall, Depends(case_command(Complaint.classify))],
    complaints: ComplaintsDep,
) -> JSONResponse:
    """Classify the complaint by complexity, confirming or correcting its category."""
    return call.update(complaints, complaint_id, body, complaints.classify)


@router.post("/{complaint_id}/appraisals", **command_route())
def start_appraisal(
    complaint_id: ComplaintId,
    body: StartAppraisal,
    call: Annotated[CommandCall, Depends(case_command(Complaint.start_appraisal))],
    complaints: ComplaintsDep,
) -> JSONResponse:
    """Start an external appraisal: the clock pauses."""
    return call.update(complaints, complaint_id, body, complaints.start_appraisal)


@router.post("/{complaint_id}/appraisals/complete", **command_route())
def complete_appraisal(
    complaint_id: ComplaintId,
    body: CompleteAppraisal,
    call: Annotated[CommandCall, Depends(case_command(Complaint.complete_appraisal))],
    complaints: ComplaintsDep,
) -> JSONResponse:
    """Record the external appraisal's result: the clock resumes."""
    return call.update(complaints, complaint_id, body, complaints.complete_appraisal)


@router.post("/{complaint_id}/new-facts", **command_route())
def receive_new_facts(
    complaint_id: ComplaintId,
    body: ReceiveNewFacts,
    call: Annotated[CommandCall, Depends(case_command(Complaint.receive_new_facts))],
    complaints: ComplaintsDep,
) -> JSONResponse:
    """Record new facts from the complainant: the period restarts from their receipt."""
    return call.update(complaints, complaint_id, body, complaints.receive_new_facts)


@router.post("/{complaint_id}/extension", **command_route())
def extend_complaint(
    complaint_id: ComplaintId,
    body: ExtendComplaint,
    call: Annotated[CommandCall, Depends(case_command(Complaint.extend))],
    complaints: ComplaintsDep,
) -> JSONResponse:
    """Extend a complex complaint's period while it runs: to 30 days with a reason, to 60 with a senior
    manager's recorded approval (``/extension-approval``) and notice to the complainant."""
    return call.update(complaints, complaint_id, body, complaints.extend)


@router.post("/{complaint_id}/extension-approval", **command_route())
def approve_complaint_extension(
    complaint_id: ComplaintId,
    body: ApproveComplaintExtension,
    call: Annotated[CommandCall, Depends(case_command(Complaint.approve_extension))],
    complaints: ComplaintsDep,
) -> JSONResponse:
    """A senior manager's own approval of extending the period from 30 to 60 days, while it runs."""
    return call.update(complaints, complaint_id, body, complaints.approve_extension)


@router.post("/{complaint_id}/response", **command_route())
def respond_to_complaint(
    complaint_id: ComplaintId,
    body: RespondToComplaint,
    call: Annotated[CommandCall, Depends(case_command(Complaint.respond))],
    complaints: ComplaintsDep,
) -> JSONResponse:
    """Deliver the decision with how the facts were checked, its basis and the remedies (Art. 20)."""
    return call.update(complaints, complaint_id, body, complaints.respond)


@router.post("/{complaint_id}/review-request", **command_route())
def request_review(
    complaint_id: ComplaintId,
    body: RequestReview,
    call: Annotated[CommandCall, Depends(case_command(Complaint.request_review))],
    complaints: ComplaintsDep,
) -> JSONResponse:
    """Record the complainant's request for review (核查), within 30 days of the response."""
    return call.update(complaints, complaint_id, body, complaints.request_review)


@router.post("/{complaint_id}/review-decision", **command_route())
def decide_review(
    complaint_id: ComplaintId,
    body: DecideReview,
    call: Annotated[CommandCall, Depends(case_command(Complaint.decide_review))],
    complaints: ComplaintsDep,
) -> JSONResponse:
    """Decide the review: never by the one who answered or anyone involved in the case."""
    return call.update(complaints, complaint_id, body, complaints.decide_review)


@router.post("/{complaint_id}/withdrawal", **command_route())
def withdraw_complaint(
    complaint_id: ComplaintId,
    body: WithdrawComplaint,
    call: Annotated[CommandCall, Depends(case_command(Complaint.withdraw))],
    complaints: ComplaintsDep,
) -> JSONResponse:
    """Record the complainant's withdrawal: the procedure ends on the day it was received."""
    return call.update(complaints, complaint_id, body, complaints.withdraw)


@router.post("/{complaint_id}/closure", **command_route())
def close_complaint(
    complaint_id: ComplaintId,
    body: CloseComplaint,
    call: Annotated[CommandCall, Depends(case_command(Complaint.close))],
    complaints: ComplaintsDep,
) -> JSONResponse:
    """Close an answered (or reviewed) complaint with its outcome."""
    return call.update(complaints, complaint_id, body, complaints.close_complaint)


@router.post("/{complaint_id}/reopening", **command_route())
def reopen_complaint(
    complaint_id: ComplaintId,
    body: ReopenComplaint,
    call: Annotated[CommandCall, Depends(case_command(Complaint.reopen))],
    complaints: ComplaintsDep,
) -> JSONResponse:
    """Reopen a closed complaint for a new investigation, with the reason."""
    return call.update(complaints, complaint_id, body, complaints.reopen)


@router.post("/{complaint_id}/external-escalation", **command_route())
def escalate_complaint(
    complaint_id: ComplaintId,
    body: EscalateComplaint,
    call: Annotated[CommandCall, Depends(case_command(Complaint.escalate_externally))],
    complaints: ComplaintsDep,
) -> JSONResponse:
    """Record that the complaint went to an outside body; a regulator makes it reportable."""
    return call.update(complaints, complaint_id, body, complaints.escalate_externally)
