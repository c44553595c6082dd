"""The API on the real services and the real PostgreSQL, driven through FastAPI's TestClient."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from api.auth import issue_token
from cli.scenarios import a_policy, register_demo_seller
from consumers.read_models import projection_handler
from domain.base import SHANGHAI, Role
from infra.bootstrap import System
from infra.clock import ControlledClock

SECRET = "test-secret-of-at-least-thirty-two-characters"


@pytest.fixture
def api_system(system: System) -> System:
    """The test's system with the API's settings: a token key and a short read-your-writes wait."""
    settings = system.settings.model_copy(
        update={"jwt_secret": SecretStr(SECRET), "api_read_wait_seconds": 0.3}
    )
    return dataclasses.replace(system, settings=settings)


@pytest.fixture
def client(api_system: System) -> Iterator[TestClient]:
    with TestClient(create_app(api_system), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def read_models(system: System) -> None:
    """The read-model tables, as the projections consumer creates them at start (the API creates none of
    them; the tracking tables and ``sla_due`` are the migrations', there since the system's bootstrap)."""
    with system.database.connection() as conn:
        projection_handler(system, conn)


@pytest.fixture
def policy_id(system: System, clock: ControlledClock) -> UUID:
    """An issued motor policy, its loss cover running from today."""
    register_demo_seller(system, clock.now().astimezone(SHANGHAI).date())
    issued = a_policy(system)
    clock.advance(timedelta(days=2))
    return issued


def token(role: Role, actor_id: str | None = None) -> str:
    return issue_token(SECRET, actor_id or f"test.{role.value}", role, timedelta(minutes=10))


def as_(role: Role, actor_id: str | None = None, /, **headers: str) -> dict[str, str]:
    """Request headers of ``actor_id`` acting as ``role`` (underscores in header names become dashes)."""
    return {
        "Authorization": f"Bearer {token(role, actor_id)}",
        **{name.replace("_", "-"): value for name, value in headers.items()},
    }


def ok(response: httpx.Response) -> dict[str, Any]:
    """The JSON body of a successful answer (the problem is shown when it failed)."""
    assert response.status_code < 300, response.text
    body: dict[str, Any] = response.json()
    return body


def stored_events(system: System) -> int:
    """How many events the claim and complaint stores hold."""
    return sum(app.recorder.max_notification_id() or 0 for app in (system.claims, system.complaints))
