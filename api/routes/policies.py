"""Policy commands (承保), one resource per lifecycle step, from proposal to expiry."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse

from api.deps import PoliciesDep, command_call, opening_call
from api.gateway import CommandCall, command_response
from api.routes.answers import command_route
from domain.base import Role
from infra.services.commands import Reason
from infra.services.policies import (
    AcceptConditionalOffer,
    AcknowledgeReceipt,
    ApplyEndorsement,
    CancelInCoolingOff,
    CheckProposal,
    DecideUnderwriting,
    EnterProposalData,
    IssuePolicy,
    LapsePolicy,
    PrepareDocuments,
    RateRisk,
    ReceivePremium,
    RecordDisclosure,
    RecordExclusionsExplained,
    RecordProxySignature,
    RecordRescissionGround,
    ReinstatePolicy,
    RenewPolicy,
    RescindPolicy,
    SealDocuments,
    SubmitProposal,
    SurrenderPolicy,
    WithdrawProposal,
)

router = APIRouter(prefix="/policies", tags=["policies"])

# The roles mirror the domain's require_role calls in domain.policy, step by step.
UNDERWRITING = (Role.UNDERWRITER, Role.SUPERVISOR)
SALES_OR_STAFF = (Role.SELLER, *UNDERWRITING)

ProposingCall = Annotated[CommandCall, Depends(opening_call(Role.SELLER, Role.SUPERVISOR))]
ProxySignatureCall = Annotated[
    CommandCall, Depends(command_call(*UNDERWRITING, Role.CALLBACK_AGENT, Role.SYSTEM))
]
UnderwritingCall = Annotated[CommandCall, Depends(command_call(*UNDERWRITING))]
SalesOrStaffCall = Annotated[CommandCall, Depends(command_call(*SALES_OR_STAFF))]
IssuingCall = Annotated[CommandCall, Depends(command_call(*UNDERWRITING, Role.SYSTEM))]
ReceiptCall = Annotated[CommandCall, Depends(command_call(*SALES_OR_STAFF, Role.SYSTEM))]
SystemCall = Annotated[CommandCall, Depends(command_call(Role.SYSTEM))]
GroundCall = Annotated[
    CommandCall, Depends(command_call(*UNDERWRITING, Role.CLAIMS_HANDLER, Role.CLAIM_REVIEWER))
]
PolicyId = Annotated[UUID, Path(description="The proposal's (and policy's) id.")]


@router.post("", **command_route(HTTPStatus.CREATED))
def submit_proposal(body: SubmitProposal, call: ProposingCall, policies: PoliciesDep) -> JSONResponse:
    """投保: submit a proposal through a seller registered and authorised for the product that day."""
    return command_response(policies.submit(call, body))


@router.post("/{policy_id}/proxy-signatures", **command_route())
def record_proxy_signature(
    policy_id: PolicyId, body: RecordProxySignature, call: ProxySignatureCall, policies: PoliciesDep
) -> JSONResponse:
    """代签: record that a signature was made on the applicant's behalf (a fact, never a refusal)."""
    return command_response(policies.record_proxy_signature(call, policy_id, body))


@router.post("/{policy_id}/preliminary-check", **command_route())
def check_proposal(
    policy_id: PolicyId, body: CheckProposal, call: UnderwritingCall, policies: PoliciesDep
) -> JSONResponse:
    """初审: check the proposal form; it passes only when nothing is missing."""
    return command_response(policies.check(call, policy_id, body))


@router.post("/{policy_id}/data-entry", **command_route())
def enter_data(
    policy_id: PolicyId, body: EnterProposalData, call: UnderwritingCall, policies: PoliciesDep
) -> JSONResponse:
    """录入: enter the proposal's data after a passed preliminary check."""
    return command_response(policies.enter_data(call, policy_id, body))


@router.post("/{policy_id}/entry-verification", **command_route())
def verify_entry(policy_id: PolicyId, call: UnderwritingCall, policies: PoliciesDep) -> JSONResponse:
    """复核: verify the entered data; never by whoever entered it."""
    return command_response(policies.verify_entry(call, policy_id))


