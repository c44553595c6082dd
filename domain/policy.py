"""承保 Underwriting: proposal → 录单 (初审, 录入, 复核) → 投保告知 → 核保 → 承保决策 → 缮制单证
→ 复核签章 → 收取保费 → issue → receipt (cooling-off) → in force → endorsement, cancellation, rescission,
surrender, lapse, reinstatement, renewal, expiry.

The rules a policy keeps, each a named error below: the seller's practice registration is valid and
authorised for the product on the proposal date; verification, sealing and the decision are four-eyes; CTPL
(交强险) is never declined, conditioned, bundled or withdrawn by the insurer, and its premium is paid in full
before issue; every exclusion clause is explained before issue (Insurance Law Art. 17); a conditional offer
is accepted before issue and a declined proposal is never issued; the cooling-off period is at least 15 days;
the insurer rescinds only on a ground the law allows, and for non-disclosure only inside the Art. 16 windows.

A proxy signature (代签) is a recorded fact, not a refusal: it leaves the exclusions evidence unproven and
asks for a callback check, but does not block issue (Judicial Interpretation II Art. 3).

Dates: every business date is a calendar date in Asia/Shanghai. "Today" is the command's ``recorded_at``
read in Shanghai, never a clock. The customer's periods (the cooling-off period, the Art. 36 payment periods,
the CTPL Art. 14 cure period) are counted by ``domain.calendar`` on its versioned holiday calendar: the start
day is not counted (Civil Code Art. 201), a period whose last day is a rest day or holiday ends on the next
working day (Art. 203 ¶1), at 24:00 (Art. 203 ¶2). A window the policy guards is stored, as an instant, on
the event that opens it (``cooling_off_ends_at``, ``cure_ends_at``), and the SLA timer ends at that same
instant (``domain.sla``'s ``ends_at_field``). The insurer's own Art. 16 right is counted without the
roll-over, so it never closes later than a court would say; the two-year incontestability runs exactly to
the anniversary instant of formation, as the IL16-INCONTESTABLE-2Y timer counts it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.base import (
    PERSONAL,
    SHANGHAI,
    CaseAggregate,
    CaseCreated,
    Context,
    DomainError,
    DomainEvent,
    Fen,
    FourEyesError,
    InvalidTransitionError,
    PersonalStr,
    Role,
    require_status,
    taken_by,
)
from domain.calendar import CountingMethod, Deadline, DurationUnit, compute_deadline, default_calendar
from domain.cover import PolicyCover, PolicyNotInForceError

# base.PersonalStr marks one string; a list of personal values is marked on the field itself, so that
# DomainEvent.personal_fields() finds it too.
_PERSONAL_SCHEMA = Field(json_schema_extra={"x-personal-data": True})
PersonalStrs = Annotated[tuple[PersonalStr, ...], PERSONAL, _PERSONAL_SCHEMA]
# The mark must wrap the optional type too: inside ``X | None`` the field's own metadata would lose it.
OptionalPersonalStrs = Annotated[tuple[PersonalStr, ...] | None, PERSONAL, _PERSONAL_SCHEMA]

MIN_COOLING_OFF_DAYS = 15  # Health Insurance Measures 2019; industry standard for life policies over a year
COOLING_OFF_FEE_CAP_FEN = 1_000  # 工本费 of at most CNY 10 [K: reference §1.4, to be checked per contract]
RESCISSION_DAYS = 30  # Art. 16 ¶3: the right lapses 30 days after the insurer learns of the ground
INCONTESTABLE_YEARS = 2  # Art. 16 ¶3: never after two years from formation
GRACE_DAYS = 60  # Art. 36: suspension 60 days after the due date ...
REMINDER_DAYS = 30  # ... or 30 days after the insurer's payment demand (催告), whichever comes first
CTPL_CURE_DAYS = 5  # CTPL Regulation Art. 14: 投保人应当自收到通知之日起5日内履行如实告知义务
COOLING_OFF_RULE = "LIFE-COOLOFF-15D"  # the SLA rule that times the cooling-off window (domain.sla)
CTPL_CURE_RULE = "CTPL14-CURE-5D"  # the SLA rule that times the CTPL cure period (domain.sla)
SURRENDER_REFUND_DAYS = 30  # Art. 47: 自收到解除合同通知之日起三十日内 退还保险单的现金价值
SURRENDER_REFUND_RULE = "IL47-SURRENDER-30D"  # the SLA rule that times the refund (domain.sla)
GRACE_RULE = "IL36-GRACE-60D"  # the SLA window that ends the payment period 60 days after the due date
DEMAND_RULE = "IL36-DEMAND-30D"  # ... and the one that ends it 30 days after the payment demand (催告)
REINSTATEMENT_YEARS = 2  # Art. 37: 自合同效力中止之日起满二年双方未达成协议的，保险人有权解除合同
REINSTATEMENT_RULE = "IL37-REINSTATE-2Y"  # the SLA window of the applicant's two years to reinstate
PREMIUM_FREQUENCIES_MONTHS = frozenset({1, 3, 6, 12})  # monthly, quarterly, half-yearly, yearly instalments


class Line(StrEnum):
    """The line of business: it decides which CTPL, cooling-off and rescission rules apply."""

    LIFE = "life"
    HEALTH = "health"
    ACCIDENT = "accident"
    MOTOR_CTPL = "motor_ctpl"
    MOTOR_COMMERCIAL = "motor_commercial"
    PROPERTY = "property"


class PolicyStatus(StrEnum):
    """Where a proposal or policy stands in its lifecycle."""

    SUBMITTED = "submitted"
    PRELIMINARY_CHECKED = "preliminary_checked"
    DATA_ENTERED = "data_entered"
    ENTRY_VERIFIED = "entry_verified"
    RATED = "rated"
    DECIDED = "decided"
    DOCUMENTS_PREPARED = "documents_prepared"
    DOCUMENTS_SEALED = "documents_sealed"
    ISSUED = "issued"
    IN_COOLING_OFF = "in_cooling_off"
    IN_FORCE = "in_force"
    LAPSED = "lapsed"
    DECLINED = "declined"
    OFFER_REJECTED = "offer_rejected"
    WITHDRAWN = "withdrawn"
    CANCELLED_IN_COOLING_OFF = "cancelled_in_cooling_off"
    RESCINDED = "rescinded"
    SURRENDER_REQUESTED = "surrender_requested"
    SURRENDERED = "surrendered"
    EXPIRED = "expired"
    TERMINATED = "terminated"


class UnderwritingDecision(StrEnum):
    """承保决策: 正常承保, 优惠承保, 条件承保 or 拒保."""

    STANDARD = "standard"
    PREFERENTIAL = "preferential"
    CONDITIONAL = "conditional"
    DECLINED = "declined"


class ExplanationMethod(StrEnum):
    """How the exclusion clauses were explained (Art. 17: in writing or orally, evidence kept)."""

    WRITTEN = "written"
    ORAL = "oral"
    RECORDED = "recorded"  # 双录: audio and video recording of the sale


class WithdrawalParty(StrEnum):
    """Who asked for a proposal to be withdrawn."""

    APPLICANT = "applicant"
    INSURER = "insurer"


class RescissionGround(StrEnum):
    """The grounds on which the law lets the insurer rescind (Art. 15 and the articles cited)."""

    NON_DISCLOSURE_ART16 = "non_disclosure_art16"
    FRAUD_ART27 = "fraud_art27"
    AGE_ART32 = "age_art32"  # personal insurance only; Art. 32 applies Art. 16's windows
    INCREASED_RISK_ART52 = "increased_risk_art52"  # property insurance only


class NonDisclosureFault(StrEnum):
    """Art. 16 ¶4–5: how the applicant failed the duty of disclosure, which decides the premium refund."""

    DELIBERATE = "deliberate"  # 故意: no liability for earlier events and no premium refund (¶4)
    # 重大过失: no liability for the events it seriously affected, but the premium is refunded (¶5)
    GROSS_NEGLIGENCE = "gross_negligence"


class CtplSurrenderGround(StrEnum):
    """CTPL Regulation Art. 16: the only grounds on which the applicant may end CTPL cover (退保)."""

    VEHICLE_DEREGISTERED = "vehicle_deregistered"  # 被保险机动车被依法注销登记
    VEHICLE_LAID_UP = "vehicle_laid_up"  # 被保险机动车办理停驶
    VEHICLE_LOST = "vehicle_lost"  # 被保险机动车经公安机关证实丢失


CTPL_SURRENDER_PROOF: Mapping[CtplSurrenderGround, str] = MappingProxyType(
    {
        CtplSurrenderGround.VEHICLE_DEREGISTERED: "the vehicle administration's deregistration certificate",
        CtplSurrenderGround.VEHICLE_LAID_UP: "the vehicle administration's laid-up (停驶) certificate",
        CtplSurrenderGround.VEHICLE_LOST: "the police (公安机关) certificate of the vehicle's loss",
    }
)
"""The document that proves each CTPL surrender ground."""


class BeneficiaryChangedBy(StrEnum):
    """Art. 41: who changes the beneficiary; the insured may on his own, the applicant with his consent."""

    APPLICANT = "applicant"
    INSURED = "insured"


class SurrenderParty(StrEnum):
    """Who gave a surrender notice: Art. 15 lets the applicant (投保人) end the contract, nobody else."""

    APPLICANT = "applicant"
    INSURED = "insured"
    BENEFICIARY = "beneficiary"


class SurrenderBasis(StrEnum):
    """How a surrender's refund was computed."""

    # Inside the cooling-off period: the premium paid less the medical check's cost, if any.
    COOLING_OFF = "cooling_off"
    # Art. 47: personal insurance after cooling-off, the cash value of the contract's table for the year.
    CASH_VALUE = "cash_value"
    # Art. 54 (property) and CTPL Art. 17: the premium of the days after the contract ended, pro rata.
    UNEARNED_PREMIUM = "unearned_premium"
    # Recorded in one step with the value stated by the caller (``Policy.surrender``, before the steps).
    STATED = "stated"


class SellerRegistration(BaseModel):
    """A seller's practice registration (执业登记), looked up by the application layer for the proposal."""

    model_config = ConfigDict(frozen=True)

    registration_no: str = Field(min_length=1)
    seller_id: str = Field(min_length=1)
    valid_from: date
    valid_to: date
    authorised_products: frozenset[str]

    def authorises(self, product_code: str, on: date) -> bool:
        """Whether the registration is valid on ``on`` and covers ``product_code``."""
        return self.valid_from <= on <= self.valid_to and product_code in self.authorised_products


# ---------------------------------------------------------------------------------------------- errors


class SellerNotRegisteredError(DomainError):
    """A proposal names a seller whose practice registration is valid and authorised for the product then."""

    rule = "SALES-REGISTRATION"


class CtplBundlingError(DomainError):
    """CTPL Art. 13: a CTPL proposal may not be bundled with, or depend on, commercial cover."""

    rule = "CTPL13-NO-BUNDLING"


class CtplConditionalOfferError(DomainError):
    """CTPL Art. 13: the insurer may not attach extra conditions to CTPL cover."""

    rule = "CTPL13-NO-CONDITIONS"


class CompulsoryMotorCannotBeDeclinedError(DomainError):
    """CTPL Art. 10: the insurer may not refuse CTPL cover."""

    rule = "CTPL10-MUST-ACCEPT"


class CtplWithdrawalByInsurerError(DomainError):
    """CTPL Art. 10: the insurer may not refuse or delay CTPL cover by withdrawing the proposal itself."""

    rule = "CTPL10-NO-INSURER-WITHDRAWAL"


class CtplPremiumNotPaidInFullError(DomainError):
    """CTPL Art. 12: the whole CTPL premium is paid at once, before the policy is issued."""

    rule = "CTPL12-PREMIUM"


class ProposalEntryVerifierIsEntererError(FourEyesError):
    """Four-eyes: the verifier (复核) of the proposal data is not the person who entered it (录入)."""

    rule = "four-eyes-proposal-entry"


class DocumentsSealerIsPreparerError(FourEyesError):
    """Four-eyes: the person who checks and seals the policy documents (复核签章) did not prepare them."""

    rule = "four-eyes-policy-documents"


class UnderwriterIsSellerError(FourEyesError):
    """Four-eyes: the underwriter who decides on a proposal is not its seller."""

    rule = "four-eyes-underwriting"


class DisclosureIncompleteError(DomainError):
    """投保告知: every question asked is answered (only questions asked can ground an Art. 16 rescission)."""

    rule = "IL16-DISCLOSURE-ANSWERED"


class DecisionWithoutReasonsError(DomainError):
    """A declined or conditional underwriting decision states its reasons."""

    rule = "UW-DECISION-REASONS"


class ConditionalOfferWithoutConditionsError(DomainError):
    """A conditional decision (条件承保) states the conditions the applicant is asked to accept."""

    rule = "UW-CONDITIONS-STATED"


class ConditionalOfferNotAcceptedError(DomainError):
    """A conditional offer is a counter-offer: the applicant accepts it before the policy is issued."""

    rule = "UW-CONDITIONAL-ACCEPTED"


class DeclinedProposalCannotBeIssuedError(DomainError):
    """A declined proposal (拒保) is never issued."""

    rule = "UW-DECLINED-NEVER-ISSUED"


class ExclusionsNotExplainedError(DomainError):
    """Art. 17: every exclusion clause of the product is explained and acknowledged before issue."""

    rule = "IL17-EXCLUSIONS"


class PremiumAmountMismatchError(DomainError):
    """The premium received is exactly the quoted premium, in fen."""

    rule = "premium-equals-quote"


