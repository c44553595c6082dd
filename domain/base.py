"""What every case event and aggregate shares: the envelope, the actor, exact money, personal-data marks.

Events are pydantic models so that their payload schema is the contract published to downstream systems.
Each event class names an explicit, versioned wire name in ``TOPIC`` (the `eventsourcing` library's own
mechanism for explicit topics), so that a stored or published event never depends on a Python import path.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Concatenate, ParamSpec, Self, TypeVar
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo

from eventsourcing.domain import Aggregate, CanInitAggregate, CanMutateAggregate
from eventsourcing.utils import register_topic
from pydantic import BaseModel, ConfigDict, Field

SHANGHAI = ZoneInfo("Asia/Shanghai")
"""Business days, deadlines and quiet hours are reckoned in Asia/Shanghai."""


class Role(StrEnum):
    """The staff roles the system knows (domain brief, "People and roles"), plus the system's own timers."""

    SELLER = "seller"
    UNDERWRITER = "underwriter"
    CLAIMS_HANDLER = "claims_handler"
    SURVEYOR = "surveyor"
    ADJUSTER = "adjuster"
    CLAIM_REVIEWER = "claim_reviewer"
    COMPLAINTS_OFFICER = "complaints_officer"
    CALLBACK_AGENT = "callback_agent"
    SUPERVISOR = "supervisor"
    SENIOR_MANAGER = "senior_manager"
    AUDITOR = "auditor"
    SYSTEM = "system"


