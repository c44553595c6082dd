"""Claim commands (理赔), one resource per lifecycle step."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse

from api.deps import ClaimsDep, command_call, opening_call
from api.gateway import CommandCall, command_response
from api.routes.answers import command_route
from domain.base import Role
from infra.services.claims import (
    AdjustClaim,
    AgreeSettlement,
    AssessLoss,
    DecideClaim,
    IssuePayment,
    PayAdvance,
    RecordSurvey,
    RegisterClaim,
    ReportClaim,
    RequestDocuments,
    ReviewClaim,
    SendRejectionNotice,
)
from infra.services.commands import Reason

router = APIRouter(prefix="/claims", tags=["claims"])

HANDLERS = (Role.CLAIMS_HANDLER, Role.SUPERVISOR)

ReportingCall = Annotated[CommandCall, Depends(opening_call(*HANDLERS))]
HandlerCall = Annotated[CommandCall, Depends(command_call(*HANDLERS))]
SurveyorCall = Annotated[CommandCall, Depends(command_call(Role.SURVEYOR))]
AssessorCall = Annotated[CommandCall, Depends(command_call(Role.SURVEYOR, Role.ADJUSTER))]
AdjusterCall = Annotated[CommandCall, Depends(command_call(Role.ADJUSTER))]
ReviewerCall = Annotated[CommandCall, Depends(command_call(Role.CLAIM_REVIEWER))]
DeciderCall = Annotated[CommandCall, Depends(command_call(Role.CLAIM_REVIEWER, Role.SUPERVISOR))]
ReopenerCall = Annotated[CommandCall, Depends(command_call(Role.SUPERVISOR, Role.CLAIMS_HANDLER))]
ClaimId = Annotated[UUID, Path(description="The claim's id.")]
DocType = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]


@router.post("", **command_route(HTTPStatus.CREATED))
def report_claim(body: ReportClaim, call: ReportingCall, claims: ClaimsDep) -> JSONResponse:
    """接报案: report a loss on a policy whose cover includes the loss date; opens a claim."""
    return command_response(claims.report(call, body))


@router.post("/{claim_id}/registration", **command_route())
def register_claim(
    claim_id: ClaimId, body: RegisterClaim, call: HandlerCall, claims: ClaimsDep
) -> JSONResponse:
    """立案: register the claim with its coverages and an initial reserve."""
    return command_response(claims.register(call, claim_id, body))


@router.post("/{claim_id}/survey", **command_route())
def record_survey(
    claim_id: ClaimId, body: RecordSurvey, call: SurveyorCall, claims: ClaimsDep
) -> JSONResponse:
    """查勘: record the surveyor's findings."""
    return command_response(claims.record_survey(call, claim_id, body))


@router.post("/{claim_id}/loss-assessment", **command_route())
def assess_loss(claim_id: ClaimId, body: AssessLoss, call: AssessorCall, claims: ClaimsDep) -> JSONResponse:
    """定损: assess the loss."""
    return command_response(claims.assess_loss(call, claim_id, body))


@router.post("/{claim_id}/documents-request", **command_route())
def request_documents(
    claim_id: ClaimId, body: RequestDocuments, call: HandlerCall, claims: ClaimsDep
) -> JSONResponse:
    """Send the one complete list of missing documents (Insurance Law Art. 22)."""
    return command_response(claims.request_documents(call, claim_id, body))


@router.post("/{claim_id}/documents/{doc_type}", **command_route())
def receive_document(
    claim_id: ClaimId, doc_type: DocType, call: HandlerCall, claims: ClaimsDep
) -> JSONResponse:
    """收单: record one requested document as received."""
    return command_response(claims.receive_document(call, claim_id, doc_type))


@router.post("/{claim_id}/documents-complete", **command_route())
def complete_documents(claim_id: ClaimId, call: HandlerCall, claims: ClaimsDep) -> JSONResponse:
    """Declare the documents complete: every requested item has arrived."""
    return command_response(claims.complete_documents(call, claim_id))


@router.post("/{claim_id}/adjustment", **command_route())
def adjust_claim(claim_id: ClaimId, body: AdjustClaim, call: AdjusterCall, claims: ClaimsDep) -> JSONResponse:
    """理算: calculate the payable amount once the documents are complete."""
    return command_response(claims.adjust(call, claim_id, body))


@router.post("/{claim_id}/review", **command_route())
def review_claim(claim_id: ClaimId, body: ReviewClaim, call: ReviewerCall, claims: ClaimsDep) -> JSONResponse:
    """核赔: review the adjustment and approve an amount (never by the adjuster)."""
    return command_response(claims.review(call, claim_id, body))


@router.post("/{claim_id}/decision", **command_route())
def decide_claim(claim_id: ClaimId, body: DecideClaim, call: DeciderCall, claims: ClaimsDep) -> JSONResponse:
    """Decide on cover (Art. 23); a rejection or partial cover states its reasons."""
    return command_response(claims.decide(call, claim_id, body))


@router.post("/{claim_id}/rejection-notice", **command_route())
def send_rejection_notice(
    claim_id: ClaimId, body: SendRejectionNotice, call: HandlerCall, claims: ClaimsDep
) -> JSONResponse:
    """Send the written rejection notice with reasons (Art. 24)."""
    return command_response(claims.send_rejection_notice(call, claim_id, body))


@router.post("/{claim_id}/settlement", **command_route())
def agree_settlement(
    claim_id: ClaimId, body: AgreeSettlement, call: HandlerCall, claims: ClaimsDep
) -> JSONResponse:
    """赔付协议: agree the settlement for no more than the approved amount."""
    return command_response(claims.agree_settlement(call, claim_id, body))


@router.post("/{claim_id}/advance-payments", **command_route())
def pay_advance(claim_id: ClaimId, body: PayAdvance, call: HandlerCall, claims: ClaimsDep) -> JSONResponse:
    """Pay in advance of approval (Art. 25, or CTPL rescue costs)."""
    return command_response(claims.pay_advance(call, claim_id, body))


@router.post("/{claim_id}/payments", **command_route())
def issue_payment(
    claim_id: ClaimId, body: IssuePayment, call: HandlerCall, claims: ClaimsDep
) -> JSONResponse:
    """Pay the indemnity, after approval and settlement, within the agreed amount."""
    return command_response(claims.issue_payment(call, claim_id, body))


@router.post("/{claim_id}/closure", **command_route())
def close_claim(claim_id: ClaimId, call: HandlerCall, claims: ClaimsDep) -> JSONResponse:
    """结案: close a paid, rejected (notice sent) or withdrawn claim."""
    return command_response(claims.close(call, claim_id))


@router.post("/{claim_id}/reopening", **command_route())
def reopen_claim(claim_id: ClaimId, body: Reason, call: ReopenerCall, claims: ClaimsDep) -> JSONResponse:
    """Reopen a closed claim, with the reason."""
    return command_response(claims.reopen(call, claim_id, body))


@router.post("/{claim_id}/withdrawal", **command_route())
def withdraw_claim(claim_id: ClaimId, body: Reason, call: HandlerCall, claims: ClaimsDep) -> JSONResponse:
    """Record the claimant's withdrawal of an open claim."""
    return command_response(claims.withdraw(call, claim_id, body))
