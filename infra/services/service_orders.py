"""Service orders (其他 value-added services): the application service for roadside rescue, designated
driver and risk-prevention orders."""

from __future__ import annotations

from uuid import UUID, uuid4

from pydantic import AwareDatetime

from domain.service_order import ServiceKind, ServiceOrder
from infra.services.commands import Command, Name, OptionalText, Text, examples
from infra.store.eventstore import Caller, CaseApplication, CommandResult

# ------------------------------------------------------------------------------------------ commands


class RequestServiceOrder(Command):
    """A value-added service asked for under a policy: the arrival clock of its kind counts from
    ``requested_at``."""

    model_config = examples(
        {
            "requested_at": "2026-03-09T21:40:00+08:00",
            "kind": "roadside_rescue",
            "customer_id": "CUST-0b8a4f2e",
            "policy_ref": "P0B8A4F2E3C1D",
            "contact_phone": "13800138000",
            "location": "G60 Shanghai-Kunming expressway km 32, Songjiang",
            "details": "flat battery, car will not start",
        },
        {
            "requested_at": "2026-03-09T22:10:00+08:00",
            "kind": "designated_driver",
            "customer_id": "CUST-1c9b5e3f",
            "policy_ref": "P1C9B5E3F4D2E",
            "contact_phone": "13900139000",
            "location": "Xintiandi, Huangpu",
        },
    )

    requested_at: AwareDatetime
    kind: ServiceKind
    customer_id: Name
    policy_ref: Name
    contact_phone: Name
    location: Text
    details: OptionalText = ""


class DispatchServiceOrder(Command):
    """The provider sent, and the arrival it promised if it gave one."""

    model_config = examples({"provider": "Anji Rescue Songjiang", "eta": "2026-03-09T22:20:00+08:00"})

    provider: Name
    eta: AwareDatetime | None = None


class RecordProviderArrival(Command):
    """When the provider arrived on site: the arrival-time standard is measured to it."""

    model_config = examples({"arrived_at": "2026-03-09T22:18:00+08:00"})

    arrived_at: AwareDatetime


class CompleteServiceOrder(Command):
    """What was done."""

    model_config = examples({"summary": "battery jump-started, the customer drove on"})

    summary: Text


class CancelServiceOrder(Command):
    """Why the order is cancelled before it was done."""

    model_config = examples({"reason": "the customer found help before the truck arrived"})

    reason: Text


# ------------------------------------------------------------------------------------------ service


class ServiceOrders(CaseApplication[ServiceOrder]):
    """Value-added service orders (其他): one method per use case, each taking its command model."""

    aggregate_class = ServiceOrder
    kind = "service order"
    bounded_context = "service_order"

    def request(
        self, command: RequestServiceOrder, by: Caller, order_id: UUID | None = None
    ) -> CommandResult:
        """Take a request for a value-added service under a policy."""
        return self.open_case(by, ServiceOrder.request, order_id=order_id or uuid4(), **command.arguments())

    def dispatch(
        self, order_id: UUID, command: DispatchServiceOrder, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Send a provider."""
        return self.run(order_id, by, expected_version, ServiceOrder.dispatch, **command.arguments())

    def record_arrival(
        self, order_id: UUID, command: RecordProviderArrival, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Record the provider's arrival on site."""
        return self.run(order_id, by, expected_version, ServiceOrder.record_arrival, **command.arguments())

    def complete(
        self, order_id: UUID, command: CompleteServiceOrder, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Record the service as done: the callback follows."""
        return self.run(order_id, by, expected_version, ServiceOrder.complete, **command.arguments())

    def cancel(
        self, order_id: UUID, command: CancelServiceOrder, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Cancel an order not yet done, with the reason."""
        return self.run(order_id, by, expected_version, ServiceOrder.cancel, **command.arguments())
