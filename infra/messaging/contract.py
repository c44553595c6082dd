"""The Kafka message contract: how one stored event travels to projections, timers and downstream systems.

- Topic: ``<prefix>.<context>`` (``caseledger.policy``, ``caseledger.claim``, ``caseledger.complaint``,
  ``caseledger.callback``), partitioned by the case id, so one case's events stay in order.
- Key: the case id (UUID text, UTF-8).
- Value: the event payload as JSON, exactly the bytes the event store keeps (so whatever the mapper
  protects at rest, such as personal fields, stays protected on the topic); it has ``class_version``
  when the shape is newer than version 1. Consumers decode it through the same mapper.
- Headers: the CloudEvents 1.0 Kafka binary binding (``ce_specversion``, ``ce_id``, ``ce_source``,
  ``ce_type`` = the versioned wire name, ``ce_time``, ``ce_subject`` = the case id, ``content-type``) and
  extension attributes, so that a CloudEvents SDK reading the topic sees them as attributes:
  ``ce_sequence`` (the documented sequence extension: the case version, zero-padded to ten digits so that
  it orders lexicographically), ``ce_partitionkey`` (the partitioning extension: the case id, also the
  record key), and caseledger's own, named by the spec's rule (lower-case letters and digits only):
  ``ce_casecontext``, ``ce_caseversion``, ``ce_storeposition``, ``ce_correlationid``, ``ce_causationid``
  (absent when none), ``ce_actorid``, ``ce_actorrole``; and the distributed-tracing extension
  ``ce_traceparent`` / ``ce_tracestate`` (W3C trace context) when the event was recorded in a traced
  command: the relay, when it traces, replaces the stored context with its producer span's
  (``infra/tracing.py``).
- Deprecated, kept for one release so that existing subscribers keep working: the same values under
  ``caseledger_context``, ``caseledger_version``, ``caseledger_position``, ``caseledger_correlation_id``,
  ``caseledger_causation_id``, ``caseledger_actor_id``, ``caseledger_actor_role``. Readers here take the
  extension attributes first and fall back to these (messages published by an older relay).

``ce_id`` is derived from (case id, version), so a republished event carries the same id as before.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol
from uuid import UUID

import orjson
from eventsourcing.persistence import Mapper, Notification, StoredEvent

from domain.base import DomainEvent
from infra.tracing import H_TRACEPARENT, H_TRACESTATE

SPEC_VERSION = b"1.0"
CONTENT_TYPE = b"application/json"

# CloudEvents extension attributes (binary binding: ``ce_`` + the attribute's name).
H_SEQUENCE = "ce_sequence"
H_PARTITION_KEY = "ce_partitionkey"
H_CONTEXT = "ce_casecontext"
H_VERSION = "ce_caseversion"
H_POSITION = "ce_storeposition"
H_CORRELATION = "ce_correlationid"
H_CAUSATION = "ce_causationid"
H_ACTOR_ID = "ce_actorid"
H_ACTOR_ROLE = "ce_actorrole"

# Deprecated names of the same values (one release): each extension header → the header it replaces.
DEPRECATED_HEADERS = {
    H_CONTEXT: "caseledger_context",
    H_VERSION: "caseledger_version",
    H_POSITION: "caseledger_position",
    H_CORRELATION: "caseledger_correlation_id",
    H_CAUSATION: "caseledger_causation_id",
    H_ACTOR_ID: "caseledger_actor_id",
    H_ACTOR_ROLE: "caseledger_actor_role",
}

_EXTENSIONS = (H_CONTEXT, H_VERSION, H_POSITION, H_CORRELATION, H_CAUSATION, H_ACTOR_ID, H_ACTOR_ROLE)
"""caseledger's extension attributes, in the order their headers follow the CloudEvents ones."""
_DEPRECATED = tuple(DEPRECATED_HEADERS[name] for name in _EXTENSIONS)

SEQUENCE_DIGITS = 10  # a case version is a positive 32-bit integer: at most ten digits

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


class StoredNotification(Protocol):
    """What ``text_headers`` reads of a stored event: the fields of the library's ``Notification``."""

    @property
    def id(self) -> int: ...

    @property
    def originator_id(self) -> UUID | str: ...

    @property
    def originator_version(self) -> int: ...

    @property
    def topic(self) -> str: ...


def text_headers(context: str, notification: StoredNotification, payload: bytes) -> dict[str, str]:
    """The headers of ``message_for`` as text, in the same order (every header value is UTF-8 text).

    For clients that take text headers and encode them themselves (FastStream): no bytes → text round trip.
    """
    case_id = _uuid(notification.originator_id)
    headers = header_bytes(
        context,
        str(case_id),
        case_id.bytes,
        notification.originator_version,
        notification.id,
        notification.topic,
        orjson.loads(payload),
    )
    return {name: value.decode() for name, value in with_content_type(headers)}


