"""投诉 Complaint view, and the complaint statistics kept from it.

``on_time`` is the outcome of the CMP-DECIDE-15D timer itself, read from the timer topic: true when the
timer was satisfied by the response in time, false when it breached or was met late; null while no
response has been delivered, or until the timer's outcome has arrived. The timer is the one the rule
started for this period (its id derives from the rule, the complaint and the version of ``ComplaintLodged``
or ``ComplaintReopened``), so an outcome of an earlier period never counts for a later one. A deadline the
row computes for display (``due_at``) never decides timeliness: an extension recorded after a breach, or a
rebuild on a newer calendar, cannot turn a late answer into an on-time one. The timer's events and the
complaint's travel on different topics; an outcome that arrives before the complaint's row exists makes
the consumer fold the complaint from the store first (``complaint_needed_by``), so it is never lost.

A reopened complaint gets a new 15-day period from its reopening (``ComplaintReopened`` starts the
CMP-DECIDE-15D clock again, as the rule says); its earlier response and ``on_time`` are cleared.

``complaint_stats`` totals the rows of ``complaints`` by category, channel and month of receipt (Asia/
Shanghai). It counts complaints as they stand: a reclassified complaint moves to its new category, and a
reopened one leaves the responded counts until it is answered again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import domain.complaint as complaint_module
from domain.base import DomainEvent
from domain.complaint import (
    BASE_DEADLINE_DAYS,
    ComplaintAcknowledged,
    ComplaintAssigned,
    ComplaintChannel,
    ComplaintClassified,
    ComplaintClosed,
    ComplaintDeadlineExtended,
    ComplaintEscalatedExternally,
    ComplaintLodged,
    ComplaintReopened,
    ComplaintResponded,
    ComplaintReviewDecided,
    ComplaintReviewRequested,
    ComplaintStatus,
    ComplaintWithdrawn,
    ExternalAppraisalCompleted,
    ExternalAppraisalStarted,
    ExternalBody,
)
from domain.sla import Aggregate, RuleKind
from domain.timer import TimerBreached, TimerSatisfied, timer_id_for
from projections import clocks
from projections.base import Column, Key, Rollup, Row, Table
from projections.columns import event_classes_named, event_name, from_iso, shanghai_month, text, utc

COMPLAINTS = Table(
    name="complaints",
    columns=(
        Column("complaint_id", "uuid", nullable=False),
        Column("category", "text", nullable=False),
        Column("channel", "text", nullable=False),
        Column("status", "text", nullable=False),
        Column("customer_id", "text", nullable=False),
        Column("subject_kind", "text", nullable=False),
        Column("subject_ref", "text", nullable=False),
        # The policy or claim complained about, once an assignment resolved it: complaints staff's scope
        # reaches that case through this column (api access scopes).
        Column("subject_case_id", "uuid"),
        Column("handler_id", "text"),
        Column("complexity", "text"),
        Column("received_at", "timestamptz", nullable=False),
        Column("deadline_days", "integer", nullable=False),
        Column("paused", "boolean", nullable=False),
        Column("due_at", "timestamptz"),
        Column("responded_at", "timestamptz"),
        Column("closed_at", "timestamptz"),
        Column("outcome", "text"),
        Column("on_time", "boolean"),
        Column("decide_timer_id", "uuid"),
        Column("decide_timer_outcome", "text"),
        Column("regulator_reportable", "boolean", nullable=False),
        Column("next_deadline", "timestamptz"),
        Column("next_deadline_rule", "text"),
        Column("sla_clocks", "jsonb", nullable=False),
        Column("version", "integer", nullable=False),
        Column("updated_at", "timestamptz", nullable=False),
    ),
    key=("complaint_id",),
    indexes=(
        ("customer_id",),
        ("status",),
        ("handler_id",),
        ("next_deadline",),
        ("subject_case_id",),  # the scopes: a policy or claim complained about
        ("subject_ref",),
    ),
)

COMPLAINT_STATS = Table(
    name="complaint_stats",
    columns=(
        Column("category", "text", nullable=False),
        Column("channel", "text", nullable=False),
        Column("month", "text", nullable=False),
        Column("lodged", "bigint", nullable=False),
        Column("responded", "bigint", nullable=False),
        Column("responded_on_time", "bigint", nullable=False),
    ),
    key=("category", "channel", "month"),
    indexes=(("month",),),
)

DECIDE_RULE = "CMP-DECIDE-15D"
COMPLAINT_EVENTS = event_classes_named(vars(complaint_module), complaint_module.__name__)
# Windows (the complainant's 30 days to ask for review) are no one's work: only obligations are followed.
COMPLAINT_RULES = tuple(
    rule
    for rule in clocks.rules_observable_in(Aggregate.COMPLAINT, COMPLAINT_EVENTS)
    if rule.kind is RuleKind.OBLIGATION
)
MET, MET_LATE, BREACHED = "met", "met_late", "breached"
"""The outcomes of the decision timer that ``decide_timer_outcome`` holds."""

_STATUS_AFTER: dict[type[DomainEvent], ComplaintStatus] = {
    ComplaintAcknowledged: ComplaintStatus.ACKNOWLEDGED,
    ComplaintReviewRequested: ComplaintStatus.REVIEW_REQUESTED,
    ComplaintReviewDecided: ComplaintStatus.REVIEWED,
}


class ComplaintsView:
    """The complaint as staff and compliance see it: status, handler, period, pause and timeliness."""

    @property
    def table(self) -> Table:
        return COMPLAINTS

    def keys(self, event: DomainEvent) -> Sequence[Key]:
        """Every complaint event changes its own complaint's row; a decision timer's outcome too."""
        if isinstance(event, TimerBreached | TimerSatisfied):
            if event.rule_id == DECIDE_RULE and event.subject_id is not None:
                return [(event.subject_id,)]
            return []
        return [(event.originator_id,)] if event_name(event) in COMPLAINT_EVENTS else []

    def evolve(self, key: Key, row: Row | None, event: DomainEvent) -> Row | None:
        """The complaint's row after ``event``; a redelivered (older) event leaves it as it is."""
        if isinstance(event, TimerBreached | TimerSatisfied):
            return _timer_outcome(row, event)
        if isinstance(event, ComplaintLodged):
            if row is not None:
                return row
            base = _lodged(event)
        elif row is None or event.originator_version <= row["version"]:
            return row
        else:
            base = {**row, **_changes(row, event)}
        running = clocks.advance(base["sla_clocks"], COMPLAINT_RULES, event, {})
        decide = clocks.clock_for(running, DECIDE_RULE)
        due, rule_id = clocks.next_due(running)
        return {
            **base,
            "due_at": None if decide is None or decide["due_at"] is None else from_iso(decide["due_at"]),
            "next_deadline": due,
            "next_deadline_rule": rule_id,
            "sla_clocks": running,
            "version": event.originator_version,
            "updated_at": utc(event.recorded_at),
        }


