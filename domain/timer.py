"""SLA timers: one durable clock per (rule, case, cycle), driven by the case events the rule names.

A timer is started by the event a rule starts on, then paused, resumed, restarted, extended, satisfied or
cancelled by the events the rule lists, and warned and breached by the scheduler. Its deadline is computed
by ``domain.calendar`` at start, resume, restart and extension only, with the calendar id and version
recorded, so a replay never recomputes it with a newer holiday notice. A newer notice reaches a running
timer only by its own recorded step, ``TimerDeadlineRecomputed`` (``SlaTimer.recompute_deadline``), and
only when the new version changes what the deadline depends on. A deadline that rests on a year held only
provisionally (2027 until its notice is out) is flagged ``provisional`` on the event that computed it.
Every command that a case event causes records that event's id, so the same event delivered twice changes
the timer once.

A breach records the fact, the lateness and what the rule says it raises (escalation role, regulator
flag); it never changes the case itself. A window rule (cooling-off, rescission, review request) is not
breached: its end is a right lapsing, recorded as ``TimerWindowClosed`` with no escalation.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid5

from pydantic import Field

from domain.base import (
    Actor,
    CaseAggregate,
    CaseCreated,
    Context,
    DomainError,
    DomainEvent,
    Role,
    taken_by,
)
from domain.calendar import (
    Deadline,
    DeadlineWarning,
    HolidayCalendar,
    Pause,
    PausedClock,
    Step,
    calendar_for,
    compute_deadline,
    deadline_recorded_by_case,
    extend_deadline,
    restart_deadline,
)
from domain.sla import RuleKind, SlaRule, rule_by_id

_TIMER_ID_NAMESPACE = UUID("6f1f6c2e-3b9a-5d0e-9a51-1d6c0b7f2a10")


def timer_id_for(rule_id: str, case_id: UUID, cycle: int) -> UUID:
    """The one timer of ``rule_id`` on ``case_id`` for ``cycle``: a redelivered start finds it again."""
    return uuid5(_TIMER_ID_NAMESPACE, f"{rule_id}:{case_id}:{cycle}")


class TimerState(StrEnum):
    """Where a timer stands: running or paused while open; satisfied, breached or cancelled when done."""

    RUNNING = "running"
    PAUSED = "paused"
    SATISFIED = "satisfied"
    BREACHED = "breached"
    CANCELLED = "cancelled"
    WINDOW_CLOSED = "window_closed"


OPEN_STATES = frozenset({TimerState.RUNNING, TimerState.PAUSED})
"""The states in which case events still move the clock."""


class TimerAction(StrEnum):
    """What the scheduler records when a timer's next instant comes: a warning, the breach of an obligation,
    or the close of a window."""

    WARNING = "warning"
    BREACH = "breach"
    CLOSE_WINDOW = "close_window"


# ---------------------------------------------------------------------------------------------- errors


class TimerNotRunningError(DomainError):
    """Only a running clock is paused, warned or breached: a paused clock has no deadline to miss."""

    rule = "sla-timer-running"


class TimerNotPausedError(DomainError):
    """Only a paused clock resumes."""

    rule = "sla-timer-paused"


class TimerClosedError(DomainError):
    """A satisfied, cancelled or breached timer takes no further clock changes (a breach may be met late)."""

    rule = "sla-timer-closed"


class BreachBeforeDeadlineError(DomainError):
    """A deadline is breached only once it has passed."""

    rule = "sla-breach-after-deadline"


class TimerAlreadyBreachedError(DomainError):
    """A deadline is breached once: a second breach would escalate the same miss twice."""

    rule = "sla-breach-once"


class WindowNotBreachedError(DomainError):
    """A window rule's end is a right lapsing: it is closed, never breached and escalated."""

    rule = "sla-window-closes"


class NotAWindowError(DomainError):
    """Only a window rule's timer closes at its deadline; an obligation's is breached."""

    rule = "sla-obligation-breaches"


class WarningAlreadyRaisedError(DomainError):
    """Each warning threshold of a period is raised once."""

    rule = "sla-warning-once"


class WarningNotDueError(DomainError):
    """A warning is raised only for a threshold the rule names, once that share of the period has run."""

    rule = "sla-warning-at-threshold"


