"""The SLA rules as data: every legal and company deadline the timers enforce, with its basis.

A rule names the events (by class name) that start, pause, resume, restart, extend, satisfy or cancel its
clock, its duration and counting, its warning thresholds and what a breach raises. The arithmetic lives in
``domain.calendar``; the durable timers that apply these rules to event streams live outside ``domain``.

Sources and confidence marks ([S] sourced, [K] to be checked, [P] company policy) are those of the
research brief (reference/insurance-domain.md §1). Check legal text against flk.npc.gov.cn / nfra.gov.cn
before relying on a [K] item.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.base import SHANGHAI, DomainError, DomainEvent, Role
from domain.calendar import (
    CountingMethod,
    Deadline,
    DurationUnit,
    HolidayCalendar,
    Pause,
    PausedClock,
    compute_deadline,
    counting_fits_unit,
    require_in_some_calendar,
)
from domain.callback import CallbackType

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_RULE_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")
_EVENT_NAME = re.compile(r"^[A-Z][A-Za-z0-9]+$")

FactValue = bool | str

CASE_FACTS: Mapping[str, str] = MappingProxyType(
    {
        "ctpl": "the case is compulsory motor third-party liability (交强险) business",
        "claim_outcome": "the claim decision's outcome: covered, partial or not_covered",
        "contract_formed": "this event forms the contract: a standard or preferential acceptance, "
        "or the applicant's acceptance of a conditional offer",
        "life_term_over_one_year": "a personal policy (life, health or accident) with a term of more than "
        "one year: the long-term personal insurance that has a cooling-off period",
        "remediation_opened": "the callback issue opens a mis-selling remediation task "
        "(CallbackIssueFound.remediation_task_id is set)",
        "service_item": "the policy service item (保全项目) a request asks for (ServiceRequested.item)",
        "service_kind": "the value-added service ordered: roadside_rescue, designated_driver or "
        "risk_prevention (ServiceOrderRequested.kind)",
    }
)
"""The case facts a rule's ``applies_if`` may test, with what the timer process must supply for each."""


class UnknownSlaRuleError(DomainError):
    """A timer or command names an SLA rule id that the rule table does not hold."""

    rule = "sla-rule-known"

    def __init__(self, rule_id: str) -> None:
        super().__init__(f"no SLA rule {rule_id!r}")
        self.rule_id = rule_id


class MissingCaseFactError(DomainError):
    """A rule's condition needs a case fact that was not supplied: the rule is never applied by guess."""

    rule = "sla-case-fact-supplied"

    def __init__(self, rule_id: str, fact: str) -> None:
        super().__init__(f"{rule_id} needs the case fact {fact!r} to decide whether it applies")
        self.rule_id = rule_id
        self.fact = fact


class Aggregate(StrEnum):
    """The aggregate whose event starts the clock; the timer's subject is that aggregate's id."""

    POLICY = "policy"
    CLAIM = "claim"
    COMPLAINT = "complaint"
    CALLBACK = "callback"
    SERVICE_REQUEST = "service_request"
    INQUIRY = "inquiry"
    SERVICE_ORDER = "service_order"


class RuleKind(StrEnum):
    """Whether missing the deadline is a failure (obligation) or the normal end of a right (window)."""

    OBLIGATION = "obligation"
    WINDOW = "window"


class Confidence(StrEnum):
    """The research brief's mark on a rule's basis: sourced, still to check, or company policy."""

    SOURCED = "sourced"
    TO_CHECK = "to_check"
    COMPANY_POLICY = "company_policy"


class LegalBasis(BaseModel):
    """Where a rule comes from: instrument and article, and whether its number is law or company policy."""

    model_config = _FROZEN

    instrument: str = Field(min_length=1)
    article: str | None = None
    duration_set_by: Literal["law", "company policy"]
    confidence: Confidence


class FactCondition(BaseModel):
    """One test on a case fact: the fact must equal the value, or one of the values when several are given."""

    model_config = _FROZEN

    fact: str
    equals: FactValue | tuple[FactValue, ...]

    def holds(self, value: FactValue) -> bool:
        """Whether the case fact's ``value`` passes this test."""
        return value in self.equals if isinstance(self.equals, tuple) else value == self.equals


def only_if(**conditions: FactValue | tuple[FactValue, ...]) -> tuple[FactCondition, ...]:
    """A rule's ``applies_if``: every named case fact must have the given value (or one of the values)."""
    return tuple(FactCondition(fact=fact, equals=value) for fact, value in conditions.items())


class RuleExtension(BaseModel):
    """An allowed longer duration for a rule, with who must approve it and whether the customer is told."""

    model_config = _FROZEN

    duration: int = Field(gt=0)
    approver_role: Role | None
    """None: the handler may extend on their own, recording the reason."""
    reason_required: bool
    customer_notice_required: bool
    legal_basis: str


class BreachConsequence(BaseModel):
    """What a passed deadline raises: an escalation, a regulator-reportable flag, and what it means."""

    model_config = _FROZEN

    escalate_to: Role | None
    regulator_reportable: bool
    consequence: str = Field(min_length=1)
    records: str | None = None
    """The event the subject aggregate records when the deadline passes, e.g. ``CoolingOffEnded``."""


