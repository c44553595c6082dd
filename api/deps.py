"""The API's dependencies as ``Annotated`` aliases: services from the app's state, the command envelope.

They only read the request and the app's state, so they are ``async def``: FastAPI runs them on the event
loop. A plain ``def`` dependency would be handed to the thread pool, one hand-over per dependency per
request (the profile of a keyed POST showed those hand-overs as the API's largest CPU cost).
"""

# No `from __future__ import annotations`: FastAPI reads these closures' annotations at runtime, and
# they name the enclosing function's ``roles``.

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated
from uuid import NAMESPACE_URL, uuid4, uuid5

from fastapi import Depends, Header, Request

from api.auth import require
from api.gateway import CommandCall, CommandGateway
from api.readiness import Readiness
from api.readmodels import ReadModels
from domain.base import Actor, Role, roles_of
from infra.services.callbacks import Callbacks
from infra.services.claims import Claims
from infra.services.complaints import Complaints
from infra.services.inquiries import Inquiries
from infra.services.policies import Policies
from infra.services.service_orders import ServiceOrders
from infra.services.service_requests import ServiceRequests
from infra.store.eventstore import Caller

_IDEMPOTENCY_NAMESPACE = uuid5(NAMESPACE_URL, "urn:caseledger:idempotency-key")


@dataclass(frozen=True)
class ApiServices:
    """What the routes use, built once by ``create_app``."""

    gateway: CommandGateway
    claims: Claims
    complaints: Complaints
    policies: Policies
    callbacks: Callbacks
    read_models: ReadModels
    readiness: Readiness
    service_requests: ServiceRequests
    inquiries: Inquiries
    service_orders: ServiceOrders


async def _services(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


async def _claims(services: Annotated[ApiServices, Depends(_services)]) -> Claims:
    return services.claims


async def _complaints(services: Annotated[ApiServices, Depends(_services)]) -> Complaints:
    return services.complaints


async def _policies(services: Annotated[ApiServices, Depends(_services)]) -> Policies:
    return services.policies


async def _callbacks(services: Annotated[ApiServices, Depends(_services)]) -> Callbacks:
    return services.callbacks


async def _read_models(services: Annotated[ApiServices, Depends(_services)]) -> ReadModels:
    return services.read_models


async def _readiness(services: Annotated[ApiServices, Depends(_services)]) -> Readiness:
    return services.readiness


def _inquiries(services: Annotated[ApiServices, Depends(_services)]) -> Inquiries:
    return services.inquiries


def _service_orders(services: Annotated[ApiServices, Depends(_services)]) -> ServiceOrders:
    return services.service_orders


ClaimsDep = Annotated[Claims, Depends(_claims)]
ComplaintsDep = Annotated[Complaints, Depends(_complaints)]
PoliciesDep = Annotated[Policies, Depends(_policies)]
CallbacksDep = Annotated[Callbacks, Depends(_callbacks)]
ReadModelsDep = Annotated[ReadModels, Depends(_read_models)]
ReadinessDep = Annotated[Readiness, Depends(_readiness)]
InquiriesDep = Annotated[Inquiries, Depends(_inquiries)]
ServiceOrdersDep = Annotated[ServiceOrders, Depends(_service_orders)]


def _service_requests(services: Annotated[ApiServices, Depends(_services)]) -> ServiceRequests:
    return services.service_requests


ServiceRequestsDep = Annotated[ServiceRequests, Depends(_service_requests)]

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Repeats with the same key (per actor) get the first answer and record nothing again.",
    ),
]
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        pattern=r'^\s*(\*|(W/)?"?\d{1,18}"?)\s*$',
        description='The case version the command expects (the ETag, e.g. `"7"`): a stale one answers 409.',
    ),
]


def command_envelope(
    actor: Actor, request: Request, key: str | None, expected_version: int | None
) -> CommandCall:
    """The envelope of one command request: its actor, correlation, key and the version it expects."""
    # The events of one keyed request share a correlation id derived from the key: a trace joins them.
    correlation = uuid5(_IDEMPOTENCY_NAMESPACE, f"{actor.id}\n{key}") if key else uuid4()
    services: ApiServices = request.app.state.services
    return CommandCall(
        caller=Caller(actor=actor, correlation_id=correlation),
        expected_version=expected_version,
        idempotency_key=key,
        method=request.method,
        path=request.url.path,
        gateway=services.gateway,
        opening_id=uuid5(correlation, "opened case") if key else uuid4(),
    )


def _expected_version(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    tag = if_match.strip().removeprefix("W/").strip('"')
    return None if tag == "*" else int(tag)


def command_call(*roles: Role) -> Callable[..., Awaitable[CommandCall]]:
    """The envelope of a command on an existing case, open to ``roles``: actor, If-Match, key."""

    async def dependency(
        actor: Annotated[Actor, Depends(require(*roles))],
        request: Request,
        idempotency_key: IdempotencyKey = None,
        if_match: IfMatch = None,
    ) -> CommandCall:
        return command_envelope(actor, request, idempotency_key, _expected_version(if_match))

    return dependency


def opening_call(*roles: Role) -> Callable[..., Awaitable[CommandCall]]:
    """The envelope of a command that opens a case, open to ``roles``: actor and key."""

    async def dependency(
        actor: Annotated[Actor, Depends(require(*roles))],
        request: Request,
        idempotency_key: IdempotencyKey = None,
    ) -> CommandCall:
        return command_envelope(actor, request, idempotency_key, None)

    return dependency


DOMAIN_STEP = "domain_step"
"""The attribute naming the domain step a command's envelope was derived from (read by the role tests)."""


def case_command(step: Callable[..., object]) -> Callable[..., Awaitable[CommandCall]]:
    """The envelope of a command on an existing case, open to the roles the domain's ``step`` admits."""
    dependency = command_call(*roles_of(step))
    setattr(dependency, DOMAIN_STEP, step)
    return dependency


def opening_command(step: Callable[..., object]) -> Callable[..., Awaitable[CommandCall]]:
    """The envelope of a command that opens a case, open to the roles the domain's ``step`` admits."""
    dependency = opening_call(*roles_of(step))
    setattr(dependency, DOMAIN_STEP, step)
    return dependency
