"""The commands' request bodies: what a client may say. Who says it comes from the token, never from here.

Money is integer fen; times are timezone-aware ISO 8601; unknown fields are refused, so that a body can
never smuggle in an actor or a version.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from domain.callback import AttemptOutcome, CallbackChannel, CallbackIssue, CallbackType
from domain.claim import AdvanceBasis, ClaimOutcome
from domain.complaint import (
    ComplaintCategory,
    ComplaintChannel,
    ComplaintOutcome,
    Complexity,
    ExternalBody,
    Remedy,
    ReviewResult,
    SubjectKind,
)
from domain.policy import (
    MIN_COOLING_OFF_DAYS,
    ExplanationMethod,
    Line,
    RescissionGround,
    UnderwritingDecision,
    WithdrawalParty,
)

_NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, StringConstraints(min_length=1, max_length=4000, pattern=_NO_NUL)]
"""Free text: not empty, no NUL character (PostgreSQL text cannot hold one)."""
OptionalText = Annotated[str, StringConstraints(max_length=4000, pattern=_NO_NUL)]
"""Free text that may be empty (the domain decides whether it must say something)."""
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=_NO_NUL)]
"""A short identifier, reference or name."""
Fen = Annotated[int, Field(ge=0, le=10**15, description="amount in fen (0.01 CNY)")]
"""Exact money: integer fen, never a float."""
SignedFen = Annotated[int, Field(ge=-(10**15), le=10**15, description="signed amount in fen (0.01 CNY)")]
"""A change of money, which may be negative: integer fen."""
Names = Annotated[list[Name], Field(max_length=100)]


class CommandBody(BaseModel):
    """Base of every request body: strict about unknown fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def arguments(self) -> dict[str, Any]:
        """The command's keyword arguments: lists become the tuples the domain records."""
        return {name: tuple(value) if isinstance(value, list) else value for name, value in self}


# ------------------------------------------------------------------------------------------------ claims


class ReportClaim(CommandBody):
    """接报案: a loss reported on a policy."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "policy_id": "0b8a4f2e-3c1d-4e5f-8a9b-0c1d2e3f4a5b",
                    "loss_at": "2026-03-02T08:30:00+08:00",
                    "reporter_name": "张伟",
                    "reporter_phone": "13800138000",
                    "cause": "rear-end collision",
                    "description": "hit from behind at a red light",
                    "channel": "hotline 95500",
                }
            ]
        }
    )

    policy_id: UUID
    loss_at: AwareDatetime
    reporter_name: Name
    reporter_phone: Name
    cause: Text
    description: Text
    channel: Name


class RegisterClaim(CommandBody):
    """立案: the claim number, the coverages concerned and the initial reserve."""

    claim_no: Name
    coverages: Annotated[list[Name], Field(min_length=1, max_length=100)]
    reserve_fen: Fen


class RecordSurvey(CommandBody):
    """查勘: the surveyor's findings."""

    findings: Text
    liability_view: Text


class AssessLoss(CommandBody):
    """定损: the damaged items and the assessed amount."""

    items: Annotated[list[Name], Field(min_length=1, max_length=500)]
    amount_fen: Fen


class RequestDocuments(CommandBody):
    """The one complete list of missing documents (Art. 22); a second one only on new facts."""

    required_docs: Annotated[list[Name], Field(min_length=1, max_length=100)]
    notice_ref: Name
    new_facts: bool = False
    reason: Text | None = None


class AdjustClaim(CommandBody):
    """理算: the payable amount and how it was calculated."""

    proposed_amount_fen: Fen
    deductible_fen: Fen
    calculation: Text


class ReviewClaim(CommandBody):
    """核赔: the approved amount."""

    approved_amount_fen: Fen
    comment: OptionalText = ""


class DecideClaim(CommandBody):
    """The decision on cover (Art. 23), with reasons unless covered."""

    outcome: ClaimOutcome
    reasons: Names = Field(default_factory=list)


class SendRejectionNotice(CommandBody):
    """The written rejection notice (Art. 24)."""

    reasons: Names
    notice_ref: Name
    channel: Name


class AgreeSettlement(CommandBody):
    """赔付协议: the agreed amount and the payee."""

    amount_fen: Fen
    payee_name: Name
    payee_account: Name


class PayAdvance(CommandBody):
    """A payment before approval: Art. 25 or CTPL rescue costs."""

    amount_fen: Fen
    basis: AdvanceBasis
    reference: Name


class IssuePayment(CommandBody):
    """The indemnity payment."""

    amount_fen: Fen
    reference: Name


class Reason(CommandBody):
    """A step that only states its reason (reopening, withdrawal)."""

    reason: Text


# ---------------------------------------------------------------------------------------------- complaints


