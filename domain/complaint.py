"""投诉 Complaints: lodge → acknowledge → assign → classify → investigate (⇄ external appraisal) → respond
→ close; plus extension, new facts, review, withdrawal, external escalation and reopening.

The rules a complaint keeps (CBIRC Order 2020 No. 3), each a named error below: the handler has no part in
the case (回避); the 15-day period is extended to 30 days only for a complex case and with a reason, to 60
days only with a senior manager's approval and notice to the complainant, never beyond 60, and only in that
order; the response explains the check, its basis, and lists the remedies (review, mediation, arbitration,
litigation); review is asked for within 30 days of the response's delivery; a withdrawn or closed complaint
takes no further step (a closed one may be reopened).

Paused state (CMP-PAUSE-APPRAISAL): while an external appraisal runs the clock is stopped, so the complaint
is not responded to: the response would rest on facts that are still being established. Everything else
that does not conclude the case stays possible while paused: reassignment, reclassification, extension, new
facts, escalation and withdrawal (a withdrawal ends the appraisal's relevance and clears the pause).

The clock fields (``received_at``, ``clock_started_at``, ``deadline_days``, ``pauses``) are facts for the SLA
timers. The aggregate computes two instants itself, both with ``domain.calendar`` (Civil Code Arts. 201-203,
holidays rolled over) so that they agree with the timers: the review window's end, recorded on the response
that opens it (the CMP-REVIEW-APPLY-30D timer keeps that recorded instant), and the end of the running
decision period, which an extension or its approval must come before (CMP-EXT-WITHIN-PERIOD).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.base import (
    SHANGHAI,
    Actor,
    CaseAggregate,
    CaseCreated,
    Context,
    DomainError,
    DomainEvent,
    FourEyesError,
    InvalidTransitionError,
    PersonalStr,
    Role,
    require_role,
    require_status,
    taken_by,
)
from domain.calendar import (
    CalendarYearNotCoveredError,
    Deadline,
    HolidayCalendar,
    Pause,
    compute_deadline,
    default_calendar,
    restart_deadline,
)
from domain.sla import rule_by_id

BASE_DEADLINE_DAYS = 15
REVIEW_WINDOW_DAYS = 30
# The only steps an extension may take, in order (CMP-EXT-30D, CMP-EXT-60D).
EXTENSION_STEPS: dict[int, int] = {15: 30, 30: 60}
MAX_DEADLINE_DAYS = 60
DECIDE_RULE_ID = "CMP-DECIDE-15D"
"""The SLA rule of the decision period (15 → 30 → 60 days) that the timers enforce."""
REVIEW_WINDOW_RULE_ID = "CMP-REVIEW-APPLY-30D"
"""The SLA rule of the complainant's 30 days to ask for review (核查)."""


class ComplaintStatus(StrEnum):
    """Where a complaint stands in its lifecycle."""

    LODGED = "lodged"
    ACKNOWLEDGED = "acknowledged"
    ASSIGNED = "assigned"
    INVESTIGATING = "investigating"
    RESPONDED = "responded"
    REVIEW_REQUESTED = "review_requested"
    REVIEWED = "reviewed"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


class ComplaintCategory(StrEnum):
    """What the complaint is about, by service link."""

    SALES = "sales"  # 销售
    UNDERWRITING = "underwriting"  # 承保
    CLAIMS = "claims"  # 理赔
    SURRENDER = "surrender"  # 退保
    POLICY_SERVICE = "policy_service"  # 保全
    OTHER = "other"


class ComplaintChannel(StrEnum):
    """How the complaint reached the insurer; a regulator transfer is flagged for regulator reporting."""

    HOTLINE = "hotline"
    COUNTER = "counter"
    ONLINE = "online"
    LETTER = "letter"
    REGULATOR_TRANSFER = "regulator_transfer"


class SubjectKind(StrEnum):
    """The kind of thing a complaint is about."""

    POLICY = "policy"
    CLAIM = "claim"
    SELLER = "seller"


class SubjectRef(BaseModel):
    """A reference to the policy, claim or seller a complaint is about."""

    model_config = ConfigDict(frozen=True)

    kind: SubjectKind
    ref: str = Field(min_length=1)


class Complexity(StrEnum):
    """How hard the complaint is: it decides whether the 15-day period may be extended."""

    SIMPLE = "simple"
    COMPLEX = "complex"
    SPECIAL = "special"


class Remedy(StrEnum):
    """The ways the complainant may pursue the matter further, listed in every response (Art. 20)."""

    REVIEW = "review"  # 核查
    MEDIATION = "mediation"  # 调解
    ARBITRATION = "arbitration"  # 仲裁
    LITIGATION = "litigation"  # 诉讼


