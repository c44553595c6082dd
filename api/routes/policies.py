"""Policy commands (承保), one resource per lifecycle step, from proposal to expiry."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse

from api.deps import PoliciesDep, case_command, opening_command
from api.gateway import CommandCall
from api.routes.answers import command_route
from domain.policy import Policy
from infra.services.policies import (
    AcceptConditionalOffer,
    AcknowledgeReceipt,
    AgreePremiumSchedule,
    ApplyEndorsement,
    CancelInCoolingOff,
    CheckProposal,
    ComputeSurrenderValue,
    DecideUnderwriting,
    EndCoolingOff,
    EndReinstatementPeriod,
    EnterProposalData,
    ExpirePolicy,
    IssuePolicy,
    LapsePolicy,
    PayRenewalPremium,
    PaySurrenderRefund,
    PrepareDocuments,
    RateRisk,
    ReceivePremium,
    ReceiveSurrenderNotice,
    RecordCashValueTable,
    RecordDisclosure,
    RecordExclusionsExplained,
    RecordNonDisclosureCure,
    RecordProxySignature,
    RecordRescissionGround,
    ReinstatePolicy,
    RejectConditionalOffer,
    RenewPolicy,
    RescindPolicy,
    SealDocuments,
    SendPremiumReminder,
    SendRescissionNotice,
    SubmitProposal,
    SurrenderPolicy,
    TerminateAfterSuspension,
    VerifyEntry,
    WithdrawProposal,
)

router = APIRouter(prefix="/policies", tags=["policies"])

# The roles mirror the domain's require_role calls in domain.policy, step by step.
PolicyId = Annotated[UUID, Path(description="The proposal's (and policy's) id.")]


@router.post("", **command_route(HTTPStatus.CREATED))
def submit_proposal(
    body: SubmitProposal,
    call: Annotated[CommandCall, Depends(opening_command(Policy.submit_proposal))],
    policies: PoliciesDep,
) -> JSONResponse:
    """投保: submit a proposal through a seller registered and authorised for the product that day."""
    return call.open(policies, body, policies.submit)


@router.post("/{policy_id}/proxy-signatures", **command_route())
def record_proxy_signature(
    policy_id: PolicyId,
    body: RecordProxySignature,
    call: Annotated[CommandCall, Depends(case_command(Policy.record_proxy_signature))],
    policies: PoliciesDep,
) -> JSONResponse:
    """代签: record that a signature was made on the applicant's behalf (a fact, never a refusal)."""
    return call.update(policies, policy_id, body, policies.record_proxy_signature)


@router.post("/{policy_id}/preliminary-check", **command_route())
def check_proposal(
    policy_id: PolicyId,
    body: CheckProposal,
    call: Annotated[CommandCall, Depends(case_command(Policy.check_proposal))],
    policies: PoliciesDep,
) -> JSONResponse:
    """初审: check the proposal form; it passes only when nothing is missing."""
    return call.update(policies, policy_id, body, policies.check_proposal)


@router.post("/{policy_id}/data-entry", **command_route())
def enter_data(
    policy_id: PolicyId,
    body: EnterProposalData,
    call: Annotated[CommandCall, Depends(case_command(Policy.enter_data))],
    policies: PoliciesDep,
) -> JSONResponse:
    """录入: enter the proposal's data after a passed preliminary check."""
    return call.update(policies, policy_id, body, policies.enter_data)


@router.post("/{policy_id}/entry-verification", **command_route())
def verify_entry(
    policy_id: PolicyId,
    call: Annotated[CommandCall, Depends(case_command(Policy.verify_entry))],
    policies: PoliciesDep,
) -> JSONResponse:
    """复核: verify the entered data; never by whoever entered it."""
    return call.update(policies, policy_id, VerifyEntry(), policies.verify_entry)


