"""回访 Callbacks: a task created by an event (new policy 承保回访, survey 查勘回访, claim closure
结案回访, or a mis-selling remediation) → scheduled → attempted → completed with answers, or failed;
issues found on the way are recorded as facts; a task may be cancelled.

The rules a callback keeps, each a named error below: no call is scheduled or made between 21:00 and 09:00
Asia/Shanghai; a new-policy callback completes only with the seven checks answered (Basic Service
Provisions for Personal Insurance, Arts. 14-15); the caller is never the seller; a mis-selling remediation
is handled by staff other than the seller (Art. 18); a task completes only after the customer was reached.

An issue found (mis-selling, proxy signature, …) does not complete the task. ``CallbackIssueFound`` carries
everything a consumer needs to open the remediation task, including its deterministic id, so that a
redelivered event opens the same task once.

A new-policy callback's seven checks are answered yes or no (是 / 否). Only seven confirmations complete
it, with the reference of the call's recording; a "no" is a finding, not a completion: the customer who
did not sign personally is a proxy signature (代签), one who does not know the exclusions an unexplained
exclusion, any other "no" mis-selling. Each is recorded as ``CallbackIssueFound`` (opening the remediation
by non-sales staff, Art. 18) and the task stays open, so its LIFE-CALLBACK-15D clock keeps running.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from enum import StrEnum
from uuid import UUID, uuid5

from pydantic import Field

from domain.base import (
    SHANGHAI,
    CaseAggregate,
    CaseCreated,
    Context,
    DomainError,
    DomainEvent,
    FourEyesError,
    Role,
    require_role,
    require_status,
    taken_by,
)

# Quiet hours (SALES-CALL-HOURS, applied to service callbacks as company policy): calls in [09:00, 21:00).
CALLS_FROM = time(9, 0)
CALLS_UNTIL = time(21, 0)

# Fixed namespace for task ids derived from (type, source event): one task per source, on every redelivery.
_TASK_ID_NAMESPACE = UUID("6f1c2a3e-8b4d-5e6f-9a0b-1c2d3e4f5a6b")


class CallbackType(StrEnum):
    """Why the customer is called back."""

    NEW_POLICY = "new_policy"  # 承保回访, inside the cooling-off period
    SURVEY = "survey"  # 查勘回访
    CLAIM_CLOSURE = "claim_closure"  # 结案回访
    MIS_SELLING_REMEDIATION = "mis_selling_remediation"
    VALUE_ADDED_SERVICE = "value_added_service"  # 增值服务回访, after a done service order


class CallbackStatus(StrEnum):
    """Where a callback task stands."""

    CREATED = "created"
    SCHEDULED = "scheduled"
    ATTEMPTED = "attempted"
    FAILED = "failed"
    COMPLETED = "completed"
    REMEDIED = "remedied"
    CANCELLED = "cancelled"


class CallbackChannel(StrEnum):
    """How the customer was contacted."""

    PHONE = "phone"
    SMS_LINK = "sms_link"
    VIDEO = "video"
    VISIT = "visit"


class AttemptOutcome(StrEnum):
    """What one contact attempt achieved."""

    NO_ANSWER = "no_answer"
    WRONG_PERSON = "wrong_person"
    REFUSED = "refused"
    REACHED = "reached"


class CallbackIssue(StrEnum):
    """A problem a callback brought to light."""

    MIS_SELLING = "mis_selling"
    PROXY_SIGNATURE = "proxy_signature"  # 代签
    EXCLUSIONS_UNKNOWN = "exclusions_unknown"
    WANTS_CANCEL = "wants_cancel"


class NewPolicyCheck(StrEnum):
    """The seven checks of a new life policy's callback (Basic Service Provisions, Arts. 14-15)."""

    APPLICANT_IS_RESPONDENT = "applicant_is_respondent"
    BOUGHT_AND_SIGNED_PERSONALLY = "bought_and_signed_personally"
    READ_BROCHURE_AND_RISK_NOTICE = "read_brochure_and_risk_notice"
    KNOWS_COVER_EXCLUSIONS_TERM = "knows_cover_exclusions_term"
    KNOWS_SURRENDER_LOSS = "knows_surrender_loss"
    KNOWS_COOLING_OFF = "knows_cooling_off"
    KNOWS_PAYMENT_TERM_AND_FREQUENCY = "knows_payment_term_and_frequency"


