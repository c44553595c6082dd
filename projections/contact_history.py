"""The customer's contact history: every inquiry, value-added service, 保全 request and case of one
customer, with its latest step, newest first (issue #14 point 6).

One generic table, ``contact_history``, a row per contact (a case of any kind), fed by *sources*: each
names the event that opens a contact of its kind (and carries the customer), and the events whose step is
worth showing. The policy service requests of 保全 joined this way (``ServiceRequested`` carries the
policy's customer); a new kind of contact joins by adding a ``ContactSource`` to ``CONTACT_SOURCES``: the
table and its queries do not change.

An inquiry logged without a customer is no one's history. Later events carry no customer: they change
the row their case opened (per case, events arrive in order, so the opening comes first; a step of a
case with no row is a case of no known customer and is skipped).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from domain.base import DomainEvent
from domain.claim import ClaimClosed, ClaimDecided, ClaimReopened, ClaimReported, ClaimWithdrawn
from domain.complaint import (
    ComplaintClosed,
    ComplaintLodged,
    ComplaintReopened,
    ComplaintResponded,
    ComplaintWithdrawn,
)
from domain.inquiry import (
    InquiryAnswered,
    InquiryClosed,
    InquiryDeferred,
    InquiryLogged,
    InquiryTransferred,
)
from domain.service_order import (
    ServiceOrderCancelled,
    ServiceOrderCompleted,
    ServiceOrderDispatched,
    ServiceOrderRequested,
    ServiceProviderArrived,
)
from domain.service_request import (
    ServiceCustomerNotified,
    ServiceRequestApproved,
    ServiceRequestChecked,
    ServiceRequestCompleted,
    ServiceRequested,
    ServiceRequestRefused,
    ServiceRequestWithdrawn,
)
from projections.base import Column, Key, Row, Table
from projections.columns import event_name, utc

CONTACT_HISTORY = Table(
    name="contact_history",
    columns=(
        Column("case_id", "uuid", nullable=False),
        Column("customer_id", "text", nullable=False),
        Column("contact_kind", "text", nullable=False),
        Column("topic", "text", nullable=False),
        Column("channel", "text"),
        Column("opened_at", "timestamptz", nullable=False),
        Column("last_step", "text", nullable=False),
        Column("last_step_at", "timestamptz", nullable=False),
        Column("version", "integer", nullable=False),
    ),
    key=("case_id",),
    indexes=(("customer_id", "opened_at"),),
)


@dataclass(frozen=True)
class Opening:
    """What the event that opens a contact says of it: the customer, the topic and the channel."""

    customer_id: str | None
    topic: str
    channel: str | None = None


@dataclass(frozen=True)
class ContactSource:
    """One kind of contact: the event that opens it, how to read it, and the steps shown after it."""

    kind: str
    opened_by: type[DomainEvent]
    opening: Callable[[DomainEvent], Opening]
    steps: tuple[type[DomainEvent], ...]


def _inquiry(event: DomainEvent) -> Opening:
    assert isinstance(event, InquiryLogged)
    return Opening(event.customer_id, event.category.value, event.channel.value)


def _service_order(event: DomainEvent) -> Opening:
    assert isinstance(event, ServiceOrderRequested)
    return Opening(event.customer_id, event.kind.value)


def _service_request(event: DomainEvent) -> Opening:
    assert isinstance(event, ServiceRequested)
    # The customer is the policy's, read from its cover when the request was taken.
    return Opening(event.customer_id, event.item.value, event.channel.value)


def _complaint(event: DomainEvent) -> Opening:
    assert isinstance(event, ComplaintLodged)
    return Opening(event.customer_id, event.category.value, event.channel.value)


def _claim(event: DomainEvent) -> Opening:
    assert isinstance(event, ClaimReported)
    return Opening(event.customer_id, "claim report")


CONTACT_SOURCES: tuple[ContactSource, ...] = (
    ContactSource(
        "inquiry",
        InquiryLogged,
        _inquiry,
        (InquiryDeferred, InquiryAnswered, InquiryTransferred, InquiryClosed),
    ),
    ContactSource(
        "service_order",
        ServiceOrderRequested,
        _service_order,
        (ServiceOrderDispatched, ServiceProviderArrived, ServiceOrderCompleted, ServiceOrderCancelled),
    ),
    ContactSource(
        "service_request",
        ServiceRequested,
        _service_request,
        (
            ServiceRequestChecked,
            ServiceRequestApproved,
            ServiceRequestCompleted,
            ServiceRequestRefused,
            ServiceCustomerNotified,
            ServiceRequestWithdrawn,
        ),
    ),
    ContactSource(
        "complaint",
        ComplaintLodged,
        _complaint,
        (ComplaintResponded, ComplaintWithdrawn, ComplaintClosed, ComplaintReopened),
    ),
    ContactSource(
        "claim",
        ClaimReported,
        _claim,
        (ClaimDecided, ClaimWithdrawn, ClaimClosed, ClaimReopened),
    ),
)
"""Every kind of contact the history shows."""

_OPENED_BY = {source.opened_by: source for source in CONTACT_SOURCES}
_STEPS = frozenset(step for source in CONTACT_SOURCES for step in source.steps)


class ContactHistoryView:
    """A row per contact of a known customer, with its latest step."""

    @property
    def table(self) -> Table:
        return CONTACT_HISTORY

    def keys(self, event: DomainEvent) -> Sequence[Key]:
        """The opening of a contact, or one of its shown steps, changes the contact's row."""
        if type(event) in _OPENED_BY or type(event) in _STEPS:
            return [(event.originator_id,)]
        return []

    def evolve(self, key: Key, row: Row | None, event: DomainEvent) -> Row | None:
        """The contact's row after ``event``; a redelivered (older) event leaves it as it is."""
        source = _OPENED_BY.get(type(event))
        if source is not None:
            if row is not None:
                return row
            opening = source.opening(event)
            if opening.customer_id is None:
                return None
            at = utc(event.occurred_at or event.recorded_at)
            return {
                "case_id": event.originator_id,
                "customer_id": opening.customer_id,
                "contact_kind": source.kind,
                "topic": opening.topic,
                "channel": opening.channel,
                "opened_at": at,
                "last_step": event_name(event),
                "last_step_at": at,
                "version": event.originator_version,
            }
        if row is None or event.originator_version <= row["version"]:
            return row
        return {
            **row,
            "last_step": event_name(event),
            "last_step_at": utc(event.occurred_at or event.recorded_at),
            "version": event.originator_version,
        }
