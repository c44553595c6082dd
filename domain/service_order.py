"""其他 Value-added service orders: 非事故救援 roadside rescue, 酒后代驾 designated driver, 防灾防损 risk
prevention. Requested → dispatched → arrived → done, or cancelled before done; a callback (回访) after done.

The arrival-time standard is data, one row per kind in ``domain.sla`` (VAS-ARRIVE-RESCUE-1H,
VAS-ARRIVE-DRIVER-1H, VAS-ARRIVE-PREVENTION-3WD): its clock starts at the request and stops when the provider
arrives (``ServiceProviderArrived``), so the order records the arrival as its own step. The callback after a
done order is the row CO-VAS-CALLBACK-3WD, met by the callback task the done order opens.

The rules an order keeps, each a named error below: a value-added service is a benefit of a policy, so it
is requested for a customer and a policy (VAS-POLICY-REQUIRED); business times never lie after the server
recorded them nor before the step they follow (VAS-BUSINESS-TIME); a cancelled or done order takes no
further step (lifecycle-order); a cancellation states its reason.

The contact phone and the location are personal data (PIPL), sealed with the customer's key.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import Field

from domain.base import (
    CaseAggregate,
    CaseCreated,
    Context,
    DomainError,
    DomainEvent,
    PersonalStr,
    Role,
    require_status,
    taken_by,
)

ARRIVAL_RULE_IDS: dict[str, str] = {
    "roadside_rescue": "VAS-ARRIVE-RESCUE-1H",
    "designated_driver": "VAS-ARRIVE-DRIVER-1H",
    "risk_prevention": "VAS-ARRIVE-PREVENTION-3WD",
}
"""The arrival-time standard of each kind: an SLA row each (``domain.sla``)."""
CALLBACK_RULE_ID = "CO-VAS-CALLBACK-3WD"
"""The SLA rule of the callback after a done order."""


class ServiceKind(StrEnum):
    """Which value-added service is ordered."""

    ROADSIDE_RESCUE = "roadside_rescue"  # 非事故救援: towing, battery, tyre, fuel
    DESIGNATED_DRIVER = "designated_driver"  # 酒后代驾
    RISK_PREVENTION = "risk_prevention"  # 防灾防损: an inspection or a warning visit


class ServiceOrderStatus(StrEnum):
    """Where a service order stands."""

    REQUESTED = "requested"
    DISPATCHED = "dispatched"
    ARRIVED = "arrived"
    DONE = "done"
    CANCELLED = "cancelled"


# ---------------------------------------------------------------------------------------------- errors


class ServiceOrderTimeError(DomainError):
    """A business time lies after the server recorded it, or before the step it follows."""

    rule = "VAS-BUSINESS-TIME"


class ServiceOrderWithoutPolicyError(DomainError):
    """A value-added service is a benefit of a policy: it is ordered for a customer and a policy."""

    rule = "VAS-POLICY-REQUIRED"


# ---------------------------------------------------------------------------------------------- events


class ServiceOrderRequested(CaseCreated):
    """A value-added service was requested; ``occurred_at`` is the request, from which arrival counts."""

    TOPIC = "service_order.requested.v1"

    kind: ServiceKind
    customer_id: str = Field(min_length=1)
    policy_ref: str = Field(min_length=1)
    contact_phone: PersonalStr
    location: PersonalStr
    details: str = ""

    @property
    def requested_at(self) -> datetime:
        """The request's time (the business time of this event)."""
        return self.occurred_at or self.timestamp

    def apply(self, order: ServiceOrder) -> None:
        order.status = ServiceOrderStatus.REQUESTED
        order.kind = self.kind
        order.customer_id = self.customer_id
        order.policy_ref = self.policy_ref
        order.requested_at = self.requested_at


class ServiceOrderDispatched(DomainEvent):
    """A provider was sent; ``eta`` is the arrival it promised, if it gave one."""

    TOPIC = "service_order.dispatched.v1"

    provider: str = Field(min_length=1)
    eta: datetime | None = None

    def apply(self, order: ServiceOrder) -> None:
        order.status = ServiceOrderStatus.DISPATCHED
        order.provider = self.provider
        order.last_step_at = self.occurred_at or self.timestamp


class ServiceProviderArrived(DomainEvent):
    """The provider arrived on site at ``occurred_at``: the arrival-time standard is met or missed here."""

    TOPIC = "service_order.provider-arrived.v1"

    def apply(self, order: ServiceOrder) -> None:
        order.status = ServiceOrderStatus.ARRIVED
        order.arrived_at = self.occurred_at or self.timestamp
        order.last_step_at = order.arrived_at


