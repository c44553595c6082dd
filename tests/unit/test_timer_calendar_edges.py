"""SLA timers at the calendar's edges, as Given / When / Then: a deadline resting on a provisional year is
flagged, a window the case recorded is kept as recorded, and a newer calendar version moves a running
timer only by a recorded ``TimerDeadlineRecomputed``, and only when it changes what the deadline rests on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.base import SHANGHAI, DomainEvent, Role
from domain.calendar import DateOutsideCalendarsError, Deadline, compute_deadline, default_calendar
from domain.complaint import Complaint, ComplaintCategory, ComplaintChannel, SubjectKind, SubjectRef
from domain.sla import require_clock_days_in_calendar, rule_by_id
from domain.timer import (
    SlaTimer,
    TimerClosedError,
    TimerDeadlineRecomputed,
    TimerStarted,
    TimerState,
)
from projections.base import fold
from projections.worklist import WorklistView
from tests.calendar_versions import notice_2027, publish
from tests.gwt import ctx, expect, given

CASE_ID = UUID("00000000-0000-4000-8000-000000000031")


def at(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=SHANGHAI)


def system(when: datetime) -> Any:
    return ctx(Role.SYSTEM, "sla-timers", when)


def started(rule_id: str, start: datetime, *, ends_at: datetime | None = None) -> SlaTimer:
    timer = SlaTimer.start(
        system(start),
        rule=rule_by_id(rule_id),
        case_id=CASE_ID,
        case_context="claim",
        cycle=1,
        start_at=start,
        calendar=default_calendar(),
        cause_event="ClaimReported",
        cause_event_id=uuid4(),
        ends_at=ends_at,
    )
    return timer


# ------------------------------------------------------------------------------ provisional 2027


def test_a_deadline_is_provisional_when_its_last_day_is_rolled_over_in_2027() -> None:
    # 30 days after Sun 20 Dec 2026: Tue 19 Jan 2027, a day of the provisional year.
    deadline = compute_deadline(rule_by_id("IL23-DETERMINE-30D"), at(2026, 12, 20), default_calendar())

    assert isinstance(deadline, Deadline)
    assert deadline.provisional is True


def test_a_deadline_is_not_provisional_when_every_day_it_counts_is_in_2026() -> None:
    deadline = compute_deadline(rule_by_id("IL23-DETERMINE-30D"), at(2026, 9, 16), default_calendar())

    assert isinstance(deadline, Deadline)
    assert deadline.provisional is False


def test_a_working_day_deadline_is_provisional_when_it_counts_days_of_2027() -> None:
    deadline = compute_deadline(rule_by_id("LIFE-MISSELL-15WD"), at(2026, 12, 28), default_calendar())

    assert isinstance(deadline, Deadline)
    assert deadline.provisional is True


def test_an_exact_deadline_is_never_provisional_when_it_ends_in_2027() -> None:
    deadline = compute_deadline(rule_by_id("IL16-INCONTESTABLE-2Y"), at(2025, 6, 1), default_calendar())

    assert isinstance(deadline, Deadline)
    assert deadline.provisional is False


def test_the_timer_records_a_provisional_deadline_when_it_starts_in_2027() -> None:
    timer = started("IL23-DETERMINE-30D", at(2027, 3, 1))

    event = timer.collect_events()[0]

    assert isinstance(event, TimerStarted)
    assert event.provisional is True
    assert timer.provisional is True


def test_an_old_start_event_loads_as_not_provisional_when_it_has_no_flag() -> None:
    recorded = started("IL23-DETERMINE-30D", at(2026, 3, 2)).collect_events()[0]
    assert isinstance(recorded, TimerStarted)
    stored = recorded.model_dump(exclude={"provisional"})

    assert TimerStarted.model_validate(stored).provisional is False


# ------------------------------------------------------------------------------ the case's recorded window


def test_a_window_the_case_recorded_is_kept_when_it_agrees_with_the_computation() -> None:
    # A complaint response delivered Tue 1 Sep 2026: the review window rolls over National Day.
    end = at(2026, 10, 9, 0)

    timer = started("CMP-REVIEW-APPLY-30D", at(2026, 9, 1, 15), ends_at=end)

    assert timer.due_at == end
    event = timer.collect_events()[0]
    assert isinstance(event, TimerStarted)
    assert any(step.basis == "recorded end" for step in event.steps)


def test_a_window_the_case_recorded_is_kept_when_the_timer_would_compute_another() -> None:
    # Computed on another calendar version, say: the timer still reads the instant the case guards.
    recorded = at(2026, 10, 10, 0)

    timer = started("CMP-REVIEW-APPLY-30D", at(2026, 9, 1, 15), ends_at=recorded)

    assert timer.due_at == recorded
    event = timer.collect_events()[0]
    assert isinstance(event, TimerStarted)
    assert event.due_at == recorded
    assert any(step.basis == "recorded end" for step in event.steps)


# ------------------------------------------------------------------------------ a newer calendar version


def test_recomputing_moves_a_running_deadline_when_the_new_notice_changes_its_last_day() -> None:
    # 30 days after Thu 2 Sep 2027: Sat 2 Oct. Provisional: National Day 1-5 Oct, so 24:00 Wed 6 Oct.
    # The notice makes it 1-7 Oct: the period ends 24:00 Fri 8 Oct.
    timer = started("IL23-DETERMINE-30D", at(2027, 9, 2))
    assert timer.due_at == at(2027, 10, 7, 0)
    newer = notice_2027()

    then = given(timer).when(lambda t: t.recompute_deadline(system(at(2027, 9, 10)), calendar=newer))

    then.events(
        expect(
            TimerDeadlineRecomputed,
            calendar_version="2027.1-test",
            previous_calendar_version=default_calendar().version,
            previous_due_at=at(2027, 10, 7, 0),
            due_at=at(2027, 10, 9, 0),
            provisional=False,
            rule_id="IL23-DETERMINE-30D",
            subject_id=CASE_ID,
        )
    )
    assert then.aggregate.due_at == at(2027, 10, 9, 0)
    assert then.aggregate.calendar_version == "2027.1-test"
    assert then.aggregate.provisional is False


def test_recomputing_records_a_confirmed_deadline_when_only_the_provisional_flag_changes() -> None:
    # 30 days after Mon 1 Mar 2027: Wed 31 Mar, a working day in both versions.
    timer = started("IL23-DETERMINE-30D", at(2027, 3, 1))

    then = given(timer).when(lambda t: t.recompute_deadline(system(at(2027, 3, 5)), calendar=notice_2027()))

    then.events(
        expect(
            TimerDeadlineRecomputed,
            previous_due_at=at(2027, 4, 1, 0),
            due_at=at(2027, 4, 1, 0),
            provisional=False,
        )
    )


def test_recomputing_records_nothing_when_the_deadline_does_not_depend_on_what_changed() -> None:
    timer = started("IL23-DETERMINE-30D", at(2026, 3, 2))

    given(timer).when(lambda t: t.recompute_deadline(system(at(2026, 3, 5)), calendar=notice_2027())).events()


def test_recomputing_records_nothing_when_the_timer_uses_that_version_already() -> None:
    timer = started("IL23-DETERMINE-30D", at(2027, 9, 2))

    given(timer).when(
        lambda t: t.recompute_deadline(system(at(2027, 9, 5)), calendar=default_calendar())
    ).events()


def test_recomputing_records_nothing_when_the_deadline_has_passed() -> None:
    timer = started("IL23-DETERMINE-30D", at(2027, 9, 2))

    given(timer).when(
        lambda t: t.recompute_deadline(system(at(2027, 10, 7, 0)), calendar=notice_2027())
    ).events()


def test_recomputing_moves_a_paused_clock_to_the_new_version_when_the_days_after_its_pause_differ() -> None:
    timer = started("IL23-DETERMINE-30D", at(2027, 9, 2))
    timer.pause(
        system(at(2027, 9, 6)), at=at(2027, 9, 6), reason="documents", cause_event="X", cause_event_id=uuid4()
    )

    then = given(timer).when(lambda t: t.recompute_deadline(system(at(2027, 9, 10)), calendar=notice_2027()))

    then.events(
        expect(
            TimerDeadlineRecomputed,
            calendar_version="2027.1-test",
            previous_due_at=None,
            due_at=None,
            provisional=False,
        )
    )
    assert then.aggregate.state is TimerState.PAUSED
    assert then.aggregate.due_at is None


def test_recomputing_leaves_a_window_the_case_recorded_when_the_case_guards_that_instant() -> None:
    end = at(2027, 10, 7, 0)
    timer = started("CMP-REVIEW-APPLY-30D", at(2027, 9, 2), ends_at=end)

    given(timer).when(
        lambda t: t.recompute_deadline(system(at(2027, 9, 10)), calendar=notice_2027())
    ).events()


def test_recomputing_is_refused_when_the_timer_is_closed() -> None:
    timer = started("IL23-DETERMINE-30D", at(2027, 9, 2))
    timer.cancel(
        system(at(2027, 9, 3)), at=at(2027, 9, 3), reason="withdrawn", cause_event="X", cause_event_id=uuid4()
    )

    given(timer).when(
        lambda t: t.recompute_deadline(system(at(2027, 9, 10)), calendar=notice_2027())
    ).refused(TimerClosedError)


@pytest.mark.parametrize("day", [at(2027, 9, 26), at(2027, 10, 6), at(2027, 10, 9)])
def test_the_test_notice_differs_from_the_provisional_calendar_on_the_days_it_changes(day: datetime) -> None:
    assert notice_2027().is_working_day(day.date()) != default_calendar().is_working_day(day.date())
    assert not notice_2027().says_the_same_from(default_calendar(), day.date() - timedelta(days=1))


# ------------------------------------------------------------------------------ dates outside every calendar


def lodged_on(received: datetime) -> DomainEvent:
    complaint = Complaint.lodge(
        ctx(Role.COMPLAINTS_OFFICER, "wu.xia", max(received, at(2026, 3, 2))),
        complaint_id=uuid4(),
        received_at=received,
        category=ComplaintCategory.CLAIMS,
        channel=ComplaintChannel.LETTER,
        subject_ref=SubjectRef(kind=SubjectKind.POLICY, ref="P-1"),
        customer_id="CUST-1",
        complainant_name="张三",
        complainant_phone="13800000000",
        facts="an old grievance",
        demands="a refund",
    )
    [event] = complaint.collect_events()
    assert isinstance(event, DomainEvent)
    return event


def test_a_receipt_in_2020_is_refused_when_no_calendar_version_covers_that_year() -> None:
    with pytest.raises(DateOutsideCalendarsError, match="2020-05-06") as refused:
        require_clock_days_in_calendar(lodged_on(at(2020, 5, 6)))

    assert refused.value.rule == "CAL-OUT-OF-RANGE"


def test_a_receipt_on_new_years_eve_2024_is_refused_when_the_calendars_start_in_2025() -> None:
    # 31 Dec 2024 16:30 UTC is already 1 Jan 2025 in Shanghai: only the Shanghai day counts.
    require_clock_days_in_calendar(lodged_on(datetime(2024, 12, 31, 16, 30, tzinfo=UTC)))
    with pytest.raises(DateOutsideCalendarsError):
        require_clock_days_in_calendar(lodged_on(at(2024, 12, 31, 23)))


def test_a_receipt_in_the_provisional_year_is_accepted_when_a_version_holds_it() -> None:
    require_clock_days_in_calendar(lodged_on(at(2027, 12, 20)))


# ------------------------------------------------------------------------------ the worklist follows


def test_the_worklist_is_dated_again_when_a_timer_records_its_recomputed_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    received = at(2027, 9, 16)
    complaint = lodged_on(received)
    item = (complaint.originator_id, "respond to complaint")
    before = fold([WorklistView()], [complaint])["worklist"][item]
    timer = SlaTimer.start(
        system(received),
        rule=rule_by_id("CMP-DECIDE-15D"),
        case_id=complaint.originator_id,
        case_context="complaint",
        cycle=1,
        start_at=received,
        calendar=default_calendar(),
        cause_event="ComplaintLodged",
        cause_event_id=complaint.event_id,
    )
    timer.collect_events()
    publish(monkeypatch, notice_2027())
    timer.recompute_deadline(system(at(2027, 9, 20)), calendar=notice_2027())
    [recomputed] = timer.collect_events()
    assert isinstance(recomputed, DomainEvent)

    rows = fold([WorklistView()], [complaint, recomputed])["worklist"]

    after = rows[item]
    assert (before["due_at"], before["provisional"]) == (at(2027, 10, 7, 0), True)
    assert (after["due_at"], after["provisional"]) == (at(2027, 10, 9, 0), False)
    assert after["version"] == before["version"]
