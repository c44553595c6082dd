"""The working-day calendar and the Civil-Code deadline arithmetic every SLA timer uses.

Counting follows the Civil Code (民法典) Arts. 200–204 in the Asia/Shanghai time zone:

- a period in days does not count the day of its start (Art. 201 ¶1);
- if its last day is not a working day (a weekend or a statutory holiday; a make-up working day 调休上班
  counts as a working day), the period ends on the next working day (Art. 203 ¶1);
- it ends at 24:00 of its last day (Art. 203 ¶2), returned as 00:00 of the following day;
- a period in working days counts the working days after the start day and ends at 24:00 of the last one;
- a period in hours or years is exact: the same wall-clock instant that many hours or years later;
- a right of the insurer's own that lapses may be counted without the holiday roll-over
  (``CIVIL_CODE_201_NO_ROLL_OVER``), so that it never closes later than a court would say.

The functions here are pure: instants are passed in, and the calendar is versioned data
(``domain.holidays_cn``). Every result records the calendar id and version it used and each step of the
computation, so that an auditor can follow it and a replay gets the same answer.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.base import DomainError

_FROZEN = ConfigDict(frozen=True, extra="forbid")

# Fixed English names: strftime("%a") would follow the process locale and make the steps vary by host.
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _day(day: date) -> str:
    return f"{day.isoformat()} ({_WEEKDAYS[day.weekday()]})"


class CalendarYearNotCoveredError(DomainError):
    """A deadline needs a day of a year whose holiday notice the calendar does not hold: never guess it."""

    rule = "calendar-year-covered"

    def __init__(self, day: date, calendar_id: str, version: str, covered_years: tuple[int, ...]) -> None:
        years = ", ".join(str(y) for y in covered_years)
        super().__init__(
            f"{day.isoformat()} is outside calendar {calendar_id} {version}, which covers {years}; "
            "add that year's State Council holiday notice as a new calendar version"
        )
        self.day = day
        self.calendar_id = calendar_id
        self.version = version


class DateOutsideCalendarsError(DomainError):
    """A date an SLA clock would count from lies in a year that no calendar version holds (a receipt in
    2020, say): the command is refused at once, rather than accepted and its clock left to fail."""

    rule = "CAL-OUT-OF-RANGE"

    def __init__(self, what: str, day: date, covered_years: tuple[int, ...]) -> None:
        years = ", ".join(str(y) for y in covered_years)
        super().__init__(
            f"{what} falls on {day.isoformat()}, outside the holiday calendars (they cover {years}): "
            "no deadline can be counted from it"
        )
        self.day = day


class UnknownCalendarError(DomainError):
    """A timer names a calendar id and version that this build does not hold."""

    rule = "calendar-version-known"

    def __init__(self, calendar_id: str, version: str) -> None:
        super().__init__(f"calendar {calendar_id} version {version} is not known")
        self.calendar_id = calendar_id
        self.version = version


class ExtensionNotAllowedError(DomainError):
    """A deadline may only be extended to one of the durations its rule allows."""

    rule = "sla-extension-allowed"

    def __init__(self, rule_id: str, duration: int, allowed: tuple[int, ...]) -> None:
        listed = ", ".join(str(d) for d in allowed) or "none"
        super().__init__(f"{rule_id} may not run for {duration}; allowed extensions: {listed}")
        self.rule_id = rule_id
        self.duration = duration


class InvalidPauseSequenceError(DomainError):
    """A clock's pauses are in time order, do not overlap, follow its start, and only the last is open."""

    rule = "sla-pause-sequence"


class HolidayPeriod(BaseModel):
    """One holiday period of a State Council notice (放假), with the weekend days worked (调休上班)."""

    model_config = _FROZEN

    name: str = Field(min_length=1)
    first_day: date
    last_day: date
    makeup_working_days: tuple[date, ...] = ()

    @model_validator(mode="after")
    def _ordered(self) -> HolidayPeriod:
        if self.last_day < self.first_day:
            raise ValueError(f"{self.name}: last day {self.last_day} is before first day {self.first_day}")
        return self

    def days(self) -> tuple[date, ...]:
        """The days off of this period, first to last."""
        count = (self.last_day - self.first_day).days + 1
        return tuple(self.first_day + timedelta(days=i) for i in range(count))


