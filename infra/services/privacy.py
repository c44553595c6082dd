"""Privacy (个人信息): the data subjects' application service, with the erasure of a customer's personal data.

Erasure reads the customer's cases from the event store itself (their opening events name the customer),
loads each from its authoritative aggregate, lets ``DataSubject.erase`` check every retention clock
against the server's day, records ``PersonalDataErased``, and only then destroys the customer's key. A crash
between the two leaves the erasure recorded and the key alive: running the erasure again destroys it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg import sql

from domain.base import SHANGHAI, Context
from domain.privacy import (
    CaseRecord,
    DataSubject,
    HoldGround,
    RetentionHold,
    claim_record,
    complaint_record,
    policy_record,
    retention_holds,
    subject_id_for,
)
from infra.clock import Clock
from infra.services.claims import Claims
from infra.services.complaints import Complaints
from infra.services.policies import Policies
from infra.store.eventstore import Caller, CaseApplication, CaseNotFoundError, CommandResult
from infra.store.keystore import KeyStore


class CustomerCases:
    """A customer's policies, claims and complaints, found in the event store and loaded as they stand."""

    def __init__(self, policies: Policies, claims: Claims, complaints: Complaints) -> None:
        self._policies = policies
        self._claims = claims
        self._complaints = complaints

    def records(self, customer_id: str) -> list[CaseRecord]:
        """Every case of the customer, as the retention rules see it."""
        records = [policy_record(self._policies.load(i)) for i in _opened_for(self._policies, customer_id)]
        records += [claim_record(self._claims.load(i)) for i in _opened_for(self._claims, customer_id)]
        records += [
            complaint_record(self._complaints.load(i)) for i in _opened_for(self._complaints, customer_id)
        ]
        return records


def _opened_for(app: CaseApplication[Any], customer_id: str) -> list[UUID]:
    # The customer id is never sealed, so the opening events can be searched in the store itself: slow on
    # a large store (a scan), but authoritative, and an erasure is rare.
    statement = sql.SQL(
        "SELECT originator_id FROM {} WHERE originator_version = 1"
        " AND convert_from(state, 'UTF8')::jsonb ->> 'customer_id' = %s ORDER BY originator_id"
    ).format(app.events_table())
    return [row["originator_id"] for row in app.read_events(statement, (customer_id,))]


@dataclass(frozen=True)
class HoldStatus:
    """A retention hold and whether it still keeps the customer's data today."""

    hold: RetentionHold
    applies: bool


class Privacy(CaseApplication[DataSubject]):
    """Data-subject commands: retention holds placed by hand, and erasure (crypto-shredding)."""

    aggregate_class = DataSubject
    kind = "data subject"
    bounded_context = "privacy"

    def __init__(
        self,
        env: dict[str, str],
        clock: Clock,
        keys: KeyStore,
        cases: CustomerCases,
        snapshot_interval: int = 50,
    ) -> None:
        super().__init__(env, clock, snapshot_interval)
        self.keys = keys
        self.cases = cases

    def erase(self, caller: Caller, customer_id: str, *, reason: str) -> CommandResult:
        """Erase the customer's personal data, refused while a retention hold applies."""
        cases = self.cases.records(customer_id)
        subject = self._subject(customer_id)
        if subject is not None and subject.erased_at is not None:
            # Recorded before, but the process may have died before the key was destroyed.
            self.keys.destroy(
                customer_id, erased_at=subject.erased_at, erased_by=caller.actor.id, reason=reason
            )
        result = self._command(caller, customer_id, lambda s, ctx: s.erase(ctx, reason=reason, cases=cases))
        erased = self.load(result.case_id)
        assert erased.erased_at is not None
        self.keys.destroy(customer_id, erased_at=erased.erased_at, erased_by=caller.actor.id, reason=reason)
        return result

    def place_hold(
        self, caller: Caller, customer_id: str, *, hold_id: str, ground: HoldGround, reason: str
    ) -> CommandResult:
        """Keep the customer's personal data until the hold is released (a dispute: 2 years more)."""
        return self._command(
            caller,
            customer_id,
            lambda s, ctx: s.place_hold(ctx, hold_id=hold_id, ground=ground, reason=reason),
        )

    def release_hold(self, caller: Caller, customer_id: str, *, hold_id: str, reason: str) -> CommandResult:
        """Release a hold placed by hand."""
        return self._command(
            caller, customer_id, lambda s, ctx: s.release_hold(ctx, hold_id=hold_id, reason=reason)
        )

    def holds(self, customer_id: str) -> list[HoldStatus]:
        """Every retention clock of the customer today, and whether it still applies."""
        subject = self._subject(customer_id)
        manual = subject.holds.values() if subject is not None else ()
        today = self.clock.now().astimezone(SHANGHAI).date()
        return [
            HoldStatus(hold, hold.applies_on(today))
            for hold in retention_holds(self.cases.records(customer_id), manual)
        ]

    def _subject(self, customer_id: str) -> DataSubject | None:
        try:
            return self.load(subject_id_for(customer_id))
        except CaseNotFoundError:
            return None

    def _command(
        self, caller: Caller, customer_id: str, command: Callable[[DataSubject, Context], None]
    ) -> CommandResult:
        ctx = self.context(caller)
        subject = self._subject(customer_id)
        expected: int | None = None
        if subject is None:
            subject = DataSubject.open(ctx, customer_id=customer_id)
        else:
            expected = subject.version
        command(subject, ctx)
        return self._save(subject, expected_version=expected)