AFFIRMATIVE_ANSWERS = frozenset({"yes", "y", "是", "是的", "对"})
"""Answers that confirm a new-policy check (compared trimmed and in lower case)."""
NEGATIVE_ANSWERS = frozenset({"no", "n", "否", "不是", "没有", "不知道", "不清楚"})
"""Answers that deny one: the customer says no, or does not know."""

ISSUE_OF_A_NO: Mapping[NewPolicyCheck, CallbackIssue] = {
    NewPolicyCheck.BOUGHT_AND_SIGNED_PERSONALLY: CallbackIssue.PROXY_SIGNATURE,
    NewPolicyCheck.READ_BROCHURE_AND_RISK_NOTICE: CallbackIssue.MIS_SELLING,
    NewPolicyCheck.KNOWS_COVER_EXCLUSIONS_TERM: CallbackIssue.EXCLUSIONS_UNKNOWN,
    NewPolicyCheck.KNOWS_SURRENDER_LOSS: CallbackIssue.MIS_SELLING,
    NewPolicyCheck.KNOWS_COOLING_OFF: CallbackIssue.MIS_SELLING,
    NewPolicyCheck.KNOWS_PAYMENT_TERM_AND_FREQUENCY: CallbackIssue.MIS_SELLING,
}
"""What a "no" to a check found. A "no" to APPLICANT_IS_RESPONDENT means the applicant was not reached."""

# Issues that call for a mis-selling remediation by non-sales staff; WANTS_CANCEL goes to cooling-off
# cancellation instead.
REMEDIATION_ISSUES = frozenset(
    {CallbackIssue.MIS_SELLING, CallbackIssue.PROXY_SIGNATURE, CallbackIssue.EXCLUSIONS_UNKNOWN}
)


# ---------------------------------------------------------------------------------------------- errors


class CallbackQuietHoursError(DomainError):
    """No callback is scheduled or made between 21:00 and 09:00 Asia/Shanghai."""

    rule = "CALLBACK-QUIET-HOURS"


class NewPolicyCheckUnansweredError(DomainError):
    """A new-policy callback completes only with all seven checks answered."""

    rule = "LIFE-CALLBACK-7-CHECKS"

    def __init__(self, missing: tuple[NewPolicyCheck, ...]) -> None:
        super().__init__("unanswered new-policy checks: " + ", ".join(c.value for c in missing))
        self.missing = missing


class NewPolicyCheckAnswerUnclearError(DomainError):
    """A new-policy check is answered yes or no: an answer that is neither confirms nothing, and is not
    a finding either; the agent asks again."""

    rule = "LIFE-CALLBACK-CHECK-YES-NO"

    def __init__(self, unclear: Mapping[str, str]) -> None:
        listed = ", ".join(f"{check}={answer!r}" for check, answer in unclear.items())
        super().__init__(f"answer each new-policy check yes or no (是 / 否): {listed}")
        self.unclear = dict(unclear)


class CallbackRecordingRequiredError(DomainError):
    """A new-policy callback completes with the reference of the call's recording (回访录音), given with the
    answers or on the attempt that reached the customer: the customer's confirmations are evidence."""

    rule = "LIFE-CALLBACK-RECORDING"


class CallerIsSellerError(FourEyesError):
    """Four-eyes: the seller of the policy does not call its customer back."""

    rule = "four-eyes-callback-caller"


class RemediationBySalesStaffError(FourEyesError):
    """A mis-selling remediation is handled by staff other than sales, never by the seller (Art. 18)."""

    rule = "LIFE-MISSELL-NON-SALES"


class CallbackNotReachedError(DomainError):
    """A callback completes only after an attempt that reached the customer."""

    rule = "callback-customer-reached"


