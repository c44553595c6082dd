"""API keys of downstream systems: a configured key stands for one actor and role, beside the JWTs."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.app import create_app
from infra.bootstrap import System
from infra.clock import ControlledClock
from infra.settings import Settings
from tests.api.claim_driver import lodge_complaint

pytestmark = pytest.mark.integration

PORTAL_KEY = "portal-" + "k" * 40
CRM_KEY = "crm-" + "c" * 40


@pytest.fixture
def keyed_client(api_system: System) -> Iterator[TestClient]:
    """The API with two keys: one given as itself, one as its SHA-256 digest (as a deployment would)."""
    entries = (
        f"{PORTAL_KEY}:complaints-portal:complaints_officer, "
        f"sha256:{hashlib.sha256(CRM_KEY.encode()).hexdigest()}:crm-reporting:supervisor"
    )
    grants = Settings.model_validate({"api_keys": entries}).api_keys  # parsed as CASELEDGER_API_KEYS is
    settings = api_system.settings.model_copy(update={"api_keys": grants})
    system = dataclasses.replace(api_system, settings=settings)
    with TestClient(create_app(system), raise_server_exceptions=False) as test_client:
        yield test_client


def key(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def test_a_key_acts_as_its_configured_actor_and_role(
    keyed_client: TestClient, system: System, clock: ControlledClock
) -> None:
    complaint = lodge_complaint(keyed_client, clock.now(), Authorization=f"Bearer {PORTAL_KEY}")

    lodged = system.complaints.history(UUID(complaint["case_id"]))[0]

    assert (lodged.actor.id, lodged.actor.role.value) == ("complaints-portal", "complaints_officer")


def test_a_key_given_by_its_digest_admits_its_roles_routes(
    keyed_client: TestClient, read_models: None
) -> None:
    response = keyed_client.get("/statistics/complaints", headers=key(CRM_KEY))

    assert response.status_code == 200


def test_a_key_is_refused_with_403_on_routes_outside_its_role(keyed_client: TestClient) -> None:
    response = keyed_client.post(f"/claims/{uuid4()}/registration", json={}, headers=key(PORTAL_KEY))

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"


def test_an_unknown_key_is_refused_with_401_and_a_problem(keyed_client: TestClient) -> None:
    response = keyed_client.get("/worklist", headers=key("portal-" + "x" * 40))

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 401


def test_the_openapi_document_declares_both_bearer_schemes(keyed_client: TestClient) -> None:
    document = keyed_client.get("/openapi.json").json()
    worklist = document["paths"]["/worklist"]["get"]

    assert set(document["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    assert {name for requirement in worklist["security"] for name in requirement} == {"bearer", "apiKey"}


@pytest.mark.parametrize(
    "entries",
    ["short:portal:seller", f"{PORTAL_KEY}:portal:system", f"{PORTAL_KEY}:portal:nobody", PORTAL_KEY],
)
def test_a_short_key_an_unknown_role_or_the_system_role_is_refused_at_start(entries: str) -> None:
    with pytest.raises(ValidationError):
        Settings.model_validate({"api_keys": entries})
