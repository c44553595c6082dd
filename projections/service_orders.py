"""其他 Value-added service order view: kind, customer, policy, provider, the arrival clock of the kind
(VAS-ARRIVE-*) while the provider is on the way, and whether it arrived within the standard.

``arrived_on_time`` compares the recorded arrival with the deadline the row's own clock computed from the
request (the standard's rows are exact hours or working days on the default calendar); null until arrival.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import domain.service_order as service_order_module
from domain.base import DomainEvent
from domain.service_order import (
    ARRIVAL_RULE_IDS,
    ServiceOrderCancelled,
    ServiceOrderCompleted,
    ServiceOrderDispatched,
    ServiceOrderRequested,
    ServiceOrderStatus,
    ServiceProviderArrived,
)
from domain.sla import Aggregate
from projections import clocks
from projections.base import Column, Key, Row, Table
from projections.columns import event_classes_named, event_name, from_iso, text, utc

SERVICE_ORDERS = Table(
    name="service_orders",
    columns=(
        Column("order_id", "uuid", nullable=False),
        Column("kind", "text", nullable=False),
        Column("status", "text", nullable=False),
        Column("customer_id", "text", nullable=False),
        Column("policy_ref", "text", nullable=False),
        Column("requested_at", "timestamptz", nullable=False),
        Column("provider", "text"),
        Column("dispatched_at", "timestamptz"),
        Column("arrival_due_at", "timestamptz"),
        Column("arrived_at", "timestamptz"),
        Column("arrived_on_time", "boolean"),
        Column("done_at", "timestamptz"),
        Column("cancelled_at", "timestamptz"),
        Column("next_deadline", "timestamptz"),
        Column("next_deadline_rule", "text"),
        Column("sla_clocks", "jsonb", nullable=False),
        Column("version", "integer", nullable=False),
        Column("updated_at", "timestamptz", nullable=False),
    ),
    key=("order_id",),
    indexes=(("customer_id",), ("status",), ("next_deadline",)),
)

SERVICE_ORDER_EVENTS = event_classes_named(vars(service_order_module), service_order_module.__name__)
# The callback after a done order is met on the callback task: followed on the task, not here.
SERVICE_ORDER_RULES = clocks.rules_observable_in(Aggregate.SERVICE_ORDER, SERVICE_ORDER_EVENTS)


class ServiceOrdersView:
    """The service order as the desk and its supervisor see it."""

    @property
    def table(self) -> Table:
        return SERVICE_ORDERS

    def keys(self, event: DomainEvent) -> Sequence[Key]:
        """Every service order event changes its own order's row."""
        return [(event.originator_id,)] if event_name(event) in SERVICE_ORDER_EVENTS else []

    def evolve(self, key: Key, row: Row | None, event: DomainEvent) -> Row | None:
        """The order's row after ``event``; a redelivered (older) event leaves it as it is."""
        if isinstance(event, ServiceOrderRequested):
            if row is not None:
                return row
            base = _requested(event)
        elif row is None or event.originator_version <= row["version"]:
            return row
        else:
            base = {**row, **_changes(row, event)}
        running = clocks.advance(
            base["sla_clocks"], SERVICE_ORDER_RULES, event, {"service_kind": base["kind"]}
        )
        arrival = clocks.clock_for(running, ARRIVAL_RULE_IDS[base["kind"]])
        due, rule_id = clocks.next_due(running)
        arrival_due = base["arrival_due_at"]
        if arrival is not None and arrival["due_at"] is not None:
            arrival_due = from_iso(arrival["due_at"])
        return {
            **base,
            "arrival_due_at": arrival_due,
            "next_deadline": due,
            "next_deadline_rule": rule_id,
            "sla_clocks": running,
            "version": event.originator_version,
            "updated_at": utc(event.recorded_at),
        }


def _requested(event: ServiceOrderRequested) -> Row:
    return {
        "order_id": event.originator_id,
        "kind": text(event.kind),
        "status": text(ServiceOrderStatus.REQUESTED),
        "customer_id": event.customer_id,
        "policy_ref": event.policy_ref,
        "requested_at": utc(event.requested_at),
        "provider": None,
        "dispatched_at": None,
        "arrival_due_at": None,
        "arrived_at": None,
        "arrived_on_time": None,
        "done_at": None,
        "cancelled_at": None,
        "next_deadline": None,
        "next_deadline_rule": None,
        "sla_clocks": [],
        "version": 0,
        "updated_at": utc(event.recorded_at),
    }


def _changes(row: Row, event: DomainEvent) -> dict[str, Any]:
    if isinstance(event, ServiceOrderDispatched):
        return {
            "status": text(ServiceOrderStatus.DISPATCHED),
            "provider": event.provider,
            "dispatched_at": utc(event.occurred_at or event.recorded_at),
        }
    if isinstance(event, ServiceProviderArrived):
        arrived = utc(event.occurred_at or event.recorded_at)
        due = row["arrival_due_at"]
        return {
            "status": text(ServiceOrderStatus.ARRIVED),
            "arrived_at": arrived,
            "arrived_on_time": None if due is None else arrived < due,
        }
    if isinstance(event, ServiceOrderCompleted):
        return {"status": text(ServiceOrderStatus.DONE), "done_at": utc(event.recorded_at)}
    if isinstance(event, ServiceOrderCancelled):
        return {"status": text(ServiceOrderStatus.CANCELLED), "cancelled_at": utc(event.recorded_at)}
    return {}