@router.post("/{policy_id}/disclosure", **command_route())
def record_disclosure(
    policy_id: PolicyId, body: RecordDisclosure, call: SalesOrStaffCall, policies: PoliciesDep
) -> JSONResponse:
    """投保告知: record the applicant's answers to the insurer's questions, one per question."""
    return command_response(policies.record_disclosure(call, policy_id, body))


@router.post("/{policy_id}/exclusions-explanation", **command_route())
def record_exclusions_explained(
    policy_id: PolicyId, body: RecordExclusionsExplained, call: SalesOrStaffCall, policies: PoliciesDep
) -> JSONResponse:
    """Record that exclusion clauses were explained and acknowledged (Art. 17)."""
    return command_response(policies.record_exclusions_explained(call, policy_id, body))


@router.post("/{policy_id}/risk-rating", **command_route())
def rate_risk(
    policy_id: PolicyId, body: RateRisk, call: UnderwritingCall, policies: PoliciesDep
) -> JSONResponse:
    """核保: rate and classify the risk once the entered data is verified."""
    return command_response(policies.rate_risk(call, policy_id, body))


@router.post("/{policy_id}/underwriting-decision", **command_route())
def decide_underwriting(
    policy_id: PolicyId, body: DecideUnderwriting, call: UnderwritingCall, policies: PoliciesDep
) -> JSONResponse:
    """承保决策: never by the proposal's seller; CTPL is never declined or conditioned."""
    return command_response(policies.decide(call, policy_id, body))


@router.post("/{policy_id}/conditional-offer/acceptance", **command_route())
def accept_conditional_offer(
    policy_id: PolicyId, body: AcceptConditionalOffer, call: SalesOrStaffCall, policies: PoliciesDep
) -> JSONResponse:
    """Record the applicant's acceptance of the conditional offer."""
    return command_response(policies.accept_conditional_offer(call, policy_id, body))


@router.post("/{policy_id}/conditional-offer/rejection", **command_route())
def reject_conditional_offer(
    policy_id: PolicyId, body: Reason, call: SalesOrStaffCall, policies: PoliciesDep
) -> JSONResponse:
    """Record the applicant's rejection of the conditional offer, which ends the proposal."""
    return command_response(policies.reject_conditional_offer(call, policy_id, body))


@router.post("/{policy_id}/withdrawal", **command_route())
def withdraw_proposal(
    policy_id: PolicyId, body: WithdrawProposal, call: SalesOrStaffCall, policies: PoliciesDep
) -> JSONResponse:
    """Withdraw the proposal before issue; a CTPL proposal only at the applicant's request."""
    return command_response(policies.withdraw(call, policy_id, body))


@router.post("/{policy_id}/documents-preparation", **command_route())
def prepare_documents(
    policy_id: PolicyId, body: PrepareDocuments, call: UnderwritingCall, policies: PoliciesDep
) -> JSONResponse:
    """缮制单证: prepare the policy documents after the decision."""
    return command_response(policies.prepare_documents(call, policy_id, body))


@router.post("/{policy_id}/documents-sealing", **command_route())
def seal_documents(
    policy_id: PolicyId, body: SealDocuments, call: UnderwritingCall, policies: PoliciesDep
) -> JSONResponse:
    """复核签章: check and seal the documents; never by whoever prepared them."""
    return command_response(policies.seal_documents(call, policy_id, body))


@router.post("/{policy_id}/premium", **command_route())
def receive_premium(
    policy_id: PolicyId, body: ReceivePremium, call: IssuingCall, policies: PoliciesDep
) -> JSONResponse:
    """收取保费: receive exactly the quoted first premium."""
    return command_response(policies.receive_premium(call, policy_id, body))


@router.post("/{policy_id}/issue", **command_route())
def issue_policy(
    policy_id: PolicyId, body: IssuePolicy, call: IssuingCall, policies: PoliciesDep
) -> JSONResponse:
    """签发: issue once decision, sealed documents, explained exclusions and premium are all in."""
    return command_response(policies.issue(call, policy_id, body))