class ReviewResult(StrEnum):
    """The outcome of a review (核查): the decision stands or is revised."""

    UPHELD = "upheld"
    REVISED = "revised"


class ComplaintOutcome(StrEnum):
    """How far the complaint was found justified, recorded at closure."""

    UPHELD = "upheld"
    PARTLY_UPHELD = "partly_upheld"
    NOT_UPHELD = "not_upheld"


class ExternalBody(StrEnum):
    """Where a complaint went outside the insurer."""

    REGULATOR = "regulator"
    MEDIATION = "mediation"
    ARBITRATION = "arbitration"
    COURT = "court"


# ---------------------------------------------------------------------------------------------- errors


class ComplaintTimeInFutureError(DomainError):
    """A business time (receipt, delivery) cannot lie after the server recorded it: it would move a clock."""

    rule = "CMP-BUSINESS-TIME"


class ComplaintHandlerInvolvedError(FourEyesError):
    """回避: whoever handles, answers or reviews a complaint has no part in the case complained about."""

    rule = "CMP-RECUSAL"


class ComplaintHandlerWorkedSubjectCaseError(ComplaintHandlerInvolvedError):
    """回避: the handler is one of the staff the case complained about records (its seller, underwriter,
    claims handler, surveyor, adjuster or reviewer), found by the system, not typed by the officer."""

    rule = "CMP-RECUSAL-SUBJECT-CASE"


class ComplaintSubjectUnresolvedError(DomainError):
    """回避 cannot be checked: the policy, claim or seller the complaint names is not one case or seller on
    record (an unknown or shared number, a case id of no such case), so the complaint is not assigned until
    the officer gives the case id; recusal is never skipped for want of a lookup."""

    rule = "CMP-RECUSAL-SUBJECT-UNRESOLVED"


class ExtensionForSimpleComplaintError(DomainError):
    """Only a complaint classified as complex (or special) may have its 15-day period extended."""

    rule = "CMP-EXT-COMPLEX"


class ExtensionReasonRequiredError(DomainError):
    """An extension of the complaint period states its reason."""

    rule = "CMP-EXT-30D"


class ExtensionNeedsSeniorApprovalError(DomainError):
    """An extension to 60 days is approved by a senior manager."""

    rule = "CMP-EXT-60D-APPROVAL"


class ExtensionNoticeRequiredError(DomainError):
    """An extension to 60 days is notified to the complainant."""

    rule = "CMP-EXT-60D-NOTICE"


class ComplaintExtensionBeyondSixtyDaysError(DomainError):
    """The complaint period is never longer than 60 days in total."""

    rule = "CMP-EXT-MAX-60D"


class ExtensionOutOfOrderError(DomainError):
    """The complaint period is extended one step at a time: 15 → 30 → 60."""

    rule = "CMP-EXT-ORDER"


class ExtensionAfterPeriodError(DomainError):
    """An extension (or its approval) is decided while the period it extends still runs: a period that
    has run out was missed, and extending it afterwards would hide the breach."""

    rule = "CMP-EXT-WITHIN-PERIOD"


class AppraisalInProgressError(DomainError):
    """While an external appraisal runs the clock is stopped: no response and no second appraisal."""

    rule = "CMP-PAUSE-APPRAISAL"


class NoAppraisalInProgressError(DomainError):
    """Only a running external appraisal can be completed."""

    rule = "CMP-PAUSE-APPRAISAL-RESUME"


class ResponseWithoutRemediesError(DomainError):
    """The response lists the complainant's remedies: review, mediation, arbitration, litigation."""

    rule = "CMP-DECISION-CONTENT"


class ReviewWindowClosedError(DomainError):
    """Review (核查) is asked for within 30 days of the response's delivery."""

    rule = "CMP-REVIEW-APPLY-30D"


class ComplaintReviewerIsResponderError(FourEyesError):
    """Four-eyes: the reviewer of a complaint decision is not the person who made it."""

    rule = "four-eyes-complaint-review"


# ---------------------------------------------------------------------------------------------- events


