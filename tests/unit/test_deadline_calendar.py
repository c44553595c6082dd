"""The mainland-China working-day calendar and the Civil-Code deadline arithmetic (Arts. 201–203)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from domain.base import DomainError
from domain.calendar import (
    CalendarYearNotCoveredError,
    CountingMethod,
    Deadline,
    DurationUnit,
    ExtensionNotAllowedError,
    HolidayCalendar,
    InvalidPauseSequenceError,
    Pause,
    PausedClock,
    UnknownCalendarError,
    calendar_for,
    compute_deadline,
    default_calendar,
    extend_deadline,
    restart_deadline,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
CALENDAR_DAYS = DurationUnit.CALENDAR_DAYS
WORKING_DAYS = DurationUnit.WORKING_DAYS
CIVIL = CountingMethod.CIVIL_CODE_201_203


@dataclass(frozen=True)
class Terms:
    """A rule reduced to what the arithmetic reads, so these tests do not depend on the rule table."""

    duration: int
    unit: DurationUnit = CALENDAR_DAYS
    counting: CountingMethod = CIVIL
    rule_id: str = "TEST-RULE"
    warn_at: tuple[float, ...] = (0.5, 0.8)
    extension_durations: tuple[int, ...] = ()


def shanghai(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def deadline_of(
    terms: Terms, start_at: datetime, pauses: tuple[Pause, ...] = (), duration: int | None = None
) -> Deadline:
    result = compute_deadline(terms, start_at, default_calendar(), pauses, duration=duration)
    assert isinstance(result, Deadline)
    return result


# ------------------------------------------------------------------------------------------ the calendar


def test_holidays_are_not_working_days_when_the_notice_lists_them() -> None:
    calendar = default_calendar()
    assert not calendar.is_working_day(date(2025, 10, 2))  # 国庆节、中秋节, a Thursday
    assert not calendar.is_working_day(date(2025, 1, 28))  # 除夕, first day of 春节 2025
    assert not calendar.is_working_day(date(2026, 2, 16))  # 春节 2026, a Monday
    assert not calendar.is_working_day(date(2026, 6, 19))  # 端午节 2026, a Friday


def test_makeup_weekend_days_are_working_days_when_the_notice_lists_them() -> None:
    calendar = default_calendar()
    assert calendar.is_working_day(date(2025, 10, 11))  # Saturday after National Day 2025
    assert calendar.is_working_day(date(2025, 9, 28))  # Sunday before it
    assert calendar.is_working_day(date(2026, 2, 28))  # Saturday after 春节 2026
    assert calendar.is_working_day(date(2026, 1, 4))  # Sunday after 元旦 2026


def test_ordinary_weekend_is_not_a_working_day_when_no_makeup_day_falls_on_it() -> None:
    calendar = default_calendar()
    assert not calendar.is_working_day(date(2025, 10, 12))  # the Sunday after the make-up Saturday
    assert calendar.is_working_day(date(2025, 10, 9))  # the first weekday after National Day


def test_each_holiday_period_has_its_published_length_when_counted() -> None:
    # Day counts as printed in the notices (共N天).
    lengths = {(p.first_day.year, p.name): len(p.days()) for p in default_calendar().periods}
    assert lengths == {
        (2025, "元旦"): 1,
        (2025, "春节"): 8,
        (2025, "清明节"): 3,
        (2025, "劳动节"): 5,
        (2025, "端午节"): 3,
        (2025, "国庆节、中秋节"): 8,
        (2026, "元旦"): 3,
        (2026, "春节"): 9,
        (2026, "清明节"): 3,
        (2026, "劳动节"): 5,
        (2026, "端午节"): 3,
        (2026, "中秋节"): 3,
        (2026, "国庆节"): 7,
        # 2027 provisional: the statutory days of the 放假办法 with Art. 6 补假, no notice yet.
        (2027, "元旦"): 1,
        (2027, "春节"): 6,
        (2027, "清明节"): 1,
        (2027, "劳动节"): 4,
        (2027, "端午节"): 1,
        (2027, "中秋节"): 1,
        (2027, "国庆节"): 5,
    }


def test_makeup_days_are_exactly_the_published_ones_when_listed() -> None:
    assert default_calendar().makeup_working_days == {
        date(2025, 1, 26),
        date(2025, 2, 8),
        date(2025, 4, 27),
        date(2025, 9, 28),
        date(2025, 10, 11),
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    }


@pytest.mark.parametrize("day", [date(2024, 12, 31), date(2028, 1, 4)])
def test_calendar_refuses_a_day_when_its_year_is_not_covered(day: date) -> None:
    with pytest.raises(CalendarYearNotCoveredError) as raised:
        default_calendar().is_working_day(day)
    assert isinstance(raised.value, DomainError)
    assert raised.value.day == day
    assert "2025, 2026, 2027" in raised.value.message


def test_deadline_is_refused_when_it_reaches_an_uncovered_year() -> None:
    # 60 days from 2027-12-01 end in January 2028, whose holidays the law alone does not fix.
    with pytest.raises(CalendarYearNotCoveredError):
        compute_deadline(Terms(60), shanghai(2027, 12, 1, 10), default_calendar())


def test_a_replay_on_the_older_version_still_refuses_2027_when_that_version_did() -> None:
    # Timers record their version: one computed on 2026.1 must never silently change its answer.
    with pytest.raises(CalendarYearNotCoveredError):
        compute_deadline(Terms(60), shanghai(2026, 12, 1, 10), calendar_for("CN-mainland", "2026.1"))


def test_deadline_rolls_over_a_statutory_2027_holiday_when_its_notice_is_not_out() -> None:
    # 2027-01-20 + 16 days = Fri 2027-02-05, 除夕: Feb 5–8 by Art. 2, Feb 9–10 made up (Art. 6) for
    # 初一 and 初二 on the weekend, so the period ends on Thu 2027-02-11.
    deadline = deadline_of(Terms(16), shanghai(2027, 1, 20, 10))
    assert deadline.last_day == date(2027, 2, 11)
    assert deadline.calendar_version == "2026.2"


def test_deadline_steps_say_provisional_when_it_ends_in_a_year_without_its_notice() -> None:
    # 2026-12-10 + 30 days = Sat 2027-01-09 → Mon 2027-01-11, counted on statutory days only.
    deadline = deadline_of(Terms(30), shanghai(2026, 12, 10, 10))
    assert deadline.last_day == date(2027, 1, 11)
    assert any("provisional" in step.detail for step in deadline.steps)


def test_deadline_steps_do_not_say_provisional_when_the_year_has_its_notice() -> None:
    deadline = deadline_of(Terms(30), shanghai(2026, 3, 2, 10))
    assert not any("provisional" in step.detail for step in deadline.steps)


def test_default_calendar_names_its_version_and_notices_when_loaded() -> None:
    calendar = default_calendar()
    assert (calendar.calendar_id, calendar.version, calendar.time_zone) == (
        "CN-mainland",
        "2026.2",
        "Asia/Shanghai",
    )
    assert calendar.covered_years == (2025, 2026, 2027)
    assert calendar.provisional_years == {2027}
    notices = {source.year: source for source in calendar.sources}
    assert notices[2025].document_number == "国办发明电〔2024〕12号"
    assert notices[2026].title == "国务院办公厅关于2026年部分节假日安排的通知"
    assert notices[2026].issued_on == date(2025, 11, 4)


def test_calendar_for_returns_the_recorded_version_when_it_is_known() -> None:
    assert calendar_for("CN-mainland", "2026.2") == default_calendar()
    assert calendar_for("CN-mainland", "2026.1").covered_years == (2025, 2026)
    with pytest.raises(UnknownCalendarError):
        calendar_for("CN-mainland", "2019.1")


def test_calendar_data_is_rejected_when_a_makeup_day_is_a_weekday() -> None:
    with pytest.raises(ValidationError, match="not a Saturday or Sunday"):
        HolidayCalendar.model_validate(
            {
                "calendar_id": "CN-mainland",
                "version": "bad",
                "covered_years": (2025,),
                "sources": ({"year": 2025, "title": "notice", "issued_on": "2024-11-12"},),
                "periods": (
                    {
                        "name": "元旦",
                        "first_day": "2025-01-01",
                        "last_day": "2025-01-01",
                        "makeup_working_days": ("2025-01-02",),
                    },
                ),
            }
        )


# --------------------------------------------------------------------------------- day-period counting


def test_period_rolls_past_national_day_when_its_last_day_is_a_holiday() -> None:
    # Start Mon 2025-09-29; day 3 is Thu 2025-10-02, inside 国庆+中秋 (Oct 1–8); the first working day
    # after it is Thu 2025-10-09 (the make-up Saturday Oct 11 comes later), so it ends at 24:00 Oct 9.
    deadline = deadline_of(Terms(3), shanghai(2025, 9, 29, 10))
    assert deadline.last_day == date(2025, 10, 9)
    assert deadline.due_at == shanghai(2025, 10, 10)


def test_period_ends_on_a_makeup_day_when_its_last_day_is_one() -> None:
    # Sat 2025-09-27 + 1 day = Sun 2025-09-28, a make-up working day: no roll-over.
    assert deadline_of(Terms(1), shanghai(2025, 9, 27, 10)).due_at == shanghai(2025, 9, 29)


def test_roll_over_stops_on_a_makeup_sunday_when_new_year_holidays_precede_it() -> None:
    # 2025-12-03 + 30 days = Fri 2026-01-02 (元旦 Jan 1–3); Sun Jan 4 is a make-up working day.
    assert deadline_of(Terms(30), shanghai(2025, 12, 3, 10)).due_at == shanghai(2026, 1, 5)


def test_period_rolls_over_an_ordinary_weekend_when_its_last_day_is_a_saturday() -> None:
    # Fri 2025-11-14 + 1 day = Sat Nov 15 → Mon Nov 17.
    assert deadline_of(Terms(1), shanghai(2025, 11, 14, 18)).due_at == shanghai(2025, 11, 18)


def test_period_ends_on_the_holiday_when_counted_without_roll_over() -> None:
    terms = Terms(3, counting=CountingMethod.CIVIL_CODE_201_NO_ROLL_OVER)
    deadline = deadline_of(terms, shanghai(2025, 9, 29, 10))
    assert deadline.last_day == date(2025, 10, 2)
    assert deadline.due_at == shanghai(2025, 10, 3)


def test_working_days_are_refused_when_counted_without_roll_over() -> None:
    terms = Terms(3, WORKING_DAYS, CountingMethod.CIVIL_CODE_201_NO_ROLL_OVER)
    with pytest.raises(ValueError, match="cannot be counted"):
        compute_deadline(terms, shanghai(2025, 9, 29, 10), default_calendar())


def test_working_day_period_ends_on_a_makeup_saturday_when_it_follows_a_friday() -> None:
    # Fri 2026-02-27 + 1 working day = Sat 2026-02-28, a make-up working day after 春节.
    deadline = deadline_of(Terms(1, WORKING_DAYS), shanghai(2026, 2, 27, 10))
    assert deadline.last_day == date(2026, 2, 28)
    assert deadline.due_at == shanghai(2026, 3, 1)


def test_working_day_period_skips_the_spring_festival_when_it_crosses_it() -> None:
    # Fri 2026-02-13: Sat Feb 14 is a make-up day (1), Feb 15–23 are off, Tue Feb 24 is day 2.
    assert deadline_of(Terms(2, WORKING_DAYS), shanghai(2026, 2, 13, 16)).due_at == shanghai(2026, 2, 25)


@pytest.mark.parametrize(
    ("start_at", "start_day", "due_at"),
    [
        # 17:30Z is 01:30 on Mar 4 in Shanghai: the start day is Mar 4, so 10 days end on Fri Mar 14.
        (datetime(2025, 3, 3, 17, 30, tzinfo=UTC), date(2025, 3, 4), shanghai(2025, 3, 15)),
        # 15:59Z is 23:59 on Mar 3 in Shanghai: still Mar 3, so 10 days end on Thu Mar 13.
        (datetime(2025, 3, 3, 15, 59, tzinfo=UTC), date(2025, 3, 3), shanghai(2025, 3, 14)),
    ],
)
def test_start_day_is_the_shanghai_day_when_the_instant_is_given_in_utc(
    start_at: datetime, start_day: date, due_at: datetime
) -> None:
    deadline = deadline_of(Terms(10), start_at)
    assert deadline.start_day == start_day
    assert deadline.due_at == due_at


def test_due_instant_is_midnight_in_shanghai_when_the_period_ends_at_24_00() -> None:
    deadline = deadline_of(Terms(10), shanghai(2025, 3, 4, 1, 30))
    assert deadline.due_at.tzinfo == SHANGHAI
    assert (deadline.due_at.hour, deadline.due_at.minute) == (0, 0)
    assert deadline.due_at == datetime(2025, 3, 14, 16, 0, tzinfo=UTC)


def test_hours_are_counted_exactly_when_the_period_ends_on_a_holiday() -> None:
    deadline = deadline_of(Terms(48, DurationUnit.HOURS, CountingMethod.EXACT), shanghai(2025, 10, 1, 10))
    assert deadline.due_at == shanghai(2025, 10, 3, 10)
    assert deadline.last_day is None


def test_years_end_at_the_anniversary_instant_when_counted_exactly() -> None:
    terms = Terms(2, DurationUnit.YEARS, CountingMethod.EXACT)
    assert deadline_of(terms, shanghai(2025, 3, 10, 10)).due_at == shanghai(2027, 3, 10, 10)
    # No 29 February in 2026: the month's last day (Civil Code Art. 202).
    assert deadline_of(terms, shanghai(2024, 2, 29, 9)).due_at == shanghai(2026, 2, 28, 9)


def test_deadline_is_refused_when_the_start_instant_is_naive() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        compute_deadline(Terms(3), datetime(2025, 3, 3, 10), default_calendar())  # noqa: DTZ001


def test_deadline_is_refused_when_hours_are_counted_the_civil_code_way() -> None:
    with pytest.raises(ValueError, match="cannot be counted"):
        compute_deadline(Terms(24, DurationUnit.HOURS, CIVIL), shanghai(2025, 3, 3), default_calendar())


def test_deadline_records_the_calendar_and_the_articles_when_computed() -> None:
    deadline = deadline_of(Terms(3), shanghai(2025, 9, 29, 10))
    assert (deadline.calendar_id, deadline.calendar_version) == ("CN-mainland", "2026.2")
    assert deadline.start_at == shanghai(2025, 9, 29, 10)
    bases = [step.basis for step in deadline.steps]
    assert "Civil Code Art. 201" in bases
    assert "Civil Code Art. 203 ¶1" in bases
    roll_over = next(step for step in deadline.steps if step.basis == "Civil Code Art. 203 ¶1")
    assert "2025-10-02 (Thu) is a statutory holiday (国庆节、中秋节)" in roll_over.detail
    assert "2025-10-09 (Thu)" in roll_over.detail


# -------------------------------------------------------------------------------------------- warnings


def test_warnings_fall_at_half_and_four_fifths_of_the_period_when_nothing_pauses() -> None:
    # 2025-03-03 00:00 + 15 days → ends 24:00 Tue Mar 18: a 16-day span from the start instant.
    deadline = deadline_of(Terms(15), shanghai(2025, 3, 3))
    assert deadline.due_at == shanghai(2025, 3, 19)
    assert deadline.warning_at(0.5) == shanghai(2025, 3, 11)
    assert deadline.warning_at(0.8) == shanghai(2025, 3, 15, 19, 12)  # 12.8 days


def test_warnings_skip_the_paused_time_when_the_clock_was_stopped() -> None:
    # 10 days from Mar 3 end Thu Mar 13; paused Mar 5–7 with 8 days left → Sat Mar 15 → Mon Mar 17.
    pause = Pause(paused_at=shanghai(2025, 3, 5), resumed_at=shanghai(2025, 3, 7))
    deadline = deadline_of(Terms(10), shanghai(2025, 3, 3), (pause,))
    assert deadline.due_at == shanghai(2025, 3, 18)
    # Running time: 15 days − 2 paused = 13; half is 6.5 days: 2 before the pause, 4.5 after it.
    assert deadline.warning_at(0.5) == shanghai(2025, 3, 11, 12)


# ------------------------------------------------------------------------------------ stop-the-clock


def test_pause_moves_the_last_day_by_the_days_from_pause_to_resume_when_both_are_mid_period() -> None:
    # 30 days from Mon 2025-03-03 end Wed Apr 2; paused Mar 10, resumed Mar 17: 7 days later, Wed Apr 9.
    pause = Pause(paused_at=shanghai(2025, 3, 10, 14), resumed_at=shanghai(2025, 3, 17, 11))
    deadline = deadline_of(Terms(30), shanghai(2025, 3, 3, 9), (pause,))
    assert deadline.due_at == shanghai(2025, 4, 10)
    assert deadline.pauses == (pause,)


def test_pause_on_the_same_day_moves_nothing_when_it_resumes_before_midnight() -> None:
    pause = Pause(paused_at=shanghai(2025, 3, 10, 9), resumed_at=shanghai(2025, 3, 10, 17))
    assert deadline_of(Terms(30), shanghai(2025, 3, 3, 9), (pause,)).due_at == shanghai(2025, 4, 3)


def test_pause_keeps_the_whole_period_when_it_starts_on_the_start_day() -> None:
    # Nothing was used on the (uncounted) start day: 30 days run again after Thu Mar 13 → Sat Apr 12 → Mon.
    pause = Pause(paused_at=shanghai(2025, 3, 3, 15), resumed_at=shanghai(2025, 3, 13, 10))
    assert deadline_of(Terms(30), shanghai(2025, 3, 3, 9), (pause,)).due_at == shanghai(2025, 4, 15)


def test_period_ends_on_the_resume_day_when_the_pause_began_on_the_last_day() -> None:
    pause = Pause(paused_at=shanghai(2025, 4, 2, 20), resumed_at=shanghai(2025, 4, 8, 10))
    assert deadline_of(Terms(30), shanghai(2025, 3, 3, 9), (pause,)).due_at == shanghai(2025, 4, 9)


def test_pause_is_ignored_when_it_begins_after_the_deadline_passed() -> None:
    pause = Pause(paused_at=shanghai(2025, 4, 5, 9), resumed_at=shanghai(2025, 4, 9, 9))
    deadline = deadline_of(Terms(30), shanghai(2025, 3, 3, 9), (pause,))
    assert deadline.due_at == shanghai(2025, 4, 3)
    assert deadline.pauses == ()


def test_working_day_pause_excludes_the_working_days_up_to_the_resume_day_when_resumed() -> None:
    # 5 working days from Mon 2025-03-03 end Mon Mar 10. Paused Wed Mar 5 with 3 left (Mar 6, 7, 10);
    # resumed Tue Mar 11: they are Mar 12, 13, 14.
    pause = Pause(paused_at=shanghai(2025, 3, 5, 10), resumed_at=shanghai(2025, 3, 11, 9))
    deadline = deadline_of(Terms(5, WORKING_DAYS), shanghai(2025, 3, 3, 9), (pause,))
    assert deadline.due_at == shanghai(2025, 3, 15)


def test_hours_pause_adds_the_exact_paused_time_when_counting_is_exact() -> None:
    pause = Pause(paused_at=shanghai(2025, 3, 4, 10), resumed_at=shanghai(2025, 3, 4, 16, 30))
    terms = Terms(48, DurationUnit.HOURS, CountingMethod.EXACT)
    assert deadline_of(terms, shanghai(2025, 3, 3, 9), (pause,)).due_at == shanghai(2025, 3, 5, 15, 30)


def test_clock_has_no_deadline_when_it_is_still_paused() -> None:
    pause = Pause(paused_at=shanghai(2025, 3, 10, 14))
    result = compute_deadline(Terms(30), shanghai(2025, 3, 3, 9), default_calendar(), (pause,))
    assert isinstance(result, PausedClock)
    assert result.kind == "paused"
    assert result.paused_at == shanghai(2025, 3, 10, 14)
    assert result.remaining_days == 23  # Mar 11 … Apr 2
    assert result.remaining_time is None


def test_exact_clock_reports_the_time_left_when_it_is_still_paused() -> None:
    pause = Pause(paused_at=shanghai(2025, 3, 4, 9))
    terms = Terms(48, DurationUnit.HOURS, CountingMethod.EXACT)
    result = compute_deadline(terms, shanghai(2025, 3, 3, 9), default_calendar(), (pause,))
    assert isinstance(result, PausedClock)
    assert result.remaining_time == timedelta(hours=24)


@pytest.mark.parametrize(
    "pauses",
    [
        # before the clock started
        (Pause(paused_at=shanghai(2025, 3, 2), resumed_at=shanghai(2025, 3, 4)),),
        # overlapping
        (
            Pause(paused_at=shanghai(2025, 3, 5), resumed_at=shanghai(2025, 3, 8)),
            Pause(paused_at=shanghai(2025, 3, 7), resumed_at=shanghai(2025, 3, 9)),
        ),
        # an open pause followed by another
        (Pause(paused_at=shanghai(2025, 3, 5)), Pause(paused_at=shanghai(2025, 3, 7))),
    ],
)
def test_pauses_are_refused_when_out_of_order(pauses: tuple[Pause, ...]) -> None:
    with pytest.raises(InvalidPauseSequenceError):
        compute_deadline(Terms(30), shanghai(2025, 3, 3, 9), default_calendar(), pauses)


def test_pause_is_refused_when_it_resumes_before_it_paused() -> None:
    with pytest.raises(ValidationError):
        Pause(paused_at=shanghai(2025, 3, 5), resumed_at=shanghai(2025, 3, 4))


# ------------------------------------------------------------------------------- extension and restart


def test_extension_runs_the_longer_period_from_the_same_start_when_it_is_allowed() -> None:
    terms = Terms(15, extension_durations=(30, 60))
    start = shanghai(2025, 3, 3, 10)
    assert deadline_of(terms, start).due_at == shanghai(2025, 3, 19)  # Tue Mar 18
    extended = extend_deadline(terms, start, 30, default_calendar())
    assert isinstance(extended, Deadline)
    assert extended.due_at == shanghai(2025, 4, 3)  # Wed Apr 2
    assert extended.duration == 30
    assert any(step.basis == "extension" for step in extended.steps)


def test_extension_is_refused_when_the_duration_is_not_allowed() -> None:
    terms = Terms(15, extension_durations=(30, 60))
    with pytest.raises(ExtensionNotAllowedError):
        extend_deadline(terms, shanghai(2025, 3, 3, 10), 45, default_calendar())


def test_restart_runs_the_whole_period_again_when_new_facts_arrive() -> None:
    # Restarted Mon 2025-03-10: 15 days end Tue Mar 25; the earlier pause no longer matters.
    earlier = Pause(paused_at=shanghai(2025, 3, 4), resumed_at=shanghai(2025, 3, 6))
    result = restart_deadline(Terms(15), shanghai(2025, 3, 10, 9), default_calendar(), (earlier,))
    assert isinstance(result, Deadline)
    assert result.start_at == shanghai(2025, 3, 10, 9)
    assert result.due_at == shanghai(2025, 3, 26)


def test_restarted_clock_starts_paused_when_a_pause_is_still_open() -> None:
    open_pause = Pause(paused_at=shanghai(2025, 3, 8))
    result = restart_deadline(Terms(15), shanghai(2025, 3, 10, 9), default_calendar(), (open_pause,))
    assert isinstance(result, PausedClock)
    assert result.paused_at == shanghai(2025, 3, 10, 9)
    assert result.remaining_days == 15