class SubjectRefBody(BaseModel):
    """What the complaint is about: a policy, a claim or a seller."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: SubjectKind
    ref: Name


class LodgeComplaint(CommandBody):
    """A complaint as received: the 15-day period counts from ``received_at``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "received_at": "2026-03-02T09:00:00+08:00",
                    "category": "claims",
                    "channel": "hotline",
                    "subject_ref": {"kind": "policy", "ref": "P0B8A4F2E3C1D"},
                    "customer_id": "CUST-0b8a4f2e",
                    "complainant_name": "张伟",
                    "complainant_phone": "13800138000",
                    "facts": "the repair estimate left out the paint work",
                    "demands": "pay the paint work",
                }
            ]
        }
    )

    received_at: AwareDatetime
    category: ComplaintCategory
    channel: ComplaintChannel
    subject_ref: SubjectRefBody
    customer_id: Name
    complainant_name: Name
    complainant_phone: Name
    facts: Text
    demands: Text
    involved_staff: Names = Field(default_factory=list)
    recording_ref: Name | None = None


class AcknowledgeComplaint(CommandBody):
    """The acknowledgement of receipt and how it was sent."""

    channel: Name


class AssignComplaint(CommandBody):
    """The handler, and who took part in the case complained about (they may not handle it)."""

    handler_id: Name
    involved_staff: Names = Field(default_factory=list)


class ClassifyComplaint(CommandBody):
    """The complexity, confirming or correcting the category."""

    complexity: Complexity
    category: ComplaintCategory | None = None
    product: Name | None = None


class StartAppraisal(CommandBody):
    """An external appraisal: the clock pauses."""

    provider: Name
    purpose: Text
    customer_notified_at: AwareDatetime | None = None


class CompleteAppraisal(CommandBody):
    """The appraisal's result: the clock resumes."""

    result_summary: Text


class ReceiveNewFacts(CommandBody):
    """New facts from the complainant: the period restarts from their receipt."""

    facts: Text
    received_at: AwareDatetime | None = None


class ExtendComplaint(CommandBody):
    """An extension to 30 days (reason) or 60 days (also a senior manager's approval and the notice)."""

    to_days: Annotated[int, Field(ge=1, le=366)]
    reason: OptionalText
    approver_token: Annotated[str, StringConstraints(min_length=1, max_length=4000)] | None = Field(
        default=None,
        description="A senior manager's own bearer token: their approval of an extension to 60 days.",
    )
    customer_notified_at: AwareDatetime | None = None

    def arguments(self) -> dict[str, Any]:
        """The approval token is verified by the API and becomes the ``approver``; it is never recorded."""
        return {name: value for name, value in super().arguments().items() if name != "approver_token"}


class RespondToComplaint(CommandBody):
    """The decision delivered to the complainant, with its basis and the remedies (Art. 20)."""

    decision: Text
    verification_summary: Text
    basis: Text
    remedies: Annotated[list[Remedy], Field(max_length=10)]
    channel: Name
    delivered_at: AwareDatetime


class RequestReview(CommandBody):
    """The complainant's request for review (核查)."""

    reason: Text
    received_at: AwareDatetime | None = None


class DecideReview(CommandBody):
    """The review's result."""

    result: ReviewResult
    decision: Text


class WithdrawComplaint(CommandBody):
    """The complainant's withdrawal, as received."""

    reason: Text
    received_at: AwareDatetime | None = None


class CloseComplaint(CommandBody):
    """The outcome the complaint is closed with."""

    outcome: ComplaintOutcome


class EscalateComplaint(CommandBody):
    """The outside body the complaint went to."""

    body: ExternalBody
    reference: Name | None = None


# ------------------------------------------------------------------------------------------------ policies


class SubmitProposal(CommandBody):
    """投保: a proposal through a seller registered for the product; the seller's registration is checked."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "proposal_no": "TB0B8A4F2E3C",
                    "product_code": "LIFE-WL-20",
                    "line": "life",
                    "customer_id": "CUST-0b8a4f2e",
                    "applicant_name": "张伟",
                    "applicant_id_number": "110101199003071234",
                    "applicant_phone": "13800138000",
                    "insured_name": "张伟",
                    "beneficiary_names": ["李娜"],
                    "sum_insured_fen": 50_000_000,
                    "term_months": 240,
                    "quoted_premium_fen": 1_200_000,
                    "exclusion_clause_ids": ["EXCL-WAR", "EXCL-FRAUD"],
                    "seller_registration_no": "02000133000080002025000123",
                    "channel": "agency",
                }
            ]
        }
    )

    proposal_no: Name
    product_code: Name
    line: Line
    customer_id: Name
    applicant_name: Name
    applicant_id_number: Name
    applicant_phone: Name
    insured_name: Name
    beneficiary_names: Names = Field(default_factory=list)
    sum_insured_fen: Fen
    term_months: Annotated[int, Field(ge=1, le=1200)]
    quoted_premium_fen: Fen
    exclusion_clause_ids: Names
    seller_registration_no: Name
    channel: Name
    linked_proposal_id: UUID | None = None


class RecordProxySignature(CommandBody):
    """代签: a signature made on the applicant's behalf, and the evidence of it."""

    document: Name
    evidence: Text


class CheckProposal(CommandBody):
    """初审: what the proposal form lacks (nothing: the check passes)."""

    missing_items: Names = Field(default_factory=list)


class EnterProposalData(CommandBody):
    """录入: the form the data was entered from."""

    form_ref: Name