class ComplaintLodged(CaseCreated):
    """A complaint was received; ``occurred_at`` is its receipt, from which the 15-day period counts."""

    TOPIC = "complaint.lodged.v1"

    category: ComplaintCategory
    channel: ComplaintChannel
    subject_ref: SubjectRef
    customer_id: str = Field(min_length=1)
    complainant_name: PersonalStr
    complainant_phone: PersonalStr
    facts: str = Field(min_length=1)
    demands: str
    involved_staff: tuple[str, ...] = ()
    recording_ref: str | None = None

    @property
    def received_at(self) -> datetime:
        """The receipt of the complaint (the business time of this event)."""
        return self.occurred_at or self.timestamp

    def apply(self, complaint: Complaint) -> None:
        complaint.status = ComplaintStatus.LODGED
        complaint.category = self.category
        complaint.channel = self.channel
        complaint.subject_ref = self.subject_ref
        complaint.customer_id = self.customer_id
        complaint.involved_staff = frozenset(self.involved_staff)
        complaint.received_at = self.received_at
        complaint.clock_started_at = self.received_at
        complaint.deadline_days = BASE_DEADLINE_DAYS
        complaint.regulator_reportable = self.channel is ComplaintChannel.REGULATOR_TRANSFER


class ComplaintAcknowledged(DomainEvent):
    """The complainant was told the complaint was received (company SLA CMP-ACK)."""

    TOPIC = "complaint.acknowledged.v1"

    channel: str = Field(min_length=1)

    def apply(self, complaint: Complaint) -> None:
        complaint.status = ComplaintStatus.ACKNOWLEDGED


class ComplaintAssigned(DomainEvent):
    """A handler with no part in the case was assigned; ``involved_staff`` is what recusal was checked on."""

    TOPIC = "complaint.assigned.v1"

    handler_id: str = Field(min_length=1)
    involved_staff: tuple[str, ...] = ()
    subject_staff: tuple[str, ...] = ()
    """The staff the case complained about records, as the system looked them up at this assignment."""
    subject_case_version: int | None = None
    """The version of the policy or claim complained about whose staff were looked up; None for a seller,
    and on assignments recorded before every policy or claim reference had to resolve to a case (then only
    the staff named by the officer were known)."""
    subject_case_id: UUID | None = None
    """The policy or claim whose staff were looked up (the complaint may name it by its number); None for
    a seller, and on assignments recorded before this field."""

    def apply(self, complaint: Complaint) -> None:
        # A reassignment during the investigation keeps the complaint where it is.
        if complaint.status is ComplaintStatus.ACKNOWLEDGED:
            complaint.status = ComplaintStatus.ASSIGNED
        complaint.handler_id = self.handler_id
        complaint.involved_staff = (
            complaint.involved_staff | frozenset(self.involved_staff) | frozenset(self.subject_staff)
        )


class ComplaintClassified(DomainEvent):
    """The complaint was classified by complexity (and its category confirmed); the investigation runs."""

    TOPIC = "complaint.classified.v1"

    complexity: Complexity
    category: ComplaintCategory
    product: str | None = None

    def apply(self, complaint: Complaint) -> None:
        complaint.status = ComplaintStatus.INVESTIGATING
        complaint.complexity = self.complexity
        complaint.category = self.category


class ExternalAppraisalStarted(DomainEvent):
    """An external appraisal, test or valuation started: the complaint clock is paused."""

    TOPIC = "complaint.external-appraisal-started.v1"

    provider: str = Field(min_length=1)
    purpose: str = Field(min_length=1)
    customer_notified_at: datetime | None = None

    def apply(self, complaint: Complaint) -> None:
        complaint.paused = True
        # The instant the timers pause the clock at (consumers.timers.change_instant).
        complaint.pauses = (*complaint.pauses, Pause(paused_at=self.occurred_at or self.timestamp))


class ExternalAppraisalCompleted(DomainEvent):
    """The external appraisal came back: the complaint clock resumes."""

    TOPIC = "complaint.external-appraisal-completed.v1"

    result_summary: str = Field(min_length=1)

    def apply(self, complaint: Complaint) -> None:
        complaint.paused = False
        if complaint.pauses and complaint.pauses[-1].resumed_at is None:
            last = complaint.pauses[-1]
            resumed = max(self.occurred_at or self.timestamp, last.paused_at)
            complaint.pauses = (*complaint.pauses[:-1], Pause(paused_at=last.paused_at, resumed_at=resumed))


class ComplaintNewFactsReceived(DomainEvent):
    """New facts or reasons arrived; ``occurred_at`` is their receipt, from which the period restarts."""

    TOPIC = "complaint.new-facts-received.v1"

    facts: str = Field(min_length=1)

    def apply(self, complaint: Complaint) -> None:
        complaint.clock_started_at = self.occurred_at or self.timestamp