class PauseAfterDeadlineError(DomainError):
    """A pause that begins at or after the deadline cannot revive a clock that has run out."""

    rule = "sla-pause-before-deadline"


class TimerTimeOrderError(DomainError):
    """A clock change never takes effect before the timer's start or its last pause."""

    rule = "sla-timer-time-order"


# ---------------------------------------------------------------------------------------------- events


class TimerStarted(CaseCreated):
    """A rule's clock started on a case; the deadline, its calendar version and its steps are recorded."""

    TOPIC = "timer.started.v1"

    rule_id: str = Field(min_length=1)
    subject_id: UUID
    """The case whose clock this is (the id of the aggregate whose event started it)."""
    case_context: str = Field(min_length=1)
    cycle: int = Field(ge=1)
    start_at: datetime
    due_at: datetime
    duration: int = Field(gt=0)
    calendar_id: str
    calendar_version: str
    basis: str
    warnings: tuple[DeadlineWarning, ...]
    steps: tuple[Step, ...]
    cause_event_id: UUID
    cause_event: str
    provisional: bool = False
    """The deadline rests on a year whose holiday notice is not out yet (``domain.calendar``)."""

    def apply(self, timer: SlaTimer) -> None:
        timer.provisional = self.provisional
        timer.rule_id = self.rule_id
        timer.case_id = self.subject_id
        timer.case_context = self.case_context
        timer.cycle = self.cycle
        timer.state = TimerState.RUNNING
        timer.start_at = self.start_at
        timer.duration = self.duration
        timer.due_at = self.due_at
        timer.calendar_id = self.calendar_id
        timer.calendar_version = self.calendar_version
        timer.warnings = self.warnings
        timer.causes = (self.cause_event_id,)


class TimerWarningRaised(DomainEvent):
    """A share (``threshold``) of the running period has elapsed; ``occurred_at`` is when it did."""

    TOPIC = "timer.warning-raised.v1"

    threshold: float
    due_at: datetime

    def apply(self, timer: SlaTimer) -> None:
        timer.warned = (*timer.warned, self.threshold)


class TimerPaused(DomainEvent):
    """The clock stopped at ``occurred_at`` because of ``cause_event`` (e.g. documents requested)."""

    TOPIC = "timer.paused.v1"

    reason: str = Field(min_length=1)
    cause_event: str
    cause_event_id: UUID

    def apply(self, timer: SlaTimer) -> None:
        assert self.occurred_at is not None
        timer.state = TimerState.PAUSED
        timer.due_at = None
        timer.pauses = (*timer.pauses, Pause(paused_at=self.occurred_at))
        timer.causes = (*timer.causes, self.cause_event_id)


class TimerResumed(DomainEvent):
    """The clock runs again from ``occurred_at``; ``due_at`` is the deadline recomputed once, here."""

    TOPIC = "timer.resumed.v1"

    due_at: datetime
    warnings: tuple[DeadlineWarning, ...]
    steps: tuple[Step, ...]
    cause_event: str
    cause_event_id: UUID
    provisional: bool = False

    def apply(self, timer: SlaTimer) -> None:
        assert self.occurred_at is not None
        timer.provisional = self.provisional
        last = timer.pauses[-1]
        timer.pauses = (*timer.pauses[:-1], Pause(paused_at=last.paused_at, resumed_at=self.occurred_at))
        timer.state = TimerState.RUNNING
        timer.due_at = self.due_at
        timer.warnings = self.warnings
        timer.causes = (*timer.causes, self.cause_event_id)


class TimerRestarted(DomainEvent):
    """The whole period runs again from ``occurred_at`` (e.g. new facts); it starts paused if a pause runs."""

    TOPIC = "timer.restarted.v1"

    due_at: datetime | None
    pauses: tuple[Pause, ...]
    warnings: tuple[DeadlineWarning, ...]
    steps: tuple[Step, ...]
    cause_event: str
    cause_event_id: UUID
    provisional: bool = False

    def apply(self, timer: SlaTimer) -> None:
        assert self.occurred_at is not None
        timer.provisional = self.provisional
        timer.start_at = self.occurred_at
        timer.pauses = self.pauses
        timer.due_at = self.due_at
        timer.state = TimerState.RUNNING if self.due_at is not None else TimerState.PAUSED
        timer.warnings = self.warnings
        # A new period warns again at its own thresholds.
        timer.warned = ()
        timer.causes = (*timer.causes, self.cause_event_id)


