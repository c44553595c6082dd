"""Customer view: every policy, claim, complaint and 保全 service request of one customer.

A customer's cases come from different aggregates, whose events reach the live consumer in no fixed order
across topics, while a rebuild reads them in store order. So that both give the same row, each list is
ordered by the recorded time of the event that opened the case (then by id), kept in ``opened_at``; for
events that arrive in time order this is simply insertion order. A case appears once however often its
opening event is delivered.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from uuid import UUID

from domain.base import DomainEvent
from domain.claim import ClaimReported
from domain.complaint import ComplaintLodged
from domain.policy import ProposalSubmitted
from domain.service_request import ServiceRequested
from projections.base import Column, Key, Row, Table
from projections.columns import from_iso, iso, utc

CUSTOMERS = Table(
    name="customers",
    columns=(
        Column("customer_id", "text", nullable=False),
        Column("policy_ids", "jsonb", nullable=False),
        Column("claim_ids", "jsonb", nullable=False),
        Column("complaint_ids", "jsonb", nullable=False),
        # 保全 requests: nullable, so a table created before it gains it (null reads as none yet).
        Column("service_request_ids", "jsonb"),
        Column("opened_at", "jsonb", nullable=False),
        Column("updated_at", "timestamptz", nullable=False),
    ),
    key=("customer_id",),
)

_LIST_OF: dict[type[DomainEvent], str] = {
    ProposalSubmitted: "policy_ids",
    ClaimReported: "claim_ids",
    ComplaintLodged: "complaint_ids",
    ServiceRequested: "service_request_ids",
}


class CustomersView:
    """A customer's cases, by customer id."""

    @property
    def table(self) -> Table:
        return CUSTOMERS

    def keys(self, event: DomainEvent) -> Sequence[Key]:
        """The customer of a newly opened policy, claim or complaint."""
        if isinstance(event, ProposalSubmitted | ClaimReported | ComplaintLodged | ServiceRequested):
            return [(event.customer_id,)]
        return []

    def evolve(self, key: Key, row: Row | None, event: DomainEvent) -> Row | None:
        """The customer's row with the new case placed by its opening time."""
        column = _LIST_OF.get(type(event))
        if column is None:
            return row
        case_id = str(event.originator_id)
        base: Row = row or {
            "customer_id": key[0],
            "policy_ids": [],
            "claim_ids": [],
            "complaint_ids": [],
            "service_request_ids": [],
            "opened_at": {},
            "updated_at": utc(event.recorded_at),
        }
        listed = base.get(column) or []
        if case_id in listed:
            return base
        opened_at = {**base["opened_at"], case_id: iso(event.recorded_at)}
        ids = list(listed)
        bisect.insort(ids, case_id, key=lambda i: (from_iso(opened_at[i]), UUID(i)))
        return {
            **base,
            column: ids,
            "opened_at": opened_at,
            "updated_at": max(base["updated_at"], utc(event.recorded_at)),
        }