@router.post("/{policy_id}/disclosure", **command_route())
def record_disclosure(
    policy_id: PolicyId,
    body: RecordDisclosure,
    call: Annotated[CommandCall, Depends(case_command(Policy.record_disclosure))],
    policies: PoliciesDep,
) -> JSONResponse:
    """投保告知: record the applicant's answers to the insurer's questions, one per question."""
    return call.update(policies, policy_id, body, policies.record_disclosure)


@router.post("/{policy_id}/exclusions-explanation", **command_route())
def record_exclusions_explained(
    policy_id: PolicyId,
    body: RecordExclusionsExplained,
    call: Annotated[CommandCall, Depends(case_command(Policy.record_exclusions_explained))],
    policies: PoliciesDep,
) -> JSONResponse:
    """Record that exclusion clauses were explained and acknowledged (Art. 17)."""
    return call.update(policies, policy_id, body, policies.record_exclusions_explained)


@router.post("/{policy_id}/risk-rating", **command_route())
def rate_risk(
    policy_id: PolicyId,
    body: RateRisk,
    call: Annotated[CommandCall, Depends(case_command(Policy.rate_risk))],
    policies: PoliciesDep,
) -> JSONResponse:
    """核保: rate and classify the risk once the entered data is verified."""
    return call.update(policies, policy_id, body, policies.rate_risk)


@router.post("/{policy_id}/underwriting-decision", **command_route())
def decide_underwriting(
    policy_id: PolicyId,
    body: DecideUnderwriting,
    call: Annotated[CommandCall, Depends(case_command(Policy.decide_underwriting))],
    policies: PoliciesDep,
) -> JSONResponse:
    """承保决策: never by the proposal's seller; CTPL is never declined or conditioned."""
    return call.update(policies, policy_id, body, policies.decide_underwriting)


@router.post("/{policy_id}/conditional-offer/acceptance", **command_route())
def accept_conditional_offer(
    policy_id: PolicyId,
    body: AcceptConditionalOffer,
    call: Annotated[CommandCall, Depends(case_command(Policy.accept_conditional_offer))],
    policies: PoliciesDep,
) -> JSONResponse:
    """Record the applicant's acceptance of the conditional offer."""
    return call.update(policies, policy_id, body, policies.accept_conditional_offer)


@router.post("/{policy_id}/conditional-offer/rejection", **command_route())
def reject_conditional_offer(
    policy_id: PolicyId,
    body: RejectConditionalOffer,
    call: Annotated[CommandCall, Depends(case_command(Policy.reject_conditional_offer))],
    policies: PoliciesDep,
) -> JSONResponse:
    """Record the applicant's rejection of the conditional offer, which ends the proposal."""
    return call.update(policies, policy_id, body, policies.reject_conditional_offer)


@router.post("/{policy_id}/withdrawal", **command_route())
def withdraw_proposal(
    policy_id: PolicyId,
    body: WithdrawProposal,
    call: Annotated[CommandCall, Depends(case_command(Policy.withdraw_proposal))],
    policies: PoliciesDep,
) -> JSONResponse:
    """Withdraw the proposal before issue; a CTPL proposal only at the applicant's request."""
    return call.update(policies, policy_id, body, policies.withdraw_proposal)


@router.post("/{policy_id}/documents-preparation", **command_route())
def prepare_documents(
    policy_id: PolicyId,
    body: PrepareDocuments,
    call: Annotated[CommandCall, Depends(case_command(Policy.prepare_documents))],
    policies: PoliciesDep,
) -> JSONResponse:
    """缮制单证: prepare the policy documents after the decision."""
    return call.update(policies, policy_id, body, policies.prepare_documents)


@router.post("/{policy_id}/documents-sealing", **command_route())
def seal_documents(
    policy_id: PolicyId,
    body: SealDocuments,
    call: Annotated[CommandCall, Depends(case_command(Policy.seal_documents))],
    policies: PoliciesDep,
) -> JSONResponse:
    """复核签章: check and seal the documents; never by whoever prepared them."""
    return call.update(policies, policy_id, body, policies.seal_documents)


