"""咨询 Inquiry view, the inquiry statistics kept from it, and the link from a case back to its inquiry.

A row per inquiry: channel, category, customer and policy when known, status, first-contact resolution,
the reply clock (INQ-REPLY-1WD) while a reply is owed, and the case it was transferred to. The link the
other way (a complaint, claim or service request showing the inquiry it came from) is this table read by
``transferred_to`` (indexed): the aggregates of those cases are not changed (a service request's own
``inquiry_id`` is read too, by ``contact_queries.inquiry_origin``, before any transfer).

``inquiry_stats`` totals the rows by category, channel and month of contact (Asia/Shanghai): logged,
answered, answered at first contact, transferred. The first-contact resolution rate is answered at first
contact / logged (a transfer or a deferral is not resolved at first contact).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import domain.inquiry as inquiry_module
from domain.base import DomainEvent
from domain.inquiry import (
    InquiryAnswered,
    InquiryClosed,
    InquiryDeferred,
    InquiryLogged,
    InquiryStatus,
    InquiryTransferred,
)
from domain.sla import Aggregate
from projections import clocks
from projections.base import Column, Key, Rollup, Row, Table
from projections.columns import event_classes_named, event_name, shanghai_month, text, utc

INQUIRIES = Table(
    name="inquiries",
    columns=(
        Column("inquiry_id", "uuid", nullable=False),
        Column("channel", "text", nullable=False),
        Column("category", "text", nullable=False),
        Column("status", "text", nullable=False),
        Column("customer_id", "text"),
        Column("policy_ref", "text"),
        Column("contacted_at", "timestamptz", nullable=False),
        Column("taken_by", "text", nullable=False),
        Column("deferred_at", "timestamptz"),
        Column("answered_at", "timestamptz"),
        Column("first_contact", "boolean"),
        Column("transferred_kind", "text"),
        Column("transferred_to", "uuid"),
        Column("closed_at", "timestamptz"),
        Column("next_deadline", "timestamptz"),
        Column("next_deadline_rule", "text"),
        Column("sla_clocks", "jsonb", nullable=False),
        Column("version", "integer", nullable=False),
        Column("updated_at", "timestamptz", nullable=False),
    ),
    key=("inquiry_id",),
    indexes=(("customer_id",), ("status",), ("transferred_to",), ("next_deadline",)),
)

INQUIRY_STATS = Table(
    name="inquiry_stats",
    columns=(
        Column("category", "text", nullable=False),
        Column("channel", "text", nullable=False),
        Column("month", "text", nullable=False),
        Column("logged", "bigint", nullable=False),
        Column("answered", "bigint", nullable=False),
        Column("first_contact_resolved", "bigint", nullable=False),
        Column("transferred", "bigint", nullable=False),
    ),
    key=("category", "channel", "month"),
    indexes=(("month",),),
)

INQUIRY_EVENTS = event_classes_named(vars(inquiry_module), inquiry_module.__name__)
INQUIRY_RULES = clocks.rules_observable_in(Aggregate.INQUIRY, INQUIRY_EVENTS)


class InquiriesView:
    """The inquiry as the desk and its supervisor see it."""

    @property
    def table(self) -> Table:
        return INQUIRIES

    def keys(self, event: DomainEvent) -> Sequence[Key]:
        """Every inquiry event changes its own inquiry's row."""
        return [(event.originator_id,)] if event_name(event) in INQUIRY_EVENTS else []

    def evolve(self, key: Key, row: Row | None, event: DomainEvent) -> Row | None:
        """The inquiry's row after ``event``; a redelivered (older) event leaves it as it is."""
        if isinstance(event, InquiryLogged):
            if row is not None:
                return row
            base = _logged(event)
        elif row is None or event.originator_version <= row["version"]:
            return row
        else:
            base = {**row, **_changes(event)}
        running = clocks.advance(base["sla_clocks"], INQUIRY_RULES, event, {})
        due, rule_id = clocks.next_due(running)
        return {
            **base,
            "next_deadline": due,
            "next_deadline_rule": rule_id,
            "sla_clocks": running,
            "version": event.originator_version,
            "updated_at": utc(event.recorded_at),
        }


def _logged(event: InquiryLogged) -> Row:
    return {
        "inquiry_id": event.originator_id,
        "channel": text(event.channel),
        "category": text(event.category),
        "status": text(InquiryStatus.OPEN),
        "customer_id": event.customer_id,
        "policy_ref": event.policy_ref,
        "contacted_at": utc(event.contacted_at),
        "taken_by": event.actor.id,
        "deferred_at": None,
        "answered_at": None,
        "first_contact": None,
        "transferred_kind": None,
        "transferred_to": None,
        "closed_at": None,
        "next_deadline": None,
        "next_deadline_rule": None,
        "sla_clocks": [],
        "version": 0,
        "updated_at": utc(event.recorded_at),
    }


def _changes(event: DomainEvent) -> dict[str, Any]:
    if isinstance(event, InquiryDeferred):
        return {"status": text(InquiryStatus.PENDING), "deferred_at": utc(event.recorded_at)}
    if isinstance(event, InquiryAnswered):
        return {
            "status": text(InquiryStatus.ANSWERED),
            "answered_at": utc(event.occurred_at or event.recorded_at),
            "first_contact": event.first_contact,
        }
    if isinstance(event, InquiryTransferred):
        return {
            "status": text(InquiryStatus.TRANSFERRED),
            "first_contact": False,
            "transferred_kind": text(event.target_kind),
            "transferred_to": event.target_id,
        }
    if isinstance(event, InquiryClosed):
        return {"status": text(InquiryStatus.CLOSED), "closed_at": utc(event.recorded_at)}
    return {}


def _contribution(row: Row) -> Mapping[Key, Mapping[str, int]]:
    key = (row["category"], row["channel"], shanghai_month(row["contacted_at"]))
    return {
        key: {
            "logged": 1,
            "answered": int(row["answered_at"] is not None),
            "first_contact_resolved": int(row["first_contact"] is True),
            "transferred": int(row["transferred_to"] is not None),
        }
    }


class InquiryStatsView(Rollup):
    """Inquiry statistics: logged, answered, first-contact resolved and transferred by category, channel
    and month."""

    def __init__(self) -> None:
        super().__init__(table=INQUIRY_STATS, source=INQUIRIES.name, contribute=_contribution)