def _lodged(event: ComplaintLodged) -> Row:
    return {
        "complaint_id": event.originator_id,
        "category": text(event.category),
        "channel": text(event.channel),
        "status": text(ComplaintStatus.LODGED),
        "customer_id": event.customer_id,
        "subject_kind": text(event.subject_ref.kind),
        "subject_ref": event.subject_ref.ref,
        "subject_case_id": None,
        "handler_id": None,
        "complexity": None,
        "received_at": utc(event.received_at),
        "deadline_days": BASE_DEADLINE_DAYS,
        "paused": False,
        "due_at": None,
        "responded_at": None,
        "closed_at": None,
        "outcome": None,
        "on_time": None,
        "decide_timer_id": timer_id_for(DECIDE_RULE, event.originator_id, event.originator_version),
        "decide_timer_outcome": None,
        "regulator_reportable": event.channel is ComplaintChannel.REGULATOR_TRANSFER,
        "next_deadline": None,
        "next_deadline_rule": None,
        "sla_clocks": [],
        "version": 0,
        "updated_at": utc(event.recorded_at),
    }


def _changes(row: Row, event: DomainEvent) -> dict[str, Any]:
    if type(event) in _STATUS_AFTER:
        return {"status": text(_STATUS_AFTER[type(event)])}
    if isinstance(event, ComplaintAssigned):
        # A reassignment during the investigation keeps the complaint where it is (as the aggregate does).
        moved = row["status"] == ComplaintStatus.ACKNOWLEDGED.value
        status = text(ComplaintStatus.ASSIGNED) if moved else row["status"]
        resolved = {} if event.subject_case_id is None else {"subject_case_id": event.subject_case_id}
        return {"status": status, "handler_id": event.handler_id, **resolved}
    if isinstance(event, ComplaintClassified):
        return {
            "status": text(ComplaintStatus.INVESTIGATING),
            "complexity": text(event.complexity),
            "category": text(event.category),
        }
    if isinstance(event, ExternalAppraisalStarted):
        return {"paused": True}
    if isinstance(event, ExternalAppraisalCompleted):
        return {"paused": False}
    if isinstance(event, ComplaintDeadlineExtended):
        return {"deadline_days": event.to_days}
    if isinstance(event, ComplaintResponded):
        return {
            "status": text(ComplaintStatus.RESPONDED),
            "responded_at": utc(event.delivered_at),
            "on_time": _on_time(True, row["decide_timer_outcome"]),
        }
    if isinstance(event, ComplaintWithdrawn):
        return {"status": text(ComplaintStatus.WITHDRAWN), "paused": False}
    if isinstance(event, ComplaintClosed):
        return {
            "status": text(ComplaintStatus.CLOSED),
            "outcome": text(event.outcome),
            "closed_at": utc(event.recorded_at),
        }
    if isinstance(event, ComplaintReopened):
        return {
            "status": text(ComplaintStatus.INVESTIGATING),
            "outcome": None,
            "responded_at": None,
            "closed_at": None,
            "on_time": None,
            "deadline_days": BASE_DEADLINE_DAYS,
            # A new period runs: its own timer, started by this event, decides its timeliness.
            "decide_timer_id": timer_id_for(DECIDE_RULE, event.originator_id, event.originator_version),
            "decide_timer_outcome": None,
        }
    if isinstance(event, ComplaintEscalatedExternally) and event.body is ExternalBody.REGULATOR:
        return {"regulator_reportable": True}
    return {}