class PremiumAlreadyReceivedError(DomainError):
    """The first premium is received once; a second payment is not silently accepted."""

    rule = "premium-once"


class PremiumNotReceivedError(DomainError):
    """A policy is issued only once its premium has been received (收取保费)."""

    rule = "premium-before-issue"


class InvalidCoverPeriodError(DomainError):
    """A cover period ends on or after the day it starts; a renewal starts after the current period."""

    rule = "cover-period"


class CoolingOffTooShortError(DomainError):
    """The cooling-off period (犹豫期) of personal cover (life, health, accident) over a year is ≥ 15 days."""

    rule = "LIFE-COOLOFF-15D"


class CoolingOffOverError(DomainError):
    """A cancellation with a full refund is requested inside the cooling-off period, or not at all."""

    rule = "LIFE-COOLOFF"


class CoolingOffNotOverError(DomainError):
    """The cooling-off period ends only after its last day (24:00 Asia/Shanghai)."""

    rule = "LIFE-COOLOFF-END"


class CoolingOffFeeTooHighError(DomainError):
    """A cooling-off cancellation refunds the premium less a fee of at most CNY 10."""

    rule = "LIFE-COOLOFF-FEE"


class BeneficiaryChangeWithoutConsentError(DomainError):
    """Art. 41 ¶1: the applicant changes the beneficiary only with the insured's consent."""

    rule = "IL41-BENEFICIARY-CONSENT"


class FutureDatedRequestError(DomainError):
    """A customer's request, or a notice's receipt, is dated no later than the day it is recorded."""

    rule = "POLICY-NO-FUTURE-DATE"


class SurrenderDatedBeforeIssueError(DomainError):
    """A surrender request is dated on or after the day the policy was issued: no backdating before it."""

    rule = "SURRENDER-AFTER-ISSUE"


class SurrenderInCoolingOffError(DomainError):
    """A request made inside the cooling-off period is a cooling-off cancellation, never a surrender."""

    rule = "LIFE-COOLOFF-NOT-SURRENDER"


class CtplSurrenderGroundRequiredError(DomainError):
    """CTPL Art. 16: the applicant surrenders CTPL only when the vehicle is deregistered, laid up or lost."""

    rule = "CTPL16-SURRENDER-GROUNDS"


class CtplSurrenderProofMissingError(DomainError):
    """CTPL Art. 16: a CTPL surrender ground is proven by its document (e.g. a police certificate of loss)."""

    rule = "CTPL16-SURRENDER-PROOF"


class CtplRescissionWithoutNoticeError(DomainError):
    """CTPL Art. 14: before rescinding CTPL the insurer notifies the applicant in writing."""

    rule = "CTPL14-WRITTEN-NOTICE"


class CtplCurePeriodNotOverError(DomainError):
    """CTPL Art. 14: CTPL is rescinded only after the applicant's 5 days to disclose have run out."""

    rule = "CTPL14-CURE-5D"


class CtplNonDisclosureCuredError(DomainError):
    """CTPL Art. 14: once the applicant has disclosed within the 5 days, the insurer may not rescind."""

    rule = "CTPL14-CURED"


class CureOutOfTimeError(DomainError):
    """CTPL Art. 14: a disclosure counts as a cure only when made within 5 days of receiving the notice."""

    rule = "CTPL14-CURE-IN-TIME"


class GroundKnownInFutureError(DomainError):
    """Art. 16: the insurer cannot have learnt of a ground later than the moment it records it."""

    rule = "IL16-KNOWN-AT-NOT-FUTURE"


class NonDisclosureFaultNotStatedError(DomainError):
    """Art. 16 ¶4–5: a rescission for non-disclosure states whether it was deliberate or grossly negligent."""

    rule = "IL16-FAULT-STATED"


class DeliberateNonDisclosureRefundError(DomainError):
    """Art. 16 ¶4: after deliberate non-disclosure no premium is refunded; a refund misstates the fault."""

    rule = "IL16-DELIBERATE-NO-REFUND"


class NegligentNonDisclosureRefundTooLowError(DomainError):
    """Art. 16 ¶5: after grossly negligent non-disclosure the insurer refunds the premium received."""

    rule = "IL16-NEGLIGENCE-REFUND"


class LapseOnlyForPersonalInsuranceError(DomainError):
    """Art. 36: suspension for unpaid instalments is a rule of personal insurance (life, health, accident)."""

    rule = "IL36-PERSONAL-ONLY"


class RescissionGroundNotAllowedError(DomainError):
    """Art. 15: the insurer rescinds only on a ground the law allows for the line (CTPL: non-disclosure)."""

    rule = "IL15-NO-RESCIND"


class RescissionGroundNotDiscoveredError(DomainError):
    """A rescission cites a ground whose discovery is on record, which dates the insurer's knowledge."""

    rule = "IL16-GROUND-ON-RECORD"


class InsurerKnewAtFormationError(DomainError):
    """Art. 16 ¶6: no rescission for a non-disclosure the insurer knew of when the contract was formed."""

    rule = "IL16-KNEW-AT-FORMATION"


class RescissionWindowClosedError(DomainError):
    """Art. 16 ¶3: the right to rescind for non-disclosure has lapsed."""

    rule = "IL16-RESCISSION-WINDOW"


class RescissionTooLateError(RescissionWindowClosedError):
    """Art. 16 ¶3: rescission for non-disclosure within 30 days of the insurer learning of the ground."""

    rule = "IL16-RESCIND-30D"


class IncontestablePolicyError(RescissionWindowClosedError):
    """Art. 16 ¶3: two years after formation the insurer may no longer rescind for non-disclosure."""

    rule = "IL16-INCONTESTABLE-2Y"


class GracePeriodNotOverError(DomainError):
    """Art. 36: cover is suspended only after 30 days from a payment demand or 60 from the due date
    (Civil Code Art. 203: a period ending on a holiday runs to the next working day)."""

    rule = "IL36-GRACE"


class CoverPeriodNotOverError(DomainError):
    """A policy expires only after the last day of its cover period."""

    rule = "expiry-after-cover"


class SurrenderByApplicantOnlyError(DomainError):
    """Art. 15: the applicant (投保人) may end the contract; the insured or a beneficiary may not."""

    rule = "IL15-APPLICANT-SURRENDERS"


class SurrenderNoticeAlreadyReceivedError(DomainError):
    """A policy has one surrender notice: a second is not silently taken for a new one."""

    rule = "SURRENDER-NOTICE-ONCE"


class CashValueTableMissingError(DomainError):
    """Art. 47: the cash value refunded is the contract's: its table by policy year is on record first."""

    rule = "IL47-CASH-VALUE-PER-CONTRACT"


class MedicalCheckCostError(DomainError):
    """Only a cooling-off refund deducts the medical check's cost, and never more than the premium paid."""

    rule = "COOLOFF-MEDICAL-CHECK-COST"


class SurrenderRefundMismatchError(DomainError):
    """The surrender refund paid is exactly the value computed, once, after the computation."""

    rule = "SURRENDER-REFUND-AMOUNT"


class PremiumScheduleError(DomainError):
    """A premium schedule is agreed once, in whole instalments of a known frequency, inside the cover."""

    rule = "PREMIUM-SCHEDULE"


class RenewalPremiumMismatchError(DomainError):
    """A renewal premium paid is exactly the instalment due (no part payment keeps the policy in force)."""

    rule = "premium-equals-due"


class NoPremiumDueError(DomainError):
    """A reminder, a payment or a suspension names an instalment that is due and unpaid."""

    rule = "PREMIUM-DUE"


class ReminderBeforeDueDateError(DomainError):
    """Art. 36: the payment demand (催告) that starts the 30 days is made on or after the due date."""

    rule = "IL36-DEMAND-AFTER-DUE"


class PaidAfterGraceError(DomainError):
    """Art. 36: a premium paid after the payment period ended does not keep the policy in force; the
    suspended contract is reinstated by agreement instead (Art. 37)."""

    rule = "IL36-PAID-IN-GRACE"


class ReinstatementTooLateError(DomainError):
    """Art. 37: reinstatement by agreement within two years of the suspension (Civil Code Art. 203
    roll-over: the window is the applicant's)."""

    rule = "IL37-REINSTATE-2Y"


class ArrearsNotPaidError(DomainError):
    """Art. 37: a suspended policy is reinstated once the premium it was suspended for is paid."""

    rule = "IL37-ARREARS-PAID"


class ReinstatementPeriodNotOverError(DomainError):
    """Art. 37: the insurer may terminate a suspended policy only after the two years to reinstate."""

    rule = "IL37-TERMINATE-AFTER-2Y"


# ---------------------------------------------------------------------------------------------- events


class ProposalSubmitted(CaseCreated):
    """投保: the applicant's signed proposal was submitted by a registered seller."""

    TOPIC = "policy.proposal-submitted.v1"

    proposal_no: str = Field(min_length=1)
    product_code: str = Field(min_length=1)
    line: Line
    customer_id: str = Field(min_length=1)
    applicant_name: PersonalStr
    applicant_id_number: PersonalStr
    applicant_phone: PersonalStr
    insured_name: PersonalStr
    beneficiary_names: PersonalStrs
    sum_insured_fen: Fen
    term_months: int = Field(gt=0)
    quoted_premium_fen: Fen
    exclusion_clause_ids: tuple[str, ...]
    seller_id: str = Field(min_length=1)
    seller_registration_no: str = Field(min_length=1)
    channel: str
    proposed_on: date
    linked_proposal_id: UUID | None = None

    def apply(self, policy: Policy) -> None:
        policy.status = PolicyStatus.SUBMITTED
        policy.proposal_no = self.proposal_no
        policy.product_code = self.product_code
        policy.line = self.line
        policy.customer_id = self.customer_id
        policy.sum_insured_fen = self.sum_insured_fen
        policy.term_months = self.term_months
        policy.quoted_premium_fen = self.quoted_premium_fen
        policy.exclusion_clause_ids = frozenset(self.exclusion_clause_ids)
        policy.seller_id = self.seller_id


class ProxySignatureDetected(DomainEvent):
    """代签: a signature on the applicant's behalf was found; the exclusions evidence is unproven."""

    TOPIC = "policy.proxy-signature-detected.v1"

    document: str = Field(min_length=1)
    evidence: str = Field(min_length=1)

    def apply(self, policy: Policy) -> None:
        policy.proxy_signature_detected = True
        policy.callback_check_required = True


class ProposalPreliminaryChecked(DomainEvent):
    """初审: the proposal form was checked for completeness; it passes when nothing is missing."""

    TOPIC = "policy.proposal-preliminary-checked.v1"

    missing_items: tuple[str, ...]
    passed: bool

    def apply(self, policy: Policy) -> None:
        if self.passed:
            policy.status = PolicyStatus.PRELIMINARY_CHECKED


class ProposalDataEntered(DomainEvent):
    """录入: the proposal's data was entered into the system."""

    TOPIC = "policy.proposal-data-entered.v1"

    form_ref: str = Field(min_length=1)

    def apply(self, policy: Policy) -> None:
        policy.status = PolicyStatus.DATA_ENTERED
        policy.data_enterer_ids = policy.data_enterer_ids | {self.actor.id}


class ProposalEntryVerified(DomainEvent):
    """复核: someone other than the enterer verified the entered data against the form."""

    TOPIC = "policy.proposal-entry-verified.v1"

    def apply(self, policy: Policy) -> None:
        policy.status = PolicyStatus.ENTRY_VERIFIED


class DisclosureRecorded(DomainEvent):
    """投保告知: the applicant's answers to the insurer's specific questions were recorded."""

    TOPIC = "policy.disclosure-recorded.v1"

    questions: tuple[str, ...] = Field(min_length=1)
    answers: PersonalStrs
    answered_by: PersonalStr

    def apply(self, policy: Policy) -> None:
        policy.disclosure_recorded = True


class ExclusionsExplained(DomainEvent):
    """免责条款提示说明: exclusion clauses were explained to the applicant and acknowledged (Art. 17)."""

    TOPIC = "policy.exclusions-explained.v1"

    clause_ids: tuple[str, ...] = Field(min_length=1)
    method: ExplanationMethod
    evidence_ref: str = Field(min_length=1)
    acknowledged_by: PersonalStr

    def apply(self, policy: Policy) -> None:
        policy.explained_clause_ids = policy.explained_clause_ids | frozenset(self.clause_ids)


class RiskRated(DomainEvent):
    """核保: the underwriter rated and classified the risk."""

    TOPIC = "policy.risk-rated.v1"

    risk_class: str = Field(min_length=1)
    factors: tuple[str, ...]

    def apply(self, policy: Policy) -> None:
        policy.status = PolicyStatus.RATED
        policy.risk_class = self.risk_class


class UnderwritingDecided(DomainEvent):
    """承保决策: standard or preferential acceptance forms the contract; conditional; or declined."""

    TOPIC = "policy.underwriting-decided.v1"

    decision: UnderwritingDecision
    reasons: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()

    def apply(self, policy: Policy) -> None:
        policy.decision = self.decision
        if self.decision is UnderwritingDecision.DECLINED:
            policy.status = PolicyStatus.DECLINED
        else:
            policy.status = PolicyStatus.DECIDED
        if self.decision in (UnderwritingDecision.STANDARD, UnderwritingDecision.PREFERENTIAL):
            policy.formed_at = self.timestamp