class SlaRule(BaseModel):
    """One deadline rule: which events drive its clock, how long it runs, and what a breach raises."""

    model_config = _FROZEN

    rule_id: str
    title: str = Field(min_length=1)
    kind: RuleKind = RuleKind.OBLIGATION
    legal_basis: LegalBasis
    applies_to: Aggregate
    applies_if: tuple[FactCondition, ...] = ()
    starts_on: tuple[str, ...] = Field(min_length=1)
    start_field: str = "occurred_at"
    """The start event's field holding the start instant; if it is None, the event's recorded time
    (``timestamp``). A date field starts the clock on that Asia/Shanghai day. Pause, resume, restart and
    extension events are read the same way from their ``occurred_at``, else ``timestamp``."""
    ends_at_field: str | None = None
    """For a window whose end the case itself computes, records and guards (the policy's cooling-off end):
    the start event's field holding that instant. The clock ends there instead of counting ``duration``
    again, so the case's guard and the timer read one instant (a contract may grant more than the rule's
    minimum). An event recorded before the field existed holds None: that clock counts ``duration``."""
    subject_field: str | None = None
    """The start event's field naming the case whose clock this is, when that is not the start event's own
    case: an issue found on one callback task starts the clock of the remediation task it opens."""
    met_on_callback: CallbackType | None = None
    """The clock stays on the source case, but the callback events among its ``satisfied_by`` and
    ``cancelled_by`` come from the task of this type that its start event opened (the task's
    ``source_event_id`` is the start event's id), so ``timers explain`` of the policy or claim shows it."""
    pauses_on: tuple[str, ...] = ()
    resumes_on: tuple[str, ...] = ()
    restarts_on: tuple[str, ...] = ()
    satisfied_by: tuple[str, ...] = ()
    extended_by: tuple[str, ...] = ()
    cancelled_by: tuple[str, ...] = ()
    duration: int = Field(gt=0)
    unit: DurationUnit
    counting: CountingMethod
    warn_at: tuple[float, ...] = (0.5, 0.8)
    extensions: tuple[RuleExtension, ...] = ()
    on_breach: BreachConsequence

    @model_validator(mode="after")
    def _coherent(self) -> SlaRule:
        if self.subject_field is not None and not self.subject_field.isidentifier():
            raise ValueError(f"{self.rule_id}: subject_field {self.subject_field!r} is not a field name")
        if self.met_on_callback is not None and self.applies_to is Aggregate.CALLBACK:
            raise ValueError(f"{self.rule_id}: a callback task's own clock is not met on another task")
        if self.ends_at_field is not None and not self.ends_at_field.isidentifier():
            raise ValueError(f"{self.rule_id}: ends_at_field {self.ends_at_field!r} is not a field name")
        if self.ends_at_field is not None and (self.pauses_on or self.restarts_on or self.extended_by):
            # The case owns the recorded end: a pause, restart or extension would recount it from duration.
            raise ValueError(f"{self.rule_id}: a clock ending at a recorded instant never pauses or moves")
        if not self.start_field.isidentifier():
            raise ValueError(f"{self.rule_id}: start_field {self.start_field!r} is not a field name")
        if not _RULE_ID.match(self.rule_id):
            raise ValueError(f"rule id {self.rule_id!r} is not of the form IL23-DETERMINE-30D")
        for name in self.event_names():
            if not _EVENT_NAME.match(name):
                raise ValueError(f"{self.rule_id}: {name!r} is not an event class name")
        if set(self.starts_on) & set(self.satisfied_by):
            raise ValueError(f"{self.rule_id}: an event cannot both start and satisfy the clock")
        if bool(self.pauses_on) != bool(self.resumes_on) or set(self.pauses_on) & set(self.resumes_on):
            raise ValueError(f"{self.rule_id}: a clock that pauses needs distinct resume events")
        if bool(self.extended_by) != bool(self.extensions):
            raise ValueError(f"{self.rule_id}: extension events and allowed extensions go together")
        if self.kind is RuleKind.OBLIGATION and not self.satisfied_by:
            raise ValueError(f"{self.rule_id}: an obligation needs the event that meets it")
        if not counting_fits_unit(self.unit, self.counting):
            raise ValueError(f"{self.rule_id}: {self.unit.value} cannot be counted {self.counting.value}")
        if any(not 0 < f < 1 for f in self.warn_at) or list(self.warn_at) != sorted(set(self.warn_at)):
            raise ValueError(f"{self.rule_id}: warn_at must be increasing fractions between 0 and 1")
        durations = [self.duration, *self.extension_durations]
        if durations != sorted(set(durations)):
            raise ValueError(f"{self.rule_id}: extensions must be longer than the rule and increasing")
        for condition in self.applies_if:
            if condition.fact not in CASE_FACTS:
                raise ValueError(f"{self.rule_id}: unknown case fact {condition.fact!r}")
        return self

    @property
    def extension_durations(self) -> tuple[int, ...]:
        """The longer durations the rule may be extended to, shortest first."""
        return tuple(extension.duration for extension in self.extensions)

    @property
    def max_duration(self) -> int:
        """The longest the clock may ever run, extensions included."""
        return max((self.duration, *self.extension_durations))

    def extension_to(self, duration: int) -> RuleExtension | None:
        """The allowed extension to exactly this duration, if there is one."""
        for extension in self.extensions:
            if extension.duration == duration:
                return extension
        return None

    def event_names(self) -> frozenset[str]:
        """Every event class name the rule reacts to."""
        return frozenset(
            (
                *self.starts_on,
                *self.pauses_on,
                *self.resumes_on,
                *self.restarts_on,
                *self.satisfied_by,
                *self.extended_by,
                *self.cancelled_by,
            )
        )

    def applies(self, facts: Mapping[str, FactValue]) -> bool:
        """Whether the rule applies to a case with these facts (every condition must hold)."""
        for condition in self.applies_if:
            if condition.fact not in facts:
                raise MissingCaseFactError(self.rule_id, condition.fact)
            if not condition.holds(facts[condition.fact]):
                return False
        return True

    def deadline(
        self,
        start_at: datetime,
        calendar: HolidayCalendar,
        pauses: tuple[Pause, ...] = (),
    ) -> Deadline | PausedClock:
        """This rule's deadline for a clock started at ``start_at`` (``domain.calendar.compute_deadline``)."""
        return compute_deadline(self, start_at, calendar, pauses)


_DAYS = DurationUnit.CALENDAR_DAYS
_WORKING_DAYS = DurationUnit.WORKING_DAYS
_CIVIL = CountingMethod.CIVIL_CODE_201_203

_INSURANCE_LAW = "中华人民共和国保险法 (Insurance Law, 2015 revision)"
_CTPL_REGULATION = "机动车交通事故责任强制保险条例 (CTPL Regulation)"
_COMPLAINT_MEASURES = "银行业保险业消费投诉处理管理办法 (CBIRC Order 2020 No. 3)"
_LIFE_SERVICE = "人身保险业务基本服务规定 (CIRC Order 2010 No. 4)"
_COMPANY = "company policy"
# A renewal premium's clocks end with the contract, or with the suspension they lead to.
_PREMIUM_ENDS = (
    "PolicyLapsed",
    "SurrenderNoticeReceived",
    "PolicySurrendered",
    "PolicyCancelledInCoolingOff",
    "PolicyRescinded",
    "PolicyExpired",
)