class TimerExtended(DomainEvent):
    """The period was extended to ``to_duration`` from the same start; ``due_at`` is None while paused."""

    TOPIC = "timer.extended.v1"

    from_duration: int
    to_duration: int
    due_at: datetime | None
    warnings: tuple[DeadlineWarning, ...]
    steps: tuple[Step, ...]
    approver: Actor | None
    reason: str
    cause_event: str
    cause_event_id: UUID
    provisional: bool = False

    def apply(self, timer: SlaTimer) -> None:
        timer.provisional = self.provisional
        timer.duration = self.to_duration
        timer.due_at = self.due_at
        timer.warnings = self.warnings
        timer.causes = (*timer.causes, self.cause_event_id)


class TimerDeadlineRecomputed(DomainEvent):
    """A newer calendar version changed what the deadline depends on (a holiday notice added, a
    provisional year confirmed): the deadline was computed again with it, from the same start, pauses and
    duration. ``previous_due_at`` and ``due_at`` are None while the clock is paused."""

    TOPIC = "timer.deadline-recomputed.v1"
    # Which case and rule the timer watches, so read models need no lookup.
    rule_id: str
    subject_id: UUID
    case_context: str

    calendar_id: str
    calendar_version: str
    previous_calendar_version: str
    previous_due_at: datetime | None
    due_at: datetime | None
    warnings: tuple[DeadlineWarning, ...]
    steps: tuple[Step, ...]
    provisional: bool

    def apply(self, timer: SlaTimer) -> None:
        timer.calendar_id = self.calendar_id
        timer.calendar_version = self.calendar_version
        timer.provisional = self.provisional
        if timer.state is TimerState.RUNNING:
            timer.due_at = self.due_at
            timer.warnings = self.warnings


class TimerSatisfied(DomainEvent):
    """The obligation was met by ``by_event`` at ``occurred_at``; ``late`` when the deadline had passed."""

    TOPIC = "timer.satisfied.v1"
    # Which case and rule the timer watches, so read models (the escalation work item) need no lookup.
    rule_id: str | None = None
    subject_id: UUID | None = None
    case_context: str | None = None

    by_event: str
    cause_event_id: UUID
    late: bool

    def apply(self, timer: SlaTimer) -> None:
        timer.state = TimerState.SATISFIED
        timer.satisfied_by = self.by_event
        timer.causes = (*timer.causes, self.cause_event_id)


class TimerBreached(DomainEvent):
    """The deadline passed unmet: the lateness when recorded, who is escalated to, and the regulator flag."""

    TOPIC = "timer.breached.v1"
    # Which case and rule the timer watches, so read models (the escalation work item) need no lookup.
    rule_id: str | None = None
    subject_id: UUID | None = None
    case_context: str | None = None

    due_at: datetime
    observed_at: datetime
    lateness_seconds: int = Field(ge=0)
    escalate_to: Role | None
    regulator_reportable: bool
    consequence: str

    def apply(self, timer: SlaTimer) -> None:
        timer.state = TimerState.BREACHED
        timer.breached_at = self.observed_at


class TimerWindowClosed(DomainEvent):
    """A window rule's period ended unexercised at ``due_at``: the right lapsed (no escalation, no breach)."""

    TOPIC = "timer.window-closed.v1"

    rule_id: str
    subject_id: UUID
    case_context: str
    due_at: datetime
    observed_at: datetime
    consequence: str
    records: str | None
    """The fact the case itself records at this end, where the rule names one (``CoolingOffEnded``)."""

    def apply(self, timer: SlaTimer) -> None:
        timer.state = TimerState.WINDOW_CLOSED
        timer.closed_at = self.observed_at