@router.post("/{policy_id}/premium", **command_route())
def receive_premium(
    policy_id: PolicyId,
    body: ReceivePremium,
    call: Annotated[CommandCall, Depends(case_command(Policy.receive_premium))],
    policies: PoliciesDep,
) -> JSONResponse:
    """收取保费: receive exactly the quoted first premium."""
    return call.update(policies, policy_id, body, policies.receive_premium)


@router.post("/{policy_id}/issue", **command_route())
def issue_policy(
    policy_id: PolicyId,
    body: IssuePolicy,
    call: Annotated[CommandCall, Depends(case_command(Policy.issue))],
    policies: PoliciesDep,
) -> JSONResponse:
    """签发: issue once decision, sealed documents, explained exclusions and premium are all in."""
    return call.update(policies, policy_id, body, policies.issue)


@router.post("/{policy_id}/receipt", **command_route())
def acknowledge_receipt(
    policy_id: PolicyId,
    body: AcknowledgeReceipt,
    call: Annotated[CommandCall, Depends(case_command(Policy.acknowledge_receipt))],
    policies: PoliciesDep,
) -> JSONResponse:
    """回执: record the applicant's receipt; personal cover over a year starts cooling-off that day."""
    return call.update(policies, policy_id, body, policies.acknowledge_receipt)


@router.post("/{policy_id}/cooling-off-end", **command_route())
def end_cooling_off(
    policy_id: PolicyId,
    call: Annotated[CommandCall, Depends(case_command(Policy.end_cooling_off))],
    policies: PoliciesDep,
) -> JSONResponse:
    """The system's timer: the cooling-off period is over (after its last day)."""
    return call.update(policies, policy_id, EndCoolingOff(), policies.end_cooling_off)


@router.post("/{policy_id}/cooling-off-cancellation", **command_route())
def cancel_in_cooling_off(
    policy_id: PolicyId,
    body: CancelInCoolingOff,
    call: Annotated[CommandCall, Depends(case_command(Policy.cancel_in_cooling_off))],
    policies: PoliciesDep,
) -> JSONResponse:
    """Cancel on a request made inside the cooling-off period, refunding the premium less a fee."""
    return call.update(policies, policy_id, body, policies.cancel_in_cooling_off)


@router.post("/{policy_id}/endorsements", **command_route())
def apply_endorsement(
    policy_id: PolicyId,
    body: ApplyEndorsement,
    call: Annotated[CommandCall, Depends(case_command(Policy.apply_endorsement))],
    policies: PoliciesDep,
) -> JSONResponse:
    """批改 / 保全: apply a change; a new beneficiary needs the insured's consent."""
    return call.update(policies, policy_id, body, policies.apply_endorsement)


@router.post("/{policy_id}/rescission-grounds", **command_route())
def record_rescission_ground(
    policy_id: PolicyId,
    body: RecordRescissionGround,
    call: Annotated[CommandCall, Depends(case_command(Policy.record_rescission_ground))],
    policies: PoliciesDep,
) -> JSONResponse:
    """Record when the insurer learnt of a rescission ground (this dates Art. 16's window)."""
    return call.update(policies, policy_id, body, policies.record_rescission_ground)


@router.post("/{policy_id}/rescission-notice", **command_route())
def send_rescission_notice(
    policy_id: PolicyId,
    body: SendRescissionNotice,
    call: Annotated[CommandCall, Depends(case_command(Policy.send_rescission_notice))],
    policies: PoliciesDep,
) -> JSONResponse:
    """CTPL Art. 14: the written notice of a non-disclosure; the applicant has 5 days to disclose."""
    return call.update(policies, policy_id, body, policies.send_rescission_notice)


