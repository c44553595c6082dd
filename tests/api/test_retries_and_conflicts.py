"""Concurrency (If-Match) and retries (Idempotency-Key), against the real store."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from infra.bootstrap import System
from infra.clock import ControlledClock
from tests.api.claim_driver import HANDLER, report_claim
from tests.api.conftest import as_, stored_events

pytestmark = pytest.mark.integration

REGISTRATION = {"claim_no": "LP1", "coverages": ["vehicle damage"], "reserve_fen": 800_000}


def test_a_stale_if_match_is_refused_with_409_and_the_current_version(
    client: TestClient, clock: ControlledClock, policy_id: UUID
) -> None:
    claim = report_claim(client, policy_id, clock.now() - timedelta(hours=1))

    response = client.post(
        f"/claims/{claim['case_id']}/registration", json=REGISTRATION, headers=as_(*HANDLER, If_Match='"7"')
    )

    assert response.status_code == 409
    assert response.json()["current_version"] == 1
    assert response.headers["content-type"] == "application/problem+json"


def test_a_matching_if_match_is_accepted(client: TestClient, clock: ControlledClock, policy_id: UUID) -> None:
    claim = report_claim(client, policy_id, clock.now() - timedelta(hours=1))

    response = client.post(
        f"/claims/{claim['case_id']}/registration", json=REGISTRATION, headers=as_(*HANDLER, If_Match='"1"')
    )

    assert response.status_code == 200
    assert response.headers["ETag"] == '"2"'


def test_a_repeated_request_gets_the_first_answer_and_stores_one_event(
    client: TestClient, system: System, clock: ControlledClock, policy_id: UUID
) -> None:
    key = str(uuid4())
    first = report_claim(client, policy_id, clock.now() - timedelta(hours=1), Idempotency_Key=key)
    before = stored_events(system)

    repeat = client.post(
        "/claims",
        json={
            "policy_id": str(policy_id),
            "loss_at": (clock.now() - timedelta(hours=1)).isoformat(),
            "reporter_name": "张伟",
            "reporter_phone": "13800138000",
            "cause": "rear-end collision",
            "description": "hit from behind at a red light",
            "channel": "hotline 95500",
        },
        headers=as_(*HANDLER, Idempotency_Key=key),
    )

    assert repeat.status_code == 201
    assert repeat.json() == first
    assert repeat.headers["Idempotent-Replayed"] == "true"
    assert stored_events(system) == before


def test_a_repeat_after_a_restart_of_the_api_gets_the_first_answer(
    client: TestClient, api_system: System, system: System, clock: ControlledClock, policy_id: UUID
) -> None:
    claim = report_claim(client, policy_id, clock.now() - timedelta(hours=1))
    path = f"/claims/{claim['case_id']}/registration"
    first = client.post(path, json=REGISTRATION, headers=as_(*HANDLER, Idempotency_Key="k-1"))
    before = stored_events(system)

    with TestClient(create_app(api_system)) as restarted:
        repeat = restarted.post(path, json=REGISTRATION, headers=as_(*HANDLER, Idempotency_Key="k-1"))

    assert repeat.json() == first.json()
    assert stored_events(system) == before


def test_the_same_key_with_a_different_body_is_refused_with_422(
    client: TestClient, system: System, clock: ControlledClock, policy_id: UUID
) -> None:
    claim = report_claim(client, policy_id, clock.now() - timedelta(hours=1))
    path = f"/claims/{claim['case_id']}/registration"
    client.post(path, json=REGISTRATION, headers=as_(*HANDLER, Idempotency_Key="k-2"))
    before = stored_events(system)

    response = client.post(
        path, json={**REGISTRATION, "reserve_fen": 1}, headers=as_(*HANDLER, Idempotency_Key="k-2")
    )

    assert response.status_code == 422
    assert response.json()["title"] == "IdempotencyKeyReusedError"
    assert stored_events(system) == before


def test_a_repeat_of_a_refused_command_gets_the_same_refusal(
    client: TestClient, clock: ControlledClock, policy_id: UUID
) -> None:
    claim = report_claim(client, policy_id, clock.now() - timedelta(hours=1))
    path = f"/claims/{claim['case_id']}/closure"

    first = client.post(path, headers=as_(*HANDLER, Idempotency_Key="k-3"))
    repeat = client.post(path, headers=as_(*HANDLER, Idempotency_Key="k-3"))

    assert first.status_code == repeat.status_code == 409
    assert repeat.json() == first.json()
