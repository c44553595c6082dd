"""The projections group's erasure wrapper given a batch, in memory: an erasure drops the key before anything
decoded after it, so a batch with events after an erasure is refused (and taken one at a time)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import pytest
from psycopg import Connection

from consumers.erasure import ErasureInBatchError, ForgetErasedKeys
from domain.base import DomainEvent
from domain.complaint import ComplaintLodged
from domain.privacy import PersonalDataErased
from infra.messaging.contract import ReceivedEvent
from infra.store.keystore import KeyStore

CONN = cast(Connection[Any], None)  # the stand-in handler never touches it
RECEIVED = ReceivedEvent.__new__(ReceivedEvent)  # nor the envelope


class ForgottenKeys:
    def __init__(self) -> None:
        self.forgotten: list[str] = []

    def forget(self, customer_id: str) -> None:
        self.forgotten.append(customer_id)


class Batches:
    def __init__(self) -> None:
        self.given: list[list[DomainEvent]] = []

    def handle(self, conn: Connection[Any], event: DomainEvent, received: ReceivedEvent) -> None:
        self.given.append([event])

    def handle_many(self, conn: Connection[Any], events: Sequence[tuple[DomainEvent, ReceivedEvent]]) -> None:
        self.given.append([event for event, _ in events])


def erased(customer_id: str) -> PersonalDataErased:
    # Unvalidated: only the class and the customer matter here.
    fields: dict[str, Any] = {"customer_id": customer_id}
    return PersonalDataErased.model_construct(**fields)


def lodged() -> ComplaintLodged:
    fields: dict[str, Any] = {}
    return ComplaintLodged.model_construct(**fields)


def wrapper() -> tuple[ForgetErasedKeys, ForgottenKeys, Batches]:
    keys, inner = ForgottenKeys(), Batches()
    return ForgetErasedKeys(cast(KeyStore, keys), inner), keys, inner


def test_a_batch_ending_with_an_erasure_drops_the_key_and_is_applied_together() -> None:
    handler, keys, inner = wrapper()
    events = [lodged(), lodged(), erased("CUST-1")]

    handler.handle_many(CONN, [(e, RECEIVED) for e in events])

    assert keys.forgotten == ["CUST-1"]
    assert inner.given == [events]


@pytest.mark.parametrize(
    "events",
    [[lodged(), erased("CUST-1"), lodged()], [erased("CUST-1"), lodged(), erased("CUST-2")]],
    ids=["event-last", "erasure-last"],
)
def test_a_batch_with_events_after_an_erasure_is_refused_before_anything_is_applied(
    events: list[DomainEvent],
) -> None:
    handler, keys, inner = wrapper()

    with pytest.raises(ErasureInBatchError):
        handler.handle_many(CONN, [(e, RECEIVED) for e in events])

    assert inner.given == []
    assert keys.forgotten == []  # the one-at-a-time path drops it, just before the events after it
