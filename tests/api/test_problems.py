"""Every refusal is problem+json: invalid input names its fields, a broken rule names itself."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from domain.base import Role
from infra.bootstrap import System
from infra.clock import ControlledClock
from tests.api.claim_driver import HANDLER, SURVEYOR, lodge_complaint, report_claim, step
from tests.api.conftest import as_, stored_events

pytestmark = pytest.mark.integration


def test_an_invalid_body_is_refused_with_422_naming_the_field_and_stores_nothing(
    client: TestClient, system: System, clock: ControlledClock, policy_id: UUID
) -> None:
    claim = report_claim(client, policy_id, clock.now() - timedelta(hours=1))
    before = stored_events(system)

    response = client.post(
        f"/claims/{claim['case_id']}/registration",
        json={"claim_no": "LP1", "coverages": ["vehicle damage"], "reserve_fen": -5},
        headers=as_(*HANDLER),
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["loc"] for e in response.json()["errors"]] == [["body", "reserve_fen"]]
    assert stored_events(system) == before


def test_a_body_naming_an_actor_is_refused(client: TestClient, clock: ControlledClock) -> None:
    response = client.post(
        f"/complaints/{uuid4()}/acknowledgement",
        json={"channel": "sms", "actor": {"id": "someone.else", "role": "supervisor"}},
        headers=as_(Role.COMPLAINTS_OFFICER),
    )

    assert response.status_code == 422
    assert ["body", "actor"] in [e["loc"] for e in response.json()["errors"]]


def test_a_naive_time_is_refused_with_422(client: TestClient, clock: ControlledClock) -> None:
    response = client.post(
        "/claims",
        json={
            "policy_id": str(uuid4()),
            "loss_at": "2026-03-01T10:00:00",
            "reporter_name": "张伟",
            "reporter_phone": "1",
            "cause": "x",
            "description": "y",
            "channel": "z",
        },
        headers=as_(*HANDLER),
    )

    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["errors"]] == [["body", "loss_at"]]


def test_a_broken_rule_answers_with_the_rule_it_broke(
    client: TestClient, clock: ControlledClock, policy_id: UUID
) -> None:
    claim = f"/claims/{report_claim(client, policy_id, clock.now() - timedelta(hours=1))['case_id']}"
    step(client, HANDLER, f"{claim}/registration", {"claim_no": "LP1", "coverages": ["a"], "reserve_fen": 1})
    step(client, SURVEYOR, f"{claim}/survey", {"findings": "f", "liability_view": "v"})
    step(client, HANDLER, f"{claim}/application", {"received_at": clock.now().isoformat()})
    request = {"required_docs": ["invoice"], "notice_ref": "N-1"}
    step(client, HANDLER, f"{claim}/documents-request", request)

    response = client.post(f"{claim}/documents-request", json=request, headers=as_(*HANDLER))

    assert response.status_code == 422
    assert response.json()["rule"] == "IL22-ONE-TIME-NOTICE"
    assert response.json()["title"] == "DocumentsAlreadyRequestedError"


def test_a_step_out_of_lifecycle_order_answers_409_with_its_rule(
    client: TestClient, clock: ControlledClock
) -> None:
    complaint = lodge_complaint(client, clock.now())

    response = client.post(
        f"/complaints/{complaint['case_id']}/closure",
        json={"outcome": "upheld"},
        headers=as_(Role.SUPERVISOR),
    )

    assert response.status_code == 409
    assert response.json()["rule"] == "lifecycle-order"


def test_an_unknown_case_answers_404(client: TestClient) -> None:
    response = client.post(f"/claims/{uuid4()}/withdrawal", json={"reason": "r"}, headers=as_(*HANDLER))

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_a_60_day_extension_takes_no_approver_token_in_the_officers_body(
    client: TestClient, clock: ControlledClock
) -> None:
    complaint = lodge_complaint(client, clock.now())

    response = client.post(
        f"/complaints/{complaint['case_id']}/extension",
        json={"to_days": 60, "reason": "r", "approver_token": "forged"},
        headers=as_(Role.COMPLAINTS_OFFICER),
    )

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["errors"]] == [["body", "approver_token"]]


def test_an_extension_approval_by_a_supervisor_is_refused_with_the_approval_rule(
    client: TestClient, clock: ControlledClock
) -> None:
    complaint = lodge_complaint(client, clock.now())

    response = client.post(
        f"/complaints/{complaint['case_id']}/extension-approval",
        json={"to_days": 60, "reason": "the supervisor agrees"},
        headers=as_(Role.SUPERVISOR),
    )

    assert response.status_code == 422
    assert response.json()["rule"] == "CMP-EXT-60D-APPROVAL"
