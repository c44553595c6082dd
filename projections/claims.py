"""案件查询 Claim case view: status, timeline, outstanding documents, money, handler and next deadline.

The next deadline is the earliest due instant among the claim's running SLA clocks (``domain.sla`` rules
that apply to claims and that claim events alone start and stop: IL22, IL23 decide and pay, IL24, IL25,
CTPL28, CTPL29). The survey and closure callback rules are met on the callback task, so they show on the
callback's work item, not here. A paused clock (IL23 while documents are awaited) has no deadline.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import domain.claim as claim_module
from domain.base import DomainEvent, Role
from domain.claim import (
    AdvancePaymentIssued,
    ClaimAdjusted,
    ClaimClosed,
    ClaimDecided,
    ClaimDocumentReceived,
    ClaimDocumentsRequested,
    ClaimOutcome,
    ClaimRegistered,
    ClaimReopened,
    ClaimReported,
    ClaimReviewed,
    ClaimStatus,
    ClaimWithdrawn,
    LossAssessed,
    PaymentIssued,
    SettlementAgreed,
    SurveyDone,
)
from domain.sla import Aggregate, FactValue
from projections import clocks
from projections.base import Column, Key, Row, Table
from projections.columns import event_classes_named, event_name, iso, text, utc, utc_or_none

CLAIMS = Table(
    name="claims",
    columns=(
        Column("claim_id", "uuid", nullable=False),
        Column("claim_no", "text"),
        Column("policy_id", "uuid", nullable=False),
        Column("policy_no", "text", nullable=False),
        Column("customer_id", "text", nullable=False),
        Column("status", "text", nullable=False),
        Column("ctpl", "boolean", nullable=False),
        Column("reported_at", "timestamptz", nullable=False),
        Column("loss_at", "timestamptz"),
        Column("outstanding_docs", "jsonb", nullable=False),
        Column("timeline", "jsonb", nullable=False),
        Column("approved_fen", "bigint"),
        Column("agreed_fen", "bigint"),
        Column("paid_fen", "bigint", nullable=False),
        Column("outcome", "text"),
        Column("closure", "text"),
        Column("handler", "text"),
        Column("next_deadline", "timestamptz"),
        Column("next_deadline_rule", "text"),
        Column("sla_clocks", "jsonb", nullable=False),
        Column("version", "integer", nullable=False),
        Column("updated_at", "timestamptz", nullable=False),
        # Art. 36: a loss in the grace period of an unpaid renewal instalment is paid less this premium.
        Column("premium_due_fen", "bigint"),
    ),
    key=("claim_id",),
    indexes=(("customer_id",), ("policy_id",), ("status", "reported_at"), ("next_deadline",)),
)

CLAIM_EVENTS = event_classes_named(vars(claim_module), claim_module.__name__)
CLAIM_RULES = clocks.rules_observable_in(Aggregate.CLAIM, CLAIM_EVENTS)
"""The SLA rules this view follows (see the module docstring)."""

# Events that only move the lifecycle on: the status each one sets (the aggregate's own apply methods).
_STATUS_AFTER: dict[type[DomainEvent], ClaimStatus] = {
    SurveyDone: ClaimStatus.SURVEYED,
    LossAssessed: ClaimStatus.ASSESSED,
    ClaimAdjusted: ClaimStatus.ADJUSTED,
    ClaimWithdrawn: ClaimStatus.WITHDRAWN,
}


class ClaimsView:
    """案件查询: one row per claim, kept from the claim's own events."""

    @property
    def table(self) -> Table:
        return CLAIMS

    def keys(self, event: DomainEvent) -> Sequence[Key]:
        """Every claim event changes its own claim's row."""
        return [(event.originator_id,)] if event_name(event) in CLAIM_EVENTS else []

    def evolve(self, key: Key, row: Row | None, event: DomainEvent) -> Row | None:
        """The claim's row after ``event``; a redelivered (older) event leaves it as it is."""
        if isinstance(event, ClaimReported):
            if row is not None:
                return row
            base = _reported(event)
        elif row is None or event.originator_version <= row["version"]:
            return row
        else:
            base = {**row, **_changes(row, event)}
        facts: dict[str, FactValue] = {"ctpl": base["ctpl"]}
        if base["outcome"] is not None:
            facts["claim_outcome"] = base["outcome"]
        running = clocks.advance(base["sla_clocks"], CLAIM_RULES, event, facts)
        due, rule_id = clocks.next_due(running)
        timeline = [*base["timeline"], _entry(event)]
        handler = event.actor.id if event.actor.role is Role.CLAIMS_HANDLER else base["handler"]
        return {
            **base,
            "timeline": timeline,
            "handler": handler,
            "sla_clocks": running,
            "next_deadline": due,
            "next_deadline_rule": rule_id,
            "version": event.originator_version,
            "updated_at": utc(event.recorded_at),
        }


