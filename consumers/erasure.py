"""Consumers forget an erased customer's key as soon as they see the erasure, not when their cache expires."""

from __future__ import annotations

from typing import Any

from psycopg import Connection

from consumers.processing import Handler
from domain.base import DomainEvent
from domain.privacy import PersonalDataErased
from infra.messaging.contract import ReceivedEvent
from infra.store.keystore import KeyStore


class ForgetErasedKeys:
    """A group's handler that, on ``PersonalDataErased``, first drops the customer's cached key."""

    def __init__(self, keys: KeyStore, handler: Handler) -> None:
        self.keys = keys
        self.handler = handler

    def handle(self, conn: Connection[Any], event: DomainEvent, received: ReceivedEvent) -> None:
        if isinstance(event, PersonalDataErased):
            # Before the effect: whatever this process decodes next for the customer reads as erased.
            self.keys.forget(event.customer_id)
        self.handler.handle(conn, event, received)