class TimerCancelled(DomainEvent):
    """The obligation fell away (e.g. the claim was withdrawn): the timer stops without a breach."""

    TOPIC = "timer.cancelled.v1"
    # Which case and rule the timer watches, so read models (the escalation work item) need no lookup.
    rule_id: str | None = None
    subject_id: UUID | None = None
    case_context: str | None = None

    reason: str = Field(min_length=1)
    cause_event: str
    cause_event_id: UUID

    def apply(self, timer: SlaTimer) -> None:
        timer.state = TimerState.CANCELLED
        timer.causes = (*timer.causes, self.cause_event_id)


# ---------------------------------------------------------------------------------------------- aggregate


class SlaTimer(CaseAggregate):
    """One rule's clock on one case: its deadline, pauses, warnings and outcome."""

    TOPIC = "timer.aggregate"
    """Explicit, so that stored events and snapshots never name a Python import path."""

    class Created(CaseAggregate.Created):
        """The library's generic creation event: unused here, but it must carry a topic too."""

        TOPIC = "timer.library-created"

    rule_id: str
    case_id: UUID
    case_context: str
    cycle: int
    state: TimerState
    start_at: datetime
    duration: int
    due_at: datetime | None
    calendar_id: str
    calendar_version: str
    provisional: bool
    pauses: tuple[Pause, ...]
    warnings: tuple[DeadlineWarning, ...]
    warned: tuple[float, ...]
    causes: tuple[UUID, ...]
    breached_at: datetime | None
    closed_at: datetime | None
    satisfied_by: str | None

    def __init__(self) -> None:
        # Called by the library when TimerStarted is replayed; its apply then sets the facts.
        self.pauses = ()
        self.warnings = ()
        self.warned = ()
        self.causes = ()
        self.breached_at = None
        self.closed_at = None
        self.satisfied_by = None
        self.due_at = None
        self.provisional = False

    # ------------------------------------------------------------------------------------------ queries

    @property
    def rule(self) -> SlaRule:
        """The SLA rule this timer enforces."""
        return rule_by_id(self.rule_id)

    @property
    def calendar(self) -> HolidayCalendar:
        """The calendar version recorded at start: every later computation uses the same one."""
        return calendar_for(self.calendar_id, self.calendar_version)

    @property
    def is_open(self) -> bool:
        """Running or paused: case events still move the clock."""
        return self.state in OPEN_STATES

    def has_applied(self, cause_event_id: UUID) -> bool:
        """Whether a case event already changed this timer (a redelivery must not change it again)."""
        return cause_event_id in self.causes

    def pending_warnings(self) -> tuple[DeadlineWarning, ...]:
        """The warnings of the running period not raised yet, earliest first."""
        if self.state is not TimerState.RUNNING:
            return ()
        return tuple(w for w in sorted(self.warnings, key=lambda w: w.at) if w.fraction not in self.warned)

    def next_fire(self) -> tuple[datetime, TimerAction] | None:
        """The next instant the scheduler must act at, and what it records then; None when nothing is due."""
        if self.state is not TimerState.RUNNING or self.due_at is None:
            return None
        pending = [w for w in self.pending_warnings() if w.at < self.due_at]
        if pending:
            return pending[0].at, TimerAction.WARNING
        if self.rule.kind is RuleKind.WINDOW:
            return self.due_at, TimerAction.CLOSE_WINDOW
        return self.due_at, TimerAction.BREACH

    def warning_at(self, fraction: float) -> datetime | None:
        """The instant the running period reaches ``fraction``, if the rule warns at it."""
        return next((w.at for w in self.warnings if w.fraction == fraction), None)

    # ------------------------------------------------------------------------------------------ commands

    @classmethod
    @taken_by("start timer", Role.SYSTEM)
    def start(
        cls,
        ctx: Context,
        *,
        rule: SlaRule,
        case_id: UUID,
        case_context: str,
        cycle: int,
        start_at: datetime,
        calendar: HolidayCalendar,
        cause_event: str,
        cause_event_id: UUID,
        ends_at: datetime | None = None,
    ) -> SlaTimer:
        """Start ``rule``'s clock on a case at ``start_at``: the deadline is computed once, here.

        ``ends_at`` is the end the case recorded on the start event (the rule's ``ends_at_field``): the
        clock ends exactly there, so that the case's guard and the timer read the same instant.
        """
        if ends_at is not None and rule.ends_at_field is not None:
            source = f"{cause_event}.{rule.ends_at_field}"
            deadline = deadline_recorded_by_case(rule, start_at, ends_at, calendar, source=source)
        else:
            result = compute_deadline(rule, start_at, calendar)
            assert isinstance(result, Deadline)  # no pauses yet, so never a paused clock
            deadline = result
        basis = rule.legal_basis
        return cls._open(
            TimerStarted,
            timer_id_for(rule.rule_id, case_id, cycle),
            ctx,
            occurred_at=start_at,
            rule_id=rule.rule_id,
            subject_id=case_id,
            case_context=case_context,
            cycle=cycle,
            start_at=start_at,
            due_at=deadline.due_at,
            duration=deadline.duration,
            calendar_id=deadline.calendar_id,
            calendar_version=deadline.calendar_version,
            basis=f"{basis.instrument}, {basis.article}" if basis.article else basis.instrument,
            warnings=deadline.warnings,
            steps=deadline.steps,
            cause_event=cause_event,
            cause_event_id=cause_event_id,
            provisional=deadline.provisional,
        )

    @taken_by("pause timer", Role.SYSTEM)
    def pause(
        self, ctx: Context, *, at: datetime, reason: str, cause_event: str, cause_event_id: UUID
    ) -> None:
        """Stop the clock at ``at`` for ``reason`` (stop-the-clock): no deadline until it resumes."""
        self._require_not_closed("pause timer")
        if self.state is not TimerState.RUNNING or self.due_at is None:
            raise TimerNotRunningError(f"timer {self.id} is {self.state.value}: it cannot pause")
        if at >= self.due_at:
            raise PauseAfterDeadlineError(
                f"the deadline {self.due_at.isoformat()} passed before the pause at {at.isoformat()}"
            )
        self._require_after_last_change(at)
        self._record(
            TimerPaused,
            ctx,
            occurred_at=at,
            reason=reason,
            cause_event=cause_event,
            cause_event_id=cause_event_id,
        )

    @taken_by("resume timer", Role.SYSTEM)
    def resume(self, ctx: Context, *, at: datetime, cause_event: str, cause_event_id: UUID) -> None:
        """Run the clock again from ``at``: the deadline is recomputed with the recorded calendar."""
        self._require_not_closed("resume timer")
        if self.state is not TimerState.PAUSED:
            raise TimerNotPausedError(f"timer {self.id} is {self.state.value}: it cannot resume")
        last = self.pauses[-1]
        if at < last.paused_at:
            raise TimerTimeOrderError(f"resume at {at.isoformat()} is before the pause at {last.paused_at}")
        pauses = (*self.pauses[:-1], Pause(paused_at=last.paused_at, resumed_at=at))
        deadline = compute_deadline(self.rule, self.start_at, self.calendar, pauses, duration=self.duration)
        assert isinstance(deadline, Deadline)  # every pause is closed now
        self._record(
            TimerResumed,
            ctx,
            occurred_at=at,
            due_at=deadline.due_at,
            warnings=deadline.warnings,
            steps=deadline.steps,
            cause_event=cause_event,
            cause_event_id=cause_event_id,
            provisional=deadline.provisional,
        )

    @taken_by("restart timer", Role.SYSTEM)
    def restart(self, ctx: Context, *, at: datetime, cause_event: str, cause_event_id: UUID) -> None:
        """Run the whole period again from ``at`` (new facts); an extension already granted is kept."""
        self._require_not_closed("restart timer")
        self._require_after_last_change(at)
        result = restart_deadline(self.rule, at, self.calendar, self.pauses, duration=self.duration)
        self._record(
            TimerRestarted,
            ctx,
            occurred_at=at,
            **_computed(result),
            pauses=_kept_pauses(result),
            cause_event=cause_event,
            cause_event_id=cause_event_id,
        )

    @taken_by("extend timer", Role.SYSTEM)
    def extend(
        self,
        ctx: Context,
        *,
        at: datetime,
        to_duration: int,
        approver: Actor | None,
        reason: str,
        cause_event: str,
        cause_event_id: UUID,
    ) -> None:
        """Extend the period to ``to_duration`` (an extension the rule allows), from the same start."""
        self._require_not_closed("extend timer")
        result = extend_deadline(self.rule, self.start_at, to_duration, self.calendar, self.pauses)
        self._record(
            TimerExtended,
            ctx,
            occurred_at=at,
            from_duration=self.duration,
            to_duration=to_duration,
            **_computed(result),
            approver=approver,
            reason=reason,
            cause_event=cause_event,
            cause_event_id=cause_event_id,
        )

    @taken_by("satisfy timer", Role.SYSTEM)
    def satisfy(self, ctx: Context, *, at: datetime, by_event: str, cause_event_id: UUID) -> None:
        """Record that ``by_event`` met the obligation; after a breach it is recorded as met late."""
        if self.state in (TimerState.SATISFIED, TimerState.CANCELLED):
            raise TimerClosedError(f"timer {self.id} is {self.state.value}: it cannot be satisfied")
        late = self.state is TimerState.BREACHED or (self.due_at is not None and at >= self.due_at)
        self._record(
            TimerSatisfied,
            ctx,
            occurred_at=at,
            by_event=by_event,
            cause_event_id=cause_event_id,
            late=late,
            **self._watched(),
        )

    @taken_by("cancel timer", Role.SYSTEM)
    def cancel(
        self, ctx: Context, *, at: datetime, reason: str, cause_event: str, cause_event_id: UUID
    ) -> None:
        """Stop the timer without a breach because the obligation fell away."""
        self._require_not_closed("cancel timer")
        self._record(
            TimerCancelled,
            ctx,
            occurred_at=at,
            reason=reason,
            cause_event=cause_event,
            cause_event_id=cause_event_id,
            **self._watched(),
        )

    @taken_by("raise timer warning", Role.SYSTEM)
    def raise_warning(self, ctx: Context, *, threshold: float, at: datetime) -> None:
        """Record that ``threshold`` of the running period has elapsed, once per threshold and period."""
        self._require_not_closed("raise timer warning")
        if self.state is not TimerState.RUNNING or self.due_at is None:
            raise TimerNotRunningError(f"timer {self.id} is {self.state.value}: no warning while paused")
        if threshold in self.warned:
            raise WarningAlreadyRaisedError(f"the {threshold:.0%} warning of timer {self.id} was raised")
        warn_at = self.warning_at(threshold)
        if warn_at is None:
            raise WarningNotDueError(f"{self.rule_id} does not warn at {threshold:.0%}")
        if at < warn_at:
            raise WarningNotDueError(f"the {threshold:.0%} warning is due at {warn_at.isoformat()}")
        self._record(TimerWarningRaised, ctx, occurred_at=warn_at, threshold=threshold, due_at=self.due_at)

    def _watched(self) -> dict[str, object]:
        return {"rule_id": self.rule_id, "subject_id": self.case_id, "case_context": self.case_context}

    @taken_by("breach timer", Role.SYSTEM)
    def breach(self, ctx: Context, *, at: datetime) -> None:
        """Record that the deadline passed unmet, observed at ``at``, with what the rule's breach raises."""
        if self.state is TimerState.BREACHED:
            raise TimerAlreadyBreachedError(f"timer {self.id} was breached at {self.breached_at}")
        if self.rule.kind is RuleKind.WINDOW:
            raise WindowNotBreachedError(f"{self.rule_id} is a window: its end closes it")
        self._require_not_closed("breach timer")
        if self.state is not TimerState.RUNNING or self.due_at is None:
            raise TimerNotRunningError(f"timer {self.id} is {self.state.value}: a paused clock is not due")
        if at < self.due_at:
            raise BreachBeforeDeadlineError(
                f"timer {self.id} is due at {self.due_at.isoformat()}, not yet at {at.isoformat()}"
            )
        consequence = self.rule.on_breach
        self._record(
            TimerBreached,
            ctx,
            occurred_at=self.due_at,
            due_at=self.due_at,
            observed_at=at,
            lateness_seconds=int((at - self.due_at).total_seconds()),
            escalate_to=consequence.escalate_to,
            regulator_reportable=consequence.regulator_reportable,
            consequence=consequence.consequence,
            **self._watched(),
        )

    @taken_by("close timer window", Role.SYSTEM)
    def close_window(self, ctx: Context, *, at: datetime) -> None:
        """Record that the window's period ended unexercised, observed at ``at``: the right has lapsed."""
        if self.rule.kind is not RuleKind.WINDOW:
            raise NotAWindowError(f"{self.rule_id} is an obligation: its deadline is breached, not closed")
        self._require_not_closed("close timer window")
        if self.state is not TimerState.RUNNING or self.due_at is None:
            raise TimerNotRunningError(f"timer {self.id} is {self.state.value}: a paused window is not due")
        if at < self.due_at:
            raise BreachBeforeDeadlineError(
                f"the window of timer {self.id} closes at {self.due_at.isoformat()}, not at {at.isoformat()}"
            )
        self._record(
            TimerWindowClosed,
            ctx,
            occurred_at=self.due_at,
            due_at=self.due_at,
            observed_at=at,
            consequence=self.rule.on_breach.consequence,
            records=self.rule.on_breach.records,
            **self._watched(),
        )

    @taken_by("recompute timer deadline", Role.SYSTEM)
    def recompute_deadline(self, ctx: Context, *, calendar: HolidayCalendar) -> None:
        """Move an open timer to a newer calendar version when that version changes what its deadline
        depends on, recording the deadline before and after (``TimerDeadlineRecomputed``).

        Nothing is recorded when the timer uses that version already, when the new version computes the
        same deadline, warnings and provisional flag (a running clock), or says the same of every day from
        the pause on (a paused one); nor when the deadline has passed (its breach or close stands), nor for
        a rule whose deadline the case recorded itself (``SlaRule.ends_at_field``): the case guards that
        instant, and the timer must keep reading the same one.
        """
        self._require_not_closed("recompute timer deadline")
        if (calendar.calendar_id, calendar.version) == (self.calendar_id, self.calendar_version):
            return
        if self.rule.ends_at_field is not None:
            return
        if self.state is TimerState.PAUSED:
            paused_day = self.pauses[-1].paused_at.astimezone(calendar.zone).date()
            if calendar.says_the_same_from(self.calendar, paused_day):
                return
            result = compute_deadline(self.rule, self.start_at, calendar, self.pauses, duration=self.duration)
        else:
            if self.due_at is None or ctx.recorded_at >= self.due_at:
                return
            result = compute_deadline(self.rule, self.start_at, calendar, self.pauses, duration=self.duration)
            assert isinstance(result, Deadline)  # running: every pause is closed
            unchanged = (result.due_at, result.warnings, result.provisional) == (
                self.due_at,
                self.warnings,
                self.provisional,
            )
            if unchanged:
                return
        computed = _computed(result)
        self._record(
            TimerDeadlineRecomputed,
            ctx,
            occurred_at=ctx.recorded_at,
            calendar_id=calendar.calendar_id,
            calendar_version=calendar.version,
            previous_calendar_version=self.calendar_version,
            previous_due_at=self.due_at,
            due_at=computed["due_at"],
            warnings=computed["warnings"],
            steps=computed["steps"],
            provisional=computed["provisional"],
            **self._watched(),
        )

    def _require_not_closed(self, command: str) -> None:
        if self.state not in OPEN_STATES:
            raise TimerClosedError(f"{command}: timer {self.id} is {self.state.value}")

    def _require_after_last_change(self, at: datetime) -> None:
        latest = max((self.start_at, *(p.resumed_at or p.paused_at for p in self.pauses)))
        if at < latest:
            raise TimerTimeOrderError(
                f"{at.isoformat()} is before the timer's last change {latest.isoformat()}"
            )


def _computed(result: Deadline | PausedClock) -> dict[str, object]:
    """The recorded part of a computation: the deadline (None while paused), warnings, steps, and
    whether it rests on a provisional year."""
    if isinstance(result, Deadline):
        return {
            "due_at": result.due_at,
            "warnings": result.warnings,
            "steps": result.steps,
            "provisional": result.provisional,
        }
    return {"due_at": None, "warnings": (), "steps": result.steps, "provisional": False}


def _kept_pauses(result: Deadline | PausedClock) -> tuple[Pause, ...]:
    """The pauses a restarted clock still counts (an open one becomes a pause from the restart)."""
    if isinstance(result, Deadline):
        return result.pauses
    return (Pause(paused_at=result.paused_at),)