ALL_RULES: tuple[SlaRule, ...] = (
    SlaRule(
        rule_id="IL22-ONE-TIME-NOTICE-1WD",
        title="Tell the claimant, in one go, every document still missing",
        legal_basis=LegalBasis(
            instrument=_INSURANCE_LAW,
            article="Art. 22 ¶2 (及时一次性通知); 1 working day is the company's number",
            duration_set_by="company policy",
            confidence=Confidence.SOURCED,
        ),
        applies_to=Aggregate.CLAIM,
        # CTPL claims run the stricter CTPL28 clock instead, so one obligation never shows twice.
        applies_if=only_if(ctpl=False),
        # The claim application is where the insurer first judges the documents (Art. 22 ¶1), counted
        # from its receipt; one whose documents are complete on receipt (ClaimDocumentsCompleted with no
        # request), or that is decided without them (a clear exclusion), owes no list.
        starts_on=("ClaimApplicationReceived",),
        start_field="received_at",
        satisfied_by=("ClaimDocumentsRequested",),
        cancelled_by=("ClaimDocumentsCompleted", "ClaimDecided", "ClaimWithdrawn"),
        duration=1,
        unit=_WORKING_DAYS,
        counting=_CIVIL,
        on_breach=BreachConsequence(
            escalate_to=Role.SUPERVISOR,
            regulator_reportable=False,
            consequence="The one-time notice is late; piecemeal or late requests breach Art. 22 and "
            "stall the Art. 23 decision.",
        ),
    ),
    SlaRule(
        rule_id="IL23-DETERMINE-30D",
        title="Decide the claim within 30 days, not counting the time the claimant spends on documents",
        legal_basis=LegalBasis(
            instrument=_INSURANCE_LAW,
            article="Art. 23 ¶1; pause: 保险法司法解释（二） Art. 15",
            duration_set_by="law",
            confidence=Confidence.SOURCED,
        ),
        applies_to=Aggregate.CLAIM,
        applies_if=only_if(ctpl=False),
        # JI-II Art. 15: from the first receipt of the claim request with the documents supplied; the time
        # deducted runs from the day the Art. 22 notice *reaches* the claimant to the day the requested
        # documents reach the insurer (ClaimDocumentsCompleted's occurred_at is the last arrival).
        starts_on=("ClaimApplicationReceived",),
        start_field="received_at",
        pauses_on=("ClaimDocumentsRequestDelivered",),
        resumes_on=("ClaimDocumentsCompleted",),
        satisfied_by=("ClaimDecided",),
        cancelled_by=("ClaimWithdrawn",),
        duration=30,
        unit=_DAYS,
        counting=_CIVIL,
        on_breach=BreachConsequence(
            escalate_to=Role.SUPERVISOR,
            regulator_reportable=True,
            consequence="Late decision: the insurer owes the benefit plus the claimant's resulting "
            "losses (Art. 23 ¶2) and faces regulatory action.",
        ),
    ),
    SlaRule(
        rule_id="IL23-PAY-10D",
        title="Pay within 10 days of the settlement agreement",
        legal_basis=LegalBasis(
            instrument=_INSURANCE_LAW,
            article="Art. 23 ¶1 (CTPL Regulation Art. 29 sets the same 10 days)",
            duration_set_by="law",
            confidence=Confidence.SOURCED,
        ),
        applies_to=Aggregate.CLAIM,
        starts_on=("SettlementAgreed",),
        satisfied_by=("PaymentIssued",),
        cancelled_by=("ClaimWithdrawn",),
        duration=10,
        unit=_DAYS,
        counting=_CIVIL,
        on_breach=BreachConsequence(
            escalate_to=Role.SUPERVISOR,
            regulator_reportable=True,
            consequence="Late payment: damages for the delay (Art. 23 ¶2).",
        ),
    ),
    SlaRule(
        rule_id="IL24-REJECT-3D",
        title="Send the written rejection notice, with reasons, within 3 days of a decision refusing all or "
        "part of the claim",
        legal_basis=LegalBasis(
            instrument=_INSURANCE_LAW, article="Art. 24", duration_set_by="law", confidence=Confidence.SOURCED
        ),
        applies_to=Aggregate.CLAIM,
        # The part a partial decision does not pay is refused as much as a whole claim is (Art. 24).
        applies_if=only_if(claim_outcome=("not_covered", "partial")),
        starts_on=("ClaimDecided",),
        satisfied_by=("RejectionNoticeSent",),
        duration=3,
        unit=_DAYS,
        counting=_CIVIL,
        on_breach=BreachConsequence(
            escalate_to=Role.SUPERVISOR,
            regulator_reportable=True,
            consequence="Regulatory breach; the claimant's remedies start only with the notice.",
        ),
    ),
    SlaRule(
        rule_id="IL25-ADVANCE-60D",
        title="Within 60 days of the claim and documents, pay the amount that can already be fixed",
        legal_basis=LegalBasis(
            instrument=_INSURANCE_LAW, article="Art. 25", duration_set_by="law", confidence=Confidence.SOURCED
        ),
        applies_to=Aggregate.CLAIM,
        # ClaimDocumentsCompleted.occurred_at: when the claim and its documents were all in (Art. 25).
        starts_on=("ClaimDocumentsCompleted",),
        satisfied_by=("AdvancePaymentIssued", "PaymentIssued"),
        # Once the amount is agreed IL23-PAY-10D governs; a rejection notice follows a decision that fixed
        # the amount (partial) or left nothing to advance (not covered).
        cancelled_by=("SettlementAgreed", "RejectionNoticeSent", "ClaimWithdrawn"),
        duration=60,
        unit=_DAYS,
        counting=_CIVIL,
        on_breach=BreachConsequence(
            escalate_to=Role.SUPERVISOR,
            regulator_reportable=True,
            consequence="Mandatory work item: pay the determinable amount now; the final payment reconciles.",
        ),
    ),
    SlaRule(
        rule_id="IL16-RESCIND-30D",
        title="Rescind for non-disclosure within 30 days of learning the ground, or lose the right",
        kind=RuleKind.WINDOW,
        legal_basis=LegalBasis(
            instrument=_INSURANCE_LAW,
            article="Art. 16 ¶3",
            duration_set_by="law",
            confidence=Confidence.SOURCED,
        ),
        applies_to=Aggregate.POLICY,
        starts_on=("RescissionGroundDiscovered",),
        start_field="known_at",
        satisfied_by=("PolicyRescinded",),
        cancelled_by=("PolicyCancelledInCoolingOff", "PolicySurrendered", "PolicyExpired"),
        duration=30,
        unit=_DAYS,
        # The insurer's own right: closed at the earliest reading, as the Policy guard does.
        counting=CountingMethod.CIVIL_CODE_201_NO_ROLL_OVER,
        warn_at=(0.5, 0.8),
        on_breach=BreachConsequence(
            escalate_to=None,
            regulator_reportable=False,
            consequence="The rescission right has lapsed: PolicyRescinded on this ground is refused. "
            "IL16-INCONTESTABLE-2Y may close the window earlier.",
        ),
    ),
    SlaRule(
        rule_id="IL16-INCONTESTABLE-2Y",
        title="No rescission for non-disclosure more than 2 years after the contract was formed",
        kind=RuleKind.WINDOW,
        legal_basis=LegalBasis(
            instrument=_INSURANCE_LAW,
            article="Art. 16 ¶3; counted exactly to the anniversary, the conservative reading",
            duration_set_by="law",
            confidence=Confidence.SOURCED,
        ),
        applies_to=Aggregate.POLICY,
        applies_if=only_if(contract_formed=True),
        starts_on=("UnderwritingDecided", "ConditionalOfferAccepted"),
        # The Policy aggregate dates formation (formed_at) by the recorded time of these events.
        start_field="timestamp",
        cancelled_by=(
            "PolicyRescinded",
            "PolicyCancelledInCoolingOff",
            "PolicySurrendered",
            "PolicyExpired",
        ),
        duration=2,
        unit=DurationUnit.YEARS,
        counting=CountingMethod.EXACT,
        warn_at=(),
        on_breach=BreachConsequence(
            escalate_to=None,
            regulator_reportable=False,
            consequence="The policy is incontestable: the insurer may no longer rescind for "
            "non-disclosure and must pay insured events.",
        ),
    ),
    SlaRule(
        rule_id="CTPL14-CURE-5D",
        title="The CTPL applicant may disclose within 5 days of receiving the insurer's written notice",
        kind=RuleKind.WINDOW,
        legal_basis=LegalBasis(
            instrument=_CTPL_REGULATION,
            article="Art. 14 (自收到通知之日起5日内履行如实告知义务); Civil Code Art. 203 roll-over",
            duration_set_by="law",
            confidence=Confidence.SOURCED,
        ),
        applies_to=Aggregate.POLICY,
        starts_on=("RescissionNoticeSent",),
        start_field="received_on",
        # The policy counts the applicant's 5 days and its rescission guard reads this instant.
        ends_at_field="cure_ends_at",
        cancelled_by=("NonDisclosureCured", "PolicyRescinded", "PolicySurrendered", "PolicyExpired"),
        duration=5,
        unit=_DAYS,
        counting=_CIVIL,
        warn_at=(),
        on_breach=BreachConsequence(
            escalate_to=None,
            regulator_reportable=False,
            consequence="The applicant did not disclose in time: the insurer may now rescind the CTPL "
            "policy (CTPL Art. 14), within the Art. 16 windows.",
        ),
    ),
    # ------------------------------------------------------------ 退保 and 续期 (issue #14 points 3 and 4)
    SlaRule(
        rule_id="IL47-SURRENDER-30D",
        title="Refund a surrender (cash value, or the premium in cooling-off) within 30 days of the notice",
        legal_basis=LegalBasis(
            instrument=_INSURANCE_LAW,
            article="Art. 47 (自收到解除合同通知之日起三十日内); the same bound for cooling-off refunds [P]; "
            "Civil Code Arts. 201 and 203 as every clock counts",
            duration_set_by="law",
            confidence=Confidence.SOURCED,
        ),
        applies_to=Aggregate.POLICY,
        starts_on=("SurrenderNoticeReceived",),
        start_field="received_on",
        # The policy counts the 30 days when it receives the notice; the view and the clock read that end.
        ends_at_field="refund_due_at",
        satisfied_by=("SurrenderRefundPaid",),
        duration=30,
        unit=_DAYS,
        counting=_CIVIL,
        on_breach=BreachConsequence(
            escalate_to=Role.SUPERVISOR,
            regulator_reportable=True,
            consequence="Surrender refund late (Art. 47): a surrender dispute (退保纠纷), regulatory risk.",
        ),
    ),
    SlaRule(
        rule_id="CO-PREMIUM-REMIND-15D",
        title="Send the payment demand (催告) for a renewal premium unpaid at its due date within 15 days",
        legal_basis=LegalBasis(
            instrument=_COMPANY,
            article="Art. 36 lets the demand start a 30-day period; the company demands every unpaid "
            "instalment",
            duration_set_by="company policy",
            confidence=Confidence.COMPANY_POLICY,
        ),
        applies_to=Aggregate.POLICY,
        starts_on=("RenewalPremiumBilled",),
        start_field="due_on",
        satisfied_by=("PremiumReminderSent", "RenewalPremiumPaid"),
        cancelled_by=_PREMIUM_ENDS,
        duration=15,
        unit=_DAYS,
        counting=_CIVIL,
        on_breach=BreachConsequence(
            escalate_to=Role.SUPERVISOR,
            regulator_reportable=False,
            consequence="Company service promise missed: the customer was not reminded of the premium due.",
        ),
    ),
    SlaRule(
        rule_id="IL36-GRACE-60D",
        title="A renewal premium unpaid 60 days (or the contract's longer grace) after its due date "
        "suspends personal cover",
        kind=RuleKind.WINDOW,
        legal_basis=LegalBasis(
            instrument=_INSURANCE_LAW,
            article="Art. 36 ¶1 (超过约定的期限六十日未支付当期保险费); Civil Code Art. 203 roll-over",
            duration_set_by="law",
            confidence=Confidence.SOURCED,
        ),
        applies_to=Aggregate.POLICY,
        starts_on=("RenewalPremiumBilled",),
        start_field="due_on",
        # The policy counts the period when it bills the instalment; its lapse guard reads this instant.
        ends_at_field="suspends_at",
        satisfied_by=("RenewalPremiumPaid",),
        cancelled_by=_PREMIUM_ENDS,
        duration=60,
        unit=_DAYS,
        counting=_CIVIL,
        warn_at=(),
        on_breach=BreachConsequence(
            escalate_to=None,
            regulator_reportable=False,
            consequence="The payment period is over: the cover is suspended (效力中止, Art. 36).",
            records="PolicyLapsed",
        ),
    ),
    SlaRule(
        rule_id="IL36-DEMAND-30D",
        title="A renewal premium unpaid 30 days after the payment demand (催告) suspends personal cover",
        kind=RuleKind.WINDOW,
        legal_basis=LegalBasis(
            instrument=_INSURANCE_LAW,
            article="Art. 36 ¶1 (自保险人催告之日起超过三十日未支付); Civil Code Art. 203 roll-over",
            duration_set_by="law",
            confidence=Confidence.SOURCED,
        ),
        applies_to=Aggregate.POLICY,
        starts_on=("PremiumReminderSent",),
        start_field="reminded_on",
        # The earlier of the demand's 30 days and the grace period's end, as the policy recorded it.
        ends_at_field="suspends_at",
        satisfied_by=("RenewalPremiumPaid",),
        cancelled_by=_PREMIUM_ENDS,
        duration=30,
        unit=_DAYS,
        counting=_CIVIL,
        warn_at=(),
        on_breach=BreachConsequence(
            escalate_to=None,
            regulator_reportable=False,
            consequence="The payment period is over: the cover is suspended (效力中止, Art. 36).",
            records="PolicyLapsed",
        ),
    ),
    SlaRule(
        rule_id="IL37-REINSTATE-2Y",
        title="The applicant may reinstate a suspended policy by agreement within 2 years of the suspension",
        kind=RuleKind.WINDOW,
        legal_basis=LegalBasis(
            instrument=_INSURANCE_LAW,
            article="Art. 37 (自合同效力中止之日起满二年双方未达成协议的，保险人有权解除合同); Civil Code "
            "Arts. 202–203",
            duration_set_by="law",
            confidence=Confidence.SOURCED,
        ),
        applies_to=Aggregate.POLICY,
        starts_on=("PolicyLapsed",),
        start_field="payment_period_ended_at",
        # The policy records the anniversary's 24:00, rolled over; its reinstatement guard reads it.
        ends_at_field="reinstatement_ends_at",
        satisfied_by=("PolicyReinstated",),
        cancelled_by=("SurrenderNoticeReceived", "PolicySurrendered", "PolicyRescinded", "PolicyExpired"),
        duration=2,
        unit=DurationUnit.YEARS,
        counting=CountingMethod.EXACT,
        warn_at=(),
        on_breach=BreachConsequence(
            escalate_to=None,
            regulator_reportable=False,
            consequence="Two years without reinstatement: the insurer may terminate the contract, refunding "
            "the cash value when two years' premium was paid (Art. 37 ¶2).",
            records="ReinstatementPeriodEnded",
        ),
    ),
    SlaRule(
        rule_id="CTPL28-DOCLIST-1D",
        title="Give the CTPL claimant the written list of required documents within 1 day",
        legal_basis=LegalBasis(
            instrument=_CTPL_REGULATION,
            article="Art. 28",
            duration_set_by="law",
            confidence=Confidence.SOURCED,
        ),
        applies_to=Aggregate.CLAIM,
        applies_if=only_if(ctpl=True),
        # Art. 28: within 1 day of receiving the claim application (赔偿申请), not the accident report.
        starts_on=("ClaimApplicationReceived",),
        start_field="received_at",
        satisfied_by=("ClaimDocumentsRequested",),
        cancelled_by=("ClaimDocumentsCompleted", "ClaimDecided", "ClaimWithdrawn"),
        duration=1,
        unit=_DAYS,
        counting=_CIVIL,
        on_breach=BreachConsequence(
            escalate_to=Role.SUPERVISOR,
            regulator_reportable=True,
            consequence="Statutory CTPL breach: the document list is late.",
        ),
    ),
    SlaRule(
        rule_id="CTPL29-DECIDE-5D",
        title="Decide a CTPL claim within 5 days of receiving the documents",
        legal_basis=LegalBasis(
            instrument=_CTPL_REGULATION,
            article="Art. 29",
            duration_set_by="law",
            confidence=Confidence.SOURCED,
        ),
        applies_to=Aggregate.CLAIM,
        applies_if=only_if(ctpl=True),
        starts_on=("ClaimDocumentsCompleted",),
        satisfied_by=("ClaimDecided",),
        cancelled_by=("ClaimWithdrawn",),
        duration=5,
        unit=_DAYS,
        counting=_CIVIL,
        on_breach=BreachConsequence(
            escalate_to=Role.SUPERVISOR,
            regulator_reportable=True,
            consequence="Statutory CTPL breach: the cover decision is late.",
        ),
    ),
    SlaRule(
        rule_id="CMP-DECIDE-15D",
        title="Decide the complaint and tell the complainant within 15 days of receipt (30 or 60 extended)",
        legal_basis=LegalBasis(
            instrument=_COMPLAINT_MEASURES,
            article="handling-time article (number to check): 15 → 30 → 60 days; appraisal time excluded; "
            "new facts restart",
            duration_set_by="law",
            confidence=Confidence.SOURCED,
        ),
        applies_to=Aggregate.COMPLAINT,
        # A reopened complaint is investigated again within a new 15-day period (Complaint.reopen).
        starts_on=("ComplaintLodged", "ComplaintReopened"),
        pauses_on=("ExternalAppraisalStarted",),
        resumes_on=("ExternalAppraisalCompleted",),
        restarts_on=("ComplaintNewFactsReceived",),
        satisfied_by=("ComplaintResponded",),
        extended_by=("ComplaintDeadlineExtended",),
        cancelled_by=("ComplaintWithdrawn",),
        duration=15,
        unit=_DAYS,
        counting=_CIVIL,
        extensions=(
            RuleExtension(
                duration=30,
                approver_role=None,
                reason_required=True,
                customer_notice_required=False,
                legal_basis="complex case: may be extended to 30 days",
            ),
            RuleExtension(
                duration=60,
                approver_role=Role.SENIOR_MANAGER,
                reason_required=True,
                customer_notice_required=True,
                legal_basis="especially complex or special reason: +30 days with a higher-level or "
                "head-office senior manager's approval, the complainant told; never beyond 60",
            ),
        ),
        on_breach=BreachConsequence(
            escalate_to=Role.SENIOR_MANAGER,
            regulator_reportable=True,
            consequence="Complaint answered late: counts against the on-time rate reported to the regulator.",
        ),
    ),
    SlaRule(
        rule_id="CMP-REVIEW-APPLY-30D",
        title="The complainant may ask for a review within 30 days of receiving the decision",
        kind=RuleKind.WINDOW,
        legal_basis=LegalBasis(
            instrument=_COMPLAINT_MEASURES,
            article="review (核查) article (number to check)",
            duration_set_by="law",
            confidence=Confidence.SOURCED,
        ),
        applies_to=Aggregate.COMPLAINT,
        starts_on=("ComplaintResponded",),
        start_field="delivered_at",
        # The response records the window's end, which Complaint.request_review guards.
        ends_at_field="review_window_closes_at",
        satisfied_by=("ComplaintReviewRequested",),
        cancelled_by=("ComplaintWithdrawn",),
        duration=30,
        unit=_DAYS,
        counting=_CIVIL,
        warn_at=(),
        on_breach=BreachConsequence(
            escalate_to=None,
            regulator_reportable=False,
            consequence="The review window has closed: a later review request is refused.",
        ),
    ),
    SlaRule(
        rule_id="CMP-REVIEW-DECIDE-30D",
        title="Decide a review request within 30 days and tell the complainant",
        legal_basis=LegalBasis(
            instrument=_COMPLAINT_MEASURES,
            article="Art. 21 (to check)",
            duration_set_by="law",
            confidence=Confidence.TO_CHECK,
        ),
        applies_to=Aggregate.COMPLAINT,
        starts_on=("ComplaintReviewRequested",),
        satisfied_by=("ComplaintReviewDecided",),
        cancelled_by=("ComplaintWithdrawn",),
        duration=30,
        unit=_DAYS,
        counting=_CIVIL,
        on_breach=BreachConsequence(
            escalate_to=Role.SENIOR_MANAGER,
            regulator_reportable=True,
            consequence="Review decided late.",
        ),
    ),
    SlaRule(
        rule_id="LIFE-COOLOFF-15D",
        title="Cooling-off period of at least 15 days after the policy receipt is acknowledged",
        kind=RuleKind.WINDOW,
        legal_basis=LegalBasis(
            instrument="健康保险管理办法 (Health Insurance Measures, 2019); the regulator's rules for "
            "personal insurance (life, health, accident) over one year",
            article="Art. 15 (draft numbering, to check); Civil Code Art. 203 roll-over",
            duration_set_by="law",
            confidence=Confidence.TO_CHECK,
        ),
        applies_to=Aggregate.POLICY,
        applies_if=only_if(life_term_over_one_year=True),
        starts_on=("PolicyReceiptAcknowledged",),
        start_field="received_on",
        # The policy counts the contract's period (15 days or more) and its guard reads this instant.
        ends_at_field="cooling_off_ends_at",
        cancelled_by=("PolicyCancelledInCoolingOff",),
        duration=15,
        unit=_DAYS,
        counting=_CIVIL,
        warn_at=(),
        on_breach=BreachConsequence(
            escalate_to=None,
            regulator_reportable=False,
            consequence="Cooling-off ends: cancellation is no longer free of charge.",
            records="CoolingOffEnded",
        ),
    ),
    SlaRule(
        rule_id="LIFE-CALLBACK-15D",
        title="New-policy callback (seven checks) inside the cooling-off period",
        legal_basis=LegalBasis(
            instrument=_LIFE_SERVICE,
            article="Arts. 14–15; its deadline is the end of LIFE-COOLOFF-15D",
            duration_set_by="law",
            confidence=Confidence.SOURCED,
        ),
        applies_to=Aggregate.POLICY,
        applies_if=only_if(life_term_over_one_year=True),
        starts_on=("PolicyReceiptAcknowledged",),
        start_field="received_on",
        # Inside the cooling-off period: its end is the one the policy recorded.
        ends_at_field="cooling_off_ends_at",
        met_on_callback=CallbackType.NEW_POLICY,
        satisfied_by=("CallbackCompleted",),
        # The policy ending early is what cancels its new-policy callback task (consumers.callbacks); the
        # task's own cancellation is not listed: the law's callback duty does not lapse with a task.
        cancelled_by=("PolicyCancelledInCoolingOff", "PolicyRescinded", "PolicySurrendered"),
        duration=15,
        unit=_DAYS,
        counting=_CIVIL,
        on_breach=BreachConsequence(
            escalate_to=Role.SUPERVISOR,
            regulator_reportable=True,
            consequence="No callback inside the cooling-off period: a conduct finding, and the "
            "callback success rate falls.",
        ),
    ),
    SlaRule(
        rule_id="LIFE-MISSELL-15WD",
        title="Remedy mis-selling found by a callback within 15 working days, by non-sales staff",
        legal_basis=LegalBasis(
            instrument=_LIFE_SERVICE, article="Art. 18", duration_set_by="law", confidence=Confidence.SOURCED
        ),
        applies_to=Aggregate.CALLBACK,
        # The callback aggregate decides which issues need remediation (mis-selling, proxy signature,
        # exclusions unknown); a wish to cancel goes to cooling-off cancellation instead.
        applies_if=only_if(remediation_opened=True),
        starts_on=("CallbackIssueFound",),
        # The clock is the remediation task's: MisSellingRemedied is recorded on it.
        subject_field="remediation_task_id",
        satisfied_by=("MisSellingRemedied",),
        duration=15,
        unit=_WORKING_DAYS,
        counting=_CIVIL,
        on_breach=BreachConsequence(
            escalate_to=Role.SENIOR_MANAGER,
            regulator_reportable=True,
            consequence="Mis-selling left unremedied past 15 working days: a conduct breach.",
        ),
    ),
    SlaRule(
        rule_id="CO-SURVEY-CALLBACK-2WD",
        title="Survey callback (查勘回访) within 2 working days of the survey",
        legal_basis=LegalBasis(
            instrument=_COMPANY, duration_set_by="company policy", confidence=Confidence.COMPANY_POLICY
        ),
        applies_to=Aggregate.CLAIM,
        starts_on=("SurveyDone",),
        met_on_callback=CallbackType.SURVEY,
        satisfied_by=("CallbackCompleted",),
        cancelled_by=("CallbackCancelled", "ClaimWithdrawn"),
        duration=2,
        unit=_WORKING_DAYS,
        counting=_CIVIL,
        on_breach=BreachConsequence(
            escalate_to=Role.SUPERVISOR,
            regulator_reportable=False,
            consequence="Company service promise missed.",
        ),
    ),
    SlaRule(
        rule_id="CO-CLOSURE-CALLBACK-7D",
        title="Closure callback (结案回访) within 7 days of closing the claim",
        legal_basis=LegalBasis(
            instrument=_COMPANY, duration_set_by="company policy", confidence=Confidence.COMPANY_POLICY
        ),
        applies_to=Aggregate.CLAIM,
        starts_on=("ClaimClosed",),
        met_on_callback=CallbackType.CLAIM_CLOSURE,
        satisfied_by=("CallbackCompleted",),
        cancelled_by=("CallbackCancelled", "ClaimReopened"),
        duration=7,
        unit=_DAYS,
        counting=_CIVIL,
        on_breach=BreachConsequence(
            escalate_to=Role.SUPERVISOR,
            regulator_reportable=False,
            consequence="Company service promise missed.",
        ),
    ),
    SlaRule(
        rule_id="CO-CMP-ACK-1WD",
        title="Acknowledge a complaint within 1 working day",
        legal_basis=LegalBasis(
            instrument=_COMPANY,
            article="the 2020 complaint measures set no acknowledgement deadline",
            duration_set_by="company policy",
            confidence=Confidence.COMPANY_POLICY,
        ),
        applies_to=Aggregate.COMPLAINT,
        starts_on=("ComplaintLodged",),
        # A full response inside the day acknowledges the complaint too.
        satisfied_by=("ComplaintAcknowledged", "ComplaintResponded"),
        cancelled_by=("ComplaintWithdrawn",),
        duration=1,
        unit=_WORKING_DAYS,
        counting=_CIVIL,
        on_breach=BreachConsequence(
            escalate_to=Role.SUPERVISOR,
            regulator_reportable=False,
            consequence="Company service promise missed.",
        ),
    ),
    # 保全 policy service: the time standard per item is the company's (保全时效), as data. "Same day" for
    # contact data is the shortest a Civil-Code day count gives (the receipt day is not counted, Art. 201):
    # done by 24:00 of the next working day.
    SlaRule(
        rule_id="CO-SVC-CONTACT-1WD",
        title="Change contact data or address by the end of the next working day",
        legal_basis=LegalBasis(
            instrument=_COMPANY, duration_set_by="company policy", confidence=Confidence.COMPANY_POLICY
        ),
        applies_to=Aggregate.SERVICE_REQUEST,
        applies_if=only_if(service_item=("contact_change", "address_change")),
        starts_on=("ServiceRequested",),
        start_field="received_at",
        satisfied_by=("ServiceRequestCompleted", "ServiceRequestRefused"),
        cancelled_by=("ServiceRequestWithdrawn",),
        duration=1,
        unit=_WORKING_DAYS,
        counting=_CIVIL,
        on_breach=BreachConsequence(
            escalate_to=Role.SUPERVISOR,
            regulator_reportable=False,
            consequence="Policy service time standard (保全时效) missed.",
        ),
    ),
    SlaRule(
        rule_id="CO-SVC-MONEY-3WD",
        title="Decide a bank account, payment-method or policy-loan request within 3 working days",
        legal_basis=LegalBasis(
            instrument=_COMPANY, duration_set_by="company policy", confidence=Confidence.COMPANY_POLICY
        ),
        applies_to=Aggregate.SERVICE_REQUEST,
        applies_if=only_if(service_item=("bank_account_change", "payment_method_change", "policy_loan")),
        starts_on=("ServiceRequested",),
        start_field="received_at",
        satisfied_by=("ServiceRequestCompleted", "ServiceRequestRefused"),
        cancelled_by=("ServiceRequestWithdrawn",),
        duration=3,
        unit=_WORKING_DAYS,
        counting=_CIVIL,
        on_breach=BreachConsequence(
            escalate_to=Role.SUPERVISOR,
            regulator_reportable=False,
            consequence="Policy service time standard (保全时效) missed on a money item.",
        ),
    ),
    SlaRule(
        rule_id="CO-SVC-CHANGE-5WD",
        title="Decide a beneficiary change or a reduction (减保) within 5 working days",
        legal_basis=LegalBasis(
            instrument=_COMPANY, duration_set_by="company policy", confidence=Confidence.COMPANY_POLICY
        ),
        applies_to=Aggregate.SERVICE_REQUEST,
        applies_if=only_if(service_item=("beneficiary_change", "reduction")),
        starts_on=("ServiceRequested",),
        start_field="received_at",
        satisfied_by=("ServiceRequestCompleted", "ServiceRequestRefused"),
        cancelled_by=("ServiceRequestWithdrawn",),
        duration=5,
        unit=_WORKING_DAYS,
        counting=_CIVIL,
        on_breach=BreachConsequence(
            escalate_to=Role.SUPERVISOR,
            regulator_reportable=False,
            consequence="Policy service time standard (保全时效) missed on a contract change.",
        ),
    ),
    SlaRule(
        rule_id="CO-SVC-NOTICE-1WD",
        title="Tell the customer the outcome of a policy service request within 1 working day",
        legal_basis=LegalBasis(
            instrument=_COMPANY, duration_set_by="company policy", confidence=Confidence.COMPANY_POLICY
        ),
        applies_to=Aggregate.SERVICE_REQUEST,
        starts_on=("ServiceRequestCompleted", "ServiceRequestRefused"),
        satisfied_by=("ServiceCustomerNotified",),
        duration=1,
        unit=_WORKING_DAYS,
        counting=_CIVIL,
        on_breach=BreachConsequence(
            escalate_to=Role.SUPERVISOR,
            regulator_reportable=False,
            consequence="The customer was not told the outcome of the policy service request in time.",
        ),
    ),
    # ---- 咨询 inquiries and 其他 value-added service orders (issue #14 points 1 and 5): company standards.
    SlaRule(
        rule_id="INQ-REPLY-1WD",
        title="Reply to an inquiry that could not be answered at once within 1 working day",
        legal_basis=LegalBasis(
            instrument=_COMPANY,
            article="the company's service standard for inquiries (咨询); the number is the insurer's to set",
            duration_set_by="company policy",
            confidence=Confidence.COMPANY_POLICY,
        ),
        applies_to=Aggregate.INQUIRY,
        starts_on=("InquiryDeferred",),
        satisfied_by=("InquiryAnswered", "InquiryTransferred"),
        duration=1,
        unit=_WORKING_DAYS,
        counting=_CIVIL,
        on_breach=BreachConsequence(
            escalate_to=Role.SUPERVISOR,
            regulator_reportable=False,
            consequence="Company service promise missed: the caller waits past the promised reply.",
        ),
    ),
    SlaRule(
        rule_id="VAS-ARRIVE-RESCUE-1H",
        title="Roadside rescue (非事故救援) on site within 1 hour of the request",
        legal_basis=LegalBasis(
            instrument=_COMPANY, duration_set_by="company policy", confidence=Confidence.COMPANY_POLICY
        ),
        applies_to=Aggregate.SERVICE_ORDER,
        applies_if=only_if(service_kind="roadside_rescue"),
        starts_on=("ServiceOrderRequested",),
        satisfied_by=("ServiceProviderArrived",),
        cancelled_by=("ServiceOrderCancelled",),
        duration=1,
        unit=DurationUnit.HOURS,
        counting=CountingMethod.EXACT,
        on_breach=BreachConsequence(
            escalate_to=Role.SUPERVISOR,
            regulator_reportable=False,
            consequence="Company service promise missed: the rescue arrived late.",
        ),
    ),
    SlaRule(
        rule_id="VAS-ARRIVE-DRIVER-1H",
        title="Designated driver (酒后代驾) on site within 1 hour of the request",
        legal_basis=LegalBasis(
            instrument=_COMPANY, duration_set_by="company policy", confidence=Confidence.COMPANY_POLICY
        ),
        applies_to=Aggregate.SERVICE_ORDER,
        applies_if=only_if(service_kind="designated_driver"),
        starts_on=("ServiceOrderRequested",),
        satisfied_by=("ServiceProviderArrived",),
        cancelled_by=("ServiceOrderCancelled",),
        duration=1,
        unit=DurationUnit.HOURS,
        counting=CountingMethod.EXACT,
        on_breach=BreachConsequence(
            escalate_to=Role.SUPERVISOR,
            regulator_reportable=False,
            consequence="Company service promise missed: the driver arrived late.",
        ),
    ),
    SlaRule(
        rule_id="VAS-ARRIVE-PREVENTION-3WD",
        title="Risk-prevention visit (防灾防损) within 3 working days of the request",
        legal_basis=LegalBasis(
            instrument=_COMPANY, duration_set_by="company policy", confidence=Confidence.COMPANY_POLICY
        ),
        applies_to=Aggregate.SERVICE_ORDER,
        applies_if=only_if(service_kind="risk_prevention"),
        starts_on=("ServiceOrderRequested",),
        satisfied_by=("ServiceProviderArrived",),
        cancelled_by=("ServiceOrderCancelled",),
        duration=3,
        unit=_WORKING_DAYS,
        counting=_CIVIL,
        on_breach=BreachConsequence(
            escalate_to=Role.SUPERVISOR,
            regulator_reportable=False,
            consequence="Company service promise missed: the risk engineer's visit is late.",
        ),
    ),
    SlaRule(
        rule_id="CO-VAS-CALLBACK-3WD",
        title="Callback (回访) within 3 working days of a done value-added service",
        legal_basis=LegalBasis(
            instrument=_COMPANY, duration_set_by="company policy", confidence=Confidence.COMPANY_POLICY
        ),
        applies_to=Aggregate.SERVICE_ORDER,
        starts_on=("ServiceOrderCompleted",),
        met_on_callback=CallbackType.VALUE_ADDED_SERVICE,
        satisfied_by=("CallbackCompleted",),
        cancelled_by=("CallbackCancelled",),
        duration=3,
        unit=_WORKING_DAYS,
        counting=_CIVIL,
        on_breach=BreachConsequence(
            escalate_to=Role.SUPERVISOR,
            regulator_reportable=False,
            consequence="Company service promise missed: no callback after the service.",
        ),
    ),
)
"""Every SLA rule the timers enforce."""

