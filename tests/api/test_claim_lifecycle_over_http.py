"""A motor claim from report to closure over HTTP, then read back from the projections."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from domain.base import Role
from infra.bootstrap import System
from infra.clock import ControlledClock
from tests.api.claim_driver import ADJUSTER, HANDLER, REVIEWER, SURVEYOR, report_claim, step
from tests.api.conftest import as_, ok
from tests.feed import project

pytestmark = pytest.mark.integration

DOCS = ("police report", "repair invoice")


def test_a_claim_goes_from_report_to_closure_and_its_events_record_the_token_actors(
    client: TestClient, system: System, clock: ControlledClock, policy_id: UUID, read_models: None
) -> None:
    reported = report_claim(client, policy_id, clock.now() - timedelta(hours=3))
    claim = f"/claims/{reported['case_id']}"
    step(
        client,
        HANDLER,
        f"{claim}/registration",
        {"claim_no": "LP1", "coverages": ["vehicle damage"], "reserve_fen": 800_000},
    )
    step(
        client, SURVEYOR, f"{claim}/survey", {"findings": "matches", "liability_view": "third party at fault"}
    )
    step(client, SURVEYOR, f"{claim}/loss-assessment", {"items": ["rear bumper"], "amount_fen": 650_000})
    step(client, HANDLER, f"{claim}/documents-request", {"required_docs": list(DOCS), "notice_ref": "N-1"})
    for doc in DOCS:
        step(client, HANDLER, f"{claim}/documents/{doc}")
    step(client, HANDLER, f"{claim}/documents-complete")
    step(
        client,
        ADJUSTER,
        f"{claim}/adjustment",
        {"proposed_amount_fen": 600_000, "deductible_fen": 50_000, "calculation": "650k - 50k"},
    )
    step(client, REVIEWER, f"{claim}/review", {"approved_amount_fen": 600_000})
    step(client, REVIEWER, f"{claim}/decision", {"outcome": "covered"})
    step(
        client,
        HANDLER,
        f"{claim}/settlement",
        {"amount_fen": 600_000, "payee_name": "张伟", "payee_account": "6222"},
    )
    step(client, HANDLER, f"{claim}/payments", {"amount_fen": 600_000, "reference": "PAY-1"})
    closed = step(client, HANDLER, f"{claim}/closure")
    project(system)

    view = client.get(claim, headers=as_(Role.AUDITOR), params={"min_version": closed["version"]})

    assert ok(view)["status"] == "closed"
    assert view.json()["paid_fen"] == 600_000
    assert view.headers["ETag"] == f'"{closed["version"]}"'
    history = system.claims.history(UUID(reported["case_id"]))
    assert [e.actor.id for e in history][:3] == [HANDLER[1], HANDLER[1], SURVEYOR[1]]
    assert history[-1].actor.role is Role.CLAIMS_HANDLER


def test_a_command_answers_with_the_new_version_as_etag_and_the_store_position(
    client: TestClient, clock: ControlledClock, policy_id: UUID
) -> None:
    response = client.post(
        "/claims",
        json={
            "policy_id": str(policy_id),
            "loss_at": (clock.now() - timedelta(hours=1)).isoformat(),
            "reporter_name": "张伟",
            "reporter_phone": "13800138000",
            "cause": "hail",
            "description": "dents on the roof",
            "channel": "app",
        },
        headers=as_(*HANDLER),
    )

    assert response.status_code == 201
    assert response.headers["ETag"] == '"1"'
    assert response.json()["version"] == 1
    assert response.json()["position"] >= 1