class RecordDisclosure(CommandBody):
    """投保告知: the insurer's questions and the applicant's answers, one per question."""

    questions: Annotated[list[Text], Field(min_length=1, max_length=200)]
    answers: Annotated[list[Text], Field(max_length=200)]
    answered_by: Name


class RecordExclusionsExplained(CommandBody):
    """The exclusion clauses explained to the applicant, how, and the evidence (Art. 17)."""

    clause_ids: Annotated[list[Name], Field(min_length=1, max_length=100)]
    method: ExplanationMethod
    evidence_ref: Name
    acknowledged_by: Name


class RateRisk(CommandBody):
    """核保: the risk class and the factors behind it."""

    risk_class: Name
    factors: Names = Field(default_factory=list)


class DecideUnderwriting(CommandBody):
    """承保决策: a decline or a conditional offer states its reasons; a conditional offer its conditions."""

    decision: UnderwritingDecision
    reasons: Names = Field(default_factory=list)
    conditions: Annotated[list[Text], Field(max_length=100)] = Field(default_factory=list)


class AcceptConditionalOffer(CommandBody):
    """The applicant's acceptance of the conditional offer."""

    accepted_by: Name
    evidence_ref: Name


class WithdrawProposal(CommandBody):
    """Who asked to withdraw the proposal, and why."""

    requested_by: WithdrawalParty
    reason: Text


class PrepareDocuments(CommandBody):
    """缮制单证: the documents prepared and their template versions."""

    documents: Annotated[list[Name], Field(min_length=1, max_length=100)]
    template_versions: Names = Field(default_factory=list)


class SealDocuments(CommandBody):
    """复核签章: the seal applied."""

    seal_ref: Name


class ReceivePremium(CommandBody):
    """收取保费: exactly the quoted premium."""

    amount_fen: Fen
    method: Name
    receipt_no: Name


class IssuePolicy(CommandBody):
    """签发: the policy number, the cover period and the terms."""

    policy_no: Name
    effective_from: date
    effective_to: date
    terms_version: Name


class AcknowledgeReceipt(CommandBody):
    """回执: the day the applicant received the policy; life and health over a year start cooling-off."""

    received_on: date
    method: Name
    cooling_off_days: Annotated[int, Field(ge=0, le=366)] = MIN_COOLING_OFF_DAYS


class CancelInCoolingOff(CommandBody):
    """A cancellation requested inside the cooling-off period, less a fee."""

    requested_on: date
    fee_fen: Fen = 0


class ApplyEndorsement(CommandBody):
    """批改 / 保全: a change to the policy; a new beneficiary needs the insured's consent."""

    endorsement_no: Name
    change_type: Name
    description: Text
    effective_on: date
    premium_delta_fen: SignedFen = 0
    sum_insured_fen: Fen | None = None
    beneficiary_names: Names | None = None
    insured_consent_ref: Name | None = None


class RecordRescissionGround(CommandBody):
    """The ground the insurer learnt of, when, and the evidence (dates Art. 16's window)."""

    ground: RescissionGround
    known_at: AwareDatetime
    evidence: Text


class RescindPolicy(CommandBody):
    """解除: on a recorded ground, with the refund and the notice."""

    ground: RescissionGround
    refund_fen: Fen
    notice_ref: Name


class SurrenderPolicy(CommandBody):
    """退保: the request's day and the cash value refunded."""

    requested_on: date
    cash_value_fen: Fen


class LapsePolicy(CommandBody):
    """效力中止: the unpaid instalment's due day and the payment demand, if any."""

    due_on: date
    reminded_on: date | None = None


class ReinstatePolicy(CommandBody):
    """复效: the arrears paid and the agreement."""

    arrears_paid_fen: Fen
    agreement_ref: Name


class RenewPolicy(CommandBody):
    """续保: the new cover period, its premium and terms."""

    effective_from: date
    effective_to: date
    premium_fen: Fen
    terms_version: Name


# ----------------------------------------------------------------------------------------------- callbacks


class CreateCallbackTask(CommandBody):
    """The callback an event calls for: one task per (type, source event), however often it is sent."""

    task_type: CallbackType
    source_event_id: UUID
    source_case_id: UUID
    customer_id: Name
    due_by: AwareDatetime
    seller_id: Name | None = None


class ScheduleCallback(CommandBody):
    """The slot the call is planned for, outside quiet hours (21:00-09:00 Asia/Shanghai)."""

    slot: AwareDatetime


class AttemptCallback(CommandBody):
    """One attempt to reach the customer, made now."""

    channel: CallbackChannel
    outcome: AttemptOutcome
    recording_ref: Name | None = None


class CompleteCallback(CommandBody):
    """The customer's answers; a new-policy callback answers all seven checks."""

    answers: Annotated[dict[Name, OptionalText], Field(max_length=100)]


class FailCallback(CommandBody):
    """Why calling stopped, and the letter or visit to follow."""

    reason: Text
    fallback: Name | None = None


class RecordCallbackIssue(CommandBody):
    """An issue the callback brought to light."""

    issue: CallbackIssue
    details: Text


class RemedyMisSelling(CommandBody):
    """The remedy of the mis-selling a remediation task was opened for."""

    action: Name
    summary: Text
