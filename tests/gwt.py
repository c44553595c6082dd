"""Given / When / Then for aggregates: replay the history, run the command, check its events or refusal.

``Then.events`` compares what the command recorded with what the rule says it records: each expected event
is ``expect(EventType, field=value, ...)``, naming the payload fields the rule under test is about (the
values the command was given and the ones the rule computes). A bare event type, or ``expect`` with no
field, is accepted only for an event whose payload is empty, so that a command recording the right event
with the wrong amount, date, reason or actor cannot pass.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from uuid import uuid4

import pytest

from domain.base import Actor, CaseAggregate, CaseCreated, Context, DomainEvent, Role

A = TypeVar("A", bound=CaseAggregate)

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai

ENVELOPE_FIELDS = frozenset(DomainEvent.model_fields) | frozenset(CaseCreated.model_fields)
"""What every event carries whatever its type: ids, version, actor, times, correlation, creation topic."""


def ctx(role: Role, actor: str | None = None, at: datetime = T0) -> Context:
    """A command envelope for an actor of ``role`` (the actor id defaults to the role's name)."""
    return Context(
        actor=Actor(id=actor or f"{role.value}-1", role=role), recorded_at=at, correlation_id=uuid4()
    )


def payload_fields(event_type: type[DomainEvent]) -> frozenset[str]:
    """The fields ``event_type`` records beyond the envelope."""
    return frozenset(event_type.model_fields) - ENVELOPE_FIELDS


@dataclass(frozen=True)
class Expected:
    """One event a command should record: its type and the values of the fields the rule is about."""

    event_type: type[DomainEvent]
    fields: Mapping[str, object]

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={value!r}" for name, value in self.fields.items())
        return f"{self.event_type.__name__}({values})"

    def mismatches(self, event: DomainEvent) -> list[str]:
        """Every expected field whose recorded value differs, in value or in type, named with both."""
        found = []
        for name, value in self.fields.items():
            actual = getattr(event, name)
            # The type is compared too: a StrEnum equals its plain string, but only the member is the fact.
            if actual != value or type(actual) is not type(value):
                found.append(
                    f"{self.event_type.__name__}.{name}: expected {value!r} "
                    f"({type(value).__name__}), got {actual!r} ({type(actual).__name__})"
                )
        return found


def expect(event_type: type[DomainEvent], /, **fields: object) -> Expected:
    """The event ``event_type`` with these field values (payload or envelope, e.g. ``actor``).

    A name the event does not have is refused at once, so a typo cannot make a check that never runs.
    """
    unknown = sorted(name for name in fields if not _has_attribute(event_type, name))
    if unknown:
        raise TypeError(f"{event_type.__name__} has no field {', '.join(unknown)}")
    return Expected(event_type, dict(fields))


def _has_attribute(event_type: type[DomainEvent], name: str) -> bool:
    # Fields, and the envelope's read-only views such as ``recorded_at`` and ``event_id``.
    return name in event_type.model_fields or isinstance(getattr(event_type, name, None), property)


def _expected(item: Expected | type[DomainEvent]) -> Expected:
    expected = item if isinstance(item, Expected) else Expected(item, {})
    payload = payload_fields(expected.event_type)
    if payload and not expected.fields:
        name = expected.event_type.__name__
        raise TypeError(
            f"{name} records a payload ({', '.join(sorted(payload))}): name the fields the rule is about, "
            f"expect({name}, field=value, ...)"
        )
    return expected


@dataclass
class Then(Generic[A]):
    aggregate: A
    new_events: list[DomainEvent]
    error: Exception | None

    def events(self, *expected: Expected | type[DomainEvent]) -> list[DomainEvent]:
        """The command succeeded and recorded exactly these events, in order, with these field values.

        Each item is ``expect(EventType, field=value, ...)``; a bare type only for an event with no
        payload (anything else is refused with TypeError, a mistake in the test rather than a failure).
        Every difference is reported at once: a wrong type, a missing or an extra event, and
        each field whose value differs, named with the value expected and the value recorded.
        """
        wanted = [_expected(item) for item in expected]
        if self.error is not None:
            raise AssertionError(
                f"expected events {wanted}, got refusal {type(self.error).__name__}: {self.error}"
            ) from self.error
        problems: list[str] = []
        for index in range(max(len(wanted), len(self.new_events))):
            if index >= len(self.new_events):
                problems.append(f"event {index}: expected {wanted[index]!r}, nothing was recorded")
                continue
            event = self.new_events[index]
            if index >= len(wanted):
                problems.append(f"event {index}: unexpected {type(event).__name__} was recorded")
                continue
            if type(event) is not wanted[index].event_type:
                problems.append(
                    f"event {index}: expected {wanted[index].event_type.__name__}, "
                    f"recorded {type(event).__name__}"
                )
                continue
            problems.extend(f"event {index}: {problem}" for problem in wanted[index].mismatches(event))
        if problems:
            recorded = ", ".join(type(e).__name__ for e in self.new_events) or "nothing"
            raise AssertionError(
                f"the command recorded [{recorded}], not what Then expected:\n  " + "\n  ".join(problems)
            )
        return self.new_events

    def refused(self, error_type: type[Exception], match: str | None = None) -> Exception:
        """The command was refused with ``error_type`` and recorded nothing."""
        assert isinstance(self.error, error_type), f"expected {error_type.__name__}, got {self.error!r}"
        assert self.new_events == []
        if match is not None:
            assert match in str(self.error)
        return self.error


@dataclass
class Given(Generic[A]):
    aggregate: A
    history: list[DomainEvent] = field(default_factory=list)

    def when(self, command: Callable[[A], Any]) -> Then[A]:
        error: Exception | None = None
        try:
            command(self.aggregate)
        except Exception as exc:  # noqa: BLE001 - the refusal is the result under test
            error = exc
        new = [e for e in self.aggregate.collect_events() if isinstance(e, DomainEvent)]
        return Then(self.aggregate, new, error)


def given(aggregate: A) -> Given[A]:
    """Take an aggregate built by earlier commands; its events become the history and are replayed."""
    history = [e for e in aggregate.collect_events() if isinstance(e, DomainEvent)]
    replayed: Any = None
    for event in history:
        replayed = event.mutate(replayed)
    if replayed is None:
        replayed = aggregate
    return Given(replayed, history)


def refuses(error_type: type[Exception]) -> Any:
    """Shorthand for pytest.raises when a command is called directly."""
    return pytest.raises(error_type)