@router.post("/{policy_id}/receipt", **command_route())
def acknowledge_receipt(
    policy_id: PolicyId, body: AcknowledgeReceipt, call: ReceiptCall, policies: PoliciesDep
) -> JSONResponse:
    """回执: record the applicant's receipt; life and health over a year start cooling-off that day."""
    return command_response(policies.acknowledge_receipt(call, policy_id, body))


@router.post("/{policy_id}/cooling-off-end", **command_route())
def end_cooling_off(policy_id: PolicyId, call: SystemCall, policies: PoliciesDep) -> JSONResponse:
    """The system's timer: the cooling-off period is over (after its last day)."""
    return command_response(policies.end_cooling_off(call, policy_id))


@router.post("/{policy_id}/cooling-off-cancellation", **command_route())
def cancel_in_cooling_off(
    policy_id: PolicyId, body: CancelInCoolingOff, call: UnderwritingCall, policies: PoliciesDep
) -> JSONResponse:
    """Cancel on a request made inside the cooling-off period, refunding the premium less a fee."""
    return command_response(policies.cancel_in_cooling_off(call, policy_id, body))


@router.post("/{policy_id}/endorsements", **command_route())
def apply_endorsement(
    policy_id: PolicyId, body: ApplyEndorsement, call: UnderwritingCall, policies: PoliciesDep
) -> JSONResponse:
    """批改 / 保全: apply a change; a new beneficiary needs the insured's consent."""
    return command_response(policies.apply_endorsement(call, policy_id, body))


@router.post("/{policy_id}/rescission-grounds", **command_route())
def record_rescission_ground(
    policy_id: PolicyId, body: RecordRescissionGround, call: GroundCall, policies: PoliciesDep
) -> JSONResponse:
    """Record when the insurer learnt of a rescission ground (this dates Art. 16's window)."""
    return command_response(policies.record_rescission_ground(call, policy_id, body))


@router.post("/{policy_id}/rescission", **command_route())
def rescind_policy(
    policy_id: PolicyId, body: RescindPolicy, call: UnderwritingCall, policies: PoliciesDep
) -> JSONResponse:
    """解除: rescind on an allowed, recorded ground, within the Art. 16 windows."""
    return command_response(policies.rescind(call, policy_id, body))


@router.post("/{policy_id}/surrender", **command_route())
def surrender_policy(
    policy_id: PolicyId, body: SurrenderPolicy, call: UnderwritingCall, policies: PoliciesDep
) -> JSONResponse:
    """退保: surrender at the applicant's request; the cash value is refunded."""
    return command_response(policies.surrender(call, policy_id, body))


@router.post("/{policy_id}/lapse", **command_route())
def lapse_policy(
    policy_id: PolicyId, body: LapsePolicy, call: SystemCall, policies: PoliciesDep
) -> JSONResponse:
    """效力中止 (the system's timer): suspend the cover once the Art. 36 grace period is over."""
    return command_response(policies.lapse(call, policy_id, body))


@router.post("/{policy_id}/reinstatement", **command_route())
def reinstate_policy(
    policy_id: PolicyId, body: ReinstatePolicy, call: UnderwritingCall, policies: PoliciesDep
) -> JSONResponse:
    """复效: reinstate a suspended policy by agreement once the arrears are paid."""
    return command_response(policies.reinstate(call, policy_id, body))


@router.post("/{policy_id}/renewal", **command_route())
def renew_policy(
    policy_id: PolicyId, body: RenewPolicy, call: IssuingCall, policies: PoliciesDep
) -> JSONResponse:
    """续保: renew for a new cover period that starts after the current one."""
    return command_response(policies.renew(call, policy_id, body))


@router.post("/{policy_id}/expiry", **command_route())
def expire_policy(policy_id: PolicyId, call: SystemCall, policies: PoliciesDep) -> JSONResponse:
    """The system's timer: the cover period ended without renewal."""
    return command_response(policies.expire(call, policy_id))
