"""How events become stored rows: pydantic JSON payloads under their explicit wire names.

This is the single seam between the domain's events and the bytes in the store. Personal fields (marked
``PERSONAL`` in the event types) are sealed here with their customer's key (``infra/keystore.py``), so the
store, the Kafka topics (the relay publishes the stored bytes) and the dead letters only ever hold them
sealed; reading opens them, or yields ``ERASED`` once the customer's key is destroyed.

Whose personal data it is comes from the event's own ``customer_id`` or, for events that do not carry one
(a settlement's payee, a disclosure's answers), from the aggregate being saved: ``personal_data_of``.
Snapshots hold aggregate state, which keeps no personal field (``test_no_aggregate_keeps_personal_data``).
"""

from __future__ import annotations

import typing
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from functools import cache
from typing import Any, cast
from uuid import UUID

import orjson
from eventsourcing.domain import DomainEventProtocol, Snapshot
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder, Transcoding
from eventsourcing.utils import get_topic, resolve_topic
from pydantic import TypeAdapter

from domain.base import DomainEvent
from infra.store.keystore import SubjectKeys, is_sealed, open_sealed, seal

_SUBJECT: ContextVar[str | None] = ContextVar("caseledger_personal_data_subject", default=None)


@contextmanager
def personal_data_of(customer_id: str | None) -> Iterator[None]:
    """Events stored inside this block without a ``customer_id`` of their own belong to this customer."""
    token = _SUBJECT.set(customer_id)
    try:
        yield
    finally:
        _SUBJECT.reset(token)


class PersonalDataUnprotectedError(Exception):
    """A personal field would be stored without its customer's key: refused rather than kept in clear."""


class JsonTranscoder(Transcoder):
    """Bytes in and out for JSON-ready payloads (pydantic did the typing already)."""

    def register(self, transcoding: Transcoding) -> None:
        raise NotImplementedError("payloads are pydantic models: no custom transcodings")

    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(obj)

    def decode(self, data: bytes) -> Any:
        return orjson.loads(data)


