"""A life policy from proposal to in force, and a new-policy callback to completion, over HTTP."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from cli.scenarios import SELLER_REGISTRATION, register_demo_seller
from domain.base import SHANGHAI, Role
from domain.callback import CallbackStatus, NewPolicyCheck
from domain.policy import PolicyStatus
from infra.bootstrap import System
from infra.clock import ControlledClock
from tests.api.claim_driver import step
from tests.api.conftest import as_, ok

pytestmark = pytest.mark.integration

SELLER = Role.SELLER, "li.na.seller"
CLERK = Role.UNDERWRITER, "zhao.lei.entry"
CHECKER = Role.UNDERWRITER, "sun.li.checker"
UNDERWRITER = Role.UNDERWRITER, "wang.fang.uw"
SYSTEM = Role.SYSTEM, "caseledger"
AGENT = Role.CALLBACK_AGENT, "he.ping.callback"

EXCLUSIONS = ["EXCL-WAR", "EXCL-FRAUD"]
PREMIUM_FEN = 1_200_000


def _today(clock: ControlledClock) -> date:
    return clock.now().astimezone(SHANGHAI).date()


def submit_life_proposal(client: TestClient) -> dict[str, Any]:
    return ok(
        client.post(
            "/policies",
            json={
                "proposal_no": "TB-API-0001",
                "product_code": "LIFE-WL-20",
                "line": "life",
                "customer_id": "CUST-api-life",
                "applicant_name": "张伟",
                "applicant_id_number": "110101199003071234",
                "applicant_phone": "13800138000",
                "insured_name": "张伟",
                "beneficiary_names": ["李娜"],
                "sum_insured_fen": 50_000_000,
                "term_months": 240,
                "quoted_premium_fen": PREMIUM_FEN,
                "exclusion_clause_ids": EXCLUSIONS,
                "seller_registration_no": SELLER_REGISTRATION,
                "channel": "agency",
            },
            headers=as_(*SELLER),
        )
    )


def test_a_life_policy_goes_from_proposal_through_cooling_off_to_in_force(
    client: TestClient, system: System, clock: ControlledClock
) -> None:
    register_demo_seller(system, _today(clock))
    submitted = submit_life_proposal(client)
    policy = f"/policies/{submitted['case_id']}"
    today = _today(clock)
    step(client, CLERK, f"{policy}/preliminary-check", {})
    step(client, CLERK, f"{policy}/data-entry", {"form_ref": "FORM-0001"})
    step(client, CHECKER, f"{policy}/entry-verification")
    step(
        client,
        SELLER,
        f"{policy}/disclosure",
        {"questions": ["hypertension?", "smoker?"], "answers": ["no", "no"], "answered_by": "张伟"},
    )
    step(
        client,
        SELLER,
        f"{policy}/exclusions-explanation",
        {"clause_ids": EXCLUSIONS, "method": "written", "evidence_ref": "EXCL-1", "acknowledged_by": "张伟"},
    )
    step(client, UNDERWRITER, f"{policy}/risk-rating", {"risk_class": "standard", "factors": ["age 36"]})
    step(client, UNDERWRITER, f"{policy}/underwriting-decision", {"decision": "standard"})
    step(client, CLERK, f"{policy}/documents-preparation", {"documents": ["policy", "clauses"]})
    step(client, CHECKER, f"{policy}/documents-sealing", {"seal_ref": "SEAL-1"})
    step(
        client,
        SYSTEM,
        f"{policy}/premium",
        {"amount_fen": PREMIUM_FEN, "method": "bank", "receipt_no": "R-1"},
    )
    step(
        client,
        UNDERWRITER,
        f"{policy}/issue",
        {
            "policy_no": "P-API-0001",
            "effective_from": today.isoformat(),
            "effective_to": (today + timedelta(days=20 * 365)).isoformat(),
            "terms_version": "2026-01",
        },
    )
    step(client, SELLER, f"{policy}/receipt", {"received_on": today.isoformat(), "method": "e-signature"})

    too_early = client.post(f"{policy}/cooling-off-end", headers=as_(*SYSTEM))
    assert too_early.status_code == 422
    assert too_early.json()["title"] == "CoolingOffNotOverError"

    clock.advance(timedelta(days=16))
    ended = step(client, SYSTEM, f"{policy}/cooling-off-end")

    policy_id = UUID(submitted["case_id"])
    assert system.policies.load(policy_id).status is PolicyStatus.IN_FORCE
    assert ended["version"] == system.policies.load(policy_id).version
    history = system.policies.history(policy_id)
    assert history[0].actor.id == SELLER[1]
    assert history[-1].actor.role is Role.SYSTEM


def test_only_the_system_ends_the_cooling_off_period(client: TestClient) -> None:
    refused = client.post(f"/policies/{uuid4()}/cooling-off-end", headers=as_(*UNDERWRITER))

    assert refused.status_code == 403


def test_a_new_policy_callback_is_attempted_in_office_hours_and_completed_with_the_seven_checks(
    client: TestClient, system: System, clock: ControlledClock
) -> None:
    body = {
        "task_type": "new_policy",
        "source_event_id": str(uuid4()),
        "source_case_id": str(uuid4()),
        "customer_id": "CUST-api-life",
        "due_by": (clock.now() + timedelta(days=10)).isoformat(),
        "seller_id": SELLER[1],
    }
    created = ok(client.post("/callbacks", json=body, headers=as_(*SYSTEM)))
    again = ok(client.post("/callbacks", json=body, headers=as_(*SYSTEM)))
    assert again["case_id"] == created["case_id"]
    task = f"/callbacks/{created['case_id']}"

    step(
        client,
        AGENT,
        f"{task}/attempts",
        {"channel": "phone", "outcome": "reached", "recording_ref": "REC-1"},
    )
    answers = {check.value: "yes" for check in NewPolicyCheck}
    incomplete = client.post(
        f"{task}/completion",
        json={"answers": {**answers, NewPolicyCheck.KNOWS_COOLING_OFF.value: ""}},
        headers=as_(*AGENT),
    )
    assert incomplete.status_code == 422
    assert incomplete.json()["rule"] == "LIFE-CALLBACK-7-CHECKS"
    completed = step(client, AGENT, f"{task}/completion", {"answers": answers})

    loaded = system.callbacks.load(UUID(created["case_id"]))
    assert loaded.status is CallbackStatus.COMPLETED
    assert completed["version"] == loaded.version
    assert system.callbacks.history(loaded.id)[-1].actor.id == AGENT[1]


def test_the_seller_may_not_call_their_own_customer_back(client: TestClient, clock: ControlledClock) -> None:
    created = ok(
        client.post(
            "/callbacks",
            json={
                "task_type": "new_policy",
                "source_event_id": str(uuid4()),
                "source_case_id": str(uuid4()),
                "customer_id": "CUST-api-life",
                "due_by": (clock.now() + timedelta(days=10)).isoformat(),
                "seller_id": "li.na.agent",
            },
            headers=as_(*SYSTEM),
        )
    )

    refused = client.post(
        f"/callbacks/{created['case_id']}/attempts",
        json={"channel": "phone", "outcome": "reached"},
        headers=as_(Role.CALLBACK_AGENT, "li.na.agent"),
    )

    assert refused.status_code == 422
    assert refused.json()["rule"] == "four-eyes-callback-caller"
