"""SLA timer rules, as Given / When / Then: start, warnings once, pauses move the deadline, one breach."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID, uuid4

from domain.base import SHANGHAI, Role
from domain.calendar import default_calendar
from domain.sla import rule_by_id
from domain.timer import (
    BreachBeforeDeadlineError,
    NotAWindowError,
    PauseAfterDeadlineError,
    SlaTimer,
    TimerAction,
    TimerAlreadyBreachedError,
    TimerBreached,
    TimerClosedError,
    TimerExtended,
    TimerNotRunningError,
    TimerPaused,
    TimerRestarted,
    TimerResumed,
    TimerSatisfied,
    TimerStarted,
    TimerState,
    TimerWarningRaised,
    TimerWindowClosed,
    WarningAlreadyRaisedError,
    WarningNotDueError,
    WindowNotBreachedError,
    timer_id_for,
)
from tests.gwt import T0, ctx, expect, given

SYSTEM = ctx(Role.SYSTEM)
IL23 = rule_by_id("IL23-DETERMINE-30D")
CMP = rule_by_id("CMP-DECIDE-15D")
CLAIM_ID = UUID("00000000-0000-4000-8000-000000000023")
DUE = datetime(2026, 4, 2, 0, 0, tzinfo=SHANGHAI)  # 30 days after Mon 2 March: Wed 1 April ends at 24:00


def started(rule_id: str = "IL23-DETERMINE-30D", at: datetime = T0) -> SlaTimer:
    return SlaTimer.start(
        SYSTEM,
        rule=rule_by_id(rule_id),
        case_id=CLAIM_ID,
        case_context="claim",
        cycle=1,
        start_at=at,
        calendar=default_calendar(),
        cause_event="ClaimReported",
        cause_event_id=uuid4(),
    )


def paused(timer: SlaTimer, at: datetime) -> SlaTimer:
    timer.pause(SYSTEM, at=at, reason="documents requested", cause_event="X", cause_event_id=uuid4())
    return timer


def test_start_records_the_deadline_and_the_calendar_version_when_the_clock_starts() -> None:
    timer = started()

    event = timer.collect_events()[0]

    assert isinstance(event, TimerStarted)
    assert event.due_at == DUE
    assert (event.calendar_id, event.calendar_version) == (
        default_calendar().calendar_id,
        default_calendar().version,
    )
    assert event.steps
    assert "Art. 23" in event.basis
    assert [w.fraction for w in event.warnings] == [0.5, 0.8]


def test_the_timer_id_is_the_same_when_the_same_rule_case_and_cycle_start_again() -> None:
    assert started().id == started().id == timer_id_for(IL23.rule_id, CLAIM_ID, 1)
    assert timer_id_for(IL23.rule_id, CLAIM_ID, 2) != timer_id_for(IL23.rule_id, CLAIM_ID, 1)


def test_a_warning_is_raised_when_half_the_period_has_run() -> None:
    timer = started()
    half = timer.warning_at(0.5)
    assert half is not None

    then = given(timer).when(lambda t: t.raise_warning(SYSTEM, threshold=0.5, at=half))

    # Recorded at the instant the share was reached, with the deadline it is a share of.
    then.events(expect(TimerWarningRaised, threshold=0.5, due_at=DUE, occurred_at=half))


def test_a_warning_is_refused_when_it_was_raised_already() -> None:
    timer = started()
    half = timer.warning_at(0.5)
    assert half is not None
    timer.raise_warning(SYSTEM, threshold=0.5, at=half)

    given(timer).when(lambda t: t.raise_warning(SYSTEM, threshold=0.5, at=half)).refused(
        WarningAlreadyRaisedError
    )


def test_a_warning_is_refused_when_its_share_of_the_period_has_not_run() -> None:
    given(started()).when(lambda t: t.raise_warning(SYSTEM, threshold=0.8, at=T0)).refused(WarningNotDueError)


def test_a_pause_and_resume_move_the_deadline_by_the_days_paused() -> None:
    timer = paused(started(), T0 + timedelta(days=3))
    cause = uuid4()

    then = given(timer).when(
        lambda t: t.resume(SYSTEM, at=T0 + timedelta(days=10), cause_event="Y", cause_event_id=cause)
    )

    then.events(
        expect(
            TimerResumed,
            due_at=DUE + timedelta(days=7),
            occurred_at=T0 + timedelta(days=10),
            cause_event="Y",
            cause_event_id=cause,
        )
    )
    assert then.aggregate.state is TimerState.RUNNING


def test_a_paused_clock_is_not_breached_when_its_old_deadline_passes() -> None:
    timer = paused(started(), T0 + timedelta(days=3))

    given(timer).when(lambda t: t.breach(SYSTEM, at=DUE + timedelta(days=1))).refused(TimerNotRunningError)


def test_a_pause_is_refused_when_the_deadline_has_already_passed() -> None:
    given(started()).when(lambda t: paused(t, DUE)).refused(PauseAfterDeadlineError)


def test_a_breach_is_refused_when_the_deadline_has_not_come() -> None:
    given(started()).when(lambda t: t.breach(SYSTEM, at=DUE - timedelta(seconds=1))).refused(
        BreachBeforeDeadlineError
    )


def test_a_breach_records_its_lateness_and_escalation_when_the_deadline_has_passed() -> None:
    then = given(started()).when(lambda t: t.breach(SYSTEM, at=DUE + timedelta(seconds=42)))

    then.events(
        expect(
            TimerBreached,
            rule_id=IL23.rule_id,
            subject_id=CLAIM_ID,
            case_context="claim",
            due_at=DUE,
            occurred_at=DUE,
            observed_at=DUE + timedelta(seconds=42),
            lateness_seconds=42,
            escalate_to=Role.SUPERVISOR,
            regulator_reportable=True,
            consequence=IL23.on_breach.consequence,
        )
    )


def test_a_second_breach_is_refused_when_the_timer_was_breached() -> None:
    timer = started()
    timer.breach(SYSTEM, at=DUE)

    given(timer).when(lambda t: t.breach(SYSTEM, at=DUE + timedelta(hours=1))).refused(
        TimerAlreadyBreachedError
    )


def test_a_satisfied_timer_takes_no_breach_and_no_pause() -> None:
    timer = started()
    timer.satisfy(SYSTEM, at=T0 + timedelta(days=5), by_event="ClaimDecided", cause_event_id=uuid4())

    given(timer).when(lambda t: t.breach(SYSTEM, at=DUE)).refused(TimerClosedError)
    given(timer).when(lambda t: paused(t, T0 + timedelta(days=6))).refused(TimerClosedError)


def test_satisfaction_after_a_breach_is_recorded_as_late() -> None:
    timer = started()
    timer.breach(SYSTEM, at=DUE)
    cause = uuid4()

    then = given(timer).when(
        lambda t: t.satisfy(SYSTEM, at=DUE + timedelta(days=1), by_event="ClaimDecided", cause_event_id=cause)
    )

    then.events(
        expect(
            TimerSatisfied,
            late=True,
            by_event="ClaimDecided",
            cause_event_id=cause,
            occurred_at=DUE + timedelta(days=1),
            rule_id=IL23.rule_id,
            subject_id=CLAIM_ID,
            case_context="claim",
        )
    )


def test_an_extension_runs_the_longer_period_from_the_same_start() -> None:
    cause = uuid4()

    then = given(started(CMP.rule_id)).when(
        lambda t: t.extend(
            SYSTEM,
            at=T0 + timedelta(days=5),
            to_duration=30,
            approver=None,
            reason="complex",
            cause_event="ComplaintDeadlineExtended",
            cause_event_id=cause,
        )
    )

    then.events(
        expect(
            TimerExtended,
            from_duration=15,  # CMP-DECIDE-15D's own period
            to_duration=30,
            due_at=DUE,  # 30 days from the same start as IL23's 30 days
            occurred_at=T0 + timedelta(days=5),
            approver=None,
            reason="complex",
            cause_event="ComplaintDeadlineExtended",
            cause_event_id=cause,
        )
    )


def test_a_restart_runs_the_whole_period_again_and_warns_again() -> None:
    timer = started(CMP.rule_id)
    half = timer.warning_at(0.5)
    assert half is not None
    timer.raise_warning(SYSTEM, threshold=0.5, at=half)
    new_facts_at = T0 + timedelta(days=10)
    cause = uuid4()

    then = given(timer).when(
        lambda t: t.restart(
            SYSTEM, at=new_facts_at, cause_event="ComplaintNewFactsReceived", cause_event_id=cause
        )
    )

    then.events(
        expect(
            TimerRestarted,
            due_at=datetime(2026, 3, 28, 0, 0, tzinfo=SHANGHAI),  # 15 days after 12 March
            occurred_at=new_facts_at,
            pauses=(),
            cause_event="ComplaintNewFactsReceived",
            cause_event_id=cause,
        )
    )
    assert [w.fraction for w in then.aggregate.pending_warnings()] == [0.5, 0.8]


def test_a_case_event_is_recognised_when_it_already_changed_the_timer() -> None:
    timer = started()
    cause = uuid4()
    timer.pause(SYSTEM, at=T0 + timedelta(days=1), reason="r", cause_event="X", cause_event_id=cause)

    history = given(timer)

    assert isinstance(history.history[-1], TimerPaused)
    assert history.aggregate.has_applied(cause)


def a_cooling_off_window() -> SlaTimer:
    # Receipt acknowledged Wednesday 4 March 2026: the 15 days end with 19 March, at 24:00.
    return SlaTimer.start(
        SYSTEM,
        rule=rule_by_id("LIFE-COOLOFF-15D"),
        case_id=CLAIM_ID,
        case_context="policy",
        cycle=7,
        start_at=datetime(2026, 3, 4, tzinfo=SHANGHAI),
        calendar=default_calendar(),
        cause_event="PolicyReceiptAcknowledged",
        cause_event_id=uuid4(),
    )


COOLING_OFF_ENDS = datetime(2026, 3, 20, tzinfo=SHANGHAI)


def test_a_window_is_due_to_close_not_to_breach_when_its_period_ends() -> None:
    assert a_cooling_off_window().next_fire() == (COOLING_OFF_ENDS, TimerAction.CLOSE_WINDOW)
    assert started().next_fire() == (started().warning_at(0.5), TimerAction.WARNING)


def test_a_window_closes_without_escalation_when_its_period_has_ended() -> None:
    then = given(a_cooling_off_window()).when(
        lambda t: t.close_window(SYSTEM, at=COOLING_OFF_ENDS + timedelta(seconds=3))
    )

    then.events(
        expect(
            TimerWindowClosed,
            rule_id="LIFE-COOLOFF-15D",
            subject_id=CLAIM_ID,
            case_context="policy",
            due_at=COOLING_OFF_ENDS,
            occurred_at=COOLING_OFF_ENDS,
            observed_at=COOLING_OFF_ENDS + timedelta(seconds=3),
            records="CoolingOffEnded",
        )
    )
    assert then.aggregate.state is TimerState.WINDOW_CLOSED
    assert then.aggregate.next_fire() is None


def test_a_window_is_refused_a_breach_when_its_period_has_ended() -> None:
    given(a_cooling_off_window()).when(lambda t: t.breach(SYSTEM, at=COOLING_OFF_ENDS)).refused(
        WindowNotBreachedError
    )


def test_a_window_is_not_closed_when_its_last_day_is_still_running() -> None:
    last_evening = datetime(2026, 3, 19, 23, 59, tzinfo=SHANGHAI)
    given(a_cooling_off_window()).when(lambda t: t.close_window(SYSTEM, at=last_evening)).refused(
        BreachBeforeDeadlineError
    )


def test_an_obligation_is_refused_a_window_close_when_its_deadline_passed() -> None:
    given(started()).when(lambda t: t.close_window(SYSTEM, at=DUE)).refused(NotAWindowError)


def test_a_closed_window_takes_no_late_exercise() -> None:
    timer = a_cooling_off_window()
    timer.close_window(SYSTEM, at=COOLING_OFF_ENDS)

    given(timer).when(
        lambda t: t.cancel(
            SYSTEM, at=COOLING_OFF_ENDS, reason="late", cause_event="X", cause_event_id=uuid4()
        )
    ).refused(TimerClosedError)
