"""SLA clocks carried inside read-model rows: which rules run for a case, since when, paused when, due when.

The rules are the data of ``domain.sla``; the arithmetic is ``domain.calendar``. A row keeps, in a ``jsonb``
list, one clock per running rule (started, not yet satisfied or cancelled)::

    {"rule_id": "IL23-DETERMINE-30D", "started_at": "<iso>", "restarted_at": null, "duration": 30,
     "pauses": [{"paused_at": "<iso>", "resumed_at": null}], "due_at": null, "warnings": [],
     "calendar": "CN-mainland 2026.1", "note": null}

``due_at`` is null while the clock is paused, and when the deadline reaches a year the holiday calendar
does not cover (``note`` then says why): a read model shows "unknown" rather than fail or guess.
``provisional`` is true when the deadline rests on a year held only provisionally (its holiday notice is
not out yet): it may move when the notice is added.

Deadlines use the default (newest) calendar, recorded in each clock. A rebuild after a new calendar
version is published may therefore differ from the live rows: that difference is real (the deadlines
moved), and ``projections verify`` is how it is noticed.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time

from domain.base import SHANGHAI, DomainEvent
from domain.calendar import (
    CalendarYearNotCoveredError,
    Deadline,
    Pause,
    calendar_for,
    compute_deadline,
    default_calendar,
    restart_deadline,
)
from domain.complaint import ComplaintDeadlineExtended
from domain.sla import ALL_RULES, Aggregate, FactValue, MissingCaseFactError, SlaRule, rule_by_id
from projections.columns import JsonObject, event_name, from_iso, iso, utc

Clocks = list[JsonObject]


def rules_observable_in(aggregate: Aggregate, event_names: frozenset[str]) -> tuple[SlaRule, ...]:
    """The rules of ``aggregate`` whose every clock event is one of ``event_names``.

    A row is kept from one case's events, so a rule that another aggregate satisfies (a claim's survey
    callback is completed on the callback task) cannot be followed there: it is left to that case's view.
    """
    return tuple(r for r in ALL_RULES if r.applies_to is aggregate and r.event_names() <= event_names)


def advance(
    clocks: Sequence[JsonObject],
    rules: Sequence[SlaRule],
    event: DomainEvent,
    facts: Mapping[str, FactValue],
    also_starts: Mapping[str, tuple[str, ...]] | None = None,
) -> Clocks:
    """The clocks after ``event``: satisfied and cancelled ones dropped, paused, resumed, restarted,
    extended or started as the rules say, and each changed clock's deadline computed again.

    ``also_starts`` names, per rule id, events that start the clock besides the rule's own ``starts_on``.
    A rule whose condition needs a case fact the caller does not know is not started (never by guess).
    """
    name = event_name(event)
    instant = utc(event.occurred_at or event.timestamp)
    result: Clocks = []
    for clock in clocks:
        rule = rule_by_id(clock["rule_id"])
        if name in rule.satisfied_by or name in rule.cancelled_by:
            continue
        changed = dict(clock)
        if name in rule.pauses_on and not _paused(changed):
            pause = {"paused_at": iso(max(instant, _floor(changed))), "resumed_at": None}
            changed["pauses"] = [*changed["pauses"], pause]
        elif name in rule.resumes_on and _paused(changed):
            last = changed["pauses"][-1]
            resumed = max(instant, from_iso(last["paused_at"]))
            changed["pauses"] = [*changed["pauses"][:-1], {**last, "resumed_at": iso(resumed)}]
        if name in rule.restarts_on:
            changed["restarted_at"] = iso(max(instant, from_iso(changed["started_at"])))
        # As the timer: a period that had run out when the extension came is not extended (an old history
        # may hold such an extension; the command refuses it now, CMP-EXT-WITHIN-PERIOD).
        extends = name in rule.extended_by and isinstance(event, ComplaintDeadlineExtended)
        if extends and isinstance(event, ComplaintDeadlineExtended) and not _ran_out(clock, instant):
            changed["duration"] = event.to_days
        result.append(_with_deadline(rule, changed) if changed != clock else clock)
    running = {clock["rule_id"] for clock in result}
    extra = also_starts or {}
    for rule in rules:
        starts = name in rule.starts_on or name in extra.get(rule.rule_id, ())
        if not starts or rule.rule_id in running or not _applies(rule, facts):
            continue
        started = _start_instant(rule, event)
        fresh: JsonObject = {
            "rule_id": rule.rule_id,
            "started_at": iso(started),
            "restarted_at": None,
            "duration": rule.duration,
            "pauses": [],
        }
        result.append(_with_deadline(rule, fresh))
    return result


def redated(clocks: Sequence[JsonObject]) -> Clocks:
    """The clocks with their deadlines computed again on the default calendar (a newer version may have
    been published since they were computed: the timers record ``TimerDeadlineRecomputed`` then)."""
    return [_with_deadline(rule_by_id(clock["rule_id"]), dict(clock)) for clock in clocks]


def next_due(clocks: Sequence[JsonObject]) -> tuple[datetime | None, str | None]:
    """The earliest known deadline among the clocks, and its rule (paused or unknown ones left out)."""
    known = sorted((from_iso(c["due_at"]), c["rule_id"]) for c in clocks if c.get("due_at") is not None)
    if not known:
        return None, None
    return known[0]


def clock_for(clocks: Sequence[JsonObject], rule_id: str) -> JsonObject | None:
    """The running clock of ``rule_id``, if there is one."""
    for clock in clocks:
        if clock["rule_id"] == rule_id:
            return clock
    return None


def warning_at(clock: JsonObject, percent: int) -> datetime | None:
    """The instant ``percent`` % of the clock's running time has elapsed, if the rule warns there."""
    for share, at in clock.get("warnings", []):
        if share == percent:
            return from_iso(at)
    return None


