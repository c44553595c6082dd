"""`caseledger timers explain CASE_ID`: every SLA timer of a case, and how each deadline was computed.

For an auditor: the rule and its legal basis, the start instant, every step of the Civil Code arithmetic
with the calendar version used, each pause with the event that caused it, extensions with their approver,
the warnings raised, and the outcome (satisfied, breached with its lateness, cancelled). All of it is read
from the timers' own events, so it is the computation as it was made, not a recomputation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

from domain.base import SHANGHAI, DomainEvent
from domain.sla import rule_by_id
from domain.timer import (
    TimerBreached,
    TimerCancelled,
    TimerDeadlineRecomputed,
    TimerExtended,
    TimerPaused,
    TimerRestarted,
    TimerResumed,
    TimerSatisfied,
    TimerStarted,
    TimerWarningRaised,
    TimerWindowClosed,
)
from infra.services.timers import Timers
from infra.settings import Settings
from infra.store.database import Database
from projections.due import timers_of_case


class ExplainedSystem(Protocol):
    """What an explanation reads: the timers' histories and their due rows."""

    @property
    def database(self) -> Database: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def timers(self) -> Timers: ...


def _at(moment: datetime | None) -> str:
    if moment is None:
        return "none while paused"
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M Asia/Shanghai")


def timer_ids(system: ExplainedSystem, case_id: UUID) -> list[UUID]:
    """The timers of a case, oldest cycle first, then those of the tasks serving it (a remediation's)."""
    with system.database.connection() as conn:
        return timers_of_case(conn, system.settings.db_schema, case_id)


def _describe(event: DomainEvent) -> list[str]:
    if isinstance(event, TimerStarted):
        rule = rule_by_id(event.rule_id)
        basis = rule.legal_basis
        article = f" {basis.article}" if basis.article else ""
        lines = [
            f"started   {_at(event.start_at)} by {event.cause_event}",
            f"rule {rule.rule_id}: {rule.title}",
            f"basis: {basis.instrument}{article} ({basis.duration_set_by}, {basis.confidence})",
            f"calendar {event.calendar_id} version {event.calendar_version}; due {_at(event.due_at)}"
            + _provisional(event.provisional),
        ]
        return lines + [f"· {step.basis}: {step.detail}" for step in event.steps]
    if isinstance(event, TimerWarningRaised):
        return [f"warning   {int(event.threshold * 100)} % of the period used (due {_at(event.due_at)})"]
    if isinstance(event, TimerPaused):
        return [f"paused    by {event.cause_event}: {event.reason}"]
    if isinstance(event, TimerResumed):
        lines = [f"resumed   by {event.cause_event}; due now {_at(event.due_at)}"]
        return lines + [f"· {step.basis}: {step.detail}" for step in event.steps]
    if isinstance(event, TimerRestarted):
        lines = [f"restarted by {event.cause_event}; due now {_at(event.due_at)}"]
        return lines + [f"· {step.basis}: {step.detail}" for step in event.steps]
    if isinstance(event, TimerExtended):
        approver = (
            f", approved by {event.approver.id} ({event.approver.role.value})" if event.approver else ""
        )
        return [
            f"extended  {event.from_duration} → {event.to_duration} by {event.cause_event}{approver}: "
            f"{event.reason}; due now {_at(event.due_at)}"
        ]
    if isinstance(event, TimerDeadlineRecomputed):
        lines = [
            f"recomputed with calendar {event.calendar_id} version {event.calendar_version} "
            f"(was {event.previous_calendar_version}): due {_at(event.previous_due_at)} → {_at(event.due_at)}"
            + _provisional(event.provisional)
        ]
        return lines + [f"· {step.basis}: {step.detail}" for step in event.steps]
    if isinstance(event, TimerSatisfied):
        return [f"satisfied by {event.by_event}" + (" (late)" if event.late else "")]
    if isinstance(event, TimerBreached):
        escalated = event.escalate_to.value if event.escalate_to else "nobody"
        flag = "; regulator-reportable" if event.regulator_reportable else ""
        return [
            f"BREACHED  due {_at(event.due_at)}, seen {_at(event.observed_at)}, "
            f"{event.lateness_seconds} s late; escalated to {escalated}{flag}: {event.consequence}"
        ]
    if isinstance(event, TimerWindowClosed):
        records = f"; the case records {event.records}" if event.records else ""
        return [
            f"window closed at {_at(event.due_at)}, seen {_at(event.observed_at)}: {event.consequence}"
            f" (a right lapsing, not a breach: nobody escalated){records}"
        ]
    if isinstance(event, TimerCancelled):
        return [f"cancelled by {event.cause_event}: {event.reason}"]
    return [type(event).__name__]


def _provisional(provisional: bool) -> str:
    return " (PROVISIONAL: rests on a year whose holiday notice is not out yet)" if provisional else ""


def explain(system: ExplainedSystem, case_id: UUID) -> str:
    """The text of `caseledger timers explain CASE_ID`."""
    ids = timer_ids(system, case_id)
    if not ids:
        return f"no SLA timers for case {case_id}"
    blocks = []
    for timer_id in ids:
        history = system.timers.history(timer_id)
        lines = [f"timer {timer_id}"]
        for event in history:
            recorded = event.recorded_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
            first, *rest = _describe(event)
            lines.append(f"  v{event.originator_version:<3} {recorded}  {first}")
            lines += [f"                         {line.strip()}" for line in rest]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