_BY_ID: dict[str, SlaRule] = {rule.rule_id: rule for rule in ALL_RULES}


def rule_by_id(rule_id: str) -> SlaRule:
    """The rule with this stable id."""
    try:
        return _BY_ID[rule_id]
    except KeyError:
        raise UnknownSlaRuleError(rule_id) from None


def require_clock_days_in_calendar(event: DomainEvent) -> None:
    """Refuse an event whose SLA clocks would count from a day no calendar version covers (a receipt in
    2020): the day a rule starts from (its ``start_field``), or the day a pause, resume, restart, extension
    or end takes effect (``occurred_at``, else the recorded time). Exact (hour and year) rules need no
    calendar and are not checked. ``domain.calendar.DateOutsideCalendarsError`` (CAL-OUT-OF-RANGE)."""
    name = type(event).__name__
    for rule in _CALENDAR_RULES_BY_EVENT.get(name, ()):
        field = rule.start_field if name in rule.starts_on else "occurred_at"
        value = getattr(event, field, None)
        if value is None:
            field, value = "recorded time", event.timestamp
        day = value.astimezone(SHANGHAI).date() if isinstance(value, datetime) else value
        if isinstance(day, date):
            require_in_some_calendar(f"{name}.{field} ({rule.rule_id})", day)


def rules_started_by(event_name: str) -> tuple[SlaRule, ...]:
    """The rules whose clock this event (by class name) may start; each one's ``applies_if`` still decides."""
    return tuple(rule for rule in ALL_RULES if event_name in rule.starts_on)


_CALENDAR_RULES_BY_EVENT: Mapping[str, tuple[SlaRule, ...]] = MappingProxyType(
    {
        name: tuple(
            rule
            for rule in ALL_RULES
            if name in rule.event_names() and rule.counting is not CountingMethod.EXACT
        )
        for name in sorted({name for rule in ALL_RULES for name in rule.event_names()})
    }
)
"""Per event name, the rules counting with the calendar that the event starts or moves."""
