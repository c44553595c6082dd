"""The commands' request bodies: what a client may say. Who says it comes from the token, never from here.

Money is integer fen; times are timezone-aware ISO 8601; unknown fields are refused, so that a body can
never smuggle in an actor or a version.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict, JsonValue

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


def _examples(*examples: JsonDict) -> ConfigDict:
    """A body's OpenAPI examples: what a client reads first, so they are realistic and always valid.

    tests/api/test_openapi_examples.py validates each one against the model and its JSON schema, so an
    example cannot drift from the body it illustrates. Personal data in them is fictitious (张三, 李四).
    """
    listed: list[JsonValue] = list(examples)
    return ConfigDict(json_schema_extra={"examples": listed})


class CommandBody(BaseModel):
    """Base of every request body: strict about unknown fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def arguments(self) -> dict[str, Any]:
        """The command's keyword arguments: lists become the tuples the domain records."""
        return {name: tuple(value) if isinstance(value, list) else value for name, value in self}


# ------------------------------------------------------------------------------------------------ claims


class ReportClaim(CommandBody):
    """接报案: a loss reported on a policy."""

    model_config = _examples(
        {
            "policy_id": "0b8a4f2e-3c1d-4e5f-8a9b-0c1d2e3f4a5b",
            "loss_at": "2026-03-02T08:30:00+08:00",
            "reporter_name": "张三",
            "reporter_phone": "13800138000",
            "cause": "rear-end collision",
            "description": "hit from behind at a red light, rear bumper and boot lid damaged",
            "channel": "hotline 95500",
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

    model_config = _examples(
        {"claim_no": "LP6F1C0F3E7D", "coverages": ["vehicle damage"], "reserve_fen": 800_000}
    )

    claim_no: Name
    coverages: Annotated[list[Name], Field(min_length=1, max_length=100)]
    reserve_fen: Fen


class RecordSurvey(CommandBody):
    """查勘: the surveyor's findings."""

    model_config = _examples(
        {
            "findings": "rear bumper and boot lid dented; the damage matches the scene photos",
            "liability_view": "the following vehicle is fully at fault",
        }
    )

    findings: Text
    liability_view: Text


class AssessLoss(CommandBody):
    """定损: the damaged items and the assessed amount."""

    model_config = _examples({"items": ["rear bumper", "boot lid", "paint"], "amount_fen": 650_000})

    items: Annotated[list[Name], Field(min_length=1, max_length=500)]
    amount_fen: Fen


class RequestDocuments(CommandBody):
    """The one complete list of missing documents (Art. 22); a second one only on new facts."""

    model_config = _examples(
        {
            "required_docs": ["police accident report", "repair invoice", "driving licence"],
            "notice_ref": "NOTICE-22-01",
        },
        {
            "required_docs": ["third-party liability confirmation"],
            "notice_ref": "NOTICE-22-02",
            "new_facts": True,
            "reason": "the police report names a second vehicle involved in the collision",
        },
    )

    required_docs: Annotated[list[Name], Field(min_length=1, max_length=100)]
    notice_ref: Name
    new_facts: bool = False
    reason: Text | None = None


class AdjustClaim(CommandBody):
    """理算: the payable amount and how it was calculated."""

    model_config = _examples(
        {
            "proposed_amount_fen": 600_000,
            "deductible_fen": 50_000,
            "calculation": "6,500.00 CNY assessed - 500.00 CNY deductible = 6,000.00 CNY",
        }
    )

    proposed_amount_fen: Fen
    deductible_fen: Fen
    calculation: Text


class ReviewClaim(CommandBody):
    """核赔: the approved amount."""

    model_config = _examples(
        {"approved_amount_fen": 600_000, "comment": "calculation checked against the repair invoice"}
    )

    approved_amount_fen: Fen
    comment: OptionalText = ""


class DecideClaim(CommandBody):
    """The decision on cover (Art. 23), with reasons unless covered."""

    model_config = _examples(
        {"outcome": "covered"},
        {"outcome": "not_covered", "reasons": ["driver under the influence of alcohol: exclusion clause 24"]},
    )

    outcome: ClaimOutcome
    reasons: Names = Field(default_factory=list)


class SendRejectionNotice(CommandBody):
    """The written rejection notice (Art. 24)."""

    model_config = _examples(
        {
            "reasons": ["driver under the influence of alcohol: exclusion clause 24"],
            "notice_ref": "REJ-2026-0042",
            "channel": "registered letter",
        }
    )

    reasons: Names
    notice_ref: Name
    channel: Name


class AgreeSettlement(CommandBody):
    """赔付协议: the agreed amount and the payee."""

    model_config = _examples(
        {"amount_fen": 600_000, "payee_name": "张三", "payee_account": "6222000000000000000"}
    )

    amount_fen: Fen
    payee_name: Name
    payee_account: Name


class PayAdvance(CommandBody):
    """A payment before approval: Art. 25 or CTPL rescue costs."""

    model_config = _examples(
        {"amount_fen": 300_000, "basis": "IL25", "reference": "ADV-2026-0007"},
        {"amount_fen": 1_800_000, "basis": "CTPL31", "reference": "RESCUE-2026-0003"},
    )

    amount_fen: Fen
    basis: AdvanceBasis
    reference: Name


class IssuePayment(CommandBody):
    """The indemnity payment."""

    model_config = _examples({"amount_fen": 600_000, "reference": "PAY-2026-0001"})

    amount_fen: Fen
    reference: Name


class Reason(CommandBody):
    """A step that only states its reason (reopening, withdrawal)."""

    model_config = _examples(
        {"reason": "the repair shop found hidden damage to the rear chassis rail"},
        {"reason": "the customer settled directly with the other driver's insurer"},
    )

    reason: Text


# ---------------------------------------------------------------------------------------------- complaints


class SubjectRefBody(BaseModel):
    """What the complaint is about: a policy, a claim or a seller."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={"examples": [{"kind": "claim", "ref": "LP6F1C0F3E7D"}]},
    )

    kind: SubjectKind
    ref: Name


class LodgeComplaint(CommandBody):
    """A complaint as received: the 15-day period counts from ``received_at``."""

    model_config = _examples(
        {
            "received_at": "2026-03-09T09:00:00+08:00",
            "category": "claims",
            "channel": "hotline",
            "subject_ref": {"kind": "policy", "ref": "P0B8A4F2E3C1D"},
            "customer_id": "CUST-0b8a4f2e",
            "complainant_name": "张三",
            "complainant_phone": "13800138000",
            "facts": "the repair estimate left out the paint work",
            "demands": "pay the paint work",
            "involved_staff": ["chen.jie.claims"],
            "recording_ref": "REC-20260309-0007",
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

    model_config = _examples({"channel": "sms"})

    channel: Name


class AssignComplaint(CommandBody):
    """The handler, and who took part in the case complained about (they may not handle it)."""

    model_config = _examples(
        {"handler_id": "sun.li.complaints", "involved_staff": ["chen.jie.claims", "huang.min.adjust"]}
    )

    handler_id: Name
    involved_staff: Names = Field(default_factory=list)


class ClassifyComplaint(CommandBody):
    """The complexity, confirming or correcting the category."""

    model_config = _examples({"complexity": "complex", "category": "claims", "product": "MOTOR-COMM-2026"})

    complexity: Complexity
    category: ComplaintCategory | None = None
    product: Name | None = None


class StartAppraisal(CommandBody):
    """An external appraisal: the clock pauses."""

    model_config = _examples(
        {
            "provider": "East China Motor Appraisal Centre",
            "purpose": "an independent estimate of the paint work on the boot lid",
            "customer_notified_at": "2026-03-10T14:00:00+08:00",
        }
    )

    provider: Name
    purpose: Text
    customer_notified_at: AwareDatetime | None = None


class CompleteAppraisal(CommandBody):
    """The appraisal's result: the clock resumes."""

    model_config = _examples({"result_summary": "the paint work is needed and costs 1,200.00 CNY"})

    result_summary: Text


class ReceiveNewFacts(CommandBody):
    """New facts from the complainant: the period restarts from their receipt."""

    model_config = _examples(
        {
            "facts": "the complainant sent a second garage's estimate of 1,800.00 CNY for the paint work",
            "received_at": "2026-03-12T16:20:00+08:00",
        }
    )

    facts: Text
    received_at: AwareDatetime | None = None


class ExtendComplaint(CommandBody):
    """An extension to 30 days (reason) or 60 days (also a senior manager's approval and the notice)."""

    model_config = _examples(
        {
            "to_days": 30,
            "reason": "the repair shop's invoice must be checked with the manufacturer",
            "customer_notified_at": "2026-03-12T10:00:00+08:00",
        },
        {
            "to_days": 60,
            "reason": "the manufacturer's price list is under dispute with the repair shop",
            "approver_token": "<the senior manager's own bearer token>",
            "customer_notified_at": "2026-03-30T10:00:00+08:00",
        },
    )

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

    model_config = _examples(
        {
            "decision": "upheld in part: the paint work is paid in addition",
            "verification_summary": "invoice checked with the manufacturer's price list",
            "basis": "policy clause 3.2; Insurance Law Art. 23",
            "remedies": ["review", "mediation", "litigation"],
            "channel": "letter",
            "delivered_at": "2026-03-20T15:00:00+08:00",
        }
    )

    decision: Text
    verification_summary: Text
    basis: Text
    remedies: Annotated[list[Remedy], Field(max_length=10)]
    channel: Name
    delivered_at: AwareDatetime


class RequestReview(CommandBody):
    """The complainant's request for review (核查)."""

    model_config = _examples(
        {
            "reason": "the complainant disputes the labour hours allowed for the paint work",
            "received_at": "2026-03-25T10:15:00+08:00",
        }
    )

    reason: Text
    received_at: AwareDatetime | None = None


class DecideReview(CommandBody):
    """The review's result."""

    model_config = _examples(
        {
            "result": "upheld",
            "decision": "the decision stands: the labour hours follow the manufacturer's schedule",
        }
    )

    result: ReviewResult
    decision: Text


class WithdrawComplaint(CommandBody):
    """The complainant's withdrawal, as received."""

    model_config = _examples(
        {
            "reason": "the complainant is satisfied with the supplementary payment",
            "received_at": "2026-03-18T11:40:00+08:00",
        }
    )

    reason: Text
    received_at: AwareDatetime | None = None


class CloseComplaint(CommandBody):
    """The outcome the complaint is closed with."""

    model_config = _examples({"outcome": "partly_upheld"})

    outcome: ComplaintOutcome


class EscalateComplaint(CommandBody):
    """The outside body the complaint went to."""

    model_config = _examples({"body": "regulator", "reference": "NFRA-SH-2026-00123"})

    body: ExternalBody
    reference: Name | None = None


# ------------------------------------------------------------------------------------------------ policies


class SubmitProposal(CommandBody):
    """投保: a proposal through a seller registered for the product; the seller's registration is checked."""

    model_config = _examples(
        {
            "proposal_no": "TB0B8A4F2E3C",
            "product_code": "LIFE-WL-20",
            "line": "life",
            "customer_id": "CUST-0b8a4f2e",
            "applicant_name": "张三",
            "applicant_id_number": "110101199003070000",
            "applicant_phone": "13800138000",
            "insured_name": "张三",
            "beneficiary_names": ["李四"],
            "sum_insured_fen": 50_000_000,
            "term_months": 240,
            "quoted_premium_fen": 1_200_000,
            "exclusion_clause_ids": ["EXCL-WAR", "EXCL-FRAUD"],
            "seller_registration_no": "02000133000080002025000123",
            "channel": "agency",
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

    model_config = _examples(
        {
            "document": "proposal form",
            "evidence": "the signature on page 3 is not the applicant's; the agent admitted signing",
        }
    )

    document: Name
    evidence: Text


class CheckProposal(CommandBody):
    """初审: what the proposal form lacks (nothing: the check passes)."""

    model_config = _examples(
        {"missing_items": []},
        {"missing_items": ["applicant's signature on page 3", "copy of the insured's ID card"]},
    )

    missing_items: Names = Field(default_factory=list)


class EnterProposalData(CommandBody):
    """录入: the form the data was entered from."""

    model_config = _examples({"form_ref": "FORM-TB0B8A4F2E3C"})

    form_ref: Name


class RecordDisclosure(CommandBody):
    """投保告知: the insurer's questions and the applicant's answers, one per question."""

    model_config = _examples(
        {
            "questions": ["Have you ever been diagnosed with hypertension?", "Do you smoke?"],
            "answers": ["no", "no"],
            "answered_by": "张三",
        }
    )

    questions: Annotated[list[Text], Field(min_length=1, max_length=200)]
    answers: Annotated[list[Text], Field(max_length=200)]
    answered_by: Name


class RecordExclusionsExplained(CommandBody):
    """The exclusion clauses explained to the applicant, how, and the evidence (Art. 17)."""

    model_config = _examples(
        {
            "clause_ids": ["EXCL-WAR", "EXCL-FRAUD"],
            "method": "written",
            "evidence_ref": "EXCL-ACK-0001",
            "acknowledged_by": "张三",
        }
    )

    clause_ids: Annotated[list[Name], Field(min_length=1, max_length=100)]
    method: ExplanationMethod
    evidence_ref: Name
    acknowledged_by: Name


class RateRisk(CommandBody):
    """核保: the risk class and the factors behind it."""

    model_config = _examples({"risk_class": "standard", "factors": ["age 36", "non-smoker", "BMI 23"]})

    risk_class: Name
    factors: Names = Field(default_factory=list)


class DecideUnderwriting(CommandBody):
    """承保决策: a decline or a conditional offer states its reasons; a conditional offer its conditions."""

    model_config = _examples(
        {"decision": "standard"},
        {
            "decision": "conditional",
            "reasons": ["blood pressure 150/95 at the medical check"],
            "conditions": ["an extra premium of 25 % for the whole term"],
        },
    )

    decision: UnderwritingDecision
    reasons: Names = Field(default_factory=list)
    conditions: Annotated[list[Text], Field(max_length=100)] = Field(default_factory=list)


class AcceptConditionalOffer(CommandBody):
    """The applicant's acceptance of the conditional offer."""

    model_config = _examples({"accepted_by": "张三", "evidence_ref": "ACCEPT-0001"})

    accepted_by: Name
    evidence_ref: Name


class WithdrawProposal(CommandBody):
    """Who asked to withdraw the proposal, and why."""

    model_config = _examples(
        {"requested_by": "applicant", "reason": "the applicant chose a product with a shorter term"}
    )

    requested_by: WithdrawalParty
    reason: Text


class PrepareDocuments(CommandBody):
    """缮制单证: the documents prepared and their template versions."""

    model_config = _examples(
        {
            "documents": ["policy schedule", "policy clauses", "cash value table"],
            "template_versions": ["SCHED-2026-01", "CL-LIFE-WL-20-2026-01", "CV-LIFE-WL-20-2026-01"],
        }
    )

    documents: Annotated[list[Name], Field(min_length=1, max_length=100)]
    template_versions: Names = Field(default_factory=list)


class SealDocuments(CommandBody):
    """复核签章: the seal applied."""

    model_config = _examples({"seal_ref": "SEAL-SH-0001"})

    seal_ref: Name


class ReceivePremium(CommandBody):
    """收取保费: exactly the quoted premium."""

    model_config = _examples(
        {"amount_fen": 1_200_000, "method": "bank transfer", "receipt_no": "R2026030500017"}
    )

    amount_fen: Fen
    method: Name
    receipt_no: Name


class IssuePolicy(CommandBody):
    """签发: the policy number, the cover period and the terms."""

    model_config = _examples(
        {
            "policy_no": "PL2026SH000123",
            "effective_from": "2026-03-06",
            "effective_to": "2046-03-05",
            "terms_version": "2026-01",
        }
    )

    policy_no: Name
    effective_from: date
    effective_to: date
    terms_version: Name


class AcknowledgeReceipt(CommandBody):
    """回执: the day the applicant received the policy; life and health over a year start cooling-off."""

    model_config = _examples({"received_on": "2026-03-08", "method": "e-signature", "cooling_off_days": 15})

    received_on: date
    method: Name
    cooling_off_days: Annotated[int, Field(ge=0, le=366)] = MIN_COOLING_OFF_DAYS


class CancelInCoolingOff(CommandBody):
    """A cancellation requested inside the cooling-off period, less a fee."""

    model_config = _examples({"requested_on": "2026-03-15", "fee_fen": 1_000})

    requested_on: date
    fee_fen: Fen = 0


class ApplyEndorsement(CommandBody):
    """批改 / 保全: a change to the policy; a new beneficiary needs the insured's consent."""

    model_config = _examples(
        {
            "endorsement_no": "PA2026000045",
            "change_type": "beneficiary",
            "description": "the beneficiary is changed to the insured's spouse",
            "effective_on": "2026-06-01",
            "beneficiary_names": ["王五"],
            "insured_consent_ref": "CONSENT-0045",
        },
        {
            "endorsement_no": "PA2026000046",
            "change_type": "sum insured",
            "description": "the sum insured is raised to 600,000.00 CNY",
            "effective_on": "2026-07-01",
            "premium_delta_fen": 240_000,
            "sum_insured_fen": 60_000_000,
        },
    )

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

    model_config = _examples(
        {
            "ground": "non_disclosure_art16",
            "known_at": "2026-09-14T11:00:00+08:00",
            "evidence": "hospital records show hypertension treated since 2024; the disclosure answered no",
        }
    )

    ground: RescissionGround
    known_at: AwareDatetime
    evidence: Text


class RescindPolicy(CommandBody):
    """解除: on a recorded ground, with the refund and the notice."""

    model_config = _examples(
        {"ground": "non_disclosure_art16", "refund_fen": 1_200_000, "notice_ref": "RESC-2026-0003"}
    )

    ground: RescissionGround
    refund_fen: Fen
    notice_ref: Name


class SurrenderPolicy(CommandBody):
    """退保: the request's day and the cash value refunded."""

    model_config = _examples({"requested_on": "2031-03-10", "cash_value_fen": 3_456_700})

    requested_on: date
    cash_value_fen: Fen


class LapsePolicy(CommandBody):
    """效力中止: the unpaid instalment's due day and the payment demand, if any."""

    model_config = _examples({"due_on": "2027-03-06", "reminded_on": "2027-03-20"})

    due_on: date
    reminded_on: date | None = None


class ReinstatePolicy(CommandBody):
    """复效: the arrears paid and the agreement."""

    model_config = _examples({"arrears_paid_fen": 1_200_000, "agreement_ref": "REINST-2027-0012"})

    arrears_paid_fen: Fen
    agreement_ref: Name


class RenewPolicy(CommandBody):
    """续保: the new cover period, its premium and terms."""

    model_config = _examples(
        {
            "effective_from": "2027-03-06",
            "effective_to": "2028-03-05",
            "premium_fen": 468_000,
            "terms_version": "2027-01",
        }
    )

    effective_from: date
    effective_to: date
    premium_fen: Fen
    terms_version: Name


# ----------------------------------------------------------------------------------------------- callbacks


class CreateCallbackTask(CommandBody):
    """The callback an event calls for: one task per (type, source event), however often it is sent."""

    model_config = _examples(
        {
            "task_type": "new_policy",
            "source_event_id": "9a7c5e31-2b4d-4c6f-8e0a-1b3c5d7e9f20",
            "source_case_id": "c4e2a8f6-1d3b-4a5c-9e7f-2b4d6f8a0c1e",
            "customer_id": "CUST-0b8a4f2e",
            "due_by": "2026-03-23T23:59:59+08:00",
            "seller_id": "li.na.agent",
        }
    )

    task_type: CallbackType
    source_event_id: UUID
    source_case_id: UUID
    customer_id: Name
    due_by: AwareDatetime
    seller_id: Name | None = None


class ScheduleCallback(CommandBody):
    """The slot the call is planned for, outside quiet hours (21:00-09:00 Asia/Shanghai)."""

    model_config = _examples({"slot": "2026-03-10T10:30:00+08:00"})

    slot: AwareDatetime


class AttemptCallback(CommandBody):
    """One attempt to reach the customer, made now."""

    model_config = _examples({"channel": "phone", "outcome": "reached", "recording_ref": "REC-20260310-0042"})

    channel: CallbackChannel
    outcome: AttemptOutcome
    recording_ref: Name | None = None


class CompleteCallback(CommandBody):
    """The customer's answers; a new-policy callback answers all seven checks."""

    model_config = _examples(
        {
            "answers": {
                "applicant_is_respondent": "yes",
                "bought_and_signed_personally": "yes",
                "read_brochure_and_risk_notice": "yes",
                "knows_cover_exclusions_term": "yes",
                "knows_surrender_loss": "yes",
                "knows_cooling_off": "yes",
                "knows_payment_term_and_frequency": "yes",
            }
        }
    )

    answers: Annotated[dict[Name, OptionalText], Field(max_length=100)]


class FailCallback(CommandBody):
    """Why calling stopped, and the letter or visit to follow."""

    model_config = _examples({"reason": "three calls and an SMS link went unanswered", "fallback": "letter"})

    reason: Text
    fallback: Name | None = None


class RecordCallbackIssue(CommandBody):
    """An issue the callback brought to light."""

    model_config = _examples(
        {
            "issue": "proxy_signature",
            "details": "the customer says the agent signed the proposal form for them",
        }
    )

    issue: CallbackIssue
    details: Text


class RemedyMisSelling(CommandBody):
    """The remedy of the mis-selling a remediation task was opened for."""

    model_config = _examples(
        {
            "action": "full refund offered",
            "summary": "non-sales staff explained the surrender loss again; the customer cancelled",
        }
    )

    action: Name
    summary: Text