class WrongCallbackTypeError(DomainError):
    """A step belongs to another type of task: remediations end remedied, other callbacks completed."""

    rule = "callback-task-type"


# ---------------------------------------------------------------------------------------------- events


class CallbackTaskCreated(CaseCreated):
    """A callback task was opened by ``source_event_id`` on case ``source_case_id``, due by ``due_by``."""

    TOPIC = "callback.task-created.v1"

    type: CallbackType
    source_event_id: UUID
    source_case_id: UUID
    customer_id: str = Field(min_length=1)
    due_by: datetime
    seller_id: str | None = None

    def apply(self, task: CallbackTask) -> None:
        task.status = CallbackStatus.CREATED
        task.task_type = self.type
        task.source_event_id = self.source_event_id
        task.source_case_id = self.source_case_id
        task.customer_id = self.customer_id
        task.due_by = self.due_by
        task.seller_id = self.seller_id


class CallbackScheduled(DomainEvent):
    """A call was planned for ``slot``, outside quiet hours."""

    TOPIC = "callback.scheduled.v1"

    slot: datetime

    def apply(self, task: CallbackTask) -> None:
        if task.status is CallbackStatus.CREATED:
            task.status = CallbackStatus.SCHEDULED
        task.slot = self.slot


class CallbackAttempted(DomainEvent):
    """One attempt to reach the customer, with its outcome."""

    TOPIC = "callback.attempted.v1"

    attempt_no: int = Field(ge=1)
    channel: CallbackChannel
    outcome: AttemptOutcome
    recording_ref: str | None = None

    def apply(self, task: CallbackTask) -> None:
        task.status = CallbackStatus.ATTEMPTED
        task.attempts = self.attempt_no
        task.reached = self.outcome is AttemptOutcome.REACHED
        task.reached_recording_ref = self.recording_ref if task.reached else None


class CallbackCompleted(DomainEvent):
    """The callback was completed with the customer's answers (for a new policy: the seven checks)."""

    TOPIC = "callback.completed.v1"

    answers: dict[str, str]
    recording_ref: str | None = None
    """The call's recording (a new-policy callback always names one; None on older completions)."""

    def apply(self, task: CallbackTask) -> None:
        task.status = CallbackStatus.COMPLETED


class CallbackFailed(DomainEvent):
    """The customer could not be reached; a fallback (letter, visit) may follow."""

    TOPIC = "callback.failed.v1"

    attempts: int = Field(ge=0)
    reason: str = Field(min_length=1)
    fallback: str | None = None

    def apply(self, task: CallbackTask) -> None:
        task.status = CallbackStatus.FAILED


class CallbackIssueFound(DomainEvent):
    """A callback found an issue; when ``remediation_task_id`` is set a remediation task is to be opened."""

    TOPIC = "callback.issue-found.v1"

    issue: CallbackIssue
    details: str = Field(min_length=1)
    # What the consumer that opens the remediation needs, so that it reads no other state.
    issue_id: UUID
    remediation_task_id: UUID | None
    customer_id: str
    seller_id: str | None
    source_case_id: UUID

    def apply(self, task: CallbackTask) -> None:
        task.issues = (*task.issues, self.issue)


class MisSellingRemedied(DomainEvent):
    """The mis-selling found by a callback was remedied by non-sales staff."""

    TOPIC = "callback.mis-selling-remedied.v1"

    action: str = Field(min_length=1)
    summary: str = Field(min_length=1)

    def apply(self, task: CallbackTask) -> None:
        task.status = CallbackStatus.REMEDIED


class CallbackCancelled(DomainEvent):
    """The task was stopped (policy cancelled, complaint withdrawn…): no callback is due any more."""

    TOPIC = "callback.cancelled.v1"

    reason: str = Field(min_length=1)

    def apply(self, task: CallbackTask) -> None:
        task.status = CallbackStatus.CANCELLED


# ---------------------------------------------------------------------------------------------- aggregate

