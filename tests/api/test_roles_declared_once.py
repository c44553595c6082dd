"""Who may run a command is declared once, on the domain step (``@taken_by``): the API admits exactly those
roles and the domain refuses every other, so the two cannot drift apart."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

import api.routes.callbacks
import api.routes.claims
import api.routes.complaints
import api.routes.policies
import domain.callback
import domain.claim
import domain.complaint
import domain.policy
import domain.privacy
import domain.timer
from api.deps import DOMAIN_STEP
from domain.base import Actor, ActorRoleError, Context, Role, roles_of

DOMAIN_MODULES = (
    domain.policy,
    domain.claim,
    domain.complaint,
    domain.callback,
    domain.privacy,
    domain.timer,
)


def _step_of(dependant: Dependant) -> Callable[..., object] | None:
    step: Callable[..., object] | None = getattr(dependant.call, DOMAIN_STEP, None)
    if step is not None:
        return step
    for sub in dependant.dependencies:
        found = _step_of(sub)
        if found is not None:
            return found
    return None


def _command_routes() -> Iterator[APIRoute]:
    for module in (api.routes.policies, api.routes.claims, api.routes.complaints, api.routes.callbacks):
        for route in module.router.routes:
            if isinstance(route, APIRoute) and "POST" in (route.methods or set()):
                yield route


def _declared_steps() -> Iterator[tuple[str, Callable[..., object], bool]]:
    """Every domain step with a role declaration: its name, the function, whether the decorator checks."""
    for module in DOMAIN_MODULES:
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            for name, member in vars(cls).items():
                function = member.__func__ if isinstance(member, classmethod) else member
                if callable(function) and hasattr(function, "taken_by_roles"):
                    checks = "checked_by_step=True" not in inspect.getsource(function).split("def ", 1)[0]
                    yield f"{cls.__name__}.{name}", function, checks


def test_every_command_route_admits_exactly_the_roles_its_domain_step_declares(client: TestClient) -> None:
    openapi = client.app.openapi()  # type: ignore[attr-defined]
    checked = 0
    for route in _command_routes():
        step = _step_of(route.dependant)
        assert step is not None, f"POST {route.path} admits roles of its own instead of its domain step's"
        declared = sorted(role.value for role in roles_of(step))
        assert openapi["paths"][route.path]["post"]["x-roles"] == declared, route.path
        checked += 1
    assert checked >= 67  # every command of the four case contexts


def test_every_domain_step_declares_who_may_take_it() -> None:
    steps = list(_declared_steps())

    assert len(steps) >= 80
    assert all(roles_of(function) for _, function, _ in steps)


@pytest.mark.parametrize(("name", "function"), [(n, f) for n, f, checks in _declared_steps() if checks])
def test_a_domain_step_refuses_a_role_it_does_not_declare(name: str, function: Callable[..., object]) -> None:
    outsider = next(role for role in Role if role not in roles_of(function))
    ctx = Context(
        actor=Actor(id="someone", role=outsider),
        recorded_at=datetime(2026, 3, 2, tzinfo=UTC),
        correlation_id=uuid4(),
    )

    with pytest.raises(ActorRoleError) as refused:
        function(None, ctx)

    assert refused.value.role is outsider