class ConditionalOfferAccepted(DomainEvent):
    """The applicant accepted the conditional offer (条件承保): the contract is formed (Art. 13)."""

    TOPIC = "policy.conditional-offer-accepted.v1"

    accepted_by: PersonalStr
    evidence_ref: str = Field(min_length=1)

    def apply(self, policy: Policy) -> None:
        policy.offer_accepted = True
        policy.formed_at = self.timestamp


class ConditionalOfferRejected(DomainEvent):
    """The applicant rejected the conditional offer; the proposal ends."""

    TOPIC = "policy.conditional-offer-rejected.v1"

    reason: str = Field(min_length=1)

    def apply(self, policy: Policy) -> None:
        policy.status = PolicyStatus.OFFER_REJECTED


class ProposalWithdrawn(DomainEvent):
    """The proposal was withdrawn before issue, at the applicant's or the insurer's request."""

    TOPIC = "policy.proposal-withdrawn.v1"

    requested_by: WithdrawalParty
    reason: str = Field(min_length=1)

    def apply(self, policy: Policy) -> None:
        policy.status = PolicyStatus.WITHDRAWN


class PolicyDocumentsPrepared(DomainEvent):
    """缮制单证: the policy, its clauses and the payment notice were prepared."""

    TOPIC = "policy.documents-prepared.v1"

    documents: tuple[str, ...] = Field(min_length=1)
    template_versions: tuple[str, ...]

    def apply(self, policy: Policy) -> None:
        policy.status = PolicyStatus.DOCUMENTS_PREPARED
        policy.documents_preparer_ids = policy.documents_preparer_ids | {self.actor.id}


class PolicyDocumentsSealed(DomainEvent):
    """复核签章: someone other than the preparer checked the documents and sealed them."""

    TOPIC = "policy.documents-sealed.v1"

    seal_ref: str = Field(min_length=1)

    def apply(self, policy: Policy) -> None:
        policy.status = PolicyStatus.DOCUMENTS_SEALED


class PremiumReceived(DomainEvent):
    """收取保费: the first premium was received, before or after the decision."""

    TOPIC = "policy.premium-received.v1"

    amount_fen: Fen = Field(gt=0)
    method: str = Field(min_length=1)
    receipt_no: str = Field(min_length=1)

    def apply(self, policy: Policy) -> None:
        policy.premium_received_fen += self.amount_fen


class PolicyIssued(DomainEvent):
    """签发 (Art. 13): the policy documents were issued with the cover period; claims may follow."""

    TOPIC = "policy.issued.v1"

    policy_no: str = Field(min_length=1)
    issued_on: date
    effective_from: date
    effective_to: date
    terms_version: str = Field(min_length=1)

    def apply(self, policy: Policy) -> None:
        policy.status = PolicyStatus.ISSUED
        policy.policy_no = self.policy_no
        policy.issued_on = self.issued_on
        policy.cover_started_on = self.effective_from
        policy.period_premium_fen = policy.quoted_premium_fen
        policy.effective_from = self.effective_from
        policy.effective_to = self.effective_to


class PolicyReceiptAcknowledged(DomainEvent):
    """回执: the applicant acknowledged receipt; for personal cover over one year cooling-off starts.

    ``cooling_off_ends_on`` is the period's last day and ``cooling_off_ends_at`` its end (24:00 of that day),
    counted on the recorded calendar version; the policy's guard and the LIFE-COOLOFF-15D timer read that
    instant. Receipts recorded before the instant was stored hold only ``cooling_off_ends_on``, counted
    then without the holiday roll-over: their end is 24:00 of that day.
    """

    TOPIC = "policy.receipt-acknowledged.v1"

    received_on: date
    method: str = Field(min_length=1)
    cooling_off_days: int | None = None
    cooling_off_ends_on: date | None = None
    cooling_off_ends_at: datetime | None = None
    calendar_id: str | None = None
    calendar_version: str | None = None

    def apply(self, policy: Policy) -> None:
        policy.cooling_off_ends_on = self.cooling_off_ends_on
        policy.cooling_off_ends_at = self.cooling_off_ends_at
        if self.cooling_off_ends_on is None:
            policy.status = PolicyStatus.IN_FORCE
        else:
            policy.status = PolicyStatus.IN_COOLING_OFF


class CoolingOffEnded(DomainEvent):
    """The cooling-off period ended: cancellation is no longer free."""

    TOPIC = "policy.cooling-off-ended.v1"

    ended_on: date

    def apply(self, policy: Policy) -> None:
        policy.status = PolicyStatus.IN_FORCE


class PolicyCancelledInCoolingOff(DomainEvent):
    """犹豫期退保: cancelled on a request made in the cooling-off period; premium less a fee refunded."""

    TOPIC = "policy.cancelled-in-cooling-off.v1"

    requested_on: date
    refund_fen: Fen
    fee_fen: Fen
    medical_check_fen: Fen = 0
    """The cost of the medical check the insurer had done, deducted from the refund (0 on older events)."""

    def apply(self, policy: Policy) -> None:
        policy.status = PolicyStatus.CANCELLED_IN_COOLING_OFF
        policy.refund_due_fen = self.refund_fen


class EndorsementApplied(DomainEvent):
    """批改 / 保全: a change to the policy in force took effect."""

    TOPIC = "policy.endorsement-applied.v1"

    endorsement_no: str = Field(min_length=1)
    change_type: str = Field(min_length=1)
    description: str
    effective_on: date
    premium_delta_fen: int = Field(description="premium change in fen (0.01 CNY); negative is a refund")
    sum_insured_fen: Fen | None = None
    beneficiary_names: OptionalPersonalStrs = None
    insured_consent_ref: str | None = None
    beneficiary_changed_by: BeneficiaryChangedBy | None = None

    def apply(self, policy: Policy) -> None:
        if self.sum_insured_fen is not None:
            policy.sum_insured_fen = self.sum_insured_fen


class RescissionGroundDiscovered(DomainEvent):
    """The insurer learnt of a rescission ground at ``known_at``: the Art. 16 30-day window starts."""

    TOPIC = "policy.rescission-ground-discovered.v1"

    ground: RescissionGround
    known_at: datetime
    evidence: str = Field(min_length=1)

    def apply(self, policy: Policy) -> None:
        # The insurer's knowledge dates from its first discovery: a later report of the same ground
        # must not reopen a window that has already run.
        earlier = policy.grounds_known_at.get(self.ground)
        first = self.known_at if earlier is None else min(earlier, self.known_at)
        policy.grounds_known_at = {**policy.grounds_known_at, self.ground: first}


class RescissionNoticeSent(DomainEvent):
    """CTPL Art. 14: the applicant received the insurer's written notice of a non-disclosure; the applicant
    may disclose until ``cure_ends_at`` (5 days from receipt, Civil Code Arts. 201 and 203)."""

    TOPIC = "policy.rescission-notice-sent.v1"

    ground: RescissionGround
    notice_ref: str = Field(min_length=1)
    received_on: date
    cure_days: int = Field(gt=0)
    cure_ends_at: datetime
    calendar_id: str = Field(min_length=1)
    calendar_version: str = Field(min_length=1)

    def apply(self, policy: Policy) -> None:
        # A new notice of the same ground gives the applicant a new 5 days from its receipt.
        others = tuple((ground, end) for ground, end in policy.cure_periods if ground is not self.ground)
        policy.cure_periods = (*others, (self.ground, self.cure_ends_at))


class NonDisclosureCured(DomainEvent):
    """CTPL Art. 14: the applicant disclosed within the cure period: the insurer may no longer rescind."""

    TOPIC = "policy.non-disclosure-cured.v1"

    ground: RescissionGround
    disclosed_on: date
    evidence_ref: str = Field(min_length=1)

    def apply(self, policy: Policy) -> None:
        policy.cured_grounds = policy.cured_grounds | {self.ground}


class PolicyRescinded(DomainEvent):
    """解除: the insurer rescinded the policy on an allowed ground, with its legal basis and refund; for
    non-disclosure the applicant's fault, which decides the refund (Art. 16 ¶4–5)."""

    TOPIC = "policy.rescinded.v1"

    ground: RescissionGround
    basis: str = Field(min_length=1)
    refund_fen: Fen
    notice_ref: str = Field(min_length=1)
    fault: NonDisclosureFault | None = None

    def apply(self, policy: Policy) -> None:
        policy.status = PolicyStatus.RESCINDED


class PolicySurrendered(DomainEvent):
    """退保: the applicant surrendered the policy after cooling-off; the cash value is due within 30 days.
    A CTPL surrender names its CTPL Art. 16 ground and the document proving it."""

    TOPIC = "policy.surrendered.v1"

    requested_on: date
    cash_value_fen: Fen
    ctpl_ground: CtplSurrenderGround | None = None
    proof_ref: str | None = None
    basis: SurrenderBasis = SurrenderBasis.STATED
    """How ``cash_value_fen`` was computed (events recorded before the computation step: stated)."""
    policy_year: int | None = None
    """The policy year the notice fell in, whose cash value was refunded (basis cash_value)."""
    table_ref: str | None = None

    def apply(self, policy: Policy) -> None:
        policy.status = PolicyStatus.SURRENDERED
        policy.refund_due_fen = self.cash_value_fen


class PolicyLapsed(DomainEvent):
    """效力中止 (Art. 36): an unpaid instalment suspended the cover; reinstatement is possible."""

    TOPIC = "policy.lapsed.v1"

    due_on: date
    reminded_on: date | None = None
    payment_period_ended_at: datetime | None = None
    """The end of the Art. 36 period that ran out first (24:00 of its last day, holidays rolled over)."""
    calendar_version: str | None = None
    instalment_no: int | None = None
    """The unpaid instalment of the premium schedule (None on events recorded before schedules)."""
    amount_due_fen: Fen | None = None
    reinstatement_ends_at: datetime | None = None
    """The end of the applicant's two years to reinstate (Art. 37), the IL37-REINSTATE-2Y window's end."""
    reinstatement_calendar_version: str | None = None
    """The calendar version that rolled that end over; None: weekends only (its year not yet published)."""

    def apply(self, policy: Policy) -> None:
        policy.status = PolicyStatus.LAPSED
        policy.reinstatement_ends_at = self.reinstatement_ends_at
        policy.reinstatement_period_ended = False


class PolicyReinstated(DomainEvent):
    """复效 (Art. 37): the suspended policy was reinstated by agreement once the arrears were paid."""

    TOPIC = "policy.reinstated.v1"

    arrears_paid_fen: Fen
    agreement_ref: str = Field(min_length=1)
    instalment_no: int | None = None
    """The instalment the arrears paid (None on events recorded before schedules)."""

    def apply(self, policy: Policy) -> None:
        policy.status = PolicyStatus.IN_FORCE
        policy.arrears_paid_fen = policy.arrears_paid_fen + self.arrears_paid_fen
        policy.reinstatement_ends_at = None
        if self.instalment_no is not None:
            policy.instalments_paid = self.instalment_no
            policy.billed = None


class PolicyRenewed(DomainEvent):
    """续保: the policy was renewed for a new cover period."""

    TOPIC = "policy.renewed.v1"

    effective_from: date
    effective_to: date
    premium_fen: Fen
    terms_version: str = Field(min_length=1)

    def apply(self, policy: Policy) -> None:
        policy.status = PolicyStatus.IN_FORCE
        policy.effective_from = self.effective_from
        policy.effective_to = self.effective_to
        policy.period_premium_fen = self.premium_fen


class PolicyExpired(DomainEvent):
    """The cover period ended without renewal."""

    TOPIC = "policy.expired.v1"

    expired_on: date

    def apply(self, policy: Policy) -> None:
        policy.status = PolicyStatus.EXPIRED


# ------------------------------------------------------- 退保 surrender (Arts. 15, 47; CTPL Arts. 16–17)


class SurrenderNoticeReceived(DomainEvent):
    """退保申请: the applicant's notice ending the contract reached the insurer on ``received_on`` (the
    contract ends then, Civil Code Art. 565); the refund is due by ``refund_due_at`` (Art. 47: 30 days of
    receipt, counted like every period, Civil Code Arts. 201 and 203). ``in_cooling_off``: the notice came
    inside the cooling-off period, so the premium is refunded, less the medical check's cost."""

    TOPIC = "policy.surrender-notice-received.v1"

    received_on: date
    given_by: SurrenderParty
    in_cooling_off: bool
    refund_due_at: datetime
    calendar_id: str = Field(min_length=1)
    calendar_version: str = Field(min_length=1)
    ctpl_ground: CtplSurrenderGround | None = None
    proof_ref: str | None = None

    def apply(self, policy: Policy) -> None:
        policy.status = PolicyStatus.SURRENDER_REQUESTED
        policy.surrender_received_on = self.received_on
        policy.surrender_in_cooling_off = self.in_cooling_off
        policy.surrender_ctpl_ground = self.ctpl_ground
        policy.surrender_proof_ref = self.proof_ref
        policy.refund_due_at = self.refund_due_at


class CashValueTableRecorded(DomainEvent):
    """现金价值表: the contract's cash values, one per policy year (the first is the value during year 1),
    that a surrender after cooling-off refunds (Art. 47) and an Art. 37 termination may owe."""

    TOPIC = "policy.cash-value-table-recorded.v1"

    table_ref: str = Field(min_length=1)
    cash_values_fen: tuple[Fen, ...] = Field(min_length=1)

    def apply(self, policy: Policy) -> None:
        policy.cash_value_table_ref = self.table_ref
        policy.cash_values_fen = self.cash_values_fen