class ServiceOrderCompleted(DomainEvent):
    """The service was done; a callback (回访) follows (CO-VAS-CALLBACK-3WD)."""

    TOPIC = "service_order.completed.v1"

    summary: str = Field(min_length=1)

    def apply(self, order: ServiceOrder) -> None:
        order.status = ServiceOrderStatus.DONE


class ServiceOrderCancelled(DomainEvent):
    """The order was cancelled before it was done, with the reason."""

    TOPIC = "service_order.cancelled.v1"

    reason: str = Field(min_length=1)

    def apply(self, order: ServiceOrder) -> None:
        order.status = ServiceOrderStatus.CANCELLED


# ---------------------------------------------------------------------------------------------- aggregate

_DESK = (Role.CALLBACK_AGENT, Role.CLAIMS_HANDLER, Role.SUPERVISOR)
"""The customer-service staff who take and dispatch service orders."""


class ServiceOrder(CaseAggregate):
    """A value-added service order: its kind, its provider and its arrival."""

    TOPIC = "service_order.aggregate"
    """Explicit, so that stored events and snapshots never name a Python import path."""

    class Created(CaseAggregate.Created):
        """The library's generic creation event: unused here, but it must carry a topic too."""

        TOPIC = "service_order.library-created"

    status: ServiceOrderStatus
    kind: ServiceKind
    customer_id: str
    policy_ref: str
    requested_at: datetime
    last_step_at: datetime | None
    provider: str | None
    arrived_at: datetime | None

    def __init__(self) -> None:
        # Called by the library when ServiceOrderRequested is replayed; its apply then sets the facts.
        self.last_step_at = None
        self.provider = None
        self.arrived_at = None

    @classmethod
    @taken_by("request service order", *_DESK)
    def request(
        cls,
        ctx: Context,
        *,
        order_id: UUID,
        requested_at: datetime,
        kind: ServiceKind,
        customer_id: str,
        policy_ref: str,
        contact_phone: str,
        location: str,
        details: str = "",
    ) -> ServiceOrder:
        """Take a request for a value-added service under a policy: the arrival clock counts from it."""
        if not customer_id.strip() or not policy_ref.strip():
            raise ServiceOrderWithoutPolicyError(
                f"a {kind.value} order is a benefit of a policy: give the customer and the policy"
            )
        _check_time("requested_at", requested_at, ctx)
        return cls._open(
            ServiceOrderRequested,
            order_id,
            ctx,
            occurred_at=requested_at,
            kind=kind,
            customer_id=customer_id,
            policy_ref=policy_ref,
            contact_phone=contact_phone,
            location=location,
            details=details,
        )

    @taken_by("dispatch service order", *_DESK)
    def dispatch(self, ctx: Context, *, provider: str, eta: datetime | None = None) -> None:
        """Send a provider (a rescue truck, a driver, a risk engineer)."""
        require_status("dispatch service order", self.status, ServiceOrderStatus.REQUESTED)
        if eta is not None and eta < self.requested_at:
            raise ServiceOrderTimeError("the promised arrival cannot come before the request")
        self._record(ServiceOrderDispatched, ctx, occurred_at=ctx.recorded_at, provider=provider, eta=eta)

    @taken_by("record provider arrival", *_DESK)
    def record_arrival(self, ctx: Context, *, arrived_at: datetime) -> None:
        """Record when the provider arrived on site: the arrival-time standard is measured to this instant."""
        require_status("record provider arrival", self.status, ServiceOrderStatus.DISPATCHED)
        _check_time("arrived_at", arrived_at, ctx)
        if self.last_step_at is not None and arrived_at < self.last_step_at:
            raise ServiceOrderTimeError("the provider cannot arrive before it was dispatched")
        self._record(ServiceProviderArrived, ctx, occurred_at=arrived_at)

    @taken_by("complete service order", *_DESK)
    def complete(self, ctx: Context, *, summary: str) -> None:
        """Record the service as done: the callback follows."""
        require_status("complete service order", self.status, ServiceOrderStatus.ARRIVED)
        self._record(ServiceOrderCompleted, ctx, summary=summary)

    @taken_by("cancel service order", *_DESK)
    def cancel(self, ctx: Context, *, reason: str) -> None:
        """Cancel an order not yet done (the customer no longer needs it, or no provider can go)."""
        require_status(
            "cancel service order",
            self.status,
            ServiceOrderStatus.REQUESTED,
            ServiceOrderStatus.DISPATCHED,
            ServiceOrderStatus.ARRIVED,
        )
        self._record(ServiceOrderCancelled, ctx, reason=reason)


def _check_time(name: str, value: datetime, ctx: Context) -> None:
    if value.tzinfo is None:
        raise ServiceOrderTimeError(f"{name} must carry its time zone")
    if value > ctx.recorded_at:
        raise ServiceOrderTimeError(f"{name} {value.isoformat()} is after the recorded time")
