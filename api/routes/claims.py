"""Claim commands (理赔), one resource per lifecycle step."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse

from api.deps import ClaimsDep, case_command, opening_command
from api.gateway import CommandCall
from api.routes.answers import command_route
from domain.claim import Claim
from infra.services.claims import (
    AdjustClaim,
    AgreeSettlement,
    AssessLoss,
    CloseClaim,
    CompleteDocuments,
    DecideClaim,
    DocumentArrival,
    IssuePayment,
    PayAdvance,
    ReceiveClaimApplication,
    ReceiveDocument,
    RecordRequestDelivery,
    RecordSurvey,
    RegisterClaim,
    ReopenClaim,
    ReportClaim,
    RequestDocuments,
    ReviewClaim,
    SendRejectionNotice,
    WithdrawClaim,
)

router = APIRouter(prefix="/claims", tags=["claims"])

ClaimId = Annotated[UUID, Path(description="The claim's id.")]
DocType = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]


@router.post("", **command_route(HTTPStatus.CREATED))
def report_claim(
    body: ReportClaim,
    call: Annotated[CommandCall, Depends(opening_command(Claim.report))],
    claims: ClaimsDep,
) -> JSONResponse:
    """接报案: report a loss on a policy; a loss outside its cover at the loss date is decided "not covered"
    at once (Art. 14), so that its Art. 24 notice follows."""
    return call.open(claims, body, claims.report)


@router.post("/{claim_id}/application", **command_route())
def receive_claim_application(
    claim_id: ClaimId,
    body: ReceiveClaimApplication,
    call: Annotated[CommandCall, Depends(case_command(Claim.receive_application))],
    claims: ClaimsDep,
) -> JSONResponse:
    """索赔申请: record the claim application's receipt; the Art. 23 decision clock starts there."""
    return call.update(claims, claim_id, body, claims.receive_application)


@router.post("/{claim_id}/registration", **command_route())
def register_claim(
    claim_id: ClaimId,
    body: RegisterClaim,
    call: Annotated[CommandCall, Depends(case_command(Claim.register))],
    claims: ClaimsDep,
) -> JSONResponse:
    """立案: register the claim with its coverages and an initial reserve."""
    return call.update(claims, claim_id, body, claims.register)


@router.post("/{claim_id}/survey", **command_route())
def record_survey(
    claim_id: ClaimId,
    body: RecordSurvey,
    call: Annotated[CommandCall, Depends(case_command(Claim.record_survey))],
    claims: ClaimsDep,
) -> JSONResponse:
    """查勘: record the surveyor's findings."""
    return call.update(claims, claim_id, body, claims.record_survey)


@router.post("/{claim_id}/loss-assessment", **command_route())
def assess_loss(
    claim_id: ClaimId,
    body: AssessLoss,
    call: Annotated[CommandCall, Depends(case_command(Claim.assess_loss))],
    claims: ClaimsDep,
) -> JSONResponse:
    """定损: assess the loss."""
    return call.update(claims, claim_id, body, claims.assess_loss)


@router.post("/{claim_id}/documents-request", **command_route())
def request_documents(
    claim_id: ClaimId,
    body: RequestDocuments,
    call: Annotated[CommandCall, Depends(case_command(Claim.request_documents))],
    claims: ClaimsDep,
) -> JSONResponse:
    """Send the one complete list of missing documents (Insurance Law Art. 22)."""
    return call.update(claims, claim_id, body, claims.request_documents)


@router.post("/{claim_id}/documents-request/delivery", **command_route())
def record_request_delivery(
    claim_id: ClaimId,
    body: RecordRequestDelivery,
    call: Annotated[CommandCall, Depends(case_command(Claim.record_request_delivery))],
    claims: ClaimsDep,
) -> JSONResponse:
    """Record when the documents request reached the claimant (JI-II Art. 15: the clock stops then)."""
    return call.update(claims, claim_id, body, claims.record_request_delivery)


@router.post("/{claim_id}/documents/{doc_type}", **command_route())
def receive_document(
    claim_id: ClaimId,
    doc_type: DocType,
    body: DocumentArrival,
    call: Annotated[CommandCall, Depends(case_command(Claim.receive_document))],
    claims: ClaimsDep,
) -> JSONResponse:
    """收单: record one requested document as received at the time it reached the insurer."""
    command = ReceiveDocument(doc_type=doc_type, received_at=body.received_at)
    return call.update(claims, claim_id, command, claims.receive_document)