class CalendarSource(BaseModel):
    """The State Council General Office notice that fixes one year's holidays and make-up working days."""

    model_config = _FROZEN

    year: int
    title: str = Field(min_length=1)
    document_number: str | None = None
    issued_on: date
    provisional: bool = False
    """The year's notice is not out yet: only the statutory holidays are known, not its 调休 days."""


class HolidayCalendar(BaseModel):
    """A versioned working-day calendar: weekends are off, except make-up days; statutory holidays are off."""

    model_config = _FROZEN

    calendar_id: str = Field(min_length=1)
    version: str = Field(min_length=1)
    time_zone: str = "Asia/Shanghai"
    covered_years: tuple[int, ...] = Field(min_length=1)
    sources: tuple[CalendarSource, ...]
    periods: tuple[HolidayPeriod, ...]

    @model_validator(mode="after")
    def _consistent(self) -> HolidayCalendar:
        years = set(self.covered_years)
        missing = years - {s.year for s in self.sources}
        if missing:
            raise ValueError(f"no source notice for covered years {sorted(missing)}")
        seen: set[date] = set()
        for period in self.periods:
            for day in period.days():
                if day.year not in years:
                    raise ValueError(f"{period.name} day {day} is outside the covered years")
                if day in seen:
                    raise ValueError(f"{day} is listed in two holiday periods")
                seen.add(day)
        for period in self.periods:
            for day in period.makeup_working_days:
                if day.year not in years:
                    raise ValueError(f"make-up day {day} is outside the covered years")
                # A make-up day swaps a weekend day for work; a weekday "make-up" is a data-entry error.
                if day.weekday() < 5:
                    raise ValueError(f"make-up day {day} of {period.name} is not a Saturday or Sunday")
                if day in seen:
                    raise ValueError(f"make-up day {day} is also a holiday")
        return self

    @functools.cached_property
    def holidays(self) -> frozenset[date]:
        """The statutory holiday days off (放假), weekend days inside a holiday period included."""
        return frozenset(day for period in self.periods for day in period.days())

    @functools.cached_property
    def makeup_working_days(self) -> frozenset[date]:
        """The weekend days that are working days (调休上班)."""
        return frozenset(day for period in self.periods for day in period.makeup_working_days)

    @property
    def zone(self) -> ZoneInfo:
        """The time zone whose days the calendar's dates are."""
        return ZoneInfo(self.time_zone)

    @functools.cached_property
    def provisional_years(self) -> frozenset[int]:
        """The years held with their statutory holidays only, until their notice is added."""
        return frozenset(source.year for source in self.sources if source.provisional)

    def says_the_same_from(self, other: HolidayCalendar, day: date) -> bool:
        """Whether two calendars say the same of every day from ``day`` on: the same holidays and make-up
        working days, the same years covered, the same years held provisionally."""

        def days_from(days: frozenset[date]) -> frozenset[date]:
            return frozenset(d for d in days if d >= day)

        def years_from(years: frozenset[int]) -> frozenset[int]:
            return frozenset(y for y in years if y >= day.year)

        return (
            days_from(self.holidays) == days_from(other.holidays)
            and days_from(self.makeup_working_days) == days_from(other.makeup_working_days)
            and years_from(frozenset(self.covered_years)) == years_from(frozenset(other.covered_years))
            and years_from(self.provisional_years) == years_from(other.provisional_years)
        )

    def covers(self, day: date) -> bool:
        """Whether the calendar holds the holiday notice for this day's year."""
        return day.year in self.covered_years

    def is_working_day(self, day: date) -> bool:
        """A working day: a make-up day, or a weekday that is not a statutory holiday."""
        if not self.covers(day):
            raise CalendarYearNotCoveredError(day, self.calendar_id, self.version, self.covered_years)
        if day in self.makeup_working_days:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def holiday_name(self, day: date) -> str | None:
        """The name of the statutory holiday period this day belongs to, if any."""
        for period in self.periods:
            if period.first_day <= day <= period.last_day:
                return period.name
        return None

    def first_working_day_from(self, day: date) -> date:
        """This day if it is a working day, else the next working day (Civil Code Art. 203 ¶1)."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def nth_working_day_after(self, day: date, n: int) -> date:
        """The n-th working day after this day, the day itself not counted (n ≥ 1)."""
        if n < 1:
            raise ValueError("n must be at least 1")
        counted = 0
        while counted < n:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return day

    def working_days_between(self, after: date, up_to: date) -> int:
        """How many working days lie in (after, up_to]."""
        count = 0
        day = after + timedelta(days=1)
        while day <= up_to:
            if self.is_working_day(day):
                count += 1
            day += timedelta(days=1)
        return count

    def describe(self, day: date) -> str:
        """Why a day is or is not a working day, for a computation's steps."""
        reason = self._reason(day)
        if day.year in self.provisional_years:
            reason += f" (provisional: {day.year}'s holiday notice is not in calendar {self.version} yet)"
        return reason

    def _reason(self, day: date) -> str:
        if day in self.makeup_working_days:
            return f"{_day(day)} is a make-up working day (调休上班)"
        name = self.holiday_name(day)
        if name is not None:
            return f"{_day(day)} is a statutory holiday ({name})"
        if day.weekday() >= 5:
            return f"{_day(day)} is a weekend day"
        return f"{_day(day)} is a working day"