class ComplaintDeadlineExtended(DomainEvent):
    """The complaint period was extended (15 → 30 with a reason; 30 → 60 with approval and notice)."""

    TOPIC = "complaint.deadline-extended.v1"

    from_days: int
    to_days: int
    reason: str = Field(min_length=1)
    approver: Actor | None = None
    """The senior manager whose recorded approval (``ComplaintExtensionApproved``) the 60-day step used."""
    customer_notified_at: datetime | None = None

    def apply(self, complaint: Complaint) -> None:
        complaint.deadline_days = self.to_days
        complaint.extension_approval = None


class ComplaintExtensionApproved(DomainEvent):
    """A senior manager approved, by their own command, extending the period to ``to_days`` (60 days)."""

    TOPIC = "complaint.extension-approved.v1"

    to_days: int
    reason: str = Field(min_length=1)

    def apply(self, complaint: Complaint) -> None:
        complaint.extension_approval = self.actor


class ComplaintResponded(DomainEvent):
    """处理决定: the decision, how the facts were checked, its basis and the remedies were delivered."""

    TOPIC = "complaint.responded.v1"

    decision: str = Field(min_length=1)
    verification_summary: str = Field(min_length=1)
    basis: str = Field(min_length=1)
    remedies: tuple[Remedy, ...]
    channel: str = Field(min_length=1)
    # Also the event's occurred_at: the review window counts from it.
    delivered_at: datetime
    review_window_closes_at: datetime | None = None
    """The first instant after the complainant's 30 days to ask for review (Civil Code Arts. 201-203 on
    the holiday calendar); the CMP-REVIEW-APPLY-30D timer keeps it. None on responses recorded before it
    was: their window is the calendar-day count they were guarded by."""

    def apply(self, complaint: Complaint) -> None:
        complaint.status = ComplaintStatus.RESPONDED
        complaint.responder_id = self.actor.id
        complaint.delivered_at = self.delivered_at
        complaint.review_window_closes_at = self.review_window_closes_at or review_window_minimum(
            self.delivered_at
        )


class ComplaintReviewRequested(DomainEvent):
    """The complainant asked for review (核查); ``occurred_at`` is the request's receipt."""

    TOPIC = "complaint.review-requested.v1"

    reason: str = Field(min_length=1)

    def apply(self, complaint: Complaint) -> None:
        complaint.status = ComplaintStatus.REVIEW_REQUESTED


class ComplaintReviewDecided(DomainEvent):
    """The review was decided by someone other than the responder: the decision stands or is revised."""

    TOPIC = "complaint.review-decided.v1"

    result: ReviewResult
    decision: str = Field(min_length=1)

    def apply(self, complaint: Complaint) -> None:
        complaint.status = ComplaintStatus.REVIEWED


class ComplaintWithdrawn(DomainEvent):
    """The complainant withdrew: the procedure ends on ``occurred_at``, the withdrawal's receipt."""

    TOPIC = "complaint.withdrawn.v1"

    reason: str = Field(min_length=1)

    def apply(self, complaint: Complaint) -> None:
        complaint.status = ComplaintStatus.WITHDRAWN
        complaint.paused = False


class ComplaintClosed(DomainEvent):
    """The complaint was closed with its outcome; the archive retention clock starts."""

    TOPIC = "complaint.closed.v1"

    outcome: ComplaintOutcome

    def apply(self, complaint: Complaint) -> None:
        complaint.status = ComplaintStatus.CLOSED
        complaint.outcome = self.outcome


class ComplaintReopened(DomainEvent):
    """A closed complaint was reopened for a new investigation, with the reason: a new 15-day period runs."""

    TOPIC = "complaint.reopened.v1"

    reason: str = Field(min_length=1)

    def apply(self, complaint: Complaint) -> None:
        complaint.status = ComplaintStatus.INVESTIGATING
        complaint.outcome = None
        complaint.delivered_at = None
        complaint.review_window_closes_at = None
        complaint.responder_id = None
        complaint.clock_started_at = self.timestamp
        complaint.deadline_days = BASE_DEADLINE_DAYS
        complaint.pauses = ()
        complaint.extension_approval = None


class ComplaintEscalatedExternally(DomainEvent):
    """The complaint went to an outside body (regulator, mediation, arbitration, court)."""

    TOPIC = "complaint.escalated-externally.v1"

    body: ExternalBody
    reference: str | None = None

    def apply(self, complaint: Complaint) -> None:
        complaint.escalations = (*complaint.escalations, self.body)
        if self.body is ExternalBody.REGULATOR:
            complaint.regulator_reportable = True


# ---------------------------------------------------------------------------------------------- aggregate

