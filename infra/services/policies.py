"""Policies (承保): the policy application service; proposals are checked against seller registrations."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID, uuid4

from pydantic import AwareDatetime, Field

from domain.base import SHANGHAI
from domain.cover import PolicyCover
from domain.policy import (
    MIN_COOLING_OFF_DAYS,
    BeneficiaryChangedBy,
    CtplSurrenderGround,
    ExplanationMethod,
    Line,
    NonDisclosureFault,
    Policy,
    RescissionGround,
    SurrenderParty,
    UnderwritingDecision,
    WithdrawalParty,
)
from domain.policy_cover import cover_over_time
from infra.clock import Clock
from infra.services.commands import (
    Command,
    Fen,
    Name,
    Names,
    Reason,
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
    """回执: the day the applicant received the policy; personal cover over a year starts cooling-off for the
    contract's days (at least 15), to 24:00 of its last day, rolled past a holiday (Civil Code Art. 203)."""

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
    """批改 / 保全: a change to the policy; the applicant changes a beneficiary only with the insured's
    consent, the insured may change it himself (Art. 41)."""

    model_config = examples(
        {
            "endorsement_no": "PA2026000045",
            "change_type": "beneficiary",
            "description": "the applicant changes the beneficiary to the insured's spouse",
            "effective_on": "2026-06-01",
            "beneficiary_names": ["王五"],
            "insured_consent_ref": "CONSENT-0045",
            "beneficiary_changed_by": "applicant",
        },
        {
            "endorsement_no": "PA2026000047",
            "change_type": "beneficiary",
            "description": "the insured changes the beneficiary to his daughter",
            "effective_on": "2026-06-01",
            "beneficiary_names": ["张小红"],
            "beneficiary_changed_by": "insured",
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
    beneficiary_changed_by: BeneficiaryChangedBy = BeneficiaryChangedBy.APPLICANT


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


class SendRescissionNotice(Command):
    """CTPL Art. 14: the written notice of a non-disclosure, and the day the applicant received it (the
    applicant then has 5 days to disclose, rolled past a holiday)."""

    model_config = examples(
        {"ground": "non_disclosure_art16", "notice_ref": "CTPL-NOTICE-2026-0007", "received_on": "2026-09-28"}
    )

    ground: RescissionGround
    notice_ref: Name
    received_on: date


class RecordNonDisclosureCure(Command):
    """CTPL Art. 14: the applicant disclosed within the 5 days of the notice; the insurer may not rescind."""

    model_config = examples(
        {"ground": "non_disclosure_art16", "disclosed_on": "2026-10-08", "evidence_ref": "DISCLOSURE-0007"}
    )

    ground: RescissionGround
    disclosed_on: date
    evidence_ref: Name


class RescindPolicy(Command):
    """解除: on a recorded ground, with the refund and the notice; for non-disclosure the applicant's fault,
    which decides the refund (Art. 16 ¶4–5: none if deliberate, the premium if grossly negligent)."""

    model_config = examples(
        {
            "ground": "non_disclosure_art16",
            "fault": "gross_negligence",
            "refund_fen": 1_200_000,
            "notice_ref": "RESC-2026-0003",
        },
        {
            "ground": "non_disclosure_art16",
            "fault": "deliberate",
            "refund_fen": 0,
            "notice_ref": "RESC-2026-0004",
        },
    )

    ground: RescissionGround
    refund_fen: Fen
    notice_ref: Name
    fault: NonDisclosureFault | None = None


class SurrenderPolicy(Command):
    """退保: the request's day (not after today, not inside cooling-off) and the cash value refunded; CTPL
    only on a CTPL Art. 16 ground with the document proving it."""

    model_config = examples(
        {"requested_on": "2031-03-10", "cash_value_fen": 3_456_700},
        {
            "requested_on": "2026-07-15",
            "cash_value_fen": 41_000,
            "ctpl_ground": "vehicle_lost",
            "proof_ref": "POLICE-LOSS-310104-2026-0042",
        },
    )

    requested_on: date
    cash_value_fen: Fen
    ctpl_ground: CtplSurrenderGround | None = None
    proof_ref: Name | None = None


class LapsePolicy(Command):
    """效力中止 (the system's timer): no fields; the unpaid instalment, its due day, the payment demand and
    the end of the Art. 36 period are the premium schedule's."""


# ------------------------------------------------------------- 退保 surrender and 续期 renewal premium


class RecordCashValueTable(Command):
    """现金价值表: the contract's cash values, one per policy year (the first for year 1), in fen."""

    model_config = examples(
        {"table_ref": "CV-LIFE-WL-20-2026-01", "cash_values_fen": [0, 300_000, 900_000, 1_600_000]}
    )

    table_ref: Name
    cash_values_fen: Annotated[list[Fen], Field(min_length=1, max_length=120)]


class ReceiveSurrenderNotice(Command):
    """退保申请: the day the applicant's notice reached the insurer and who gave it (only the applicant may
    end the contract, Art. 15); CTPL also its CTPL Art. 16 ground and the document proving it."""

    model_config = examples(
        {"received_on": "2026-09-01", "given_by": "applicant"},
        {
            "received_on": "2026-07-15",
            "given_by": "applicant",
            "ctpl_ground": "vehicle_lost",
            "proof_ref": "POLICE-LOSS-310104-2026-0042",
        },
    )

    received_on: date
    given_by: SurrenderParty = SurrenderParty.APPLICANT
    ctpl_ground: CtplSurrenderGround | None = None
    proof_ref: Name | None = None


class ComputeSurrenderValue(Command):
    """The refund the notice is owed: in cooling-off the premium less the medical check's cost (give it
    here), after it the contract's cash value or, for property and motor, the unearned premium."""

    model_config = examples({"medical_check_fen": 0}, {"medical_check_fen": 35_000})

    medical_check_fen: Fen = 0


class PaySurrenderRefund(Command):
    """退费: the refund paid, exactly the value computed, with the day and the payment's reference."""

    model_config = examples({"amount_fen": 300_000, "paid_on": "2026-09-20", "payment_ref": "PAY-2026-0917"})

    amount_fen: Fen
    paid_on: date
    payment_ref: Name


class AgreePremiumSchedule(Command):
    """缴费计划: every how many months (1, 3, 6 or 12), how many instalments in all (the first is the
    premium received at issue) and the contract's payment period after a due date (60 days or more)."""

    model_config = examples(
        {"frequency_months": 3, "instalments": 4}, {"frequency_months": 12, "instalments": 20}
    )

    frequency_months: Annotated[int, Field(ge=1, le=12)]
    instalments: Annotated[int, Field(ge=2, le=1200)]
    grace_days: Annotated[int, Field(ge=1, le=366)] = 60


class SendPremiumReminder(Command):
    """催告 (Art. 36): the day the payment demand was made and how."""

    model_config = examples({"reminded_on": "2026-06-10", "channel": "sms"})

    reminded_on: date
    channel: Name


class PayRenewalPremium(Command):
    """续期缴费: the instalment due, paid within its payment period."""

    model_config = examples(
        {"amount_fen": 1_200_000, "paid_on": "2026-06-20", "receipt_no": "RCPT-2026-06-0042"}
    )

    amount_fen: Fen
    paid_on: date
    receipt_no: Name


class EndReinstatementPeriod(Command):
    """The system's timer: two years passed since the suspension (Art. 37)."""


class TerminateAfterSuspension(Command):
    """Art. 37 ¶2: the insurer ends the contract suspended two years; the notice's reference."""

    model_config = examples({"notice_ref": "TERM-2028-0007"})

    notice_ref: Name


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


class VerifyEntry(Command):
    """复核: verify the entered data; never by whoever entered it."""


class RejectConditionalOffer(Reason):
    """Record the applicant's rejection of the conditional offer, which ends the proposal."""


class EndCoolingOff(Command):
    """The system's timer: the cooling-off period is over (after its last day)."""


class ExpirePolicy(Command):
    """The system's timer: the cover period ended without renewal."""


# ------------------------------------------------------------------------------------------- service


class Policies(CaseApplication[Policy]):
    """Policies (承保): one method per use case, each taking its command model; proposals are checked against
    the seller's registration."""

    aggregate_class = Policy
    kind = "policy"
    bounded_context = "policy"

    def __init__(
        self, env: dict[str, str], clock: Clock, sellers: SellerRegistry, snapshot_interval: int = 50
    ):
        super().__init__(env, clock, snapshot_interval)
        self.sellers = sellers

    def submit(self, command: SubmitProposal, by: Caller, policy_id: UUID | None = None) -> CommandResult:
        """投保: submit a proposal through a seller registered and authorised for the product that day.

        The seller's registration is looked up and checked for the day of the proposal.
        """
        ctx = self.context(by)
        arguments = command.arguments()
        registration_no = arguments.pop("seller_registration_no")
        policy = Policy.submit_proposal(
            ctx,
            policy_id=policy_id or uuid4(),
            seller=self.sellers.lookup(registration_no),
            proposed_on=ctx.recorded_at.astimezone(SHANGHAI).date(),
            **arguments,
        )
        return self.save_new(policy)

    def cover(self, policy_id: UUID) -> PolicyCover:
        """The policy's cover over its whole history: a claim judges its loss date against it."""
        return cover_over_time(self.load(policy_id), self.history(policy_id))

    def record_proxy_signature(
        self, policy_id: UUID, command: RecordProxySignature, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """代签: record that a signature was made on the applicant's behalf (a fact, never a refusal)."""
        return self.run(policy_id, by, expected_version, Policy.record_proxy_signature, **command.arguments())

    def check_proposal(
        self, policy_id: UUID, command: CheckProposal, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """初审: check the proposal form; it passes only when nothing is missing."""
        return self.run(policy_id, by, expected_version, Policy.check_proposal, **command.arguments())

    def enter_data(
        self, policy_id: UUID, command: EnterProposalData, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """录入: enter the proposal's data after a passed preliminary check."""
        return self.run(policy_id, by, expected_version, Policy.enter_data, **command.arguments())

    def verify_entry(
        self, policy_id: UUID, command: VerifyEntry, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """复核: verify the entered data; never by whoever entered it."""
        return self.run(policy_id, by, expected_version, Policy.verify_entry, **command.arguments())

    def record_disclosure(
        self, policy_id: UUID, command: RecordDisclosure, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """投保告知: record the applicant's answers to the insurer's questions, one per question."""
        return self.run(policy_id, by, expected_version, Policy.record_disclosure, **command.arguments())

    def record_exclusions_explained(
        self,
        policy_id: UUID,
        command: RecordExclusionsExplained,
        by: Caller,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Record that exclusion clauses were explained and acknowledged (Art. 17)."""
        return self.run(
            policy_id, by, expected_version, Policy.record_exclusions_explained, **command.arguments()
        )

    def rate_risk(
        self, policy_id: UUID, command: RateRisk, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """核保: rate and classify the risk once the entered data is verified."""
        return self.run(policy_id, by, expected_version, Policy.rate_risk, **command.arguments())

    def decide_underwriting(
        self, policy_id: UUID, command: DecideUnderwriting, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """承保决策: never by the proposal's seller; CTPL is never declined or conditioned."""
        return self.run(policy_id, by, expected_version, Policy.decide_underwriting, **command.arguments())

    def accept_conditional_offer(
        self,
        policy_id: UUID,
        command: AcceptConditionalOffer,
        by: Caller,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Record the applicant's acceptance of the conditional offer."""
        return self.run(
            policy_id, by, expected_version, Policy.accept_conditional_offer, **command.arguments()
        )

    def reject_conditional_offer(
        self,
        policy_id: UUID,
        command: RejectConditionalOffer,
        by: Caller,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Record the applicant's rejection of the conditional offer, which ends the proposal."""
        return self.run(
            policy_id, by, expected_version, Policy.reject_conditional_offer, **command.arguments()
        )

    def withdraw_proposal(
        self, policy_id: UUID, command: WithdrawProposal, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Withdraw the proposal before issue; a CTPL proposal only at the applicant's request."""
        return self.run(policy_id, by, expected_version, Policy.withdraw_proposal, **command.arguments())

    def prepare_documents(
        self, policy_id: UUID, command: PrepareDocuments, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """缮制单证: prepare the policy documents after the decision."""
        return self.run(policy_id, by, expected_version, Policy.prepare_documents, **command.arguments())

    def seal_documents(
        self, policy_id: UUID, command: SealDocuments, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """复核签章: check and seal the documents; never by whoever prepared them."""
        return self.run(policy_id, by, expected_version, Policy.seal_documents, **command.arguments())

    def receive_premium(
        self, policy_id: UUID, command: ReceivePremium, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """收取保费: receive exactly the quoted first premium."""
        return self.run(policy_id, by, expected_version, Policy.receive_premium, **command.arguments())

    def issue(
        self, policy_id: UUID, command: IssuePolicy, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """签发: issue once decision, sealed documents, explained exclusions and premium are all in."""
        return self.run(policy_id, by, expected_version, Policy.issue, **command.arguments())

    def acknowledge_receipt(
        self, policy_id: UUID, command: AcknowledgeReceipt, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """回执: record the applicant's receipt; personal cover over a year starts cooling-off that day."""
        return self.run(policy_id, by, expected_version, Policy.acknowledge_receipt, **command.arguments())

    def end_cooling_off(
        self, policy_id: UUID, command: EndCoolingOff, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """The system's timer: the cooling-off period is over (after its last day)."""
        return self.run(policy_id, by, expected_version, Policy.end_cooling_off, **command.arguments())

    def cancel_in_cooling_off(
        self, policy_id: UUID, command: CancelInCoolingOff, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Cancel on a request made inside the cooling-off period, refunding the premium less a fee."""
        return self.run(policy_id, by, expected_version, Policy.cancel_in_cooling_off, **command.arguments())

    def apply_endorsement(
        self, policy_id: UUID, command: ApplyEndorsement, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """批改 / 保全: apply a change; a new beneficiary needs the insured's consent."""
        return self.run(policy_id, by, expected_version, Policy.apply_endorsement, **command.arguments())

    def record_rescission_ground(
        self,
        policy_id: UUID,
        command: RecordRescissionGround,
        by: Caller,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Record when the insurer learnt of a rescission ground (this dates Art. 16's window)."""
        return self.run(
            policy_id, by, expected_version, Policy.record_rescission_ground, **command.arguments()
        )

    def send_rescission_notice(
        self,
        policy_id: UUID,
        command: SendRescissionNotice,
        by: Caller,
        expected_version: int | None = None,
    ) -> CommandResult:
        """CTPL Art. 14: record the written notice and its receipt; the applicant's 5 days start."""
        return self.run(policy_id, by, expected_version, Policy.send_rescission_notice, **command.arguments())

    def record_non_disclosure_cure(
        self,
        policy_id: UUID,
        command: RecordNonDisclosureCure,
        by: Caller,
        expected_version: int | None = None,
    ) -> CommandResult:
        """CTPL Art. 14: record the applicant's disclosure within the 5 days; no rescission then."""
        return self.run(
            policy_id, by, expected_version, Policy.record_non_disclosure_cure, **command.arguments()
        )

    def rescind(
        self, policy_id: UUID, command: RescindPolicy, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """解除: rescind on an allowed, recorded ground, within the Art. 16 windows."""
        return self.run(policy_id, by, expected_version, Policy.rescind, **command.arguments())

    def surrender(
        self, policy_id: UUID, command: SurrenderPolicy, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """退保: surrender at the applicant's request; the cash value is refunded."""
        return self.run(policy_id, by, expected_version, Policy.surrender, **command.arguments())

    def lapse(
        self, policy_id: UUID, command: LapsePolicy, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """效力中止 (the system's timer): suspend the cover once the Art. 36 grace period is over."""
        return self.run(policy_id, by, expected_version, Policy.lapse, **command.arguments())

    def reinstate(
        self, policy_id: UUID, command: ReinstatePolicy, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """复效 (Art. 37): reinstate a suspended policy by agreement within two years of the suspension,
        once the premium it was suspended for is paid."""
        return self.run(policy_id, by, expected_version, Policy.reinstate, **command.arguments())

    # -------------------------------------------------------------- 退保 surrender and 续期 renewal premium

    def record_cash_value_table(
        self, policy_id: UUID, command: RecordCashValueTable, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """现金价值表: record the contract's cash values by policy year (what a surrender refunds)."""
        return self.run(
            policy_id, by, expected_version, Policy.record_cash_value_table, **command.arguments()
        )

    def receive_surrender_notice(
        self,
        policy_id: UUID,
        command: ReceiveSurrenderNotice,
        by: Caller,
        expected_version: int | None = None,
    ) -> CommandResult:
        """退保申请: the applicant's notice; the refund falls due 30 days after its receipt (Art. 47)."""
        return self.run(
            policy_id, by, expected_version, Policy.receive_surrender_notice, **command.arguments()
        )

    def compute_surrender_value(
        self, policy_id: UUID, command: ComputeSurrenderValue, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Compute the refund (premium in cooling-off, cash value or unearned premium); the contract ends."""
        return self.run(
            policy_id, by, expected_version, Policy.compute_surrender_value, **command.arguments()
        )

    def pay_surrender_refund(
        self, policy_id: UUID, command: PaySurrenderRefund, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """退费: pay the refund computed; meets the Art. 47 clock."""
        return self.run(policy_id, by, expected_version, Policy.pay_surrender_refund, **command.arguments())

    def agree_premium_schedule(
        self, policy_id: UUID, command: AgreePremiumSchedule, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """缴费计划: record the regular premium; the next instalment is billed with its payment period."""
        return self.run(policy_id, by, expected_version, Policy.agree_premium_schedule, **command.arguments())

    def send_premium_reminder(
        self, policy_id: UUID, command: SendPremiumReminder, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """催告: demand the unpaid instalment; unpaid 30 days later the cover is suspended (Art. 36)."""
        return self.run(policy_id, by, expected_version, Policy.send_premium_reminder, **command.arguments())

    def pay_renewal_premium(
        self, policy_id: UUID, command: PayRenewalPremium, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """续期缴费: the instalment paid in its payment period keeps the policy in force."""
        return self.run(policy_id, by, expected_version, Policy.pay_renewal_premium, **command.arguments())

    def end_reinstatement_period(
        self,
        policy_id: UUID,
        command: EndReinstatementPeriod,
        by: Caller,
        expected_version: int | None = None,
    ) -> CommandResult:
        """The system's timer: the two years to reinstate are over; the insurer may terminate."""
        return self.run(
            policy_id, by, expected_version, Policy.end_reinstatement_period, **command.arguments()
        )

    def terminate_after_suspension(
        self,
        policy_id: UUID,
        command: TerminateAfterSuspension,
        by: Caller,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Art. 37 ¶2: end the contract suspended for two years."""
        return self.run(
            policy_id, by, expected_version, Policy.terminate_after_suspension, **command.arguments()
        )

    def renew(
        self, policy_id: UUID, command: RenewPolicy, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """续保: renew for a new cover period that starts after the current one."""
        return self.run(policy_id, by, expected_version, Policy.renew, **command.arguments())

    def expire(
        self, policy_id: UUID, command: ExpirePolicy, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """The system's timer: the cover period ended without renewal."""
        return self.run(policy_id, by, expected_version, Policy.expire, **command.arguments())