@router.post("/{claim_id}/documents-complete", **command_route())
def complete_documents(
    claim_id: ClaimId,
    call: Annotated[CommandCall, Depends(case_command(Claim.complete_documents))],
    claims: ClaimsDep,
) -> JSONResponse:
    """Declare the documents complete: those of the application, or every requested item; it takes
    effect when the last of them arrived."""
    return call.update(claims, claim_id, CompleteDocuments(), claims.complete_documents)


@router.post("/{claim_id}/adjustment", **command_route())
def adjust_claim(
    claim_id: ClaimId,
    body: AdjustClaim,
    call: Annotated[CommandCall, Depends(case_command(Claim.adjust))],
    claims: ClaimsDep,
) -> JSONResponse:
    """理算: calculate the payable amount once the documents are complete."""
    return call.update(claims, claim_id, body, claims.adjust)


@router.post("/{claim_id}/review", **command_route())
def review_claim(
    claim_id: ClaimId,
    body: ReviewClaim,
    call: Annotated[CommandCall, Depends(case_command(Claim.review))],
    claims: ClaimsDep,
) -> JSONResponse:
    """核赔: review the adjustment and approve an amount (never by the adjuster)."""
    return call.update(claims, claim_id, body, claims.review)


@router.post("/{claim_id}/decision", **command_route())
def decide_claim(
    claim_id: ClaimId,
    body: DecideClaim,
    call: Annotated[CommandCall, Depends(case_command(Claim.decide))],
    claims: ClaimsDep,
) -> JSONResponse:
    """Decide on cover (Art. 23); a rejection or partial cover states its reasons."""
    return call.update(claims, claim_id, body, claims.decide)


@router.post("/{claim_id}/rejection-notice", **command_route())
def send_rejection_notice(
    claim_id: ClaimId,
    body: SendRejectionNotice,
    call: Annotated[CommandCall, Depends(case_command(Claim.send_rejection_notice))],
    claims: ClaimsDep,
) -> JSONResponse:
    """Send the written rejection notice with reasons (Art. 24)."""
    return call.update(claims, claim_id, body, claims.send_rejection_notice)


@router.post("/{claim_id}/settlement", **command_route())
def agree_settlement(
    claim_id: ClaimId,
    body: AgreeSettlement,
    call: Annotated[CommandCall, Depends(case_command(Claim.agree_settlement))],
    claims: ClaimsDep,
) -> JSONResponse:
    """赔付协议: agree the settlement for no more than the approved amount."""
    return call.update(claims, claim_id, body, claims.agree_settlement)


@router.post("/{claim_id}/advance-payments", **command_route())
def pay_advance(
    claim_id: ClaimId,
    body: PayAdvance,
    call: Annotated[CommandCall, Depends(case_command(Claim.pay_advance))],
    claims: ClaimsDep,
) -> JSONResponse:
    """Pay in advance of approval (Art. 25, or CTPL rescue costs)."""
    return call.update(claims, claim_id, body, claims.pay_advance)


@router.post("/{claim_id}/payments", **command_route())
def issue_payment(
    claim_id: ClaimId,
    body: IssuePayment,
    call: Annotated[CommandCall, Depends(case_command(Claim.issue_payment))],
    claims: ClaimsDep,
) -> JSONResponse:
    """Pay the indemnity, after approval and settlement, within the agreed amount."""
    return call.update(claims, claim_id, body, claims.issue_payment)


@router.post("/{claim_id}/closure", **command_route())
def close_claim(
    claim_id: ClaimId,
    call: Annotated[CommandCall, Depends(case_command(Claim.close))],
    claims: ClaimsDep,
) -> JSONResponse:
    """结案: close a paid, rejected (notice sent) or withdrawn claim."""
    return call.update(claims, claim_id, CloseClaim(), claims.close_claim)


@router.post("/{claim_id}/reopening", **command_route())
def reopen_claim(
    claim_id: ClaimId,
    body: ReopenClaim,
    call: Annotated[CommandCall, Depends(case_command(Claim.reopen))],
    claims: ClaimsDep,
) -> JSONResponse:
    """Reopen a closed claim, with the reason."""
    return call.update(claims, claim_id, body, claims.reopen)


@router.post("/{claim_id}/withdrawal", **command_route())
def withdraw_claim(
    claim_id: ClaimId,
    body: WithdrawClaim,
    call: Annotated[CommandCall, Depends(case_command(Claim.withdraw))],
    claims: ClaimsDep,
) -> JSONResponse:
    """Record the claimant's withdrawal of an open claim."""
    return call.update(claims, claim_id, body, claims.withdraw)