def is_paused(clock: JsonObject) -> bool:
    """Whether the clock is stopped now (its last pause has not ended)."""
    return _paused(clock)


def _ran_out(clock: JsonObject, instant: datetime) -> bool:
    due = clock.get("due_at")
    return due is not None and instant >= from_iso(due)


def _paused(clock: JsonObject) -> bool:
    pauses = clock["pauses"]
    return bool(pauses) and pauses[-1]["resumed_at"] is None


def _floor(clock: JsonObject) -> datetime:
    # compute_deadline refuses a pause before the start or overlapping the previous one; business times
    # recorded late could do that, so a pause never begins before what the clock already holds.
    floor = from_iso(clock["restarted_at"] or clock["started_at"])
    for pause in clock["pauses"]:
        if pause["resumed_at"] is not None:
            floor = max(floor, from_iso(pause["resumed_at"]))
    return floor


def _applies(rule: SlaRule, facts: Mapping[str, FactValue]) -> bool:
    try:
        return rule.applies(facts)
    except MissingCaseFactError:
        return False


def _start_instant(rule: SlaRule, event: DomainEvent) -> datetime:
    value = getattr(event, rule.start_field, None)
    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, date):
        # domain.sla: a date field starts the clock on that Asia/Shanghai day.
        return utc(datetime.combine(value, time(0), SHANGHAI))
    return utc(event.timestamp)


def _with_deadline(rule: SlaRule, clock: JsonObject) -> JsonObject:
    pauses = tuple((p["paused_at"], p["resumed_at"]) for p in clock["pauses"])
    calendar = default_calendar()
    due_at, warnings, version, note, provisional = _deadline(
        rule.rule_id,
        clock["started_at"],
        clock["restarted_at"],
        clock["duration"],
        pauses,
        (calendar.calendar_id, calendar.version),
    )
    return {
        **clock,
        "due_at": due_at,
        "warnings": [list(w) for w in warnings],
        "calendar": version,
        "note": note,
        "provisional": provisional,
    }


def is_provisional(clock: JsonObject) -> bool:
    """Whether the clock's deadline rests on a provisional year (clocks computed before it was recorded
    are not flagged)."""
    return bool(clock.get("provisional", False))


Warnings = tuple[tuple[int, str], ...]


# The same clock is dated by several views (a claim's row and its worklist items) and again on every
# event that leaves it unchanged in a rebuild; the computation is pure, so its results can be shared.
@functools.lru_cache(maxsize=65_536)
def _deadline(
    rule_id: str,
    started_at: str,
    restarted_at: str | None,
    duration: int,
    pauses: tuple[tuple[str, str | None], ...],
    calendar_key: tuple[str, str],
) -> tuple[str | None, Warnings, str, str | None, bool]:
    # ``calendar_key`` names the default calendar the result was computed on, so that a cached result is
    # never served after a newer version became the default.
    rule = rule_by_id(rule_id)
    calendar = calendar_for(*calendar_key)
    version = f"{calendar.calendar_id} {calendar.version}"
    stops = tuple(
        Pause(paused_at=from_iso(paused), resumed_at=None if resumed is None else from_iso(resumed))
        for paused, resumed in pauses
    )
    try:
        if restarted_at is not None:
            result = restart_deadline(rule, from_iso(restarted_at), calendar, stops, duration=duration)
        else:
            result = compute_deadline(rule, from_iso(started_at), calendar, stops, duration=duration)
    except CalendarYearNotCoveredError as error:
        return None, (), version, error.message, False
    if not isinstance(result, Deadline):
        return None, (), version, None, False
    warnings = tuple((round(w.fraction * 100), iso(w.at)) for w in result.warnings)
    return iso(result.due_at), warnings, version, None, result.provisional