_CALLERS = (Role.CALLBACK_AGENT, Role.SUPERVISOR)
_REMEDIATORS = (Role.CALLBACK_AGENT, Role.SUPERVISOR, Role.COMPLAINTS_OFFICER)
_OPEN = (CallbackStatus.CREATED, CallbackStatus.SCHEDULED, CallbackStatus.ATTEMPTED, CallbackStatus.FAILED)


class CallbackTask(CaseAggregate):
    """A callback to a customer: who may call, when, and what a completed callback must contain."""

    TOPIC = "callback.aggregate"
    """Explicit, so that stored events and snapshots never name a Python import path."""

    class Created(CaseAggregate.Created):
        """The library's generic creation event: unused here, but it must carry a topic too."""

        TOPIC = "callback.library-created"

    status: CallbackStatus
    task_type: CallbackType
    source_event_id: UUID
    source_case_id: UUID
    customer_id: str
    due_by: datetime
    seller_id: str | None
    slot: datetime | None
    attempts: int
    reached: bool
    reached_recording_ref: str | None
    issues: tuple[CallbackIssue, ...]

    def __init__(self) -> None:
        # Called by the library when CallbackTaskCreated is replayed; its apply then sets the facts.
        self.seller_id = None
        self.slot = None
        self.attempts = 0
        self.reached = False
        self.reached_recording_ref = None
        self.issues = ()

    @staticmethod
    def task_id_for(task_type: CallbackType, source_event_id: UUID) -> UUID:
        """The id of the one task of ``task_type`` that ``source_event_id`` opens (idempotent creation)."""
        return uuid5(_TASK_ID_NAMESPACE, f"{task_type.value}:{source_event_id}")

    @classmethod
    @taken_by("create callback task", Role.SYSTEM)
    def create(
        cls,
        ctx: Context,
        *,
        task_type: CallbackType,
        source_event_id: UUID,
        source_case_id: UUID,
        customer_id: str,
        due_by: datetime,
        seller_id: str | None = None,
    ) -> CallbackTask:
        """Open the callback task that ``source_event_id`` calls for; its id derives from type and source."""
        _require_aware("due_by", due_by)
        return cls._open(
            CallbackTaskCreated,
            cls.task_id_for(task_type, source_event_id),
            ctx,
            type=task_type,
            source_event_id=source_event_id,
            source_case_id=source_case_id,
            customer_id=customer_id,
            due_by=due_by,
            seller_id=seller_id,
        )

    @taken_by("schedule callback", *_REMEDIATORS, Role.SYSTEM, checked_by_step=True)
    def schedule(self, ctx: Context, *, slot: datetime) -> None:
        """Plan the call for ``slot`` outside quiet hours; a system-proposed slot in them moves to 09:00."""
        if ctx.actor.role is Role.SYSTEM:
            # A computed slot (e.g. "retry in two hours") carries no intent to call at night: it moves on.
            _require_aware("call time", slot)
            slot = next_calling_time(slot)
        else:
            self._check_staff("schedule callback", ctx)
        require_status("schedule callback", self.status, *_OPEN)
        _check_outside_quiet_hours("a call scheduled for", slot)
        self._record(CallbackScheduled, ctx, slot=slot)

    def next_attempt_at(self, now: datetime) -> datetime:
        """The earliest instant the next call may be made: the planned slot if later, never in quiet hours."""
        _require_aware("now", now)
        planned = self.slot if self.slot is not None and self.slot > now else now
        return next_calling_time(planned)

    @taken_by("attempt callback", *_REMEDIATORS, checked_by_step=True)
    def attempt(
        self,
        ctx: Context,
        *,
        channel: CallbackChannel,
        outcome: AttemptOutcome,
        recording_ref: str | None = None,
    ) -> None:
        """Record an attempt to reach the customer, made now (``ctx.recorded_at``) outside quiet hours."""
        self._check_staff("attempt callback", ctx)
        require_status("attempt callback", self.status, *_OPEN)
        _check_outside_quiet_hours("a call made at", ctx.recorded_at)
        self._record(
            CallbackAttempted,
            ctx,
            attempt_no=self.attempts + 1,
            channel=channel,
            outcome=outcome,
            recording_ref=recording_ref,
        )

    @taken_by("complete callback", *_REMEDIATORS, checked_by_step=True)
    def complete(self, ctx: Context, *, answers: Mapping[str, str], recording_ref: str | None = None) -> None:
        """Complete the callback with the customer's answers. A new-policy callback answers all 7 checks
        yes or no: seven yeses complete it, with the call's recording; a "no" records what it found
        (``CallbackIssueFound``, opening the remediation) instead, and the task stays open."""
        self._check_staff("complete callback", ctx)
        if self.task_type is CallbackType.MIS_SELLING_REMEDIATION:
            raise WrongCallbackTypeError("a mis-selling remediation ends when it is remedied")
        require_status("complete callback", self.status, *_OPEN)
        if not self.reached:
            raise CallbackNotReachedError("the last attempt did not reach the customer")
        recording = recording_ref or self.reached_recording_ref
        if self.task_type is CallbackType.NEW_POLICY:
            denied = _denied_checks(answers)
            if NewPolicyCheck.APPLICANT_IS_RESPONDENT in denied:
                raise CallbackNotReachedError(
                    "the respondent is not the applicant: record the attempt as wrong_person and call the "
                    "applicant"
                )
            if denied:
                for issue, checks in _findings(denied).items():
                    if issue in self.issues:
                        continue  # found already (a repeated "no"): its remediation is open
                    said = ", ".join(f"{check.value} = {denied[check]!r}" for check in checks)
                    self._record_issue(ctx, issue, f"new-policy callback answered no: {said}")
                return
            if recording is None:
                raise CallbackRecordingRequiredError(
                    "a new-policy callback completes with the reference of the call's recording"
                )
        self._record(
            CallbackCompleted,
            ctx,
            answers={str(k): v for k, v in answers.items()},
            recording_ref=recording,
        )

    @taken_by("fail callback", *_REMEDIATORS, Role.SYSTEM, checked_by_step=True)
    def fail(self, ctx: Context, *, reason: str, fallback: str | None = None) -> None:
        """Give up calling (e.g. after the last attempt); ``fallback`` names the letter or visit to follow."""
        if ctx.actor.role is not Role.SYSTEM:
            self._check_staff("fail callback", ctx)
        require_status(
            "fail callback",
            self.status,
            CallbackStatus.CREATED,
            CallbackStatus.SCHEDULED,
            CallbackStatus.ATTEMPTED,
        )
        self._record(CallbackFailed, ctx, attempts=self.attempts, reason=reason, fallback=fallback)

    @taken_by("record callback issue", *_REMEDIATORS, checked_by_step=True)
    def find_issue(self, ctx: Context, *, issue: CallbackIssue, details: str) -> None:
        """Record an issue found during the callback; it does not complete the task."""
        self._check_staff("record callback issue", ctx)
        require_status("record callback issue", self.status, *_OPEN)
        self._record_issue(ctx, issue, details)

    def _record_issue(self, ctx: Context, issue: CallbackIssue, details: str) -> None:
        # Derived, not random: the same recorded issue always names the same remediation task.
        issue_id = uuid5(self.id, f"issue:{self.version + 1}")
        opens_remediation = (
            issue in REMEDIATION_ISSUES and self.task_type is not CallbackType.MIS_SELLING_REMEDIATION
        )
        remediation_task_id = (
            self.task_id_for(CallbackType.MIS_SELLING_REMEDIATION, issue_id) if opens_remediation else None
        )
        self._record(
            CallbackIssueFound,
            ctx,
            issue=issue,
            details=details,
            issue_id=issue_id,
            remediation_task_id=remediation_task_id,
            customer_id=self.customer_id,
            seller_id=self.seller_id,
            source_case_id=self.source_case_id,
        )

    @taken_by("remedy mis-selling", *_REMEDIATORS, checked_by_step=True)
    def remedy(self, ctx: Context, *, action: str, summary: str) -> None:
        """Record the remedy of the mis-selling this remediation task was opened for."""
        self._check_staff("remedy mis-selling", ctx)
        if self.task_type is not CallbackType.MIS_SELLING_REMEDIATION:
            raise WrongCallbackTypeError(f"a {self.task_type.value} callback has no mis-selling to remedy")
        require_status("remedy mis-selling", self.status, *_OPEN)
        self._record(MisSellingRemedied, ctx, action=action, summary=summary)

    @taken_by("cancel callback task", Role.SYSTEM, Role.SUPERVISOR)
    def cancel(self, ctx: Context, *, reason: str) -> None:
        """Stop the task because the callback is no longer due (e.g. the policy was cancelled)."""
        require_status("cancel callback task", self.status, *_OPEN)
        self._record(CallbackCancelled, ctx, reason=reason)

    def _check_staff(self, step: str, ctx: Context) -> None:
        # The seller checks come before the role check so that a seller is told why, not just "wrong role".
        if self.task_type is CallbackType.MIS_SELLING_REMEDIATION:
            if ctx.actor.role is Role.SELLER or ctx.actor.id == self.seller_id:
                raise RemediationBySalesStaffError(
                    f"{ctx.actor.id} is sales staff and may not remedy mis-selling"
                )
            require_role(step, ctx, *_REMEDIATORS)
        else:
            if ctx.actor.id == self.seller_id:
                raise CallerIsSellerError(
                    f"{ctx.actor.id} sold the policy and may not call its customer back"
                )
            require_role(step, ctx, *_CALLERS)