@functools.cache
def _all_calendars() -> tuple[HolidayCalendar, ...]:
    from domain.holidays_cn import CALENDARS

    return tuple(HolidayCalendar.model_validate(data) for data in CALENDARS)


def years_of_all_calendars() -> tuple[int, ...]:
    """Every year some calendar version holds, in order."""
    return tuple(sorted({year for calendar in _all_calendars() for year in calendar.covered_years}))


def require_in_some_calendar(what: str, day: date) -> None:
    """Refuse a day that no calendar version covers (``DateOutsideCalendarsError``, CAL-OUT-OF-RANGE)."""
    years = years_of_all_calendars()
    if day.year not in years:
        raise DateOutsideCalendarsError(what, day, years)


def default_calendar() -> HolidayCalendar:
    """The newest mainland-China calendar: the one new timers use."""
    return _all_calendars()[-1]


def calendar_for(calendar_id: str, version: str) -> HolidayCalendar:
    """The calendar a timer recorded, so that a replay computes with the same dates."""
    for calendar in _all_calendars():
        if calendar.calendar_id == calendar_id and calendar.version == version:
            return calendar
    raise UnknownCalendarError(calendar_id, version)


class DurationUnit(StrEnum):
    """The unit a rule's duration is given in (日 = calendar days, 工作日 = working days)."""

    CALENDAR_DAYS = "calendar_days"
    WORKING_DAYS = "working_days"
    HOURS = "hours"
    YEARS = "years"


class CountingMethod(StrEnum):
    """How a period is counted: the Civil Code way for days, exactly for hours and years."""

    CIVIL_CODE_201_203 = "civil_code_201_203"
    # The insurer's own rights that lapse (e.g. rescission) are closed at the earliest reading: the
    # period may only end earlier than a court would say, never later. The Policy guard counts the same.
    CIVIL_CODE_201_NO_ROLL_OVER = "civil_code_201_no_roll_over"
    EXACT = "exact"


_METHODS_FOR_UNIT: dict[DurationUnit, frozenset[CountingMethod]] = {
    DurationUnit.CALENDAR_DAYS: frozenset(
        {CountingMethod.CIVIL_CODE_201_203, CountingMethod.CIVIL_CODE_201_NO_ROLL_OVER}
    ),
    DurationUnit.WORKING_DAYS: frozenset({CountingMethod.CIVIL_CODE_201_203}),
    DurationUnit.HOURS: frozenset({CountingMethod.EXACT}),
    # Exact years is the conservative reading for a hard cap such as the 2-year incontestability:
    # it ends at the anniversary instant, before the Civil-Code end at 24:00 (and any holiday roll-over).
    DurationUnit.YEARS: frozenset({CountingMethod.EXACT}),
}


