"""How events become stored rows: pydantic JSON payloads under their explicit wire names.

This is the single seam between the domain's events and the bytes in the store. Per-customer encryption
of personal fields and a per-case hash chain (later issues) hook in here through ``protect`` / ``reveal``,
without touching the domain.
"""

from __future__ import annotations

import typing
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

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        event_class = type(domain_event)
        if isinstance(domain_event, DomainEvent):
            state = domain_event.model_dump(mode="json", exclude={"originator_id", "originator_version"})
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
        class_version = getattr(event_class, "class_version", 1)
        # Upcast old shapes one version at a time, as the library's own mapper does.
        while from_version < class_version:
            getattr(event_class, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        originator_id = _as_uuid(stored_event.originator_id)
        if issubclass(event_class, DomainEvent):
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

    # Hooks for later issues: per-customer encryption of personal fields, per-case hash chain.
    def protect(self, domain_event: DomainEventProtocol[UUID], payload: bytes) -> bytes:
        """Transform a payload before it is stored."""
        return payload

    def reveal(self, stored_event: StoredEvent, payload: bytes) -> bytes:
        """Undo ``protect`` when a payload is read."""
        return payload


_SNAPSHOT_ADAPTER: TypeAdapter[dict[str, Any]] = TypeAdapter(dict[str, Any])


def _as_uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)


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
