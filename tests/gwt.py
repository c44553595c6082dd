"""Given / When / Then for aggregates: replay the history, run the command, check its events or refusal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from uuid import uuid4

import pytest

from domain.base import Actor, CaseAggregate, Context, DomainEvent, Role

A = TypeVar("A", bound=CaseAggregate)

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


def ctx(role: Role, actor: str | None = None, at: datetime = T0) -> Context:
    """A command envelope for an actor of ``role`` (the actor id defaults to the role's name)."""
    return Context(
        actor=Actor(id=actor or f"{role.value}-1", role=role), recorded_at=at, correlation_id=uuid4()
    )


@dataclass
class Then(Generic[A]):
    aggregate: A
    new_events: list[DomainEvent]
    error: Exception | None

    def events(self, *types: type[DomainEvent]) -> list[DomainEvent]:
        """The command succeeded and recorded exactly these events, in order."""
        if self.error is not None:
            raise AssertionError(f"expected events, got refusal {self.error!r}") from self.error
        assert [type(e) for e in self.new_events] == list(types)
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