_OFFICERS = (Role.COMPLAINTS_OFFICER, Role.SUPERVISOR)
_REVIEWERS = (Role.SUPERVISOR, Role.SENIOR_MANAGER)
_BEFORE_RESPONSE = (
    ComplaintStatus.LODGED,
    ComplaintStatus.ACKNOWLEDGED,
    ComplaintStatus.ASSIGNED,
    ComplaintStatus.INVESTIGATING,
)
_NOT_ENDED = (
    *_BEFORE_RESPONSE,
    ComplaintStatus.RESPONDED,
    ComplaintStatus.REVIEW_REQUESTED,
    ComplaintStatus.REVIEWED,
)


class Complaint(CaseAggregate):
    """A customer complaint: its lifecycle, its clock facts and the rules each step keeps."""

    TOPIC = "complaint.aggregate"
    """Explicit, so that stored events and snapshots never name a Python import path."""

    class Created(CaseAggregate.Created):
        """The library's generic creation event: unused here, but it must carry a topic too."""

        TOPIC = "complaint.library-created"

    status: ComplaintStatus
    category: ComplaintCategory
    channel: ComplaintChannel
    subject_ref: SubjectRef
    customer_id: str
    involved_staff: frozenset[str]
    received_at: datetime
    clock_started_at: datetime
    deadline_days: int
    paused: bool
    pauses: tuple[Pause, ...]
    handler_id: str | None
    complexity: Complexity | None
    responder_id: str | None
    delivered_at: datetime | None
    review_window_closes_at: datetime | None
    extension_approval: Actor | None
    outcome: ComplaintOutcome | None
    escalations: tuple[ExternalBody, ...]
    regulator_reportable: bool

    def __init__(self) -> None:
        # Called by the library when ComplaintLodged is replayed; ComplaintLodged.apply then sets the facts.
        self.involved_staff = frozenset()
        self.deadline_days = BASE_DEADLINE_DAYS
        self.paused = False
        self.pauses = ()
        self.handler_id = None
        self.complexity = None
        self.responder_id = None
        self.delivered_at = None
        self.review_window_closes_at = None
        self.extension_approval = None
        self.outcome = None
        self.escalations = ()
        self.regulator_reportable = False

    @classmethod
    @taken_by("lodge complaint", *_OFFICERS, Role.SYSTEM)
    def lodge(
        cls,
        ctx: Context,
        *,
        complaint_id: UUID,
        received_at: datetime,
        category: ComplaintCategory,
        channel: ComplaintChannel,
        subject_ref: SubjectRef,
        customer_id: str,
        complainant_name: str,
        complainant_phone: str,
        facts: str,
        demands: str,
        involved_staff: frozenset[str] = frozenset(),
        recording_ref: str | None = None,
    ) -> Complaint:
        """Lodge a complaint as received at ``received_at``: the 15-day period counts from receipt."""
        _check_not_after_recording("received_at", received_at, ctx)
        return cls._open(
            ComplaintLodged,
            complaint_id,
            ctx,
            occurred_at=received_at,
            category=category,
            channel=channel,
            subject_ref=subject_ref,
            customer_id=customer_id,
            complainant_name=complainant_name,
            complainant_phone=complainant_phone,
            facts=facts,
            demands=demands,
            involved_staff=tuple(sorted(involved_staff)),
            recording_ref=recording_ref,
        )

    @taken_by("acknowledge complaint", *_OFFICERS, Role.SYSTEM)
    def acknowledge(self, ctx: Context, *, channel: str) -> None:
        """Tell the complainant the complaint was received."""
        require_status("acknowledge complaint", self.status, ComplaintStatus.LODGED)
        self._record(ComplaintAcknowledged, ctx, channel=channel)

    @taken_by("assign complaint", *_OFFICERS)
    def assign(
        self,
        ctx: Context,
        *,
        handler_id: str,
        involved_staff: frozenset[str],
        subject_staff: frozenset[str] = frozenset(),
        subject_case_id: UUID | None = None,
        subject_case_version: int | None = None,
    ) -> None:
        """Assign (or reassign) a handler who has no part in the case (回避).

        ``subject_staff``: who the case complained about records as having worked it, looked up by the
        application (``infra.services.complaints.Complaints.assign``); ``involved_staff``: whom the officer
        names besides; ``subject_case_id`` and ``subject_case_version``: which case, as it stood, the
        application read them from. Those known at lodging or at an earlier assignment count too, so a later
        lookup that misses someone cannot undo the recusal.
        """
        require_status(
            "assign complaint",
            self.status,
            ComplaintStatus.ACKNOWLEDGED,
            ComplaintStatus.ASSIGNED,
            ComplaintStatus.INVESTIGATING,
        )
        if handler_id in subject_staff:
            raise ComplaintHandlerWorkedSubjectCaseError(
                f"{handler_id} is recorded on the {self.subject_ref.kind.value} complained about "
                f"({self.subject_ref.ref}) and may not handle the complaint"
            )
        if handler_id in self.involved_staff | involved_staff:
            raise ComplaintHandlerInvolvedError(
                f"{handler_id} took part in the case complained about and may not handle the complaint"
            )
        self._record(
            ComplaintAssigned,
            ctx,
            handler_id=handler_id,
            involved_staff=tuple(sorted(involved_staff)),
            subject_staff=tuple(sorted(subject_staff)),
            subject_case_id=subject_case_id,
            subject_case_version=subject_case_version,
        )

    @taken_by("classify complaint", *_OFFICERS)
    def classify(
        self,
        ctx: Context,
        *,
        complexity: Complexity,
        category: ComplaintCategory | None = None,
        product: str | None = None,
    ) -> None:
        """Classify the complaint by complexity, confirming or correcting its category."""
        require_status(
            "classify complaint", self.status, ComplaintStatus.ASSIGNED, ComplaintStatus.INVESTIGATING
        )
        self._record(
            ComplaintClassified,
            ctx,
            complexity=complexity,
            category=category or self.category,
            product=product,
        )

    @taken_by("start appraisal", *_OFFICERS)
    def start_appraisal(
        self, ctx: Context, *, provider: str, purpose: str, customer_notified_at: datetime | None = None
    ) -> None:
        """Start an external appraisal: the clock pauses; the complainant is to be told promptly."""
        require_status("start appraisal", self.status, ComplaintStatus.INVESTIGATING)
        if self.paused:
            raise AppraisalInProgressError("an external appraisal is already running")
        self._record(
            ExternalAppraisalStarted,
            ctx,
            provider=provider,
            purpose=purpose,
            customer_notified_at=customer_notified_at,
        )

    @taken_by("complete appraisal", *_OFFICERS)
    def complete_appraisal(self, ctx: Context, *, result_summary: str) -> None:
        """Record the external appraisal's result: the clock resumes."""
        require_status("complete appraisal", self.status, ComplaintStatus.INVESTIGATING)
        if not self.paused:
            raise NoAppraisalInProgressError("no external appraisal is running")
        self._record(ExternalAppraisalCompleted, ctx, result_summary=result_summary)

    @taken_by("receive new facts", *_OFFICERS)
    def receive_new_facts(self, ctx: Context, *, facts: str, received_at: datetime | None = None) -> None:
        """Record new facts or reasons from the complainant: the period restarts from their receipt."""
        require_status("receive new facts", self.status, *_BEFORE_RESPONSE)
        received = received_at or ctx.recorded_at
        _check_not_after_recording("received_at", received, ctx)
        self._record(ComplaintNewFactsReceived, ctx, occurred_at=received, facts=facts)

    @taken_by("extend complaint deadline", *_OFFICERS)
    def extend(
        self,
        ctx: Context,
        *,
        to_days: int,
        reason: str,
        customer_notified_at: datetime | None = None,
    ) -> None:
        """Extend a complex complaint's period while it runs: to 30 days with a reason, to 60 with a senior
        manager's recorded approval (``approve_extension``) and notice to the complainant."""
        require_status("extend complaint deadline", self.status, ComplaintStatus.INVESTIGATING)
        if self.complexity is Complexity.SIMPLE:
            raise ExtensionForSimpleComplaintError(
                "a complaint classified as simple is decided within 15 days"
            )
        self._require_period_running(ctx, "the extension")
        if to_days > MAX_DEADLINE_DAYS:
            raise ComplaintExtensionBeyondSixtyDaysError(
                f"{to_days} days exceeds the maximum of {MAX_DEADLINE_DAYS} days"
            )
        if EXTENSION_STEPS.get(self.deadline_days) != to_days:
            raise ExtensionOutOfOrderError(
                f"the period of {self.deadline_days} days cannot become {to_days} days"
            )
        if not reason.strip():
            raise ExtensionReasonRequiredError(f"an extension to {to_days} days states its reason")
        approver: Actor | None = None
        if to_days == MAX_DEADLINE_DAYS:
            approver = self.extension_approval
            if approver is None:
                raise ExtensionNeedsSeniorApprovalError(
                    "an extension to 60 days needs a senior manager's approval, recorded first by the "
                    "senior manager's own approval step"
                )
            if customer_notified_at is None:
                raise ExtensionNoticeRequiredError(
                    "an extension to 60 days is notified to the complainant first"
                )
        self._record(
            ComplaintDeadlineExtended,
            ctx,
            from_days=self.deadline_days,
            to_days=to_days,
            reason=reason,
            approver=approver,
            customer_notified_at=customer_notified_at,
        )

    @taken_by("approve complaint extension", Role.SENIOR_MANAGER, *_OFFICERS, checked_by_step=True)
    def approve_extension(self, ctx: Context, *, to_days: int, reason: str) -> None:
        """A senior manager approves, by their own command, extending the period from 30 to 60 days."""
        # Officers and supervisors are told the rule (CMP-EXT-60D-APPROVAL), not just "wrong role".
        if ctx.actor.role in _OFFICERS:
            raise ExtensionNeedsSeniorApprovalError(
                f"an extension to 60 days is approved by a senior manager, not a {ctx.actor.role.value}"
            )
        require_role("approve complaint extension", ctx, Role.SENIOR_MANAGER)
        require_status("approve complaint extension", self.status, ComplaintStatus.INVESTIGATING)
        if to_days > MAX_DEADLINE_DAYS:
            raise ComplaintExtensionBeyondSixtyDaysError(
                f"{to_days} days exceeds the maximum of {MAX_DEADLINE_DAYS} days"
            )
        if to_days != MAX_DEADLINE_DAYS or EXTENSION_STEPS.get(self.deadline_days) != to_days:
            raise ExtensionOutOfOrderError(
                f"a senior manager approves the step from 30 to 60 days; the period is {self.deadline_days} "
                f"days and cannot become {to_days} days"
            )
        if not reason.strip():
            raise ExtensionReasonRequiredError("the approval of an extension to 60 days states its reason")
        if ctx.actor.id in self.involved_staff:
            raise ComplaintHandlerInvolvedError(f"{ctx.actor.id} took part in the case and may not approve")
        self._require_period_running(ctx, "the approval")
        self._record(ComplaintExtensionApproved, ctx, to_days=to_days, reason=reason)

    @taken_by("respond to complaint", *_OFFICERS)
    def respond(
        self,
        ctx: Context,
        *,
        decision: str,
        verification_summary: str,
        basis: str,
        remedies: tuple[Remedy, ...],
        channel: str,
        delivered_at: datetime,
    ) -> None:
        """Deliver the decision with how the facts were checked, its basis and the remedies (Art. 20)."""
        require_status("respond to complaint", self.status, ComplaintStatus.INVESTIGATING)
        if self.paused:
            raise AppraisalInProgressError(
                "the complaint cannot be answered while an external appraisal runs"
            )
        if ctx.actor.id in self.involved_staff:
            raise ComplaintHandlerInvolvedError(f"{ctx.actor.id} took part in the case and may not answer it")
        if not remedies:
            raise ResponseWithoutRemediesError("the response lists the remedies open to the complainant")
        _check_not_after_recording("delivered_at", delivered_at, ctx)
        self._record(
            ComplaintResponded,
            ctx,
            occurred_at=delivered_at,
            decision=decision,
            verification_summary=verification_summary,
            basis=basis,
            remedies=tuple(dict.fromkeys(remedies)),
            channel=channel,
            delivered_at=delivered_at,
            review_window_closes_at=_review_window_or_none(delivered_at),
        )

    @taken_by("request review", *_OFFICERS)
    def request_review(self, ctx: Context, *, reason: str, received_at: datetime | None = None) -> None:
        """Record the complainant's request for review (核查), received within 30 days of the response."""
        require_status("request review", self.status, ComplaintStatus.RESPONDED)
        closes_at = self.review_window_closes_at
        if closes_at is None:  # pragma: no cover - ComplaintResponded always sets the window
            raise InvalidTransitionError("request review", self.status.value)
        received = received_at or ctx.recorded_at
        _check_not_after_recording("received_at", received, ctx)
        if received >= closes_at:
            raise ReviewWindowClosedError(
                f"review was asked for on {received.astimezone(SHANGHAI):%Y-%m-%d %H:%M}; "
                f"the window closed at {closes_at:%Y-%m-%d %H:%M} Asia/Shanghai"
            )
        self._record(ComplaintReviewRequested, ctx, occurred_at=received, reason=reason)

    @taken_by("decide review", *_REVIEWERS)
    def decide_review(self, ctx: Context, *, result: ReviewResult, decision: str) -> None:
        """Decide the review: the reviewer neither made the decision nor took part in the case."""
        require_status("decide review", self.status, ComplaintStatus.REVIEW_REQUESTED)
        if ctx.actor.id == self.responder_id:
            raise ComplaintReviewerIsResponderError(f"{ctx.actor.id} made the decision and may not review it")
        if ctx.actor.id in self.involved_staff:
            raise ComplaintHandlerInvolvedError(f"{ctx.actor.id} took part in the case and may not review it")
        self._record(ComplaintReviewDecided, ctx, result=result, decision=decision)

    @taken_by("withdraw complaint", *_OFFICERS)
    def withdraw(self, ctx: Context, *, reason: str, received_at: datetime | None = None) -> None:
        """Record the complainant's withdrawal: the procedure ends on the day it was received."""
        require_status("withdraw complaint", self.status, *_NOT_ENDED)
        received = received_at or ctx.recorded_at
        _check_not_after_recording("received_at", received, ctx)
        self._record(ComplaintWithdrawn, ctx, occurred_at=received, reason=reason)

    @taken_by("close complaint", *_OFFICERS)
    def close(self, ctx: Context, *, outcome: ComplaintOutcome) -> None:
        """Close an answered (or reviewed) complaint with its outcome."""
        require_status("close complaint", self.status, ComplaintStatus.RESPONDED, ComplaintStatus.REVIEWED)
        self._record(ComplaintClosed, ctx, outcome=outcome)

    @taken_by("reopen complaint", *_REVIEWERS)
    def reopen(self, ctx: Context, *, reason: str) -> None:
        """Reopen a closed complaint for a new investigation, with the reason."""
        require_status("reopen complaint", self.status, ComplaintStatus.CLOSED)
        self._record(ComplaintReopened, ctx, reason=reason)

    @taken_by("escalate complaint", *_OFFICERS, Role.SYSTEM)
    def escalate_externally(self, ctx: Context, *, body: ExternalBody, reference: str | None = None) -> None:
        """Record that the complaint went to an outside body; a regulator makes it reportable."""
        require_status("escalate complaint", self.status, *_NOT_ENDED)
        self._record(ComplaintEscalatedExternally, ctx, body=body, reference=reference)

    def decision_period(self, calendar: HolidayCalendar | None = None) -> Deadline | None:
        """The running decision period's end as the CMP-DECIDE-15D timer counts it (extensions, appraisal
        pauses, a restart by new facts), or None while an appraisal pauses the clock."""
        result = restart_deadline(
            rule_by_id(DECIDE_RULE_ID),
            self.clock_started_at,
            calendar or default_calendar(),
            self.pauses,
            duration=self.deadline_days,
        )
        return result if isinstance(result, Deadline) else None

    def _require_period_running(self, ctx: Context, what: str) -> None:
        period = self.decision_period()
        if period is not None and ctx.recorded_at >= period.due_at:
            raise ExtensionAfterPeriodError(
                f"{what} at {ctx.recorded_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M} comes after the "
                f"{self.deadline_days}-day period ended at {period.due_at:%Y-%m-%d %H:%M} Asia/Shanghai "
                f"({period.calendar_id} {period.calendar_version})"
            )