class SurrenderRefundPaid(DomainEvent):
    """退费: the surrender (or cooling-off) refund was paid; meets the Art. 47 clock."""

    TOPIC = "policy.surrender-refund-paid.v1"

    amount_fen: Fen
    paid_on: date
    payment_ref: str = Field(min_length=1)

    def apply(self, policy: Policy) -> None:
        policy.refund_paid = True


# ------------------------------------------------------------- 续期 renewal premium (Arts. 36, 37)


class PremiumScheduleAgreed(DomainEvent):
    """缴费计划: the contract's regular premium: ``instalments`` of ``instalment_fen`` every
    ``frequency_months`` months from the cover's start (the first is the premium received at issue); a
    premium unpaid ``grace_days`` after its due date (at least Art. 36's 60) suspends the cover."""

    TOPIC = "policy.premium-schedule-agreed.v1"

    frequency_months: int = Field(gt=0)
    instalment_fen: Fen = Field(gt=0)
    instalments: int = Field(ge=2)
    grace_days: int = Field(ge=GRACE_DAYS)
    first_due_on: date

    def apply(self, policy: Policy) -> None:
        policy.schedule_frequency_months = self.frequency_months
        policy.schedule_instalment_fen = self.instalment_fen
        policy.schedule_instalments = self.instalments
        policy.schedule_grace_days = self.grace_days
        policy.schedule_first_due_on = self.first_due_on
        policy.instalments_paid = 1


class RenewalPremiumBilled(DomainEvent):
    """续期应缴: instalment ``instalment_no`` falls due on ``due_on``; unpaid, the cover is suspended at
    ``suspends_at`` (24:00 of the grace period's last day, holidays rolled over: Civil Code Art. 203)."""

    TOPIC = "policy.renewal-premium-billed.v1"

    instalment_no: int = Field(ge=2)
    due_on: date
    amount_fen: Fen = Field(gt=0)
    grace_days: int = Field(gt=0)
    suspends_at: datetime
    calendar_id: str = Field(min_length=1)
    calendar_version: str = Field(min_length=1)

    def apply(self, policy: Policy) -> None:
        policy.billed = BilledInstalment(
            instalment_no=self.instalment_no,
            due_on=self.due_on,
            amount_fen=self.amount_fen,
            suspends_at=self.suspends_at,
            calendar_version=self.calendar_version,
        )


class PremiumReminderSent(DomainEvent):
    """催告 (Art. 36): the insurer demanded the unpaid instalment on ``reminded_on``; the cover is now
    suspended at ``suspends_at``, the earlier of 30 days after the demand and the grace period's end."""

    TOPIC = "policy.premium-reminder-sent.v1"

    instalment_no: int = Field(ge=2)
    reminded_on: date
    channel: str = Field(min_length=1)
    suspends_at: datetime
    calendar_id: str = Field(min_length=1)
    calendar_version: str = Field(min_length=1)

    def apply(self, policy: Policy) -> None:
        if policy.billed is not None and policy.billed.instalment_no == self.instalment_no:
            policy.billed = policy.billed.reminded(self.reminded_on, self.suspends_at)


class RenewalPremiumPaid(DomainEvent):
    """续期缴费: the instalment was paid within the payment period: the policy stays in force."""

    TOPIC = "policy.renewal-premium-paid.v1"

    instalment_no: int = Field(ge=2)
    amount_fen: Fen = Field(gt=0)
    paid_on: date
    receipt_no: str = Field(min_length=1)

    def apply(self, policy: Policy) -> None:
        policy.instalments_paid = self.instalment_no
        policy.renewal_premium_paid_fen += self.amount_fen
        policy.billed = None


class ReinstatementPeriodEnded(DomainEvent):
    """Art. 37: two years passed since the suspension without reinstatement: the insurer may terminate."""

    TOPIC = "policy.reinstatement-period-ended.v1"

    ended_at: datetime

    def apply(self, policy: Policy) -> None:
        policy.reinstatement_period_ended = True


class PolicyTerminatedAfterSuspension(DomainEvent):
    """Art. 37 ¶2: the insurer ended the contract suspended for two years; it refunds the cash value of
    the contract's table when the applicant had paid two years' premium or more."""

    TOPIC = "policy.terminated-after-suspension.v1"

    notice_ref: str = Field(min_length=1)
    cash_value_fen: Fen
    premium_years_paid: int = Field(ge=0)

    def apply(self, policy: Policy) -> None:
        policy.status = PolicyStatus.TERMINATED
        policy.refund_due_fen = self.cash_value_fen


class BilledInstalment(BaseModel):
    """The renewal instalment due and unpaid, and when its payment period ends (Art. 36)."""

    model_config = ConfigDict(frozen=True)

    instalment_no: int
    due_on: date
    amount_fen: int
    suspends_at: datetime
    calendar_version: str
    reminded_on: date | None = None

    def reminded(self, on: date, suspends_at: datetime) -> BilledInstalment:
        """The instalment after a payment demand on ``on``, with the period's end it moved to."""
        return self.model_copy(update={"reminded_on": on, "suspends_at": suspends_at})


# ---------------------------------------------------------------------------------------------- aggregate

_PRE_ISSUE = (
    PolicyStatus.SUBMITTED,
    PolicyStatus.PRELIMINARY_CHECKED,
    PolicyStatus.DATA_ENTERED,
    PolicyStatus.ENTRY_VERIFIED,
    PolicyStatus.RATED,
    PolicyStatus.DECIDED,
    PolicyStatus.DOCUMENTS_PREPARED,
    PolicyStatus.DOCUMENTS_SEALED,
)
_AFTER_DECISION = (PolicyStatus.DECIDED, PolicyStatus.DOCUMENTS_PREPARED, PolicyStatus.DOCUMENTS_SEALED)
_IN_FORCE = (PolicyStatus.ISSUED, PolicyStatus.IN_COOLING_OFF, PolicyStatus.IN_FORCE)
_CLERKS = (Role.UNDERWRITER, Role.SUPERVISOR)  # no clerk role in domain.base: underwriting staff do 录单
_SALES_OR_STAFF = (Role.SELLER, Role.UNDERWRITER, Role.SUPERVISOR)
_PERSONAL_LINES = frozenset({Line.LIFE, Line.HEALTH, Line.ACCIDENT})
# Long-term personal insurance, accident included, has a cooling-off period of at least 15 days.
_COOLING_OFF_LINES = _PERSONAL_LINES
_WINDOWED_GROUNDS = frozenset({RescissionGround.NON_DISCLOSURE_ART16, RescissionGround.AGE_ART32})
_BASIS = {
    RescissionGround.NON_DISCLOSURE_ART16: "Insurance Law Art. 16",
    RescissionGround.FRAUD_ART27: "Insurance Law Art. 27",
    RescissionGround.AGE_ART32: "Insurance Law Art. 32",
    RescissionGround.INCREASED_RISK_ART52: "Insurance Law Art. 52",
}


@dataclass(frozen=True)
class _CustomerPeriod:
    """A period the law gives the customer, in calendar days: counted by ``domain.calendar`` with the
    Civil Code Art. 203 holiday roll-over, named by the SLA rule that times it."""

    rule_id: str
    duration: int
    unit: DurationUnit = DurationUnit.CALENDAR_DAYS
    counting: CountingMethod = CountingMethod.CIVIL_CODE_201_203
    warn_at: tuple[float, ...] = ()
    extension_durations: tuple[int, ...] = ()


def customer_period_end(rule_id: str, start_day: date, days: int) -> Deadline:
    """The end of ``days`` calendar days after ``start_day`` (not counted, Civil Code Art. 201), rolled over
    a rest day or holiday (Art. 203 ¶1), at 24:00 (¶2), on the default calendar, which it records."""
    start_at = datetime.combine(start_day, time(0), tzinfo=SHANGHAI)
    deadline = compute_deadline(_CustomerPeriod(rule_id, days), start_at, default_calendar())
    assert isinstance(deadline, Deadline)  # no pauses given: never a paused clock
    return deadline


@dataclass(frozen=True)
class ReinstatementWindow:
    """The end of the applicant's two years to reinstate, and the calendar version that rolled it over
    (None: the calendar does not cover the anniversary's year yet, so only weekends were rolled over)."""

    due_at: datetime
    calendar_version: str | None


def reinstatement_period_end(suspended_at: datetime) -> ReinstatementWindow:
    """The end of the two years to reinstate (Art. 37) from the suspension at ``suspended_at``: 24:00 of
    the anniversary of the suspension's first day (Civil Code Art. 202: 29 February → 28), rolled over a
    rest day or holiday (Art. 203): the window is the applicant's, like every customer's.

    Two years ahead the holiday calendar may not be published yet: then the anniversary is rolled over
    weekends only, the version None, so the window never closes on a Saturday or Sunday [K: recount once
    that year's calendar is published].
    """
    first_day = _shanghai_date(suspended_at)
    anniversary = years_after(first_day, REINSTATEMENT_YEARS)
    calendar = default_calendar()
    if calendar.covers(anniversary):
        # Counted as the calendar days to the anniversary, so that domain.calendar rolls it over; the
        # day before the first day is the start day, not counted (Art. 201).
        start_day = first_day - timedelta(days=1)
        deadline = customer_period_end(REINSTATEMENT_RULE, start_day, (anniversary - start_day).days)
        return ReinstatementWindow(due_at=deadline.due_at, calendar_version=deadline.calendar_version)
    last_day = anniversary
    while last_day.weekday() >= 5:
        last_day += timedelta(days=1)
    return ReinstatementWindow(due_at=_end_of_day(last_day), calendar_version=None)


def allowed_rescission_grounds(line: Line) -> frozenset[RescissionGround]:
    """The grounds on which the insurer may rescind a policy of ``line`` (Art. 15; CTPL Art. 14)."""
    if line is Line.MOTOR_CTPL:
        return frozenset({RescissionGround.NON_DISCLOSURE_ART16})
    common = {RescissionGround.NON_DISCLOSURE_ART16, RescissionGround.FRAUD_ART27}
    if line in _PERSONAL_LINES:
        return frozenset(common | {RescissionGround.AGE_ART32})
    return frozenset(common | {RescissionGround.INCREASED_RISK_ART52})