def counting_fits_unit(unit: DurationUnit, counting: CountingMethod) -> bool:
    """Days are counted the Civil Code way (optionally without roll-over); hours and years exactly."""
    return counting in _METHODS_FOR_UNIT[unit]


class DeadlineTerms(Protocol):
    """What the arithmetic needs of a rule (``domain.sla.SlaRule`` has it)."""

    @property
    def rule_id(self) -> str: ...

    @property
    def duration(self) -> int: ...

    @property
    def unit(self) -> DurationUnit: ...

    @property
    def counting(self) -> CountingMethod: ...

    @property
    def warn_at(self) -> tuple[float, ...]: ...

    @property
    def extension_durations(self) -> tuple[int, ...]: ...


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value


class Pause(BaseModel):
    """One stop of the clock (documents requested, external appraisal); open while ``resumed_at`` is None."""

    model_config = _FROZEN

    paused_at: datetime
    resumed_at: datetime | None = None

    @field_validator("paused_at", "resumed_at")
    @classmethod
    def _is_aware(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _aware(value, "a pause instant")

    @model_validator(mode="after")
    def _ordered(self) -> Pause:
        if self.resumed_at is not None and self.resumed_at < self.paused_at:
            raise ValueError("a clock cannot resume before it paused")
        return self


class Step(BaseModel):
    """One step of a deadline computation, with the rule of law or method that justifies it."""

    model_config = _FROZEN

    basis: str
    detail: str


class DeadlineWarning(BaseModel):
    """The instant a given share of a deadline's running (unpaused) time has elapsed."""

    model_config = _FROZEN

    fraction: float
    at: datetime


class Deadline(BaseModel):
    """A computed deadline and everything it depends on, so that an auditor can recompute it."""

    model_config = _FROZEN

    kind: Literal["deadline"] = "deadline"
    rule_id: str
    start_at: datetime
    start_day: date
    due_at: datetime
    last_day: date | None
    duration: int
    unit: DurationUnit
    counting: CountingMethod
    calendar_id: str
    calendar_version: str
    time_zone: str
    pauses: tuple[Pause, ...]
    warnings: tuple[DeadlineWarning, ...]
    steps: tuple[Step, ...]
    provisional: bool = False
    """The result depends on a year held only provisionally (its holiday notice is not out yet, so its
    make-up working days are unknown): it may move when the notice is added as a new calendar version."""

    def warning_at(self, fraction: float) -> datetime:
        """The warning instant for a threshold the rule names."""
        for warning in self.warnings:
            if warning.fraction == fraction:
                return warning.at
        raise KeyError(fraction)


class PausedClock(BaseModel):
    """No deadline while the clock is paused: what is left to run once it resumes."""

    model_config = _FROZEN

    kind: Literal["paused"] = "paused"
    rule_id: str
    start_at: datetime
    start_day: date
    paused_at: datetime
    duration: int
    unit: DurationUnit
    counting: CountingMethod
    calendar_id: str
    calendar_version: str
    time_zone: str
    remaining_days: int | None
    """Days (of the rule's unit) still to count after the resume day, for day-based rules."""
    remaining_time: timedelta | None
    """Exact time still to run after resumption, for hour- and year-based rules."""
    steps: tuple[Step, ...]


_ART_201 = "Civil Code Art. 201"
_ART_202 = "Civil Code Art. 202"
_ART_203_1 = "Civil Code Art. 203 ¶1"
_ART_203_2 = "Civil Code Art. 203 ¶2"
_PAUSE_METHOD = "stop-the-clock method (domain.calendar.compute_deadline)"


class _Clock:
    """The running state of one computation: mutable only inside ``compute_deadline``."""

    def __init__(
        self, calendar: HolidayCalendar, unit: DurationUnit, counting: CountingMethod, start_at: datetime
    ) -> None:
        self.calendar = calendar
        self.unit = unit
        self.counting = counting
        self.zone = calendar.zone
        self.local_start = start_at.astimezone(self.zone)
        self.start_day = self.local_start.date()
        self.raw_last: date = self.start_day
        self.exact_due: datetime = self.local_start
        self.steps: list[Step] = []

    @property
    def civil(self) -> bool:
        return self.counting is not CountingMethod.EXACT

    @property
    def rolls_over(self) -> bool:
        return self.counting is CountingMethod.CIVIL_CODE_201_203

    def local_day(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()

    def midnight_after(self, day: date) -> datetime:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone)

    def last_day(self) -> date:
        if not self.rolls_over:
            return self.raw_last
        return self.calendar.first_working_day_from(self.raw_last)

    def due_at(self) -> datetime:
        if self.civil:
            return self.midnight_after(self.last_day())
        return self.exact_due

    def count_from(self, day: date, amount: int) -> date:
        """The raw last day of ``amount`` units counted after ``day`` (that day not counted)."""
        if amount == 0:
            return day
        if self.unit is DurationUnit.CALENDAR_DAYS:
            return day + timedelta(days=amount)
        return self.calendar.nth_working_day_after(day, amount)

    def remaining_after(self, day: date) -> int:
        """Units of the period still to count after ``day``."""
        if self.unit is DurationUnit.CALENDAR_DAYS:
            return max(0, (self.raw_last - day).days)
        return self.calendar.working_days_between(day, self.raw_last)

    def note(self, basis: str, detail: str) -> None:
        self.steps.append(Step(basis=basis, detail=detail))

    def provisional(self) -> bool:
        """Whether a day the result depends on lies in a provisional year of the calendar.

        Working days are counted day by day from the start; a calendar-day period looks at the calendar
        only to roll its last day over (Art. 203 ¶1); exact and no-roll-over periods never look at it.
        """
        if not self.civil or not self.calendar.provisional_years:
            return False
        if self.unit is DurationUnit.WORKING_DAYS:
            first = self.start_day
        elif self.rolls_over:
            first = self.raw_last
        else:
            return False
        years = range(first.year, self.last_day().year + 1)
        return any(year in self.calendar.provisional_years for year in years)

    def explain_roll_over(self) -> None:
        if not self.rolls_over:
            self.note(
                "counting method",
                f"no holiday roll-over (Art. 203 ¶1 not applied): the period ends on {_day(self.raw_last)}, "
                "the earliest reading, because the right that lapses is the insurer's own",
            )
            return
        day = self.raw_last
        last = self.last_day()
        if last == day:
            self.note(_ART_203_1, f"{self.calendar.describe(day)}: the period ends that day")
            return
        skipped = []
        while day < last:
            skipped.append(self.calendar.describe(day))
            day += timedelta(days=1)
        self.note(
            _ART_203_1,
            "; ".join(skipped) + f": the period ends on the next working day, {_day(last)}",
        )


def _add_years(local: datetime, years: int) -> datetime:
    try:
        return local.replace(year=local.year + years)
    except ValueError:
        # 29 February with no match in the target year: Art. 202 takes the month's last day.
        return local.replace(year=local.year + years, day=28)


def _check_pauses(start_at: datetime, pauses: Sequence[Pause]) -> None:
    previous_end = start_at
    for index, pause in enumerate(pauses):
        if pause.paused_at < previous_end:
            raise InvalidPauseSequenceError(
                f"pause {index + 1} at {pause.paused_at.isoformat()} starts before the clock started "
                "or before the previous pause ended"
            )
        if pause.resumed_at is None:
            if index != len(pauses) - 1:
                raise InvalidPauseSequenceError(f"pause {index + 1} is still open but a later pause follows")
        else:
            previous_end = pause.resumed_at


def _warnings(
    start_at: datetime,
    due_at: datetime,
    pauses: Sequence[Pause],
    fractions: tuple[float, ...],
    zone: ZoneInfo,
) -> tuple[DeadlineWarning, ...]:
    # Warnings measure the share of *running* time, so a paused clock never warns during its pause.
    segments: list[tuple[datetime, datetime]] = []
    cursor = start_at
    for pause in pauses:
        segments.append((cursor, pause.paused_at))
        cursor = pause.resumed_at if pause.resumed_at is not None else due_at
    segments.append((cursor, due_at))
    running = sum((end - begin for begin, end in segments), timedelta())
    result = []
    for fraction in fractions:
        target = running * fraction
        at = due_at
        for begin, end in segments:
            length = end - begin
            if target <= length:
                at = begin + target
                break
            target -= length
        result.append(DeadlineWarning(fraction=fraction, at=at.astimezone(zone)))
    return tuple(result)


def compute_deadline(
    rule: DeadlineTerms,
    start_at: datetime,
    calendar: HolidayCalendar,
    pauses: Sequence[Pause] = (),
    *,
    duration: int | None = None,
) -> Deadline | PausedClock:
    """The deadline of a rule's clock started at ``start_at``, or a ``PausedClock`` while it is paused.

    ``duration`` overrides the rule's own duration with one of its allowed extensions (the period still
    runs from the same start). ``pauses`` are the clock's stops in time order; only the last may be open.

    Stop-the-clock method, for day-based rules (calendar or working days): the time left is kept in whole
    days and counted again from the resume day, the Civil-Code way.

    - At a pause on day P (Asia/Shanghai), the days left are the days of the period after P up to its last
      day (before any holiday roll-over). The pause day itself counts as used: the clock ran on it.
    - On resumption on day R, those days are counted again after R, R itself not counted (Art. 201, as
      for a start day); the holiday roll-over of Art. 203 applies to the new last day only.
    - So a pause that starts and ends on the same day moves nothing, and a pause from P to R moves the last
      day of a calendar-day period by R − P days; a working-day period moves by the working days in (P, R].
    - If no whole day was left at the pause (it began on the last day or during the holiday roll-over),
      the period ends at 24:00 of the resume day, or of the next working day.

    Why: the Civil Code counts day periods in whole days and never counts the day of an event, and JI-II
    Art. 15 and the 2020 complaint measures exclude the stopped time from the period; keeping the days left
    and restarting the count after the resume day does both, never shortens the period the law grants, and
    lets an auditor check the result with a paper calendar.

    For hour- and year-based rules the paused time is added back exactly. A pause that begins at or after
    the deadline is ignored (it cannot revive a clock already breached), and so are all later pauses.
    Warning instants are shares of the running time between the start and the due instant, paused time
    excluded.
    """
    _aware(start_at, "start_at")
    effective = rule.duration if duration is None else duration
    if effective != rule.duration and effective not in rule.extension_durations:
        raise ExtensionNotAllowedError(rule.rule_id, effective, rule.extension_durations)
    if not counting_fits_unit(rule.unit, rule.counting):
        raise ValueError(f"{rule.rule_id}: {rule.unit.value} cannot be counted {rule.counting.value}")
    _check_pauses(start_at, pauses)

    clock = _Clock(calendar, rule.unit, rule.counting, start_at)
    clock.note(
        "rule",
        f"{rule.rule_id}: {effective} {rule.unit.value}, counted {rule.counting.value}, "
        f"calendar {calendar.calendar_id} {calendar.version} ({calendar.time_zone})",
    )
    clock.note(
        "time zone",
        f"start {start_at.isoformat()} is {clock.local_start.isoformat()} in {calendar.time_zone}, "
        f"day {_day(clock.start_day)}",
    )
    if clock.civil:
        clock.raw_last = clock.count_from(clock.start_day, effective)
        what = "calendar days" if rule.unit is DurationUnit.CALENDAR_DAYS else "working days"
        clock.note(
            _ART_201,
            f"the start day {clock.start_day.isoformat()} is not counted; {effective} {what} after it "
            f"end on {_day(clock.raw_last)}",
        )
    elif rule.unit is DurationUnit.HOURS:
        # Elapsed time, not wall-clock time: add in UTC so that a zone with DST could not shift it.
        clock.exact_due = (start_at.astimezone(UTC) + timedelta(hours=effective)).astimezone(clock.zone)
        clock.note("Civil Code Art. 201 ¶2", f"{effective} hours from the start instant: {clock.exact_due}")
    else:
        clock.exact_due = _add_years(clock.local_start, effective)
        clock.note(_ART_202, f"{effective} years after the start, exactly: {clock.exact_due.isoformat()}")

    applied: list[Pause] = []
    for pause in pauses:
        due = clock.due_at()
        if pause.paused_at >= due:
            clock.note(
                _PAUSE_METHOD,
                f"pause at {pause.paused_at.isoformat()} came at or after the deadline {due.isoformat()}: "
                "it does not move it",
            )
            break
        if clock.civil:
            paused_day = clock.local_day(pause.paused_at)
            left = clock.remaining_after(paused_day)
            if pause.resumed_at is None:
                clock.note(
                    _PAUSE_METHOD,
                    f"paused on {paused_day.isoformat()} with {left} {rule.unit.value} left after that day; "
                    "no deadline while paused",
                )
                return _paused(rule, effective, start_at, clock, pause.paused_at, left, None)
            resumed_day = clock.local_day(pause.resumed_at)
            clock.raw_last = clock.count_from(resumed_day, left)
            clock.note(
                _PAUSE_METHOD,
                f"paused on {paused_day.isoformat()} with {left} {rule.unit.value} left after that day; "
                f"resumed on {resumed_day.isoformat()}, which is not counted: the period now ends on "
                f"{_day(clock.raw_last)}",
            )
        else:
            if pause.resumed_at is None:
                left_time = due - pause.paused_at
                clock.note(_PAUSE_METHOD, f"paused at {pause.paused_at.isoformat()} with {left_time} left")
                return _paused(rule, effective, start_at, clock, pause.paused_at, None, left_time)
            clock.exact_due = clock.exact_due + (pause.resumed_at - pause.paused_at)
            clock.note(
                _PAUSE_METHOD,
                f"paused {pause.paused_at.isoformat()} to {pause.resumed_at.isoformat()}: "
                f"that time is added, due {clock.exact_due.isoformat()}",
            )
        applied.append(pause)

    last_day: date | None = None
    if clock.civil:
        clock.explain_roll_over()
        last_day = clock.last_day()
        clock.note(_ART_203_2, f"the period ends at 24:00 on {last_day.isoformat()}")
    due_at = clock.due_at()
    return Deadline(
        rule_id=rule.rule_id,
        start_at=start_at,
        start_day=clock.start_day,
        due_at=due_at,
        last_day=last_day,
        duration=effective,
        unit=rule.unit,
        counting=rule.counting,
        calendar_id=calendar.calendar_id,
        calendar_version=calendar.version,
        time_zone=calendar.time_zone,
        pauses=tuple(applied),
        warnings=_warnings(start_at, due_at, applied, rule.warn_at, clock.zone),
        steps=tuple(clock.steps),
        provisional=clock.provisional(),
    )


def _paused(
    rule: DeadlineTerms,
    duration: int,
    start_at: datetime,
    clock: _Clock,
    paused_at: datetime,
    remaining_days: int | None,
    remaining_time: timedelta | None,
) -> PausedClock:
    return PausedClock(
        rule_id=rule.rule_id,
        start_at=start_at,
        start_day=clock.start_day,
        paused_at=paused_at,
        duration=duration,
        unit=rule.unit,
        counting=rule.counting,
        calendar_id=clock.calendar.calendar_id,
        calendar_version=clock.calendar.version,
        time_zone=clock.calendar.time_zone,
        remaining_days=remaining_days,
        remaining_time=remaining_time,
        steps=tuple(clock.steps),
    )


def extend_deadline(
    rule: DeadlineTerms,
    start_at: datetime,
    to_duration: int,
    calendar: HolidayCalendar,
    pauses: Sequence[Pause] = (),
) -> Deadline | PausedClock:
    """An extended deadline (e.g. complaint 15 → 30 → 60 days): the longer period runs from the same start."""
    if to_duration not in rule.extension_durations:
        raise ExtensionNotAllowedError(rule.rule_id, to_duration, rule.extension_durations)
    result = compute_deadline(rule, start_at, calendar, pauses, duration=to_duration)
    step = Step(
        basis="extension",
        detail=f"extended from {rule.duration} to {to_duration} {rule.unit.value}, from the same start",
    )
    return result.model_copy(update={"steps": (result.steps[0], step, *result.steps[1:])})


def restart_deadline(
    rule: DeadlineTerms,
    restarted_at: datetime,
    calendar: HolidayCalendar,
    pauses: Sequence[Pause] = (),
    *,
    duration: int | None = None,
) -> Deadline | PausedClock:
    """A restarted clock (e.g. new facts in a complaint): the whole period runs again from ``restarted_at``.

    Pauses that ended before the restart no longer matter; a pause still running at the restart is
    counted from the restart instant, so the new clock starts paused.
    """
    _aware(restarted_at, "restarted_at")
    kept: list[Pause] = []
    for pause in pauses:
        if pause.resumed_at is not None and pause.resumed_at <= restarted_at:
            continue
        if pause.paused_at < restarted_at:
            pause = Pause(paused_at=restarted_at, resumed_at=pause.resumed_at)
        kept.append(pause)
    result = compute_deadline(rule, restarted_at, calendar, kept, duration=duration)
    step = Step(basis="restart", detail=f"restarted at {restarted_at.isoformat()}: the period runs again")
    return result.model_copy(update={"steps": (result.steps[0], step, *result.steps[1:])})


def deadline_recorded_by_case(
    rule: DeadlineTerms,
    start_at: datetime,
    due_at: datetime,
    calendar: HolidayCalendar,
    *,
    source: str,
) -> Deadline:
    """A deadline whose end the case itself computed and recorded (e.g. the policy's cooling-off end).

    The case counted its own period the Civil-Code way when it opened the window (a contract may grant
    more than the rule's minimum), so the clock takes that instant as it stands instead of counting the
    rule's duration again: the case's guard and the timer then read one and the same instant. ``source``
    names where the instant was read (event and field), for the computation's steps; the warnings are
    shares of the time between the start and that end, as for any other deadline.
    """
    _aware(start_at, "start_at")
    _aware(due_at, "due_at")
    if due_at <= start_at:
        raise ValueError(f"{rule.rule_id}: the recorded end {due_at.isoformat()} is not after the start")
    zone = calendar.zone
    local_due = due_at.astimezone(zone)
    # A Civil-Code period ends at 24:00 of its last day, which is stored as 00:00 of the next day.
    at_midnight = local_due.time() == time(0)
    last_day = local_due.date() - timedelta(days=1) if at_midnight else None
    steps = [
        Step(
            basis="rule",
            detail=f"{rule.rule_id}: at least {rule.duration} {rule.unit.value}; the case recorded the end "
            f"it granted, calendar {calendar.calendar_id} {calendar.version} ({calendar.time_zone})",
        ),
        Step(
            basis="recorded end",
            detail=f"{source} = {local_due.isoformat()}: the clock ends where the case's own guard does",
        ),
    ]
    if last_day is not None:
        steps.append(Step(basis=_ART_203_2, detail=f"the period ends at 24:00 on {_day(last_day)}"))
    return Deadline(
        rule_id=rule.rule_id,
        start_at=start_at,
        start_day=start_at.astimezone(zone).date(),
        due_at=local_due,
        last_day=last_day,
        duration=rule.duration,
        unit=rule.unit,
        counting=rule.counting,
        calendar_id=calendar.calendar_id,
        calendar_version=calendar.version,
        time_zone=calendar.time_zone,
        pauses=(),
        warnings=_warnings(start_at, local_due, (), rule.warn_at, zone),
        steps=tuple(steps),
    )