CONTENT_TYPE_HEADER = ("content-type", CONTENT_TYPE)
"""The one header every message carries alike."""
_BEFORE_CONTENT_TYPE = 6
"""``content-type`` follows the six required attributes, ``ce_specversion`` … ``ce_subject``."""


def with_content_type(headers: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """``header_bytes`` with ``content-type`` in its place: every header of a message, in order."""
    return [*headers[:_BEFORE_CONTENT_TYPE], CONTENT_TYPE_HEADER, *headers[_BEFORE_CONTENT_TYPE:]]


@lru_cache(maxsize=64)
def _context_headers(context: str) -> tuple[tuple[str, bytes], tuple[str, bytes], bytes]:
    # The same for every event of a context: built once, not per message (the relay's hot path).
    return ("ce_specversion", SPEC_VERSION), ("ce_source", f"caseledger/{context}".encode()), context.encode()


def header_bytes(
    context: str,
    case_text: str,
    case_bytes: bytes,
    version: int,
    position: int,
    topic: str,
    state: dict[str, Any],
) -> list[tuple[str, bytes]]:
    """Every header of a stored event's message but ``content-type`` (the same for all), in their order.

    Built from the row's plain values (the case id as text and as its 16 bytes) and its decoded state, each
    value encoded once however many headers carry it: the relay's reading thread spent more time here than
    on anything else.
    """
    specversion, source, context_value = _context_headers(context)
    actor = state.get("actor") or {}
    version_text = str(version)
    version_value = version_text.encode()
    case_value = case_text.encode()
    extensions = (
        context_value,
        version_value,
        str(position).encode(),
        str(state.get("correlation_id") or "").encode(),
        str(state.get("causation_id") or "").encode(),
        str(actor.get("id", "")).encode(),
        str(actor.get("role", "")).encode(),
    )
    headers = [
        specversion,
        ("ce_id", _event_id(case_bytes, version_text).encode()),
        source,
        ("ce_type", topic.encode()),
        ("ce_time", str(state.get("timestamp", "")).encode()),
        ("ce_subject", case_value),
        (H_SEQUENCE, version_text.zfill(SEQUENCE_DIGITS).encode()),
        (H_PARTITION_KEY, case_value),
    ]
    # An empty extension attribute is not allowed (CloudEvents: a non-empty string or absent).
    headers += [header for header in zip(_EXTENSIONS, extensions, strict=True) if header[1]]
    headers += zip(_DEPRECATED, extensions, strict=True)
    traceparent = state.get("traceparent")
    if traceparent:
        headers.append((H_TRACEPARENT, traceparent.encode()))
        tracestate = state.get("tracestate")
        if tracestate:
            headers.append((H_TRACESTATE, tracestate.encode()))
    return headers


def event_id_text(case_id: UUID, version: int) -> str:
    """``str(event_id_for(case_id, version))``, the UUID 5 computed without building UUID objects.

    The relay's hot path: a third of ``uuid.uuid5`` + ``str``'s time. Tested against ``event_id_for``.
    """
    return _event_id(case_id.bytes, str(version))


def _event_id(case_bytes: bytes, version_text: str) -> str:
    # UUID 5 of the name (case id bytes + version text) in the case's namespace: SHA-1, then the version
    # nibble set to 5 and the variant's two bits to 10, written straight into the hex text.
    text = hashlib.sha1(case_bytes + version_text.encode()).hexdigest()  # noqa: S324 - UUID 5 is SHA-1
    variant = "89ab"[int(text[16], 16) & 0x3]
    return f"{text[:8]}-{text[8:12]}-5{text[13:16]}-{variant}{text[17:20]}-{text[20:32]}"


def message_from_text(topic: str, value: bytes, headers: dict[str, str]) -> EventMessage:
    """The message of ``text_headers``' headers (the key is the case id, ``ce_subject``)."""
    return EventMessage(
        topic=topic,
        key=headers["ce_subject"].encode(),
        value=value,
        headers=tuple((name, text.encode()) for name, text in headers.items()),
    )


def message_for(prefix: str, context: str, notification: Notification, payload: bytes) -> EventMessage:
    """The message for a stored event; ``payload`` is its stored JSON state."""
    return message_from_text(
        topic_name(prefix, context), payload, text_headers(context, notification, payload)
    )


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
                context=_header(found, H_CONTEXT).decode(),
                case_id=UUID(found["ce_subject"].decode()),
                version=int(_header(found, H_VERSION)),
                wire_name=found["ce_type"].decode(),
                position=int(_header(found, H_POSITION)),
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


def _header(found: dict[str, bytes], name: str) -> bytes:
    """An extension attribute's header, or the deprecated header of the same value (an older relay's)."""
    if name in found:
        return found[name]
    return found[DEPRECATED_HEADERS[name]]


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)
