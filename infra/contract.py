"""The Kafka message contract: how one stored event travels to projections, timers and downstream systems.

- Topic: ``<prefix>.<context>`` (``caseledger.policy``, ``caseledger.claim``, ``caseledger.complaint``,
  ``caseledger.callback``), partitioned by the case id, so one case's events stay in order.
- Key: the case id (UUID text, UTF-8).
- Value: the event payload as JSON, exactly the bytes the event store keeps (so whatever the mapper
  protects at rest, such as personal fields, stays protected on the topic); it has ``class_version``
  when the shape is newer than version 1. Consumers decode it through the same mapper.
- Headers: the CloudEvents 1.0 Kafka binary binding (``ce_specversion``, ``ce_id``, ``ce_source``,
  ``ce_type`` = the versioned wire name, ``ce_time``, ``ce_subject`` = the case id, ``content-type``) plus
  caseledger's own: version, store position, correlation and causation ids, actor id and role.

``ce_id`` is derived from (case id, version), so a republished event carries the same id as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Mapper, Notification, StoredEvent

from domain.base import DomainEvent, event_id_for

SPEC_VERSION = b"1.0"
CONTENT_TYPE = b"application/json"

H_VERSION = "caseledger_version"
H_POSITION = "caseledger_position"
H_CORRELATION = "caseledger_correlation_id"
H_CAUSATION = "caseledger_causation_id"
H_ACTOR_ID = "caseledger_actor_id"
H_ACTOR_ROLE = "caseledger_actor_role"
H_CONTEXT = "caseledger_context"

Headers = tuple[tuple[str, bytes], ...]


def topic_name(prefix: str, context: str) -> str:
    """The Kafka topic of a bounded context."""
    return f"{prefix}.{context}"


@dataclass(frozen=True)
class EventMessage:
    """One event as it is published: topic, key, value and headers."""

    topic: str
    key: bytes
    value: bytes
    headers: Headers

    def header(self, name: str) -> bytes | None:
        return next((v for k, v in self.headers if k == name), None)


@lru_cache(maxsize=64)
def _fixed_headers(context: str) -> tuple[tuple[str, bytes], tuple[str, bytes], tuple[str, bytes]]:
    # The same for every event of a context: built once, not per message (the relay's hot path).
    return (
        ("ce_source", f"caseledger/{context}".encode()),
        ("content-type", CONTENT_TYPE),
        (H_CONTEXT, context.encode()),
    )


def message_for(prefix: str, context: str, notification: Notification, payload: bytes) -> EventMessage:
    """The message for a stored event; ``payload`` is its stored JSON state."""
    state: dict[str, Any] = orjson.loads(payload)
    case_id = _uuid(notification.originator_id)
    case_text = str(case_id).encode()
    version = notification.originator_version
    actor = state.get("actor") or {}
    source, content_type, context_header = _fixed_headers(context)
    headers = (
        ("ce_specversion", SPEC_VERSION),
        ("ce_id", str(event_id_for(case_id, version)).encode()),
        source,
        ("ce_type", notification.topic.encode()),
        ("ce_time", str(state.get("timestamp", "")).encode()),
        ("ce_subject", case_text),
        content_type,
        context_header,
        (H_VERSION, str(version).encode()),
        (H_POSITION, str(notification.id).encode()),
        (H_CORRELATION, str(state.get("correlation_id") or "").encode()),
        (H_CAUSATION, str(state.get("causation_id") or "").encode()),
        (H_ACTOR_ID, str(actor.get("id", "")).encode()),
        (H_ACTOR_ROLE, str(actor.get("role", "")).encode()),
    )
    return EventMessage(topic=topic_name(prefix, context), key=case_text, value=payload, headers=headers)


@dataclass(frozen=True)
class ReceivedEvent:
    """An event as a consumer receives it: where it came from and what it says."""

    context: str
    case_id: UUID
    version: int
    wire_name: str
    position: int
    value: bytes

    @classmethod
    def from_message(cls, key: bytes | None, value: bytes, headers: Headers) -> ReceivedEvent:
        """Read a message; a message without caseledger's headers is refused with ValueError."""
        found = dict(headers)
        try:
            return cls(
                context=found[H_CONTEXT].decode(),
                case_id=UUID(found["ce_subject"].decode()),
                version=int(found[H_VERSION]),
                wire_name=found["ce_type"].decode(),
                position=int(found[H_POSITION]),
                value=value,
            )
        except (KeyError, ValueError) as exc:
            raise ValueError(f"not a caseledger event message: {exc!r}") from exc

    def event(self, mapper: Mapper[UUID]) -> DomainEvent:
        """The domain event, through the same mapper (and upcasts) as the store uses."""
        stored = StoredEvent(self.case_id, self.version, self.wire_name, self.value)
        event = mapper.to_domain_event(stored)
        if not isinstance(event, DomainEvent):
            raise ValueError(f"{self.wire_name} is not a case event")
        return event


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)
