"""保全 Policy service requests: one row per request, which is also the policy's service history.

The row holds no personal field: the new phone, address, bank account and beneficiaries stay in the
request's sealed events (read masked, or revealed with a purpose, like every personal field), so there is
nothing here to mask or to blank on erasure. It holds what staff sort and count by: the item, who asked,
the status, the handler and reviewer, the time standard's clock, the outcome and the refusal's reasons.
"""

from __future__ import annotations

from collections.abc import Sequence

import domain.service_request as service_module
from domain.base import DomainEvent
from domain.service_request import (
    ServiceCustomerNotified,
    ServiceRequestApproved,
    ServiceRequestChecked,
    ServiceRequestCompleted,
    ServiceRequested,
    ServiceRequestRefused,
    ServiceRequestStatus,
    ServiceRequestWithdrawn,
)
from domain.sla import Aggregate, FactValue
from projections import clocks
from projections.base import Column, Key, Row, Table
from projections.columns import event_classes_named, event_name, text, utc

SERVICE_REQUESTS = Table(
    name="service_requests",
    columns=(
        Column("request_id", "uuid", nullable=False),
        Column("request_no", "text", nullable=False),
        Column("policy_id", "uuid", nullable=False),
        Column("policy_no", "text", nullable=False),
        Column("customer_id", "text", nullable=False),
        Column("item", "text", nullable=False),
        Column("channel", "text", nullable=False),
        Column("requested_by", "text", nullable=False),
        Column("status", "text", nullable=False),
        Column("outcome", "text"),
        Column("four_eyes", "boolean", nullable=False),
        Column("time_standard", "text", nullable=False),
        Column("received_at", "timestamptz", nullable=False),
        Column("requested_by_staff", "text", nullable=False),
        Column("handler_id", "text"),
        Column("reviewer_id", "text"),
        Column("effective_on", "date"),
        Column("refusal_reasons", "jsonb", nullable=False),
        Column("decided_at", "timestamptz"),
        Column("notified_at", "timestamptz"),
        Column("next_deadline", "timestamptz"),
        Column("next_deadline_rule", "text"),
        Column("inquiry_id", "uuid"),
        Column("sla_clocks", "jsonb", nullable=False),
        Column("version", "integer", nullable=False),
        Column("updated_at", "timestamptz", nullable=False),
    ),
    key=("request_id",),
    indexes=(("policy_id",), ("customer_id",), ("status",), ("next_deadline",)),
)

SERVICE_EVENTS = event_classes_named(vars(service_module), service_module.__name__)
SERVICE_RULES = clocks.rules_observable_in(Aggregate.SERVICE_REQUEST, SERVICE_EVENTS)


class ServiceRequestsView:
    """A policy service request as staff follow it, by request id; by policy id, the policy's history."""

    @property
    def table(self) -> Table:
        return SERVICE_REQUESTS

    def keys(self, event: DomainEvent) -> Sequence[Key]:
        """Every request event changes its own request's row."""
        return [(event.originator_id,)] if event_name(event) in SERVICE_EVENTS else []

    def evolve(self, key: Key, row: Row | None, event: DomainEvent) -> Row | None:
        """The request's row after ``event``; a redelivered (older) event leaves it as it is."""
        if isinstance(event, ServiceRequested):
            if row is not None:
                return row
            base = _requested(event)
        elif row is None or event.originator_version <= row["version"]:
            return row
        else:
            base = {**row, **_changes(event)}
        facts: dict[str, FactValue] = {"service_item": base["item"]}
        running = clocks.advance(base["sla_clocks"], SERVICE_RULES, event, facts)
        due, rule_id = clocks.next_due(running)
        return {
            **base,
            "next_deadline": due,
            "next_deadline_rule": rule_id,
            "sla_clocks": running,
            "version": event.originator_version,
            "updated_at": utc(event.recorded_at),
        }


def _requested(event: ServiceRequested) -> Row:
    return {
        "request_id": event.originator_id,
        "request_no": event.request_no,
        "policy_id": event.policy_id,
        "policy_no": event.policy_no,
        "customer_id": event.customer_id,
        "item": text(event.item),
        "channel": text(event.channel),
        "requested_by": text(event.requested_by),
        "status": text(ServiceRequestStatus.REQUESTED),
        "outcome": None,
        "four_eyes": event.four_eyes,
        "time_standard": event.time_standard,
        "received_at": utc(event.received_at),
        "requested_by_staff": event.actor.id,
        "handler_id": None,
        "reviewer_id": None,
        "effective_on": None,
        "refusal_reasons": [],
        "decided_at": None,
        "notified_at": None,
        "next_deadline": None,
        "next_deadline_rule": None,
        "inquiry_id": event.inquiry_id,
        "sla_clocks": [],
        "version": 0,
        "updated_at": utc(event.recorded_at),
    }


def _changes(event: DomainEvent) -> Row:
    if isinstance(event, ServiceRequestChecked):
        return {"status": text(ServiceRequestStatus.CHECKED), "handler_id": event.actor.id}
    if isinstance(event, ServiceRequestApproved):
        return {"status": text(ServiceRequestStatus.APPROVED), "reviewer_id": event.actor.id}
    if isinstance(event, ServiceRequestCompleted):
        return {
            "status": text(ServiceRequestStatus.DONE),
            "outcome": "done",
            "effective_on": event.effective_on,
            "decided_at": utc(event.recorded_at),
        }
    if isinstance(event, ServiceRequestRefused):
        return {
            "status": text(ServiceRequestStatus.REFUSED),
            "outcome": "refused",
            "refusal_reasons": list(event.reasons),
            "decided_at": utc(event.recorded_at),
        }
    if isinstance(event, ServiceCustomerNotified):
        return {
            "status": text(ServiceRequestStatus.CLOSED),
            "notified_at": utc(event.occurred_at or event.recorded_at),
        }
    if isinstance(event, ServiceRequestWithdrawn):
        return {"status": text(ServiceRequestStatus.WITHDRAWN), "outcome": "withdrawn"}
    return {}