@router.post("/{policy_id}/non-disclosure-cure", **command_route())
def record_non_disclosure_cure(
    policy_id: PolicyId,
    body: RecordNonDisclosureCure,
    call: Annotated[CommandCall, Depends(case_command(Policy.record_non_disclosure_cure))],
    policies: PoliciesDep,
) -> JSONResponse:
    """CTPL Art. 14: the applicant disclosed within the 5 days; the insurer may no longer rescind."""
    return call.update(policies, policy_id, body, policies.record_non_disclosure_cure)


@router.post("/{policy_id}/rescission", **command_route())
def rescind_policy(
    policy_id: PolicyId,
    body: RescindPolicy,
    call: Annotated[CommandCall, Depends(case_command(Policy.rescind))],
    policies: PoliciesDep,
) -> JSONResponse:
    """解除: rescind on an allowed, recorded ground, within the Art. 16 windows."""
    return call.update(policies, policy_id, body, policies.rescind)


@router.post("/{policy_id}/surrender", **command_route())
def surrender_policy(
    policy_id: PolicyId,
    body: SurrenderPolicy,
    call: Annotated[CommandCall, Depends(case_command(Policy.surrender))],
    policies: PoliciesDep,
) -> JSONResponse:
    """退保: surrender at the applicant's request; the cash value is refunded."""
    return call.update(policies, policy_id, body, policies.surrender)


# ---------------------------------------------------------- 退保 surrender (Arts. 15, 47; CTPL Arts. 16–17)


@router.post("/{policy_id}/cash-value-table", **command_route())
def record_cash_value_table(
    policy_id: PolicyId,
    body: RecordCashValueTable,
    call: Annotated[CommandCall, Depends(case_command(Policy.record_cash_value_table))],
    policies: PoliciesDep,
) -> JSONResponse:
    """现金价值表: the contract's cash values by policy year, what a surrender after cooling-off refunds."""
    return call.update(policies, policy_id, body, policies.record_cash_value_table)


@router.post("/{policy_id}/surrender-notice", **command_route())
def receive_surrender_notice(
    policy_id: PolicyId,
    body: ReceiveSurrenderNotice,
    call: Annotated[CommandCall, Depends(case_command(Policy.receive_surrender_notice))],
    policies: PoliciesDep,
) -> JSONResponse:
    """退保申请: the applicant's notice (only the applicant's, Art. 15); the refund is due within 30 days of
    its receipt (Art. 47, the IL47-SURRENDER-30D clock); CTPL only on its CTPL Art. 16 ground."""
    return call.update(policies, policy_id, body, policies.receive_surrender_notice)


@router.post("/{policy_id}/surrender-value", **command_route())
def compute_surrender_value(
    policy_id: PolicyId,
    body: ComputeSurrenderValue,
    call: Annotated[CommandCall, Depends(case_command(Policy.compute_surrender_value))],
    policies: PoliciesDep,
) -> JSONResponse:
    """The refund the notice is owed: the premium less the medical check in cooling-off, the contract's
    cash value after it, the unearned premium for property and motor cover."""
    return call.update(policies, policy_id, body, policies.compute_surrender_value)


@router.post("/{policy_id}/surrender-refund", **command_route())
def pay_surrender_refund(
    policy_id: PolicyId,
    body: PaySurrenderRefund,
    call: Annotated[CommandCall, Depends(case_command(Policy.pay_surrender_refund))],
    policies: PoliciesDep,
) -> JSONResponse:
    """退费: the refund computed, paid; meets the Art. 47 clock."""
    return call.update(policies, policy_id, body, policies.pay_surrender_refund)


# -------------------------------------------------------------- 续期 renewal premium (Arts. 36, 37)


@router.post("/{policy_id}/premium-schedule", **command_route())
def agree_premium_schedule(
    policy_id: PolicyId,
    body: AgreePremiumSchedule,
    call: Annotated[CommandCall, Depends(case_command(Policy.agree_premium_schedule))],
    policies: PoliciesDep,
) -> JSONResponse:
    """缴费计划: the contract's regular premium; the next instalment is billed with its payment period."""
    return call.update(policies, policy_id, body, policies.agree_premium_schedule)