def _entry(event: DomainEvent) -> dict[str, Any]:
    return {
        "version": event.originator_version,
        "event": event_name(event),
        "at": iso(event.recorded_at),
        "actor_id": event.actor.id,
        "role": text(event.actor.role),
    }


def _reported(event: ClaimReported) -> Row:
    return {
        "claim_id": event.originator_id,
        "claim_no": None,
        "policy_id": event.policy_id,
        "policy_no": event.policy_no,
        "customer_id": event.customer_id,
        "status": text(ClaimStatus.REPORTED),
        "ctpl": event.ctpl,
        "reported_at": utc(event.recorded_at),
        "loss_at": utc_or_none(event.occurred_at),
        "outstanding_docs": [],
        "timeline": [],
        "approved_fen": None,
        "agreed_fen": None,
        "paid_fen": 0,
        "outcome": None,
        "closure": None,
        "handler": None,
        "next_deadline": None,
        "next_deadline_rule": None,
        "sla_clocks": [],
        "version": 0,
        "updated_at": utc(event.recorded_at),
        "premium_due_fen": event.premium_due_fen or None,
    }


def _changes(row: Row, event: DomainEvent) -> dict[str, Any]:
    if type(event) in _STATUS_AFTER:
        return {"status": text(_STATUS_AFTER[type(event)])}
    if isinstance(event, ClaimRegistered):
        return {"status": text(ClaimStatus.REGISTERED), "claim_no": event.claim_no}
    if isinstance(event, ClaimDocumentsRequested):
        # One list, in the order first asked for; a second request (new facts) adds only what is new.
        return {"outstanding_docs": list(dict.fromkeys([*row["outstanding_docs"], *event.required_docs]))}
    if isinstance(event, ClaimDocumentReceived):
        return {"outstanding_docs": [doc for doc in row["outstanding_docs"] if doc != event.doc_type]}
    if isinstance(event, ClaimReviewed):
        return {"status": text(ClaimStatus.REVIEWED), "approved_fen": event.approved_amount_fen}
    if isinstance(event, ClaimDecided):
        changes: dict[str, Any] = {"status": text(ClaimStatus.DECIDED), "outcome": text(event.outcome)}
        if event.outcome is ClaimOutcome.NOT_COVERED:
            changes["approved_fen"] = 0
        return changes
    if isinstance(event, SettlementAgreed):
        return {"status": text(ClaimStatus.SETTLED), "agreed_fen": event.amount_fen}
    if isinstance(event, AdvancePaymentIssued):
        return {"paid_fen": row["paid_fen"] + event.amount_fen}
    if isinstance(event, PaymentIssued):
        paid = row["paid_fen"] + event.amount_fen
        fully_paid = paid >= (row["agreed_fen"] or 0)
        return {"paid_fen": paid, **({"status": text(ClaimStatus.PAID)} if fully_paid else {})}
    if isinstance(event, ClaimClosed):
        return {"status": text(ClaimStatus.CLOSED), "closure": text(event.outcome)}
    if isinstance(event, ClaimReopened):
        return {"status": text(ClaimStatus.REGISTERED), "closure": None, "outcome": None}
    # Documents completed and the rejection notice change no column here: the timeline and clocks show them.
    return {}
