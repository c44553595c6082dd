"""Policies (承保): the policy application service; proposals are checked against seller registrations."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from pydantic import AwareDatetime, Field

from domain.base import SHANGHAI
from domain.cover import PolicyCover
from domain.policy import (
    MIN_COOLING_OFF_DAYS,
    ExplanationMethod,
    Line,
    Policy,
    RescissionGround,
    UnderwritingDecision,
    WithdrawalParty,
)
from infra.clock import Clock
from infra.services.commands import (
    Command,
    Fen,
    Name,
    Names,
    SignedFen,
    Text,
    examples,
)
from infra.store.eventstore import Caller, CaseApplication, CommandResult
from infra.store.sellers import SellerRegistry

# ------------------------------------------------------------------------------------------ commands


class SubmitProposal(Command):
    """投保: a proposal through a seller registered for the product; the seller's registration is checked."""

    model_config = examples(
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


class RecordProxySignature(Command):
    """代签: a signature made on the applicant's behalf, and the evidence of it."""

    model_config = examples(
        {
            "document": "proposal form",
            "evidence": "the signature on page 3 is not the applicant's; the agent admitted signing",
        }
    )

    document: Name
    evidence: Text


class CheckProposal(Command):
    """初审: what the proposal form lacks (nothing: the check passes)."""

    model_config = examples(
        {"missing_items": []},
        {"missing_items": ["applicant's signature on page 3", "copy of the insured's ID card"]},
    )

    missing_items: Names = Field(default_factory=list)


class EnterProposalData(Command):
    """录入: the form the data was entered from."""

    model_config = examples({"form_ref": "FORM-TB0B8A4F2E3C"})

    form_ref: Name


class RecordDisclosure(Command):
    """投保告知: the insurer's questions and the applicant's answers, one per question."""

    model_config = examples(
        {
            "questions": ["Have you ever been diagnosed with hypertension?", "Do you smoke?"],
            "answers": ["no", "no"],
            "answered_by": "张三",
        }
    )

    questions: Annotated[list[Text], Field(min_length=1, max_length=200)]
    answers: Annotated[list[Text], Field(max_length=200)]
    answered_by: Name


class RecordExclusionsExplained(Command):
    """The exclusion clauses explained to the applicant, how, and the evidence (Art. 17)."""

    model_config = examples(
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


class RateRisk(Command):
    """核保: the risk class and the factors behind it."""

    model_config = examples({"risk_class": "standard", "factors": ["age 36", "non-smoker", "BMI 23"]})

    risk_class: Name
    factors: Names = Field(default_factory=list)


class DecideUnderwriting(Command):
    """承保决策: a decline or a conditional offer states its reasons; a conditional offer its conditions."""

    model_config = examples(
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


class AcceptConditionalOffer(Command):
    """The applicant's acceptance of the conditional offer."""

    model_config = examples({"accepted_by": "张三", "evidence_ref": "ACCEPT-0001"})

    accepted_by: Name
    evidence_ref: Name


class WithdrawProposal(Command):
    """Who asked to withdraw the proposal, and why."""

    model_config = examples(
        {"requested_by": "applicant", "reason": "the applicant chose a product with a shorter term"}
    )

    requested_by: WithdrawalParty
    reason: Text


class PrepareDocuments(Command):
    """缮制单证: the documents prepared and their template versions."""

    model_config = examples(
        {
            "documents": ["policy schedule", "policy clauses", "cash value table"],
            "template_versions": ["SCHED-2026-01", "CL-LIFE-WL-20-2026-01", "CV-LIFE-WL-20-2026-01"],
        }
    )

    documents: Annotated[list[Name], Field(min_length=1, max_length=100)]
    template_versions: Names = Field(default_factory=list)


class SealDocuments(Command):
    """复核签章: the seal applied."""

    model_config = examples({"seal_ref": "SEAL-SH-0001"})

    seal_ref: Name


class ReceivePremium(Command):
    """收取保费: exactly the quoted premium."""

    model_config = examples(
        {"amount_fen": 1_200_000, "method": "bank transfer", "receipt_no": "R2026030500017"}
    )

    amount_fen: Fen
    method: Name
    receipt_no: Name


class IssuePolicy(Command):
    """签发: the policy number, the cover period and the terms."""

    model_config = examples(
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


class AcknowledgeReceipt(Command):
    """回执: the day the applicant received the policy; life and health over a year start cooling-off."""

    model_config = examples({"received_on": "2026-03-08", "method": "e-signature", "cooling_off_days": 15})

    received_on: date
    method: Name
    cooling_off_days: Annotated[int, Field(ge=0, le=366)] = MIN_COOLING_OFF_DAYS


class CancelInCoolingOff(Command):
    """A cancellation requested inside the cooling-off period, less a fee."""

    model_config = examples({"requested_on": "2026-03-15", "fee_fen": 1_000})

    requested_on: date
    fee_fen: Fen = 0


class ApplyEndorsement(Command):
    """批改 / 保全: a change to the policy; a new beneficiary needs the insured's consent."""

    model_config = examples(
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


class RecordRescissionGround(Command):
    """The ground the insurer learnt of, when, and the evidence (dates Art. 16's window)."""

    model_config = examples(
        {
            "ground": "non_disclosure_art16",
            "known_at": "2026-09-14T11:00:00+08:00",
            "evidence": "hospital records show hypertension treated since 2024; the disclosure answered no",
        }
    )

    ground: RescissionGround
    known_at: AwareDatetime
    evidence: Text


class RescindPolicy(Command):
    """解除: on a recorded ground, with the refund and the notice."""

    model_config = examples(
        {"ground": "non_disclosure_art16", "refund_fen": 1_200_000, "notice_ref": "RESC-2026-0003"}
    )

    ground: RescissionGround
    refund_fen: Fen
    notice_ref: Name


class SurrenderPolicy(Command):
    """退保: the request's day and the cash value refunded."""

    model_config = examples({"requested_on": "2031-03-10", "cash_value_fen": 3_456_700})

    requested_on: date
    cash_value_fen: Fen


class LapsePolicy(Command):
    """效力中止: the unpaid instalment's due day and the payment demand, if any."""

    model_config = examples({"due_on": "2027-03-06", "reminded_on": "2027-03-20"})

    due_on: date
    reminded_on: date | None = None


class ReinstatePolicy(Command):
    """复效: the arrears paid and the agreement."""

    model_config = examples({"arrears_paid_fen": 1_200_000, "agreement_ref": "REINST-2027-0012"})

    arrears_paid_fen: Fen
    agreement_ref: Name


class RenewPolicy(Command):
    """续保: the new cover period, its premium and terms."""

    model_config = examples(
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


# ------------------------------------------------------------------------------------------- service


class Policies(CaseApplication[Policy]):
    """Policy commands: every step after the proposal runs as ``run(policy_id, caller, version, ...)``."""

    aggregate_class = Policy
    kind = "policy"
    bounded_context = "policy"

    def __init__(
        self, env: dict[str, str], clock: Clock, sellers: SellerRegistry, snapshot_interval: int = 50
    ):
        super().__init__(env, clock, snapshot_interval)
        self.sellers = sellers

    def submit_proposal(
        self,
        caller: Caller,
        *,
        policy_id: UUID,
        proposal_no: str,
        product_code: str,
        line: Line,
        customer_id: str,
        applicant_name: str,
        applicant_id_number: str,
        applicant_phone: str,
        insured_name: str,
        beneficiary_names: tuple[str, ...] = (),
        sum_insured_fen: int,
        term_months: int,
        quoted_premium_fen: int,
        exclusion_clause_ids: tuple[str, ...],
        seller_registration_no: str,
        channel: str,
        linked_proposal_id: UUID | None = None,
    ) -> CommandResult:
        """Submit a proposal (投保): the seller's registration is looked up and checked for that day."""
        ctx = self.context(caller)
        policy = Policy.submit_proposal(
            ctx,
            policy_id=policy_id,
            proposal_no=proposal_no,
            product_code=product_code,
            line=line,
            customer_id=customer_id,
            applicant_name=applicant_name,
            applicant_id_number=applicant_id_number,
            applicant_phone=applicant_phone,
            insured_name=insured_name,
            beneficiary_names=beneficiary_names,
            sum_insured_fen=sum_insured_fen,
            term_months=term_months,
            quoted_premium_fen=quoted_premium_fen,
            exclusion_clause_ids=exclusion_clause_ids,
            seller=self.sellers.lookup(seller_registration_no),
            proposed_on=ctx.recorded_at.astimezone(SHANGHAI).date(),
            channel=channel,
            linked_proposal_id=linked_proposal_id,
        )
        return self.save_new(policy)

    def cover(self, policy_id: UUID) -> PolicyCover:
        """The policy's cover as it stands now (what a new claim is checked against)."""
        return self.load(policy_id).cover()
