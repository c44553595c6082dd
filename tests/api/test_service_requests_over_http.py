"""保全 over HTTP: a beneficiary change from request to notice with ETag/If-Match and Idempotency-Key, the
policy's service history and the 保全 worklist, refusals as problem+json naming their rule, and the roles
each step admits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi.testclient import TestClient

from cli.scenarios import a_policy, register_demo_seller
from domain.base import SHANGHAI, Role
from domain.policy import EndorsementApplied, Line
from infra.bootstrap import System
from infra.clock import ControlledClock
from tests.api.conftest import as_, ok
from tests.feed import begin, project

pytestmark = pytest.mark.integration

SELLER = (Role.SELLER, "li.na.seller")
HANDLER = (Role.UNDERWRITER, "qian.yu.ops")
REVIEWER = (Role.UNDERWRITER, "feng.jun.ops")


def listed(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


def a_life_policy(system: System, clock: ControlledClock) -> UUID:
    register_demo_seller(system, clock.now().astimezone(SHANGHAI).date())
    return a_policy(system, Line.LIFE)


def beneficiary_change(policy_id: UUID, clock: ControlledClock, **change: Any) -> dict[str, Any]:
    return {
        "policy_id": str(policy_id),
        "item": "beneficiary_change",
        "channel": "agent",
        "requested_by": "applicant",
        "requester_name": "张伟",
        "received_at": (clock.now() - timedelta(minutes=5)).isoformat(),
        "beneficiary_names": ["王芳"],
        "beneficiary_id_numbers": ["310101198512120021"],
        "beneficiary_shares": [100],
        "insured_consent_ref": "CONSENT-2026-0042",
        **change,
    }


def test_a_beneficiary_change_goes_from_request_to_notice_and_the_policy_lists_it(
    client: TestClient, system: System, clock: ControlledClock, read_models: None
) -> None:
    policy_id = a_life_policy(system, clock)
    begin(system)
    body = beneficiary_change(policy_id, clock)
    opened = ok(client.post("/service-requests", json=body, headers=as_(*SELLER, Idempotency_Key="svc-1")))
    repeat = ok(client.post("/service-requests", json=body, headers=as_(*SELLER, Idempotency_Key="svc-1")))
    assert repeat["case_id"] == opened["case_id"]
    path = f"/service-requests/{opened['case_id']}"
    documents = ["request_form", "id_copy", "beneficiary_id_copies"]
    checked = client.post(
        f"{path}/check",
        json={"identity_check": "id_card_in_person", "documents": documents},
        headers=as_(*HANDLER, If_Match=f'"{opened["version"]}"'),
    )
    assert checked.status_code == 200, checked.text
    ok(client.post(f"{path}/approval", json={}, headers=as_(*REVIEWER)))
    ok(client.post(f"{path}/completion", json={"effective_on": "2026-03-10"}, headers=as_(*REVIEWER)))
    done = ok(client.post(f"{path}/notice", json={"channel": "sms"}, headers=as_(*HANDLER)))
    project(system)

    request = client.get(path, headers=as_(*HANDLER), params={"min_version": done["version"]})
    assert request.status_code == 200, request.text
    assert request.headers["ETag"] == f'"{done["version"]}"'
    assert request.json()["status"] == "closed"
    assert request.json()["reviewer_id"] == REVIEWER[1]
    history = listed(client.get(f"/policies/{policy_id}/service-requests", headers=as_(*HANDLER)))
    assert [h["request_id"] for h in history] == [opened["case_id"]]
    endorsement = system.policies.history(policy_id)[-1]
    assert isinstance(endorsement, EndorsementApplied)
    assert endorsement.endorsement_no == request.json()["request_no"]


def test_a_stale_if_match_is_a_conflict(client: TestClient, system: System, clock: ControlledClock) -> None:
    policy_id = a_life_policy(system, clock)
    opened = ok(
        client.post("/service-requests", json=beneficiary_change(policy_id, clock), headers=as_(*SELLER))
    )

    answer = client.post(
        f"/service-requests/{opened['case_id']}/withdrawal",
        json={"reason": "the customer changed his mind"},
        headers=as_(*HANDLER, If_Match='"7"'),
    )

    assert answer.status_code == 409
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_the_applicants_beneficiary_change_without_consent_is_a_422_naming_article_41(
    client: TestClient, system: System, clock: ControlledClock
) -> None:
    policy_id = a_life_policy(system, clock)

    answer = client.post(
        "/service-requests",
        json=beneficiary_change(policy_id, clock, insured_consent_ref=None),
        headers=as_(*SELLER),
    )

    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["rule"] == "IL41-BENEFICIARY-CONSENT"


def test_the_handler_approving_his_own_check_of_a_beneficiary_change_is_refused_by_four_eyes(
    client: TestClient, system: System, clock: ControlledClock
) -> None:
    policy_id = a_life_policy(system, clock)
    opened = ok(
        client.post("/service-requests", json=beneficiary_change(policy_id, clock), headers=as_(*SELLER))
    )
    path = f"/service-requests/{opened['case_id']}"
    documents = ["request_form", "id_copy", "beneficiary_id_copies"]
    ok(
        client.post(
            f"{path}/check",
            json={"identity_check": "verified_call", "documents": documents},
            headers=as_(*HANDLER),
        )
    )

    answer = client.post(f"{path}/approval", json={}, headers=as_(*HANDLER))

    assert answer.status_code == 422
    assert answer.json()["rule"] == "SVC-FOUR-EYES"


def test_a_claims_handler_may_not_take_a_service_request(
    client: TestClient, system: System, clock: ControlledClock
) -> None:
    policy_id = a_life_policy(system, clock)

    answer = client.post(
        "/service-requests",
        json=beneficiary_change(policy_id, clock),
        headers=as_(Role.CLAIMS_HANDLER, "chen.jie.claims"),
    )

    assert answer.status_code == 403


def test_the_service_worklist_shows_the_request_to_handle_with_its_time_standard(
    client: TestClient, system: System, clock: ControlledClock, read_models: None
) -> None:
    policy_id = a_life_policy(system, clock)
    begin(system)
    opened = ok(
        client.post("/service-requests", json=beneficiary_change(policy_id, clock), headers=as_(*SELLER))
    )
    project(system)

    items = listed(client.get("/service-requests/worklist", headers=as_(*HANDLER), params={"limit": 500}))

    mine = [i for i in items if i["case_id"] == opened["case_id"]]
    assert [(i["item"], i["rule_id"], i["related_case_id"]) for i in mine] == [
        ("handle policy service request", "CO-SVC-CHANGE-5WD", str(policy_id))
    ]


def test_underwriting_reveals_the_new_bank_account_with_a_purpose_and_others_read_it_masked(
    client: TestClient, system: System, clock: ControlledClock, read_models: None
) -> None:
    policy_id = a_life_policy(system, clock)
    begin(system)
    body = {
        "policy_id": str(policy_id),
        "item": "bank_account_change",
        "channel": "counter",
        "requested_by": "applicant",
        "requester_name": "张伟",
        "received_at": (clock.now() - timedelta(minutes=5)).isoformat(),
        "bank": "ICBC",
        "bank_account_no": "6222020200998877665",
        "account_holder_name": "张伟",
    }
    opened = ok(client.post("/service-requests", json=body, headers=as_(*SELLER)))
    project(system)
    path = f"/service-requests/{opened['case_id']}/personal-data"

    masked = ok(client.get(path, headers=as_(Role.SUPERVISOR, "boss")))
    revealed = ok(
        client.get(
            path,
            headers=as_(*HANDLER),
            params={"reveal": "bank_account_no", "purpose": "set up the new direct debit"},
        )
    )
    refused = client.get(
        path, headers=as_(Role.SUPERVISOR, "boss"), params={"reveal": "bank_account_no", "purpose": "curious"}
    )

    assert masked["fields"]["bank_account_no"] == "***************7665"
    assert masked["fields"]["requester_name"] == "张*"
    assert revealed["fields"]["bank_account_no"] == "6222020200998877665"
    assert revealed["revealed"] == ["bank_account_no"]
    assert refused.status_code == 403


def test_the_customers_cases_list_the_request_for_whoever_may_read_its_policy(
    client: TestClient, system: System, clock: ControlledClock, read_models: None
) -> None:
    begin(system)
    policy_id = a_life_policy(system, clock)
    opened = ok(
        client.post("/service-requests", json=beneficiary_change(policy_id, clock), headers=as_(*SELLER))
    )
    project(system)
    customer = f"/customers/{system.policies.load(policy_id).customer_id}"

    seller_view = ok(client.get(customer, headers=as_(*SELLER)))
    other_seller = client.get(customer, headers=as_(Role.SELLER, "someone.else"))

    assert seller_view["service_request_ids"] == [opened["case_id"]]
    assert other_seller.status_code == 404


def test_the_audit_history_of_a_request_cites_its_basis_and_masks_the_new_bank_account(
    client: TestClient, system: System, clock: ControlledClock
) -> None:
    policy_id = a_life_policy(system, clock)
    body = {
        "policy_id": str(policy_id),
        "item": "bank_account_change",
        "channel": "counter",
        "requested_by": "insured",
        "requester_name": "张伟",
        "received_at": (clock.now() - timedelta(minutes=5)).isoformat(),
        "bank": "ICBC",
        "bank_account_no": "6222020200998877665",
        "account_holder_name": "张伟",
    }
    opened = ok(client.post("/service-requests", json=body, headers=as_(*SELLER)))

    history = ok(client.get(f"/audit/cases/{opened['case_id']}/events", headers=as_(Role.AUDITOR, "audit-1")))

    (requested,) = history["events"]
    assert requested["event_type"] == "ServiceRequested"
    assert requested["payload"]["bank_account_no"] == "***************7665"
    assert requested["payload"]["bank"] == "ICBC"
    assert "保全" in str(requested["legal_basis"])
