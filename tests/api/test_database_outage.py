"""While the database cannot be reached a request answers 503 problem+json with Retry-After, and a keyed
command cut off by the outage is never run twice by its retry, even when its events were stored before
the connection was lost (the commit's answer is what got lost)."""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID, uuid4

import psycopg
import psycopg_pool
import pytest
from fastapi.testclient import TestClient

from api.idempotency import IdempotencyStore
from api.problems import PROBLEM_JSON
from infra.bootstrap import System
from infra.clock import ControlledClock
from tests.api.claim_driver import OFFICER, lodge_complaint
from tests.api.conftest import as_

pytestmark = pytest.mark.integration


def test_a_command_that_loses_the_database_after_storing_answers_503_and_its_retry_replays_it(
    client: TestClient, system: System, clock: ControlledClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    complaint = lodge_complaint(client, clock.now())
    path = f"/complaints/{complaint['case_id']}/acknowledgement"
    stored = system.complaints.acknowledge

    def acknowledge_then_lose_the_connection(*args: Any) -> Any:
        stored(*args)
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(system.complaints, "acknowledge", acknowledge_then_lose_the_connection)
    key = str(uuid4())
    headers = as_(*OFFICER, Idempotency_Key=key)

    cut_off = client.post(path, json={"channel": "sms"}, headers=headers)
    monkeypatch.undo()
    retried = client.post(path, json={"channel": "sms"}, headers=headers)

    assert cut_off.status_code == 503
    # Not run again (a second acknowledgement would be refused): the stored step is the answer.
    assert retried.status_code == 200, retried.text
    assert retried.headers.get("idempotent-replayed") == "true"
    assert retried.json()["version"] == 2
    assert len(system.complaints.history(UUID(complaint["case_id"]))) == 2


def test_a_command_cut_off_before_its_commit_stores_nothing_and_its_retry_runs_it_once(
    client: TestClient, system: System, clock: ControlledClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    complaint = lodge_complaint(client, clock.now())
    path = f"/complaints/{complaint['case_id']}/acknowledgement"

    def connection_lost(*_: Any) -> Any:
        def statement(*_: Any) -> Any:
            raise psycopg.OperationalError("server closed the connection unexpectedly")

        return statement

    # The key's answer is written by the statement that stores the events: losing it there loses both.
    monkeypatch.setattr(IdempotencyStore, "kept_with_events", connection_lost)
    headers = as_(*OFFICER, Idempotency_Key=str(uuid4()))

    cut_off = client.post(path, json={"channel": "sms"}, headers=headers)
    stored_meanwhile = len(system.complaints.history(UUID(complaint["case_id"])))
    monkeypatch.undo()
    began = time.monotonic()
    retried = client.post(path, json={"channel": "sms"}, headers=headers)

    assert cut_off.status_code == 503
    assert stored_meanwhile == 1
    assert retried.status_code == 200, retried.text
    assert time.monotonic() - began < 2
    assert retried.headers.get("idempotent-replayed") is None
    assert len(system.complaints.history(UUID(complaint["case_id"]))) == 2


@pytest.mark.parametrize(
    "outage",
    [
        psycopg_pool.PoolTimeout("couldn't get a connection after 2.00 sec"),
        psycopg.OperationalError("connection refused"),
        psycopg.InterfaceError("the connection is closed"),
    ],
    ids=["checkout-timed-out", "connection-refused", "connection-closed"],
)
def test_a_request_that_cannot_reach_the_database_answers_503_problem_json_with_retry_after(
    client: TestClient,
    system: System,
    clock: ControlledClock,
    monkeypatch: pytest.MonkeyPatch,
    outage: Exception,
) -> None:
    def unreachable(*_: Any) -> Any:
        raise outage

    monkeypatch.setattr(system.complaints, "lodge", unreachable)

    response = client.post(
        "/complaints",
        json={
            "received_at": clock.now().isoformat(),
            "category": "claims",
            "channel": "hotline",
            "subject_ref": {"kind": "policy", "ref": "P-1"},
            "customer_id": "CUST-api",
            "complainant_name": "张伟",
            "complainant_phone": "13800138000",
            "facts": "f",
            "demands": "d",
        },
        headers=as_(*OFFICER),
    )

    assert response.status_code == 503
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.headers["retry-after"] == "2"
    assert response.json()["title"] == "DatabaseUnavailableError"