def _denied_checks(answers: Mapping[str, str]) -> dict[NewPolicyCheck, str]:
    """The checks answered no, with their answers; refuses a missing or an unclear answer."""
    missing = tuple(c for c in NewPolicyCheck if not answers.get(c.value, "").strip())
    if missing:
        raise NewPolicyCheckUnansweredError(missing)
    denied: dict[NewPolicyCheck, str] = {}
    unclear: dict[str, str] = {}
    for check in NewPolicyCheck:
        answer = answers[check.value]
        said = answer.strip().lower()
        if said in NEGATIVE_ANSWERS:
            denied[check] = answer
        elif said not in AFFIRMATIVE_ANSWERS:
            unclear[check.value] = answer
    if unclear:
        raise NewPolicyCheckAnswerUnclearError(unclear)
    return denied


def _findings(denied: Mapping[NewPolicyCheck, str]) -> dict[CallbackIssue, tuple[NewPolicyCheck, ...]]:
    """What the "no"s found: each issue once, with the checks that found it, in the checks' order."""
    found: dict[CallbackIssue, tuple[NewPolicyCheck, ...]] = {}
    for check in NewPolicyCheck:
        if check in denied and check in ISSUE_OF_A_NO:
            issue = ISSUE_OF_A_NO[check]
            found[issue] = (*found.get(issue, ()), check)
    return found


def in_quiet_hours(moment: datetime) -> bool:
    """Whether ``moment`` falls between 21:00 and 09:00 Asia/Shanghai."""
    local = moment.astimezone(SHANGHAI).time()
    return not CALLS_FROM <= local < CALLS_UNTIL


def next_calling_time(moment: datetime) -> datetime:
    """``moment`` itself outside quiet hours; inside them, 09:00 Asia/Shanghai when they end."""
    local = moment.astimezone(SHANGHAI)
    if not in_quiet_hours(local):
        return moment
    day = local.date() if local.time() < CALLS_FROM else local.date() + timedelta(days=1)
    return datetime.combine(day, CALLS_FROM, SHANGHAI)


def _check_outside_quiet_hours(what: str, moment: datetime) -> None:
    _require_aware("call time", moment)
    if in_quiet_hours(moment):
        raise CallbackQuietHoursError(
            f"{what} {moment.astimezone(SHANGHAI):%Y-%m-%d %H:%M} Asia/Shanghai is in quiet hours (21-09)"
        )


def _require_aware(name: str, value: datetime) -> None:
    # A naive time would be read in the server's zone and could slip into quiet hours unnoticed.
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