class Policy(CaseAggregate):
    """A proposal and the policy it becomes: its lifecycle and the rules each step keeps."""

    TOPIC = "policy.aggregate"
    """Explicit, so that stored events and snapshots never name a Python import path."""

    class Created(CaseAggregate.Created):
        """The library's generic creation event: unused here, but it must carry a topic too."""

        TOPIC = "policy.library-created"

    status: PolicyStatus
    proposal_no: str
    product_code: str
    line: Line
    customer_id: str
    seller_id: str
    sum_insured_fen: int
    term_months: int
    quoted_premium_fen: int
    exclusion_clause_ids: frozenset[str]
    explained_clause_ids: frozenset[str]
    proxy_signature_detected: bool
    callback_check_required: bool
    disclosure_recorded: bool
    data_enterer_ids: frozenset[str]
    risk_class: str | None
    decision: UnderwritingDecision | None
    offer_accepted: bool
    documents_preparer_ids: frozenset[str]
    premium_received_fen: int
    policy_no: str | None
    formed_at: datetime | None
    issued_on: date | None
    effective_from: date | None
    effective_to: date | None
    cooling_off_ends_on: date | None
    grounds_known_at: dict[RescissionGround, datetime]
    # Class defaults, not only __init__: a snapshot taken before these facts existed restores without them.
    cooling_off_ends_at: datetime | None = None
    cure_periods: tuple[tuple[RescissionGround, datetime], ...] = ()
    """Per ground with a CTPL written notice on record, the end of the applicant's 5 days (latest notice)."""
    cured_grounds: frozenset[RescissionGround] = frozenset()
    arrears_paid_fen: int = 0
    # 退保: the notice, the refund computed and whether it was paid.
    surrender_received_on: date | None = None
    surrender_in_cooling_off: bool = False
    surrender_ctpl_ground: CtplSurrenderGround | None = None
    surrender_proof_ref: str | None = None
    refund_due_at: datetime | None = None
    refund_due_fen: int | None = None
    refund_paid: bool = False
    cover_started_on: date | None = None
    period_premium_fen: int = 0
    """The premium of the current cover period: the quoted one at issue, a renewal's after it."""
    cash_value_table_ref: str | None = None
    cash_values_fen: tuple[int, ...] = ()
    # 续期: the premium schedule, the instalment billed and unpaid, the Art. 37 window.
    schedule_frequency_months: int | None = None
    schedule_instalment_fen: int = 0
    schedule_instalments: int = 0
    schedule_grace_days: int = GRACE_DAYS
    schedule_first_due_on: date | None = None
    instalments_paid: int = 0
    renewal_premium_paid_fen: int = 0
    billed: BilledInstalment | None = None
    reinstatement_ends_at: datetime | None = None
    reinstatement_period_ended: bool = False

    def __init__(self) -> None:
        # Called by the library when ProposalSubmitted is replayed; its apply method then sets the facts.
        self.explained_clause_ids = frozenset()
        self.proxy_signature_detected = False
        self.callback_check_required = False
        self.disclosure_recorded = False
        # Every person who entered or prepared counts: a correction by a second person does not make the
        # first one fit to verify.
        self.data_enterer_ids = frozenset()
        self.risk_class = None
        self.decision = None
        self.offer_accepted = False
        self.documents_preparer_ids = frozenset()
        self.premium_received_fen = 0
        self.policy_no = None
        self.formed_at = None
        self.issued_on = None
        self.effective_from = None
        self.effective_to = None
        self.cooling_off_ends_on = None
        self.cooling_off_ends_at = None
        self.grounds_known_at = {}
        self.cure_periods = ()
        self.cured_grounds = frozenset()
        self.arrears_paid_fen = 0
        self.surrender_received_on = None
        self.surrender_in_cooling_off = False
        self.surrender_ctpl_ground = None
        self.surrender_proof_ref = None
        self.refund_due_at = None
        self.refund_due_fen = None
        self.refund_paid = False
        self.cover_started_on = None
        self.period_premium_fen = 0
        self.cash_value_table_ref = None
        self.cash_values_fen = ()
        self.schedule_frequency_months = None
        self.schedule_instalment_fen = 0
        self.schedule_instalments = 0
        self.schedule_grace_days = GRACE_DAYS
        self.schedule_first_due_on = None
        self.instalments_paid = 0
        self.renewal_premium_paid_fen = 0
        self.billed = None
        self.reinstatement_ends_at = None
        self.reinstatement_period_ended = False

    # ------------------------------------------------------------------------------------------ queries

    @property
    def ctpl(self) -> bool:
        """Whether this is compulsory motor third-party liability cover (交强险)."""
        return self.line is Line.MOTOR_CTPL

    @property
    def exclusions_explained(self) -> bool:
        """Whether every exclusion clause of the product has been explained and acknowledged."""
        return self.exclusion_clause_ids <= self.explained_clause_ids

    @property
    def exclusions_proven(self) -> bool:
        """Whether the exclusions evidence would hold: explained, and no proxy signature on the file."""
        # A proxy signature taints the applicant's "exclusions explained" declaration whenever it is found,
        # before or after the explanation was recorded, so this is derived rather than stored.
        return self.exclusions_explained and not self.proxy_signature_detected

    @property
    def cooling_off_applies(self) -> bool:
        """Whether receipt starts a cooling-off period: life, health or accident cover for over one year."""
        return self.line in _COOLING_OFF_LINES and self.term_months > 12

    @property
    def cooling_off_end(self) -> datetime | None:
        """The instant the cooling-off period ends, as the receipt recorded it (the timer ends there too).

        A receipt recorded before the instant was stored gave only the last day (counted without the
        holiday roll-over): its end is 24:00 of that day, the old reading.
        """
        if self.cooling_off_ends_at is not None:
            return self.cooling_off_ends_at
        if self.cooling_off_ends_on is None:
            return None
        return _end_of_day(self.cooling_off_ends_on)

    def payment_period_over(self, at: datetime) -> bool:
        """Whether an instalment is unpaid past its Art. 36 period at ``at``: ``lapse`` would be recorded."""
        return (
            self.status in _IN_FORCE
            and self.line in _PERSONAL_LINES
            and self.billed is not None
            and at >= self.billed.suspends_at
        )

    def reinstatement_period_over(self, at: datetime) -> bool:
        """Whether the two years to reinstate have run out at ``at`` and are not yet recorded as over."""
        end = self.reinstatement_ends_at
        return (
            self.status is PolicyStatus.LAPSED
            and not self.reinstatement_period_ended
            and end is not None
            and at >= end
        )

    def cure_end(self, ground: RescissionGround) -> datetime | None:
        """When the applicant's 5 days to disclose ``ground`` end (CTPL Art. 14), if notified of it."""
        return dict(self.cure_periods).get(ground)

    @property
    def premium_paid_fen(self) -> int:
        """The premium the policy records as paid: the first premium, the renewal instalments and any
        arrears paid to reinstate."""
        return self.premium_received_fen + self.renewal_premium_paid_fen + self.arrears_paid_fen

    def instalment_due_on(self, instalment_no: int) -> date:
        """The due date of instalment ``instalment_no`` (1 is the first) of the premium schedule: every
        ``frequency_months`` from the first due date, on the month's last day where the day is missing
        (Civil Code Art. 202)."""
        assert self.schedule_first_due_on is not None
        assert self.schedule_frequency_months is not None
        return add_months(self.schedule_first_due_on, (instalment_no - 1) * self.schedule_frequency_months)

    def policy_year_on(self, day: date) -> int:
        """The policy year ``day`` falls in: 1 from the cover's start to the day before its anniversary."""
        assert self.effective_from is not None
        start = self.issue_start
        years = day.year - start.year - ((day.month, day.day) < (start.month, start.day))
        return max(years, 0) + 1

    @property
    def issue_start(self) -> date:
        """The first day of cover: the start of the issued period (a renewal moves ``effective_from``)."""
        start = self.cover_started_on or self.effective_from
        assert start is not None  # only asked of an issued policy
        return start

    def cash_value_in_year(self, policy_year: int) -> int:
        """The contract table's cash value for ``policy_year`` (the last entry for later years)."""
        if not self.cash_values_fen:
            raise CashValueTableMissingError(
                f"policy {self.policy_no} has no cash value table on record: record the contract's table"
            )
        return self.cash_values_fen[min(policy_year, len(self.cash_values_fen)) - 1]

    def cover(self) -> PolicyCover:
        """The policy's cover as a claim checks it; a proposal that was never issued has none."""
        if self.policy_no is None or self.effective_from is None or self.effective_to is None:
            raise PolicyNotInForceError(f"proposal {self.proposal_no} has not been issued")
        return PolicyCover(
            policy_id=self.id,
            policy_no=self.policy_no,
            customer_id=self.customer_id,
            in_force=self.status in _IN_FORCE,
            effective_from=self.effective_from,
            effective_to=self.effective_to,
            sum_insured_fen=self.sum_insured_fen,
            ctpl=self.ctpl,
        )

    # ------------------------------------------------------------------------------------------ proposal

    @classmethod
    @taken_by("submit proposal", Role.SELLER, Role.SUPERVISOR)
    def submit_proposal(
        cls,
        ctx: Context,
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
        seller: SellerRegistration,
        proposed_on: date,
        channel: str,
        linked_proposal_id: UUID | None = None,
    ) -> Policy:
        """Submit a proposal (投保) through a seller registered and authorised for the product that day."""
        if ctx.actor.role is Role.SELLER and ctx.actor.id != seller.seller_id:
            raise SellerNotRegisteredError(
                f"{ctx.actor.id} may not submit under the registration {seller.registration_no} "
                f"of {seller.seller_id}"
            )
        if not seller.authorises(product_code, proposed_on):
            raise SellerNotRegisteredError(
                f"registration {seller.registration_no} of {seller.seller_id} is not valid for "
                f"{product_code} on {proposed_on}"
            )
        if line is Line.MOTOR_CTPL and linked_proposal_id is not None:
            raise CtplBundlingError(
                f"a CTPL proposal may not be linked to proposal {linked_proposal_id} (CTPL Art. 13)"
            )
        return cls._open(
            ProposalSubmitted,
            policy_id,
            ctx,
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
            seller_id=seller.seller_id,
            seller_registration_no=seller.registration_no,
            channel=channel,
            proposed_on=proposed_on,
            linked_proposal_id=linked_proposal_id,
        )

    @taken_by("record proxy signature", Role.UNDERWRITER, Role.CALLBACK_AGENT, Role.SUPERVISOR, Role.SYSTEM)
    def record_proxy_signature(self, ctx: Context, *, document: str, evidence: str) -> None:
        """Record that a signature was made on the applicant's behalf (代签): a fact, never a refusal."""
        self._record(ProxySignatureDetected, ctx, document=document, evidence=evidence)

    @taken_by("check proposal", *_CLERKS)
    def check_proposal(self, ctx: Context, *, missing_items: tuple[str, ...] = ()) -> None:
        """Check the proposal form (初审); it passes only when nothing is missing."""
        require_status("check proposal", self.status, PolicyStatus.SUBMITTED)
        self._record(ProposalPreliminaryChecked, ctx, missing_items=missing_items, passed=not missing_items)

    @taken_by("enter proposal data", *_CLERKS)
    def enter_data(self, ctx: Context, *, form_ref: str) -> None:
        """Enter the proposal's data (录入) after a passed preliminary check."""
        require_status(
            "enter proposal data", self.status, PolicyStatus.PRELIMINARY_CHECKED, PolicyStatus.DATA_ENTERED
        )
        self._record(ProposalDataEntered, ctx, form_ref=form_ref)

    @taken_by("verify proposal entry", *_CLERKS)
    def verify_entry(self, ctx: Context) -> None:
        """Verify the entered data (复核); the verifier is never the person who entered it."""
        require_status("verify proposal entry", self.status, PolicyStatus.DATA_ENTERED)
        if ctx.actor.id in self.data_enterer_ids:
            raise ProposalEntryVerifierIsEntererError(
                f"{ctx.actor.id} entered this proposal and may not verify it"
            )
        self._record(ProposalEntryVerified, ctx)

    @taken_by("record disclosure", *_SALES_OR_STAFF)
    def record_disclosure(
        self, ctx: Context, *, questions: tuple[str, ...], answers: tuple[str, ...], answered_by: str
    ) -> None:
        """Record the applicant's answers to the insurer's questions (投保告知), one answer per question."""
        require_status("record disclosure", self.status, *_PRE_ISSUE)
        if len(answers) != len(questions):
            raise DisclosureIncompleteError(f"{len(questions)} questions asked but {len(answers)} answered")
        self._record(DisclosureRecorded, ctx, questions=questions, answers=answers, answered_by=answered_by)

    @taken_by("record exclusions explained", *_SALES_OR_STAFF)
    def record_exclusions_explained(
        self,
        ctx: Context,
        *,
        clause_ids: tuple[str, ...],
        method: ExplanationMethod,
        evidence_ref: str,
        acknowledged_by: str,
    ) -> None:
        """Record that exclusion clauses were explained to the applicant and acknowledged (Art. 17)."""
        require_status("record exclusions explained", self.status, *_PRE_ISSUE)
        self._record(
            ExclusionsExplained,
            ctx,
            clause_ids=clause_ids,
            method=method,
            evidence_ref=evidence_ref,
            acknowledged_by=acknowledged_by,
        )

    # ------------------------------------------------------------------------------------------ underwriting

    @taken_by("rate risk", Role.UNDERWRITER, Role.SUPERVISOR)
    def rate_risk(self, ctx: Context, *, risk_class: str, factors: tuple[str, ...] = ()) -> None:
        """Rate and classify the risk (核保) once the entered data is verified."""
        require_status("rate risk", self.status, PolicyStatus.ENTRY_VERIFIED, PolicyStatus.RATED)
        self._record(RiskRated, ctx, risk_class=risk_class, factors=factors)

    @taken_by("decide underwriting", Role.UNDERWRITER, Role.SUPERVISOR)
    def decide_underwriting(
        self,
        ctx: Context,
        *,
        decision: UnderwritingDecision,
        reasons: tuple[str, ...] = (),
        conditions: tuple[str, ...] = (),
    ) -> None:
        """Decide on the proposal (承保决策); never by its seller, never declining or conditioning CTPL."""
        require_status("decide underwriting", self.status, PolicyStatus.RATED)
        if ctx.actor.id == self.seller_id:
            raise UnderwriterIsSellerError(f"{ctx.actor.id} sold this proposal and may not underwrite it")
        if self.ctpl and decision is UnderwritingDecision.DECLINED:
            raise CompulsoryMotorCannotBeDeclinedError("CTPL cover may not be declined (CTPL Art. 10)")
        if self.ctpl and decision is UnderwritingDecision.CONDITIONAL:
            raise CtplConditionalOfferError("CTPL cover may not carry extra conditions (CTPL Art. 13)")
        needs_reasons = (UnderwritingDecision.DECLINED, UnderwritingDecision.CONDITIONAL)
        if decision in needs_reasons and not reasons:
            raise DecisionWithoutReasonsError(f"a {decision.value} decision must state its reasons")
        if decision is UnderwritingDecision.CONDITIONAL and not conditions:
            raise ConditionalOfferWithoutConditionsError("a conditional decision must state its conditions")
        self._record(UnderwritingDecided, ctx, decision=decision, reasons=reasons, conditions=conditions)

    @taken_by("accept conditional offer", *_SALES_OR_STAFF)
    def accept_conditional_offer(self, ctx: Context, *, accepted_by: str, evidence_ref: str) -> None:
        """Record the applicant's acceptance of the conditional offer."""
        require_status("accept conditional offer", self.status, *_AFTER_DECISION)
        self._require_open_conditional_offer("accept conditional offer")
        self._record(ConditionalOfferAccepted, ctx, accepted_by=accepted_by, evidence_ref=evidence_ref)

    @taken_by("reject conditional offer", *_SALES_OR_STAFF)
    def reject_conditional_offer(self, ctx: Context, *, reason: str) -> None:
        """Record the applicant's rejection of the conditional offer, which ends the proposal."""
        require_status("reject conditional offer", self.status, *_AFTER_DECISION)
        self._require_open_conditional_offer("reject conditional offer")
        self._record(ConditionalOfferRejected, ctx, reason=reason)

    def _require_open_conditional_offer(self, command: str) -> None:
        if self.decision is not UnderwritingDecision.CONDITIONAL or self.offer_accepted:
            raise InvalidTransitionError(command, f"{self.status.value} without an open conditional offer")

    @taken_by("withdraw proposal", *_SALES_OR_STAFF)
    def withdraw_proposal(self, ctx: Context, *, requested_by: WithdrawalParty, reason: str) -> None:
        """Withdraw the proposal before issue; a CTPL proposal only at the applicant's request."""
        require_status("withdraw proposal", self.status, *_PRE_ISSUE)
        if self.ctpl and requested_by is not WithdrawalParty.APPLICANT:
            raise CtplWithdrawalByInsurerError(
                "the insurer may not withdraw a CTPL proposal: only the applicant can (CTPL Art. 10)"
            )
        self._record(ProposalWithdrawn, ctx, requested_by=requested_by, reason=reason)

    # ------------------------------------------------------------------------------------------ issue

    @taken_by("prepare policy documents", *_CLERKS)
    def prepare_documents(
        self, ctx: Context, *, documents: tuple[str, ...], template_versions: tuple[str, ...] = ()
    ) -> None:
        """Prepare the policy documents (缮制单证) after the decision."""
        require_status(
            "prepare policy documents", self.status, PolicyStatus.DECIDED, PolicyStatus.DOCUMENTS_PREPARED
        )
        self._record(PolicyDocumentsPrepared, ctx, documents=documents, template_versions=template_versions)

    @taken_by("seal policy documents", *_CLERKS)
    def seal_documents(self, ctx: Context, *, seal_ref: str) -> None:
        """Check and seal the policy documents (复核签章); the sealer is never the preparer."""
        require_status("seal policy documents", self.status, PolicyStatus.DOCUMENTS_PREPARED)
        if ctx.actor.id in self.documents_preparer_ids:
            raise DocumentsSealerIsPreparerError(
                f"{ctx.actor.id} prepared these documents and may not seal them"
            )
        self._record(PolicyDocumentsSealed, ctx, seal_ref=seal_ref)

    @taken_by("receive premium", Role.UNDERWRITER, Role.SUPERVISOR, Role.SYSTEM)
    def receive_premium(self, ctx: Context, *, amount_fen: int, method: str, receipt_no: str) -> None:
        """Receive the first premium (收取保费), before or after the decision: exactly the quoted amount."""
        require_status("receive premium", self.status, *_PRE_ISSUE)
        if self.premium_received_fen:
            raise PremiumAlreadyReceivedError(
                f"the premium of {self.premium_received_fen} fen was already received"
            )
        if amount_fen != self.quoted_premium_fen:
            message = f"received {amount_fen} fen but the quoted premium is {self.quoted_premium_fen} fen"
            if self.ctpl:
                raise CtplPremiumNotPaidInFullError(f"{message}: CTPL is paid in full at once (CTPL Art. 12)")
            raise PremiumAmountMismatchError(message)
        self._record(PremiumReceived, ctx, amount_fen=amount_fen, method=method, receipt_no=receipt_no)

    @taken_by("issue policy", Role.UNDERWRITER, Role.SUPERVISOR, Role.SYSTEM)
    def issue(
        self, ctx: Context, *, policy_no: str, effective_from: date, effective_to: date, terms_version: str
    ) -> None:
        """Issue the policy (签发) once all is in: decision, sealed documents, exclusions and premium."""
        if self.decision is UnderwritingDecision.DECLINED:
            raise DeclinedProposalCannotBeIssuedError(f"proposal {self.proposal_no} was declined")
        # Sealing follows the verified entry and the decision, so this one state check covers all three.
        require_status("issue policy", self.status, PolicyStatus.DOCUMENTS_SEALED)
        if self.decision is UnderwritingDecision.CONDITIONAL and not self.offer_accepted:
            raise ConditionalOfferNotAcceptedError("the applicant has not accepted the conditional offer")
        if not self.exclusions_explained:
            missing = ", ".join(sorted(self.exclusion_clause_ids - self.explained_clause_ids))
            raise ExclusionsNotExplainedError(f"exclusion clauses not explained and acknowledged: {missing}")
        if self.premium_received_fen != self.quoted_premium_fen:
            message = f"received {self.premium_received_fen} of {self.quoted_premium_fen} fen"
            if self.ctpl:
                raise CtplPremiumNotPaidInFullError(f"{message}: CTPL is paid in full before issue")
            raise PremiumNotReceivedError(message)
        if effective_to < effective_from:
            raise InvalidCoverPeriodError(f"cover from {effective_from} cannot end on {effective_to}")
        self._record(
            PolicyIssued,
            ctx,
            policy_no=policy_no,
            issued_on=_today(ctx),
            effective_from=effective_from,
            effective_to=effective_to,
            terms_version=terms_version,
        )

    @taken_by("acknowledge receipt", *_SALES_OR_STAFF, Role.SYSTEM)
    def acknowledge_receipt(
        self, ctx: Context, *, received_on: date, method: str, cooling_off_days: int = MIN_COOLING_OFF_DAYS
    ) -> None:
        """Record the applicant's receipt (回执); personal cover over a year starts cooling-off that day.

        The period is the contract's (at least 15 days), counted by ``domain.calendar``: the day of receipt
        is not counted (Civil Code Art. 201) and a last day that is a rest day or holiday moves to the next
        working day (Art. 203). Its end is recorded, so the guard and the timer read the same instant.
        """
        require_status("acknowledge receipt", self.status, PolicyStatus.ISSUED)
        if not self.cooling_off_applies:
            self._record(PolicyReceiptAcknowledged, ctx, received_on=received_on, method=method)
            return
        if cooling_off_days < MIN_COOLING_OFF_DAYS:
            raise CoolingOffTooShortError(
                f"a cooling-off period of {cooling_off_days} days is shorter than {MIN_COOLING_OFF_DAYS}"
            )
        window = customer_period_end(COOLING_OFF_RULE, received_on, cooling_off_days)
        self._record(
            PolicyReceiptAcknowledged,
            ctx,
            received_on=received_on,
            method=method,
            cooling_off_days=cooling_off_days,
            cooling_off_ends_on=window.last_day,
            cooling_off_ends_at=window.due_at,
            calendar_id=window.calendar_id,
            calendar_version=window.calendar_version,
        )

    # ------------------------------------------------------------------------------------------ in force

    @taken_by("end cooling-off", Role.SYSTEM)
    def end_cooling_off(self, ctx: Context) -> None:
        """Record the end of the cooling-off period (the system's timer), once its recorded end has come."""
        require_status("end cooling-off", self.status, PolicyStatus.IN_COOLING_OFF)
        end = self.cooling_off_end
        # IN_COOLING_OFF is entered only by a receipt that recorded the period's end.
        assert end is not None
        assert self.cooling_off_ends_on is not None
        if ctx.recorded_at < end:
            raise CoolingOffNotOverError(f"the cooling-off period runs until {end.isoformat()}")
        self._record(CoolingOffEnded, ctx, ended_on=self.cooling_off_ends_on)

    @taken_by("cancel in cooling-off", Role.UNDERWRITER, Role.SUPERVISOR)
    def cancel_in_cooling_off(self, ctx: Context, *, requested_on: date, fee_fen: int = 0) -> None:
        """Cancel on a request made inside the cooling-off period, refunding the premium less a fee."""
        # IN_FORCE too: a request made in time but processed after CoolingOffEnded is still honoured.
        require_status(
            "cancel in cooling-off", self.status, PolicyStatus.IN_COOLING_OFF, PolicyStatus.IN_FORCE
        )
        _require_not_future_dated("cancellation request", requested_on, ctx)
        end = self.cooling_off_end
        if end is None:
            raise CoolingOffOverError(
                f"policy {self.policy_no} has no cooling-off period: surrender it instead"
            )
        if not _within(requested_on, end):
            raise CoolingOffOverError(
                f"requested on {requested_on}, after the cooling-off period ended at {end.isoformat()}"
            )
        if fee_fen > min(COOLING_OFF_FEE_CAP_FEN, self.premium_received_fen):
            raise CoolingOffFeeTooHighError(f"a fee of {fee_fen} fen exceeds {COOLING_OFF_FEE_CAP_FEN} fen")
        self._record(
            PolicyCancelledInCoolingOff,
            ctx,
            requested_on=requested_on,
            refund_fen=self.premium_received_fen - fee_fen,
            fee_fen=fee_fen,
        )

    @taken_by("apply endorsement", Role.UNDERWRITER, Role.SUPERVISOR)
    def apply_endorsement(
        self,
        ctx: Context,
        *,
        endorsement_no: str,
        change_type: str,
        description: str,
        effective_on: date,
        premium_delta_fen: int = 0,
        sum_insured_fen: int | None = None,
        beneficiary_names: tuple[str, ...] | None = None,
        insured_consent_ref: str | None = None,
        beneficiary_changed_by: BeneficiaryChangedBy = BeneficiaryChangedBy.APPLICANT,
    ) -> None:
        """Apply a change to the policy (批改 / 保全).

        Art. 41: the insured or the applicant may change the beneficiary; the applicant only with the
        insured's consent. Who changes it defaults to the applicant, the reading that never lets a change
        through without a consent the law asks for.
        """
        require_status("apply endorsement", self.status, *_IN_FORCE)
        changes_beneficiary = beneficiary_names is not None
        if (
            changes_beneficiary
            and beneficiary_changed_by is BeneficiaryChangedBy.APPLICANT
            and not insured_consent_ref
        ):
            raise BeneficiaryChangeWithoutConsentError(
                "the applicant changes the beneficiaries only with the insured's consent (Art. 41); "
                "the insured may change them himself (beneficiary_changed_by=insured)"
            )
        self._record(
            EndorsementApplied,
            ctx,
            endorsement_no=endorsement_no,
            change_type=change_type,
            description=description,
            effective_on=effective_on,
            premium_delta_fen=premium_delta_fen,
            sum_insured_fen=sum_insured_fen,
            beneficiary_names=beneficiary_names,
            insured_consent_ref=insured_consent_ref,
            beneficiary_changed_by=beneficiary_changed_by if changes_beneficiary else None,
        )

    @taken_by(
        "record rescission ground",
        Role.UNDERWRITER,
        Role.CLAIMS_HANDLER,
        Role.CLAIM_REVIEWER,
        Role.SUPERVISOR,
    )
    def record_rescission_ground(
        self, ctx: Context, *, ground: RescissionGround, known_at: datetime, evidence: str
    ) -> None:
        """Record that the insurer learnt of a rescission ground at ``known_at`` (dates Art. 16's window).

        ``known_at`` is never later than the recording: a later date would open the 30 days later.
        """
        require_status("record rescission ground", self.status, *_IN_FORCE, PolicyStatus.LAPSED)
        if known_at > ctx.recorded_at:
            raise GroundKnownInFutureError(
                f"known at {known_at.isoformat()}, after it is recorded at {ctx.recorded_at.isoformat()}"
            )
        self._record(
            RescissionGroundDiscovered,
            ctx,
            occurred_at=known_at,
            ground=ground,
            known_at=known_at,
            evidence=evidence,
        )

    @taken_by("send rescission notice", Role.UNDERWRITER, Role.SUPERVISOR)
    def send_rescission_notice(
        self, ctx: Context, *, ground: RescissionGround, notice_ref: str, received_on: date
    ) -> None:
        """Record the written notice (CTPL Art. 14) the applicant received on ``received_on``: the 5 days
        to disclose start, counted by ``domain.calendar`` with the holiday roll-over (Civil Code Art. 203).
        """
        require_status("send rescission notice", self.status, *_IN_FORCE, PolicyStatus.LAPSED)
        if not self.ctpl:
            raise InvalidTransitionError("send rescission notice", f"{self.line.value} cover (CTPL only)")
        if ground not in allowed_rescission_grounds(self.line):
            raise RescissionGroundNotAllowedError(
                f"{ground.value} is not a ground to rescind a {self.line.value} policy"
            )
        if ground not in self.grounds_known_at:
            raise RescissionGroundNotDiscoveredError(f"no discovery of {ground.value} is on record")
        _require_not_future_dated("notice receipt", received_on, ctx)
        window = customer_period_end(CTPL_CURE_RULE, received_on, CTPL_CURE_DAYS)
        self._record(
            RescissionNoticeSent,
            ctx,
            ground=ground,
            notice_ref=notice_ref,
            received_on=received_on,
            cure_days=CTPL_CURE_DAYS,
            cure_ends_at=window.due_at,
            calendar_id=window.calendar_id,
            calendar_version=window.calendar_version,
        )

    @taken_by("record non-disclosure cure", Role.UNDERWRITER, Role.SUPERVISOR)
    def record_non_disclosure_cure(
        self, ctx: Context, *, ground: RescissionGround, disclosed_on: date, evidence_ref: str
    ) -> None:
        """Record that the applicant disclosed within the cure period (CTPL Art. 14): no rescission then."""
        require_status("record non-disclosure cure", self.status, *_IN_FORCE, PolicyStatus.LAPSED)
        cure_ends_at = self.cure_end(ground)
        if cure_ends_at is None:
            raise CtplRescissionWithoutNoticeError(f"no written notice of {ground.value} is on record")
        _require_not_future_dated("disclosure", disclosed_on, ctx)
        if not _within(disclosed_on, cure_ends_at):
            raise CureOutOfTimeError(
                f"disclosed on {disclosed_on}, after the cure period ended at {cure_ends_at.isoformat()}"
            )
        self._record(
            NonDisclosureCured, ctx, ground=ground, disclosed_on=disclosed_on, evidence_ref=evidence_ref
        )

    @taken_by("rescind policy", Role.UNDERWRITER, Role.SUPERVISOR)
    def rescind(
        self,
        ctx: Context,
        *,
        ground: RescissionGround,
        refund_fen: int,
        notice_ref: str,
        fault: NonDisclosureFault | None = None,
    ) -> None:
        """Rescind the policy (解除) on an allowed, recorded ground, within the Art. 16 windows.

        For non-disclosure the applicant's fault decides the refund (Art. 16 ¶4–5): none when deliberate,
        the premium paid when grossly negligent. CTPL is rescinded only after a written notice and the
        applicant's 5 days to disclose, and never once the applicant has disclosed (CTPL Art. 14).
        """
        require_status("rescind policy", self.status, *_IN_FORCE, PolicyStatus.LAPSED)
        if ground not in allowed_rescission_grounds(self.line):
            raise RescissionGroundNotAllowedError(
                f"{ground.value} is not a ground to rescind a {self.line.value} policy"
            )
        known_at = self.grounds_known_at.get(ground)
        if known_at is None:
            raise RescissionGroundNotDiscoveredError(f"no discovery of {ground.value} is on record")
        if ground in _WINDOWED_GROUNDS:
            self._check_rescission_window(ctx, known_at)
        if self.ctpl:
            self._check_ctpl_cure_period(ctx, ground)
        if ground is RescissionGround.NON_DISCLOSURE_ART16:
            self._check_refund_for_fault(fault, refund_fen)
        self._record(
            PolicyRescinded,
            ctx,
            ground=ground,
            basis=_BASIS[ground],
            refund_fen=refund_fen,
            notice_ref=notice_ref,
            fault=fault if ground is RescissionGround.NON_DISCLOSURE_ART16 else None,
        )

    def _check_ctpl_cure_period(self, ctx: Context, ground: RescissionGround) -> None:
        # CTPL Art. 14: written notice first; the applicant's 5 days (rolled over a holiday, Civil Code
        # Art. 203: the period is the applicant's) must have run out; a disclosure in time bars rescission.
        cure_ends_at = self.cure_end(ground)
        if cure_ends_at is None:
            raise CtplRescissionWithoutNoticeError(
                f"no written notice of {ground.value} is on record: notify the applicant first"
            )
        if ground in self.cured_grounds:
            raise CtplNonDisclosureCuredError(f"the applicant disclosed {ground.value} within the 5 days")
        if ctx.recorded_at < cure_ends_at:
            raise CtplCurePeriodNotOverError(f"the applicant may disclose until {cure_ends_at.isoformat()}")

    def _check_refund_for_fault(self, fault: NonDisclosureFault | None, refund_fen: int) -> None:
        if fault is None:
            raise NonDisclosureFaultNotStatedError(
                "state whether the non-disclosure was deliberate or grossly negligent (Art. 16 ¶4–5)"
            )
        if fault is NonDisclosureFault.DELIBERATE and refund_fen != 0:
            raise DeliberateNonDisclosureRefundError(
                f"a refund of {refund_fen} fen: after deliberate non-disclosure no premium is refunded "
                "(Art. 16 ¶4); a refund means the fault was gross negligence"
            )
        if fault is NonDisclosureFault.GROSS_NEGLIGENCE and refund_fen < self.premium_paid_fen:
            raise NegligentNonDisclosureRefundTooLowError(
                f"a refund of {refund_fen} fen is less than the {self.premium_paid_fen} fen of premium "
                "paid (Art. 16 ¶5)"
            )

    def _check_rescission_window(self, ctx: Context, known_at: datetime) -> None:
        # Art. 16 ¶3 and ¶6 (Art. 32 applies them to age), counted from formation (Art. 13: the insurer's
        # acceptance), the instant the IL16-INCONTESTABLE-2Y timer of domain.sla also starts from.
        assert self.formed_at is not None  # an issued policy was accepted first
        if known_at < self.formed_at:
            raise InsurerKnewAtFormationError(
                f"the insurer knew of the ground at {known_at.isoformat()}, before the contract was formed "
                f"at {self.formed_at.isoformat()}"
            )
        # Two years exactly, to the anniversary instant in Shanghai: the conservative reading that the
        # timer uses too, ending before the Civil-Code 24:00 end of that day.
        incontestable_at = _add_years(self.formed_at.astimezone(SHANGHAI), INCONTESTABLE_YEARS)
        if ctx.recorded_at >= incontestable_at:
            raise IncontestablePolicyError(f"incontestable since {incontestable_at.isoformat()}")
        # Thirty calendar days in Shanghai, the day of learning not counted (Civil Code Art. 201). No
        # holiday roll-over (Art. 203): the insurer's window only ever closes earlier, never later.
        last_day = _shanghai_date(known_at) + timedelta(days=RESCISSION_DAYS)
        if _today(ctx) > last_day:
            raise RescissionTooLateError(f"the right to rescind lapsed at the end of {last_day}")

    # ------------------------------------------------------------------------------------------ 退保

    @taken_by("record cash value table", Role.UNDERWRITER, Role.SUPERVISOR)
    def record_cash_value_table(
        self, ctx: Context, *, table_ref: str, cash_values_fen: tuple[int, ...]
    ) -> None:
        """Record the contract's cash value table (现金价值表), one value per policy year (Art. 47)."""
        require_status("record cash value table", self.status, *_IN_FORCE, PolicyStatus.LAPSED)
        self._record(CashValueTableRecorded, ctx, table_ref=table_ref, cash_values_fen=cash_values_fen)

    @taken_by("receive surrender notice", Role.UNDERWRITER, Role.SUPERVISOR)
    def receive_surrender_notice(
        self,
        ctx: Context,
        *,
        received_on: date,
        given_by: SurrenderParty = SurrenderParty.APPLICANT,
        ctpl_ground: CtplSurrenderGround | None = None,
        proof_ref: str | None = None,
    ) -> None:
        """Receive the applicant's notice ending the contract (退保, Art. 15): the refund falls due 30 days
        after its receipt (Art. 47), counted with the holiday roll-over (Civil Code Art. 203) like every
        period the house counts. A notice inside the cooling-off period refunds the premium; CTPL is ended
        only on a CTPL Art. 16 ground, proven by its document."""
        require_status("receive surrender notice", self.status, *_IN_FORCE, PolicyStatus.LAPSED)
        if given_by is not SurrenderParty.APPLICANT:
            raise SurrenderByApplicantOnlyError(
                f"a notice from the {given_by.value} does not end the contract: only the applicant may "
                "(Art. 15)"
            )
        self._check_surrender_request(ctx, received_on, ctpl_ground, proof_ref)
        cooling_off_end = self.cooling_off_end
        in_cooling_off = cooling_off_end is not None and _within(received_on, cooling_off_end)
        window = customer_period_end(SURRENDER_REFUND_RULE, received_on, SURRENDER_REFUND_DAYS)
        self._record(
            SurrenderNoticeReceived,
            ctx,
            occurred_at=datetime.combine(received_on, time(0), tzinfo=SHANGHAI),
            received_on=received_on,
            given_by=given_by,
            in_cooling_off=in_cooling_off,
            refund_due_at=window.due_at,
            calendar_id=window.calendar_id,
            calendar_version=window.calendar_version,
            ctpl_ground=ctpl_ground if self.ctpl else None,
            proof_ref=proof_ref,
        )

    def _check_surrender_request(
        self, ctx: Context, day: date, ctpl_ground: CtplSurrenderGround | None, proof_ref: str | None
    ) -> None:
        _require_not_future_dated("surrender request", day, ctx)
        assert self.issued_on is not None  # the status check implies issue
        if day < self.issued_on:
            raise SurrenderDatedBeforeIssueError(
                f"requested on {day}, before the policy was issued on {self.issued_on}"
            )
        if self.ctpl:
            if ctpl_ground is None:
                raise CtplSurrenderGroundRequiredError(
                    "CTPL is surrendered only when the vehicle is deregistered, laid up or certified lost "
                    "by the police (CTPL Art. 16)"
                )
            if not proof_ref:
                raise CtplSurrenderProofMissingError(
                    f"{ctpl_ground.value} is proven by {CTPL_SURRENDER_PROOF[ctpl_ground]}"
                )

    @taken_by("compute surrender value", Role.UNDERWRITER, Role.SUPERVISOR)
    def compute_surrender_value(self, ctx: Context, *, medical_check_fen: int = 0) -> None:
        """Compute the refund the notice is owed and end the contract on its day.

        Inside cooling-off: the premium paid less the medical check's cost, if any (a cooling-off
        cancellation). After it: personal cover refunds the cash value of the contract's table for the
        policy year of the notice (Art. 47); property and motor cover, CTPL included, the premium of the
        days left after the notice's day, pro rata (Art. 54; CTPL Art. 17).
        """
        require_status("compute surrender value", self.status, PolicyStatus.SURRENDER_REQUESTED)
        received_on = self.surrender_received_on
        assert received_on is not None  # SURRENDER_REQUESTED is entered by the notice
        paid = self.premium_paid_fen
        if self.surrender_in_cooling_off:
            if medical_check_fen > paid:
                raise MedicalCheckCostError(
                    f"a medical check of {medical_check_fen} fen exceeds the {paid} fen of premium paid"
                )
            self._record(
                PolicyCancelledInCoolingOff,
                ctx,
                requested_on=received_on,
                refund_fen=paid - medical_check_fen,
                fee_fen=0,
                medical_check_fen=medical_check_fen,
            )
            return
        if medical_check_fen:
            raise MedicalCheckCostError("only a cooling-off refund deducts the medical check's cost")
        common = {
            "requested_on": received_on,
            "ctpl_ground": self.surrender_ctpl_ground,
            "proof_ref": self.surrender_proof_ref,
        }
        if self.line in _PERSONAL_LINES:
            year = self.policy_year_on(received_on)
            self._record(
                PolicySurrendered,
                ctx,
                cash_value_fen=self.cash_value_in_year(year),
                basis=SurrenderBasis.CASH_VALUE,
                policy_year=year,
                table_ref=self.cash_value_table_ref,
                **common,
            )
            return
        self._record(
            PolicySurrendered,
            ctx,
            cash_value_fen=self.unearned_premium_fen(received_on),
            basis=SurrenderBasis.UNEARNED_PREMIUM,
            **common,
        )

    def unearned_premium_fen(self, ended_on: date) -> int:
        """The premium of the current period's days after ``ended_on``, pro rata by day, rounded down
        (the insurer keeps the premium from the start of cover to the end of the contract's day)."""
        assert self.effective_from is not None
        assert self.effective_to is not None
        total_days = (self.effective_to - self.effective_from).days + 1
        days_left = max((self.effective_to - max(ended_on, self.effective_from - timedelta(days=1))).days, 0)
        premium = self.period_premium_fen or self.quoted_premium_fen
        return premium * min(days_left, total_days) // total_days

    @taken_by("pay surrender refund", Role.UNDERWRITER, Role.SUPERVISOR, Role.SYSTEM)
    def pay_surrender_refund(self, ctx: Context, *, amount_fen: int, paid_on: date, payment_ref: str) -> None:
        """Pay the refund computed for the surrender notice (meets the Art. 47 clock): exactly it, once."""
        require_status(
            "pay surrender refund",
            self.status,
            PolicyStatus.SURRENDERED,
            PolicyStatus.CANCELLED_IN_COOLING_OFF,
            PolicyStatus.TERMINATED,
        )
        if self.refund_due_fen is None or self.refund_paid:
            raise SurrenderRefundMismatchError(
                "no refund is owed: it was paid already" if self.refund_paid else "no refund was computed"
            )
        if amount_fen != self.refund_due_fen:
            raise SurrenderRefundMismatchError(
                f"paying {amount_fen} fen but the refund computed is {self.refund_due_fen} fen"
            )
        _require_not_future_dated("refund payment", paid_on, ctx)
        self._record(
            SurrenderRefundPaid, ctx, amount_fen=amount_fen, paid_on=paid_on, payment_ref=payment_ref
        )

    @taken_by("surrender policy", Role.UNDERWRITER, Role.SUPERVISOR)
    def surrender(
        self,
        ctx: Context,
        *,
        requested_on: date,
        cash_value_fen: int,
        ctpl_ground: CtplSurrenderGround | None = None,
        proof_ref: str | None = None,
    ) -> None:
        """Surrender the policy (退保) in one step, the value stated by the caller: the notice (which
        starts the Art. 47 refund clock) and the surrender together. With a cash value table on record
        the stated value is the table's.

        The request's day is neither in the future nor before the issue, and never inside the cooling-off
        period (such a request is a cooling-off cancellation, with the premium refunded). CTPL is
        surrendered only on a CTPL Art. 16 ground, proven by its document.
        """
        require_status(
            "surrender policy", self.status, PolicyStatus.ISSUED, PolicyStatus.IN_FORCE, PolicyStatus.LAPSED
        )
        self._check_surrender_request(ctx, requested_on, ctpl_ground, proof_ref)
        cooling_off_end = self.cooling_off_end
        if cooling_off_end is not None and _within(requested_on, cooling_off_end):
            raise SurrenderInCoolingOffError(
                f"requested on {requested_on}, inside the cooling-off period that ended at "
                f"{cooling_off_end.isoformat()}: cancel in cooling-off, refunding the premium"
            )
        if self.cash_values_fen and self.line in _PERSONAL_LINES:
            table_value = self.cash_value_in_year(self.policy_year_on(requested_on))
            if cash_value_fen != table_value:
                raise CashValueTableMissingError(
                    f"the cash value stated ({cash_value_fen} fen) is not the contract table's "
                    f"{table_value} fen for the year of the request"
                )
        window = customer_period_end(SURRENDER_REFUND_RULE, requested_on, SURRENDER_REFUND_DAYS)
        self._record(
            SurrenderNoticeReceived,
            ctx,
            occurred_at=datetime.combine(requested_on, time(0), tzinfo=SHANGHAI),
            received_on=requested_on,
            given_by=SurrenderParty.APPLICANT,
            in_cooling_off=False,
            refund_due_at=window.due_at,
            calendar_id=window.calendar_id,
            calendar_version=window.calendar_version,
            ctpl_ground=ctpl_ground if self.ctpl else None,
            proof_ref=proof_ref,
        )
        self._record(
            PolicySurrendered,
            ctx,
            requested_on=requested_on,
            cash_value_fen=cash_value_fen,
            ctpl_ground=ctpl_ground if self.ctpl else None,
            proof_ref=proof_ref,
        )

    # ------------------------------------------------------------------------------------------ 续期

    @taken_by("agree premium schedule", Role.UNDERWRITER, Role.SUPERVISOR)
    def agree_premium_schedule(
        self, ctx: Context, *, frequency_months: int, instalments: int, grace_days: int = GRACE_DAYS
    ) -> None:
        """Record the contract's regular premium (分期缴费): ``instalments`` equal instalments, the first
        being the premium received at issue, every ``frequency_months`` from the cover's start, each due
        date inside the cover period; the next instalment is billed at once.

        ``grace_days`` is the contract's payment period after a due date: Art. 36's 60 days or more.
        """
        require_status("agree premium schedule", self.status, *_IN_FORCE)
        if self.line not in _PERSONAL_LINES:
            raise LapseOnlyForPersonalInsuranceError(
                f"a {self.line.value} policy has no Art. 36 regular premium schedule: personal insurance only"
            )
        if self.schedule_frequency_months is not None:
            raise PremiumScheduleError(f"policy {self.policy_no} already has its premium schedule")
        if frequency_months not in PREMIUM_FREQUENCIES_MONTHS:
            raise PremiumScheduleError(
                f"instalments every {frequency_months} months: the contract pays every 1, 3, 6 or 12 months"
            )
        if instalments < 2:
            raise PremiumScheduleError("a regular premium has at least two instalments")
        if grace_days < GRACE_DAYS:
            raise PremiumScheduleError(
                f"a payment period of {grace_days} days is shorter than Art. 36's {GRACE_DAYS} days"
            )
        first_due_on = self.issue_start
        last_due_on = add_months(first_due_on, (instalments - 1) * frequency_months)
        assert self.effective_to is not None
        if last_due_on > self.effective_to:
            raise PremiumScheduleError(
                f"the last instalment would fall due on {last_due_on}, after the cover ends on "
                f"{self.effective_to}"
            )
        self._record(
            PremiumScheduleAgreed,
            ctx,
            frequency_months=frequency_months,
            instalment_fen=self.premium_received_fen,
            instalments=instalments,
            grace_days=grace_days,
            first_due_on=first_due_on,
        )
        self._bill_next(ctx)

    def _bill_next(self, ctx: Context) -> None:
        """Bill the instalment after the last one paid, if the schedule has one more."""
        next_no = self.instalments_paid + 1
        if self.schedule_frequency_months is None or next_no > self.schedule_instalments:
            return
        due_on = self.instalment_due_on(next_no)
        window = customer_period_end(GRACE_RULE, due_on, self.schedule_grace_days)
        self._record(
            RenewalPremiumBilled,
            ctx,
            instalment_no=next_no,
            due_on=due_on,
            amount_fen=self.schedule_instalment_fen,
            grace_days=self.schedule_grace_days,
            suspends_at=window.due_at,
            calendar_id=window.calendar_id,
            calendar_version=window.calendar_version,
        )

    def _require_billed(self, command: str) -> BilledInstalment:
        if self.billed is None:
            raise NoPremiumDueError(f"{command}: policy {self.policy_no} has no renewal premium due")
        return self.billed

    @taken_by("send premium reminder", Role.UNDERWRITER, Role.SUPERVISOR, Role.SYSTEM)
    def send_premium_reminder(self, ctx: Context, *, reminded_on: date, channel: str) -> None:
        """Demand the unpaid instalment (催告, Art. 36) on or after its due date: unpaid 30 days after the
        demand (holidays rolled over), the cover is suspended, if the grace period has not ended first."""
        require_status("send premium reminder", self.status, *_IN_FORCE)
        billed = self._require_billed("send premium reminder")
        _require_not_future_dated("payment demand", reminded_on, ctx)
        if reminded_on < billed.due_on:
            raise ReminderBeforeDueDateError(
                f"a demand on {reminded_on} comes before the instalment falls due on {billed.due_on}"
            )
        if not _within(reminded_on, billed.suspends_at):
            raise NoPremiumDueError(
                f"the payment period of instalment {billed.instalment_no} ended at "
                f"{billed.suspends_at.isoformat()}: the cover is suspended, not reminded"
            )
        window = customer_period_end(DEMAND_RULE, reminded_on, REMINDER_DAYS)
        self._record(
            PremiumReminderSent,
            ctx,
            instalment_no=billed.instalment_no,
            reminded_on=reminded_on,
            channel=channel,
            suspends_at=min(window.due_at, billed.suspends_at),
            calendar_id=window.calendar_id,
            calendar_version=window.calendar_version,
        )

    @taken_by("pay renewal premium", Role.UNDERWRITER, Role.SUPERVISOR, Role.SYSTEM)
    def pay_renewal_premium(self, ctx: Context, *, amount_fen: int, paid_on: date, receipt_no: str) -> None:
        """Receive the instalment due within its payment period (the policy stays in force, a loss in the
        grace period is covered); the next instalment is billed."""
        require_status("pay renewal premium", self.status, *_IN_FORCE)
        billed = self._require_billed("pay renewal premium")
        _require_not_future_dated("renewal premium payment", paid_on, ctx)
        if amount_fen != billed.amount_fen:
            raise RenewalPremiumMismatchError(
                f"paid {amount_fen} fen but instalment {billed.instalment_no} is {billed.amount_fen} fen"
            )
        if not _within(paid_on, billed.suspends_at):
            raise PaidAfterGraceError(
                f"paid on {paid_on}, after the payment period ended at {billed.suspends_at.isoformat()}: "
                "the cover is suspended; reinstate it by agreement (Art. 37)"
            )
        self._record(
            RenewalPremiumPaid,
            ctx,
            instalment_no=billed.instalment_no,
            amount_fen=amount_fen,
            paid_on=paid_on,
            receipt_no=receipt_no,
        )
        self._bill_next(ctx)

    @taken_by("lapse policy", Role.SYSTEM)
    def lapse(self, ctx: Context) -> None:
        """Suspend personal cover for the unpaid instalment (效力中止), once its Art. 36 period is over.

        The dates are the schedule's: the period ends 60 days (or the contract's longer grace) after the
        due date, or 30 days after the payment demand if that comes first, each counted by
        ``domain.calendar`` with the holiday roll-over (Civil Code Art. 203). From the suspension the
        applicant has two years to reinstate (Art. 37), to 24:00 of the anniversary, rolled over too.
        """
        require_status("lapse policy", self.status, *_IN_FORCE)
        if self.line not in _PERSONAL_LINES:
            raise LapseOnlyForPersonalInsuranceError(
                f"a {self.line.value} policy is not suspended for an unpaid premium: Art. 36 applies to "
                "personal insurance only"
            )
        billed = self._require_billed("lapse policy")
        if ctx.recorded_at < billed.suspends_at:
            raise GracePeriodNotOverError(
                f"the premium due on {billed.due_on} may still be paid until {billed.suspends_at.isoformat()}"
            )
        reinstatement = reinstatement_period_end(billed.suspends_at)
        self._record(
            PolicyLapsed,
            ctx,
            occurred_at=billed.suspends_at,
            due_on=billed.due_on,
            reminded_on=billed.reminded_on,
            payment_period_ended_at=billed.suspends_at,
            calendar_version=billed.calendar_version,
            instalment_no=billed.instalment_no,
            amount_due_fen=billed.amount_fen,
            reinstatement_ends_at=reinstatement.due_at,
            reinstatement_calendar_version=reinstatement.calendar_version,
        )

    @taken_by("reinstate policy", Role.UNDERWRITER, Role.SUPERVISOR)
    def reinstate(self, ctx: Context, *, arrears_paid_fen: int, agreement_ref: str) -> None:
        """Reinstate a suspended policy (复效, Art. 37) on the applicant's application and agreement, within
        two years of the suspension, once the premium it was suspended for is paid; the next instalment
        is billed."""
        require_status("reinstate policy", self.status, PolicyStatus.LAPSED)
        if self.reinstatement_ends_at is not None and ctx.recorded_at >= self.reinstatement_ends_at:
            raise ReinstatementTooLateError(
                f"the two years to reinstate ended at {self.reinstatement_ends_at.isoformat()}"
            )
        billed = self.billed
        if billed is not None and arrears_paid_fen < billed.amount_fen:
            raise ArrearsNotPaidError(
                f"{arrears_paid_fen} fen paid of the {billed.amount_fen} fen due on {billed.due_on}"
            )
        self._record(
            PolicyReinstated,
            ctx,
            arrears_paid_fen=arrears_paid_fen,
            agreement_ref=agreement_ref,
            instalment_no=billed.instalment_no if billed is not None else None,
        )
        self._bill_next(ctx)

    @taken_by("end reinstatement period", Role.SYSTEM)
    def end_reinstatement_period(self, ctx: Context) -> None:
        """Record that the two years to reinstate have passed (the system's timer): the insurer may now
        terminate the contract (Art. 37)."""
        require_status("end reinstatement period", self.status, PolicyStatus.LAPSED)
        end = self.reinstatement_ends_at
        if end is None or ctx.recorded_at < end:
            raise ReinstatementPeriodNotOverError(
                "the applicant may still reinstate" + (f" until {end.isoformat()}" if end else "")
            )
        self._record(ReinstatementPeriodEnded, ctx, ended_at=end)

    @taken_by("terminate after suspension", Role.UNDERWRITER, Role.SUPERVISOR)
    def terminate_after_suspension(self, ctx: Context, *, notice_ref: str) -> None:
        """End the contract suspended for two years (Art. 37 ¶2); the cash value of the contract's table is
        refunded when two years' premium or more was paid, nothing otherwise."""
        require_status("terminate after suspension", self.status, PolicyStatus.LAPSED)
        if not self.reinstatement_period_ended:
            raise ReinstatementPeriodNotOverError(
                "the insurer may terminate only once the two years to reinstate have passed (Art. 37)"
            )
        years_paid = self.premium_years_paid
        cash_value = 0
        if years_paid >= REINSTATEMENT_YEARS:
            cash_value = self.cash_value_in_year(self.policy_year_on(_today(ctx)))
        self._record(
            PolicyTerminatedAfterSuspension,
            ctx,
            notice_ref=notice_ref,
            cash_value_fen=cash_value,
            premium_years_paid=years_paid,
        )

    @property
    def premium_years_paid(self) -> int:
        """Whole years of premium paid under the schedule (a single premium: the whole term)."""
        if self.schedule_frequency_months is None:
            return self.term_months // 12
        return self.instalments_paid * self.schedule_frequency_months // 12

    @taken_by("renew policy", Role.UNDERWRITER, Role.SUPERVISOR, Role.SYSTEM)
    def renew(
        self, ctx: Context, *, effective_from: date, effective_to: date, premium_fen: int, terms_version: str
    ) -> None:
        """Renew the policy (续保) for a new cover period that starts after the current one."""
        require_status("renew policy", self.status, PolicyStatus.ISSUED, PolicyStatus.IN_FORCE)
        assert self.effective_to is not None  # the status check implies issue
        if effective_from <= self.effective_to or effective_to < effective_from:
            raise InvalidCoverPeriodError(
                f"a renewal from {effective_from} to {effective_to} must start after {self.effective_to}"
            )
        self._record(
            PolicyRenewed,
            ctx,
            effective_from=effective_from,
            effective_to=effective_to,
            premium_fen=premium_fen,
            terms_version=terms_version,
        )

    @taken_by("expire policy", Role.SYSTEM)
    def expire(self, ctx: Context) -> None:
        """Record that the cover period ended without renewal (the system's timer)."""
        require_status(
            "expire policy", self.status, PolicyStatus.ISSUED, PolicyStatus.IN_FORCE, PolicyStatus.LAPSED
        )
        assert self.effective_to is not None  # the status check implies issue
        if _today(ctx) <= self.effective_to:
            raise CoverPeriodNotOverError(f"the cover runs until {self.effective_to}")
        self._record(PolicyExpired, ctx, expired_on=self.effective_to)


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` months, on the month's last day where it has no such day (Civil Code
    Art. 202: 没有对应日的，月末日为期间的最后一日)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("every month has a 28th")


def years_after(day: date, years: int) -> date:
    """The anniversary ``years`` after ``day`` (29 February: the 28th, Civil Code Art. 202)."""
    return add_months(day, 12 * years)


def _shanghai_date(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


def _end_of_day(day: date) -> datetime:
    """24:00 Asia/Shanghai of ``day`` (Civil Code Art. 203 ¶2), as 00:00 of the next day."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=SHANGHAI)


def _within(day: date, end: datetime) -> bool:
    """Whether a request made on ``day`` (Asia/Shanghai) came before a period's ``end``."""
    return datetime.combine(day, time(0), tzinfo=SHANGHAI) < end


def _require_not_future_dated(what: str, day: date, ctx: Context) -> None:
    if day > _today(ctx):
        raise FutureDatedRequestError(f"the {what} is dated {day}, after today {_today(ctx)}")


def _today(ctx: Context) -> date:
    """The command's business day: the server time it was recorded at, read in Shanghai."""
    return _shanghai_date(ctx.recorded_at)


def _add_years(moment: datetime, years: int) -> datetime:
    # Civil Code Art. 202: with no matching day in the last month (29 February), the period ends on the
    # month's last day.
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)