@router.post("/{policy_id}/premium-reminder", **command_route())
def send_premium_reminder(
    policy_id: PolicyId,
    body: SendPremiumReminder,
    call: Annotated[CommandCall, Depends(case_command(Policy.send_premium_reminder))],
    policies: PoliciesDep,
) -> JSONResponse:
    """催告 (Art. 36): unpaid 30 days after the demand, the cover is suspended."""
    return call.update(policies, policy_id, body, policies.send_premium_reminder)


@router.post("/{policy_id}/renewal-premium", **command_route())
def pay_renewal_premium(
    policy_id: PolicyId,
    body: PayRenewalPremium,
    call: Annotated[CommandCall, Depends(case_command(Policy.pay_renewal_premium))],
    policies: PoliciesDep,
) -> JSONResponse:
    """续期缴费: the instalment due, paid within its payment period: the policy stays in force."""
    return call.update(policies, policy_id, body, policies.pay_renewal_premium)


@router.post("/{policy_id}/reinstatement-period-end", **command_route())
def end_reinstatement_period(
    policy_id: PolicyId,
    call: Annotated[CommandCall, Depends(case_command(Policy.end_reinstatement_period))],
    policies: PoliciesDep,
) -> JSONResponse:
    """The system's timer: the two years to reinstate are over (Art. 37); the insurer may terminate."""
    return call.update(policies, policy_id, EndReinstatementPeriod(), policies.end_reinstatement_period)


@router.post("/{policy_id}/termination", **command_route())
def terminate_after_suspension(
    policy_id: PolicyId,
    body: TerminateAfterSuspension,
    call: Annotated[CommandCall, Depends(case_command(Policy.terminate_after_suspension))],
    policies: PoliciesDep,
) -> JSONResponse:
    """Art. 37 ¶2: end the contract suspended for two years, refunding the cash value where owed."""
    return call.update(policies, policy_id, body, policies.terminate_after_suspension)


@router.post("/{policy_id}/lapse", **command_route())
def lapse_policy(
    policy_id: PolicyId,
    call: Annotated[CommandCall, Depends(case_command(Policy.lapse))],
    policies: PoliciesDep,
) -> JSONResponse:
    """效力中止 (the system's timer): suspend the cover once the unpaid instalment's Art. 36 payment period
    (60 days after its due date, or 30 after the payment demand if earlier) is over; the dates are the
    premium schedule's: no body."""
    return call.update(policies, policy_id, LapsePolicy(), policies.lapse)


@router.post("/{policy_id}/reinstatement", **command_route())
def reinstate_policy(
    policy_id: PolicyId,
    body: ReinstatePolicy,
    call: Annotated[CommandCall, Depends(case_command(Policy.reinstate))],
    policies: PoliciesDep,
) -> JSONResponse:
    """复效: reinstate a suspended policy by agreement once the arrears are paid."""
    return call.update(policies, policy_id, body, policies.reinstate)


@router.post("/{policy_id}/renewal", **command_route())
def renew_policy(
    policy_id: PolicyId,
    body: RenewPolicy,
    call: Annotated[CommandCall, Depends(case_command(Policy.renew))],
    policies: PoliciesDep,
) -> JSONResponse:
    """续保: renew for a new cover period that starts after the current one."""
    return call.update(policies, policy_id, body, policies.renew)


@router.post("/{policy_id}/expiry", **command_route())
def expire_policy(
    policy_id: PolicyId,
    call: Annotated[CommandCall, Depends(case_command(Policy.expire))],
    policies: PoliciesDep,
) -> JSONResponse:
    """The system's timer: the cover period ended without renewal."""
    return call.update(policies, policy_id, ExpirePolicy(), policies.expire)