class Actor(BaseModel):
    """Who did it: every command carries one and every event records it."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    role: Role


@dataclass(frozen=True)
class Context:
    """The envelope of one command: who, when the server recorded it, and what it belongs to.

    ``recorded_at`` is the server's time, read by the application layer's clock and passed in: the domain
    never reads a clock. ``correlation_id`` groups everything one request caused; ``causation_id`` names the
    event or request that caused this one. ``traceparent`` and ``tracestate`` are the W3C trace context of
    the span the command ran in (none when it was not traced): kept with the events so that whatever they
    cause later, in other processes, joins the same trace.
    """

    actor: Actor
    recorded_at: datetime
    correlation_id: UUID
    causation_id: UUID | None = None
    traceparent: str | None = None
    tracestate: str | None = None

    def __post_init__(self) -> None:
        if self.recorded_at.tzinfo is None:
            raise ValueError("recorded_at must be timezone-aware")


class PersonalData:
    """Marks a field as personal data (PIPL): encrypted per customer at rest and erasable later."""

    def __repr__(self) -> str:
        return "PersonalData()"


PERSONAL = PersonalData()

# Personal fields are marked in the type itself, so a mapper can find them without knowing the event.
PersonalStr = Annotated[str, PERSONAL, Field(min_length=1, json_schema_extra={"x-personal-data": True})]

# Money is exact: integer fen (0.01 CNY), never a float.
Fen = Annotated[int, Field(ge=0, description="amount in fen (0.01 CNY)")]


class DomainEvent(BaseModel, CanMutateAggregate[UUID]):
    """The envelope every case event records.

    ``timestamp`` is the library's name for the server time the event was recorded (``recorded_at``);
    ``occurred_at`` is the business time where it differs (a loss date, a letter's receipt).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    TOPIC: ClassVar[str]
    """The explicit, versioned wire name, e.g. ``claim.reported.v1``."""

    originator_id: UUID
    originator_version: int
    timestamp: datetime
    actor: Actor
    correlation_id: UUID
    causation_id: UUID | None = None
    occurred_at: datetime | None = None
    traceparent: str | None = None
    """The W3C trace context of the command that recorded it (absent in events recorded untraced)."""
    tracestate: str | None = None

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        # Register the wire name at class definition, so a process that only reads can resolve it.
        if "TOPIC" in cls.__dict__:
            register_topic(cls.TOPIC, cls)

    @property
    def recorded_at(self) -> datetime:
        return self.timestamp

    @property
    def event_id(self) -> UUID:
        """A stable id for this event: the same case and version always give the same id."""
        return event_id_for(self.originator_id, self.originator_version)

    def _as_dict(self) -> dict[str, Any]:
        return self.__dict__

    @classmethod
    def personal_fields(cls) -> tuple[str, ...]:
        """The names of this event's fields marked as personal data."""
        return tuple(name for name, info in cls.model_fields.items() if PERSONAL in info.metadata)


def event_id_for(case_id: UUID, version: int) -> UUID:
    """The stable id of a case's event at ``version`` (the same wherever and however often it travels)."""
    return uuid5(case_id, str(version))


class CaseCreated(DomainEvent, CanInitAggregate[UUID]):
    """The first event of a case: it names the aggregate class that it creates."""

    originator_topic: str


class DomainError(Exception):
    """A business rule was broken. Subclasses are named for the rule; ``rule`` is its stable id."""

    rule: ClassVar[str] = "domain-rule"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidTransitionError(DomainError):
    """The command does not fit the case's current lifecycle state."""

    rule = "lifecycle-order"

    def __init__(self, command: str, state: str) -> None:
        super().__init__(f"{command} is not allowed while the case is {state}")
        self.command = command
        self.state = state


class FourEyesError(DomainError):
    """Verification is four-eyes: the checker is never the person whose work is checked."""

    rule = "four-eyes"


class ActorRoleError(DomainError):
    """The actor's role may not perform this step."""

    rule = "actor-role"

    def __init__(self, step: str, role: Role, allowed: frozenset[Role]) -> None:
        names = ", ".join(sorted(r.value for r in allowed))
        super().__init__(f"{step} needs one of the roles [{names}], not {role.value}")
        self.step = step
        self.role = role


def require_role(step: str, ctx: Context, *allowed: Role) -> None:
    """Refuse a step taken by a role that may not take it."""
    if ctx.actor.role not in allowed:
        raise ActorRoleError(step, ctx.actor.role, frozenset(allowed))


_Owner = TypeVar("_Owner")
_Args = ParamSpec("_Args")
_Result = TypeVar("_Result")
_Command = Callable[Concatenate[_Owner, Context, _Args], _Result]
_ROLES_ATTRIBUTE = "taken_by_roles"


def taken_by(
    step: str, *roles: Role, checked_by_step: bool = False
) -> Callable[[_Command[_Owner, _Args, _Result]], _Command[_Owner, _Args, _Result]]:
    """Declares who may take a step, once: the command refuses other roles (``ActorRoleError``), and the
    API admits the same roles, reading them with ``roles_of``, so that the two can never disagree.

    ``checked_by_step``: the step itself narrows the roles by the case (a callback's caller depends on the
    task's type, and a seller is told why before being told the role): the declaration is the widest set.
    """
    allowed = frozenset(roles)

    def declare(command: _Command[_Owner, _Args, _Result]) -> _Command[_Owner, _Args, _Result]:
        @functools.wraps(command)
        def checked(owner: _Owner, ctx: Context, /, *args: _Args.args, **kwargs: _Args.kwargs) -> _Result:
            if not checked_by_step:
                require_role(step, ctx, *roles)
            return command(owner, ctx, *args, **kwargs)

        setattr(checked, _ROLES_ATTRIBUTE, allowed)
        return checked

    return declare


def roles_of(command: Callable[..., object]) -> frozenset[Role]:
    """The roles that may take a step, as its ``@taken_by`` declares them."""
    roles: frozenset[Role] | None = getattr(command, _ROLES_ATTRIBUTE, None)
    if roles is None:
        raise TypeError(f"{getattr(command, '__qualname__', command)} declares no roles (@taken_by)")
    return roles


class CaseAggregate(Aggregate):
    """Base of the case aggregates: records events with the command's envelope."""

    @classmethod
    def _open(cls, event_class: type[CaseCreated], case_id: UUID, ctx: Context, **fields: Any) -> Self:
        return cls._create(event_class, id=case_id, **_envelope(ctx), **fields)

    def _record(self, event_class: type[DomainEvent], ctx: Context, **fields: Any) -> None:
        self.trigger_event(event_class, **_envelope(ctx), **fields)


def _envelope(ctx: Context) -> dict[str, Any]:
    return {
        "timestamp": ctx.recorded_at,
        "actor": ctx.actor,
        "correlation_id": ctx.correlation_id,
        "causation_id": ctx.causation_id,
        "traceparent": ctx.traceparent,
        "tracestate": ctx.tracestate,
    }


def require_status(command: str, current: StrEnum, *allowed: StrEnum) -> None:
    """Refuse a command that does not fit the case's lifecycle state."""
    if current not in allowed:
        raise InvalidTransitionError(command, current.value)