def complaint_needed_by(event: DomainEvent) -> UUID | None:
    """The complaint whose row ``event`` (its decision timer's outcome) needs before it can be applied.

    The timer's events and the complaint's travel on different topics, so the outcome may arrive first (a
    republish after a broker wipe): the consumer then folds the complaint from the store first, instead of
    losing the outcome (``consumers.read_models.ProjectionHandler``).
    """
    if isinstance(event, TimerBreached | TimerSatisfied) and event.rule_id == DECIDE_RULE:
        return event.subject_id
    return None


def _timer_outcome(row: Row | None, event: TimerBreached | TimerSatisfied) -> Row | None:
    """The row with its decision timer's outcome, if ``event`` is that timer's (see the module docstring)."""
    if row is None or event.originator_id != row["decide_timer_id"]:
        return row
    if isinstance(event, TimerBreached):
        outcome = BREACHED
    elif row["decide_timer_outcome"] == BREACHED or event.late:
        outcome = MET_LATE
    else:
        outcome = MET
    if outcome == row["decide_timer_outcome"]:
        return row
    return {
        **row,
        "decide_timer_outcome": outcome,
        "on_time": _on_time(row["responded_at"] is not None, outcome),
    }


def _on_time(responded: bool, outcome: str | None) -> bool | None:
    """Answered on time: the decision timer did not breach and was met in time; None while unknown."""
    if not responded or outcome is None:
        return None
    return outcome == MET


def _contribution(row: Row) -> Mapping[Key, Mapping[str, int]]:
    key = (row["category"], row["channel"], shanghai_month(row["received_at"]))
    return {
        key: {
            "lodged": 1,
            "responded": int(row["responded_at"] is not None),
            "responded_on_time": int(row["on_time"] is True),
        }
    }


class ComplaintStatsView(Rollup):
    """Complaint statistics: lodged, responded and responded-on-time counts by category, channel, month."""

    def __init__(self) -> None:
        super().__init__(table=COMPLAINT_STATS, source=COMPLAINTS.name, contribute=_contribution)