def review_window_closes_at(delivered_at: datetime, calendar: HolidayCalendar | None = None) -> datetime:
    """The first instant after the 30-day review window that starts with the response's delivery.

    Civil Code Arts. 201-203, as the CMP-REVIEW-APPLY-30D timer counts: the day of delivery is not
    counted, a 30th day that is a statutory holiday or a weekend rolls over to the next working day, and
    the last day ends at 24:00 Asia/Shanghai.
    """
    rule = rule_by_id(REVIEW_WINDOW_RULE_ID)
    deadline = compute_deadline(rule, delivered_at, calendar or default_calendar())
    assert isinstance(deadline, Deadline)  # no pauses: never a paused clock
    return deadline.due_at


def review_window_minimum(delivered_at: datetime) -> datetime:
    """The review window as it was guarded before the holiday calendar was applied: 24:00 of the 30th
    calendar day after delivery, no roll-over. Kept for responses recorded without their window."""
    delivered_day = delivered_at.astimezone(SHANGHAI).date()
    return datetime.combine(delivered_day + timedelta(days=REVIEW_WINDOW_DAYS + 1), time(0), tzinfo=SHANGHAI)


def _review_window_or_none(delivered_at: datetime) -> datetime | None:
    try:
        return review_window_closes_at(delivered_at)
    except CalendarYearNotCoveredError:
        # The calendar cannot place the window's end yet (its year's notice is missing): nothing is
        # recorded, so the guard falls back to the calendar-day count until the calendar is extended.
        return None


def _check_not_after_recording(name: str, value: datetime, ctx: Context) -> None:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    if value > ctx.recorded_at:
        raise ComplaintTimeInFutureError(
            f"{name} {value.isoformat()} is later than its recording at {ctx.recorded_at.isoformat()}"
        )
