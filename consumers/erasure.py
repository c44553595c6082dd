"""Consumers forget an erased customer's key as soon as they see the erasure, not when their cache expires."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import Connection

from consumers.processing import BatchHandler
from domain.base import DomainEvent
from domain.privacy import PersonalDataErased
from infra.messaging.contract import ReceivedEvent
from infra.store.keystore import KeyStore


class ForgetErasedKeys:
    """A group's handler that, on ``PersonalDataErased``, first drops the customer's cached key."""

    def __init__(self, keys: KeyStore, handler: BatchHandler) -> None:
        self.keys = keys
        self.handler = handler

    def handle(self, conn: Connection[Any], event: DomainEvent, received: ReceivedEvent) -> None:
        if isinstance(event, PersonalDataErased):
            # Before the effect: whatever this process decodes next for the customer reads as erased.
            self.keys.forget(event.customer_id)
        self.handler.handle(conn, event, received)

    def handle_many(self, conn: Connection[Any], events: Sequence[tuple[DomainEvent, ReceivedEvent]]) -> None:
        first = next((n for n, (e, _) in enumerate(events) if isinstance(e, PersonalDataErased)), len(events))
        erasures = [event for event, _ in events[first:]]
        if not all(isinstance(event, PersonalDataErased) for event in erasures):
            # The events after the first erasure were decoded with its key still cached: one at a time, each
            # is decoded after the erasures before it dropped their keys.
            raise ErasureInBatchError("an erasure with other events after it in the batch")
        for event in erasures:
            if isinstance(event, PersonalDataErased):
                self.keys.forget(event.customer_id)
        self.handler.handle_many(conn, events)


class ErasureInBatchError(Exception):
    """A batch holds events after an erasure: they must be taken one at a time (``Processor.process``)."""