class CaseEventMapper(Mapper[UUID]):
    """Maps case events (pydantic) and aggregate snapshots to stored events and back."""

    keys: SubjectKeys | None = None
    """The customers' data keys (the composition root sets them); without them no personal field is stored."""

    def use_keys(self, keys: SubjectKeys) -> None:
        """Seal and open personal fields with these keys."""
        self.keys = keys

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        event_class = type(domain_event)
        if (
            isinstance(domain_event, DomainEvent)
            and not _personal_fields(event_class)
            and _class_version(event_class) == 1
        ):
            # Nothing to seal or add: pydantic writes the JSON itself, the same bytes as the dict + orjson
            # way below (``test_event_schemas``), without the dict (most of an event's encoding time).
            payload = _json(domain_event)
            return StoredEvent(
                originator_id=domain_event.originator_id,
                originator_version=domain_event.originator_version,
                topic=get_topic(event_class),
                state=self.protect(domain_event, payload),
            )
        if isinstance(domain_event, DomainEvent):
            state = domain_event.model_dump(mode="json", exclude=_excluded(domain_event))
            personal = _personal_fields(event_class)
            if personal:
                self._seal(domain_event, state, personal)
        elif isinstance(domain_event, Snapshot):
            state = {
                "timestamp": domain_event.timestamp.isoformat(),
                "topic": domain_event.topic,
                "state": _SNAPSHOT_ADAPTER.dump_python(domain_event.state, mode="json"),
            }
        else:
            raise TypeError(f"cannot store {event_class.__qualname__}: not a case event or snapshot")
        class_version = getattr(event_class, "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        payload = self.protect(domain_event, self.transcoder.encode(state))
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=get_topic(event_class),
            state=payload,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        event_class = resolve_topic(stored_event.topic)
        state: dict[str, Any] = self.transcoder.decode(self.reveal(stored_event, stored_event.state))
        from_version = state.pop("class_version", 1)
        class_version = _class_version(event_class)
        # Upcast old shapes one version at a time, as the library's own mapper does.
        while from_version < class_version:
            getattr(event_class, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        originator_id = _as_uuid(stored_event.originator_id)
        if issubclass(event_class, DomainEvent):
            personal = _personal_fields(event_class)
            if personal:
                self._open(state, personal)
            state["originator_id"] = originator_id
            state["originator_version"] = stored_event.originator_version
            return cast(DomainEventProtocol[UUID], event_class.model_validate(state))
        if issubclass(event_class, Snapshot):
            aggregate_class = resolve_topic(state["topic"])
            snapshot = event_class(
                originator_id=originator_id,
                originator_version=stored_event.originator_version,
                timestamp=datetime.fromisoformat(state["timestamp"]),
                topic=state["topic"],
                state=restore_aggregate_state(aggregate_class, state["state"]),
            )
            return cast(DomainEventProtocol[UUID], snapshot)
        raise TypeError(f"cannot load stored topic {stored_event.topic!r}")

    def _seal(self, event: DomainEvent, state: dict[str, Any], fields: tuple[str, ...]) -> None:
        customer_id = state.get("customer_id") or _SUBJECT.get()
        if self.keys is None or not isinstance(customer_id, str):
            raise PersonalDataUnprotectedError(
                f"{event.TOPIC} has personal fields but "
                + (
                    "no key store is configured"
                    if self.keys is None
                    else "no customer is known to seal them for"
                )
            )
        key = self.keys.key_for_writing(customer_id)
        for name in fields:
            value = state[name]
            if isinstance(value, str):
                state[name] = seal(key, customer_id, value)
            elif isinstance(value, list):
                state[name] = [seal(key, customer_id, item) for item in value]

    def _open(self, state: dict[str, Any], fields: tuple[str, ...]) -> None:
        for name in fields:
            value = state.get(name)
            if isinstance(value, str):
                state[name] = self._open_value(value)
            elif isinstance(value, list):
                state[name] = [self._open_value(item) for item in value]

    def _open_value(self, value: str) -> str:
        # Values stored before personal fields were sealed stay as they were: they cannot be rewritten.
        if not is_sealed(value):
            return value
        if self.keys is None:
            raise PersonalDataUnprotectedError(
                "a sealed personal field cannot be opened: no key store is configured"
            )
        return open_sealed(self.keys, value)

    # Hooks for a per-case hash chain or other whole-payload transforms.
    def protect(self, domain_event: DomainEventProtocol[UUID], payload: bytes) -> bytes:
        """Transform a payload before it is stored."""
        return payload

    def reveal(self, stored_event: StoredEvent, payload: bytes) -> bytes:
        """Undo ``protect`` when a payload is read."""
        return payload


_EXCLUDED: dict[tuple[bool, bool], set[str]] = {
    (parent, state): (
        {"originator_id", "originator_version"}
        | ({"traceparent"} if parent else set())
        | ({"tracestate"} if state else set())
    )
    for parent in (False, True)
    for state in (False, True)
}


def _excluded(event: DomainEvent) -> set[str]:
    """What an event's payload leaves out: the row's own columns, and a trace context it does not have (an
    untraced command's events store none at all: their bytes stay as before tracing)."""
    return _EXCLUDED[(event.traceparent is None, event.tracestate is None)]


def _json(event: DomainEvent) -> bytes:
    """The payload of an event with nothing to seal, as the serializer writes it."""
    return event.__pydantic_serializer__.to_json(event, exclude=_excluded(event))


_SNAPSHOT_ADAPTER: TypeAdapter[dict[str, Any]] = TypeAdapter(dict[str, Any])


def _as_uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)


@cache
def _class_version(event_class: type) -> int:
    # Once per class: on a pydantic model a missing class attribute is an AttributeError raised and caught,
    # which costs more than the rest of the lookup when a rebuild decodes every stored event.
    return int(getattr(event_class, "class_version", 1))


@cache
def _personal_fields(event_class: type) -> tuple[str, ...]:
    if issubclass(event_class, DomainEvent):
        return event_class.personal_fields()
    return ()


@cache
def _state_adapters(aggregate_class: type) -> dict[str, TypeAdapter[Any]]:
    hints = typing.get_type_hints(aggregate_class)
    adapters = {name: TypeAdapter(hint) for name, hint in hints.items() if not name.startswith("__")}
    # The library keeps these two on every aggregate; they are not in our annotations.
    adapters["_created_on"] = TypeAdapter(datetime)
    adapters["_modified_on"] = TypeAdapter(datetime)
    return adapters


def restore_aggregate_state(aggregate_class: type, state: dict[str, Any]) -> dict[str, Any]:
    """Give a snapshot's JSON state back its types, from the aggregate's annotated attributes."""
    adapters = _state_adapters(aggregate_class)
    missing = set(state) - set(adapters)
    if missing:
        raise TypeError(f"{aggregate_class.__qualname__} does not annotate {sorted(missing)}: cannot restore")
    return {name: adapters[name].validate_python(value) for name, value in state.items()}
