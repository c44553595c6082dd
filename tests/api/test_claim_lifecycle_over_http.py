"""A motor claim from report to closure over HTTP, then read back from the projections."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from cli.scenarios import UNDERWRITER, by
from domain.base import SHANGHAI, Role
from domain.claim import ClaimDecided, ClaimOutcome, RefusalGround
from domain.policy import NonDisclosureFault, RescissionGround
from infra.bootstrap import System
from infra.clock import ControlledClock
from infra.services.policies import RecordRescissionGround, RescindPolicy, SurrenderPolicy
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
    applied_at = clock.now() - timedelta(hours=1)
    step(client, HANDLER, f"{claim}/application", {"received_at": applied_at.isoformat(), "documents": []})
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
    step(
        client,
        HANDLER,
        f"{claim}/documents-request/delivery",
        {"delivered_at": clock.now().isoformat(), "notice_ref": "N-1"},
    )
    for doc in DOCS:
        step(client, HANDLER, f"{claim}/documents/{doc}", {"received_at": clock.now().isoformat()})
    completed = step(client, HANDLER, f"{claim}/documents-complete")
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
    assert [e.actor.id for e in history][:4] == [HANDLER[1], HANDLER[1], HANDLER[1], SURVEYOR[1]]
    # The completion takes effect when the documents arrived, and the application when it was received.
    assert history[completed["version"] - 1].occurred_at == clock.now()
    assert history[1].occurred_at == applied_at
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


def test_a_loss_before_a_surrender_is_recorded_and_one_after_it_is_decided_not_covered(
    client: TestClient, system: System, clock: ControlledClock, policy_id: UUID
) -> None:
    # Surrender requested yesterday: yesterday is still covered, the contract ended at 00:00 today.
    yesterday = clock.now().astimezone(SHANGHAI).date() - timedelta(days=1)
    system.policies.surrender(
        policy_id, SurrenderPolicy(requested_on=yesterday, cash_value_fen=0), by(UNDERWRITER)
    )
    midnight = datetime.combine(yesterday + timedelta(days=1), time(0), tzinfo=SHANGHAI)

    before = report_claim(client, policy_id, midnight - timedelta(hours=2))
    after = report_claim(client, policy_id, midnight + timedelta(minutes=30))

    assert [type(e).__name__ for e in system.claims.history(UUID(before["case_id"]))] == ["ClaimReported"]
    decided = system.claims.history(UUID(after["case_id"]))[-1]
    assert isinstance(decided, ClaimDecided)
    assert (decided.outcome, decided.grounds) == (ClaimOutcome.NOT_COVERED, (RefusalGround.OUTSIDE_COVER,))
    assert "PolicySurrendered" in decided.reasons[0]


def test_a_refusal_for_non_disclosure_answers_with_its_rule_until_the_policy_is_rescinded_for_it(
    client: TestClient, system: System, clock: ControlledClock, policy_id: UUID
) -> None:
    claim = f"/claims/{report_claim(client, policy_id, clock.now() - timedelta(hours=1))['case_id']}"
    step(client, HANDLER, f"{claim}/registration", {"claim_no": "LP1", "coverages": ["a"], "reserve_fen": 1})
    decision = {
        "outcome": "not_covered",
        "reasons": ["an earlier accident was not disclosed when asked"],
        "grounds": ["non_disclosure"],
    }

    refused = client.post(f"{claim}/decision", json=decision, headers=as_(*REVIEWER))
    system.policies.record_rescission_ground(
        policy_id,
        RecordRescissionGround(
            ground=RescissionGround.NON_DISCLOSURE_ART16, known_at=clock.now(), evidence="x"
        ),
        by(UNDERWRITER),
    )
    system.policies.rescind(
        policy_id,
        RescindPolicy(
            ground=RescissionGround.NON_DISCLOSURE_ART16,
            fault=NonDisclosureFault.DELIBERATE,
            refund_fen=0,
            notice_ref="RESC-1",
        ),
        by(UNDERWRITER),
    )
    decided = client.post(f"{claim}/decision", json=decision, headers=as_(*REVIEWER))

    assert refused.status_code == 422
    assert (refused.json()["rule"], refused.json()["title"]) == (
        "JI2-ART8-RESCIND-FIRST",
        "NonDisclosureRefusalWithoutRescissionError",
    )
    assert ok(decided)["version"] == 3


def test_a_partly_covered_claim_gets_the_notice_of_the_part_refused_over_http(
    client: TestClient, clock: ControlledClock, policy_id: UUID
) -> None:
    claim = f"/claims/{report_claim(client, policy_id, clock.now() - timedelta(hours=3))['case_id']}"
    step(client, HANDLER, f"{claim}/application", {"received_at": clock.now().isoformat()})
    step(client, HANDLER, f"{claim}/registration", {"claim_no": "LP1", "coverages": ["a"], "reserve_fen": 1})
    step(client, SURVEYOR, f"{claim}/survey", {"findings": "f", "liability_view": "v"})
    step(client, SURVEYOR, f"{claim}/loss-assessment", {"items": ["rear bumper"], "amount_fen": 650_000})
    step(client, HANDLER, f"{claim}/documents-complete")
    step(
        client,
        ADJUSTER,
        f"{claim}/adjustment",
        {"proposed_amount_fen": 300_000, "deductible_fen": 0, "calculation": "x"},
    )
    step(client, REVIEWER, f"{claim}/review", {"approved_amount_fen": 300_000})
    reasons = ["the paint damage predates the policy"]
    step(
        client,
        REVIEWER,
        f"{claim}/decision",
        {"outcome": "partial", "reasons": reasons, "grounds": ["other"]},
    )

    notice = client.post(
        f"{claim}/rejection-notice",
        json={"reasons": reasons, "notice_ref": "REJ-P-1", "channel": "letter"},
        headers=as_(*HANDLER),
    )

    assert ok(notice)["version"] == 10
