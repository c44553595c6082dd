"""Inquiries (咨询) and value-added service orders (其他) over HTTP: each command by its resource with the
house conventions (ETag / If-Match, Idempotency-Key, problem+json naming the rule, roles), and their views,
the inquiry a complaint or a 保全 service request came from, the statistics and the customer's contact
history."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from cli.scenarios import a_policy, register_demo_seller
from domain.base import SHANGHAI, Role
from domain.policy import Line
from infra.bootstrap import System
from infra.clock import ControlledClock
from tests.api.claim_driver import lodge_complaint, step
from tests.api.conftest import as_, ok
from tests.feed import begin, project

pytestmark = pytest.mark.integration

AGENT = (Role.CALLBACK_AGENT, "he.ping.callback")
SUPERVISOR = (Role.SUPERVISOR, "lin.tao.supervisor")


def log(client: TestClient, clock: ControlledClock, customer: str | None, **headers: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "contacted_at": (clock.now() - timedelta(minutes=2)).isoformat(),
        "channel": "hotline",
        "category": "claim_progress",
        "question": "when is my claim paid?",
    }
    if customer is not None:
        body["customer_id"] = customer
    return ok(client.post("/inquiries", json=body, headers=as_(*AGENT, **headers)))


def rescue(client: TestClient, clock: ControlledClock, customer: str) -> dict[str, Any]:
    return step(
        client,
        AGENT,
        "/service-orders",
        {
            "requested_at": clock.now().isoformat(),
            "kind": "roadside_rescue",
            "customer_id": customer,
            "policy_ref": "P0B8A4F2E3C1D",
            "contact_phone": "13800138000",
            "location": "G60 km 32",
        },
    )


@pytest.mark.usefixtures("read_models")
def test_an_inquiry_answered_at_once_is_shown_resolved_at_first_contact(
    client: TestClient, system: System, clock: ControlledClock
) -> None:
    begin(system)
    customer = f"CUST-{uuid4().hex[:8]}"
    logged = log(client, clock, customer)
    path = f"/inquiries/{logged['case_id']}"
    answered = ok(
        client.post(
            f"{path}/answer",
            json={"answer": "paid on Friday"},
            headers=as_(*AGENT, If_Match=f'"{logged["version"]}"'),
        )
    )
    step(client, AGENT, f"{path}/closure", {})
    project(system)

    view = client.get(path, params={"min_version": answered["version"]}, headers=as_(*SUPERVISOR))

    assert view.status_code == 200, view.text
    assert view.json()["first_contact"] is True
    assert view.json()["status"] == "closed"
    assert view.headers["ETag"] == '"3"'


def test_a_deferral_for_an_anonymous_caller_is_a_422_naming_its_rule(
    client: TestClient, clock: ControlledClock
) -> None:
    logged = log(client, clock, None)

    refused = client.post(
        f"/inquiries/{logged['case_id']}/deferral", json={"reason": "needs checking"}, headers=as_(*AGENT)
    )

    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["rule"] == "INQ-REPLY-NEEDS-CUSTOMER"


def test_a_stale_if_match_on_an_inquiry_is_a_409(client: TestClient, clock: ControlledClock) -> None:
    logged = log(client, clock, "CUST-stale")
    path = f"/inquiries/{logged['case_id']}"
    step(client, AGENT, f"{path}/answer", {"answer": "yes"})

    stale = client.post(f"{path}/closure", json={}, headers=as_(*AGENT, If_Match='"1"'))

    assert stale.status_code == 409


def test_a_repeated_inquiry_with_the_same_idempotency_key_logs_it_once(
    client: TestClient, clock: ControlledClock
) -> None:
    key = f"inq-{uuid4()}"
    first = log(client, clock, "CUST-idem", Idempotency_Key=key)
    again = log(client, clock, "CUST-idem", Idempotency_Key=key)

    assert again["case_id"] == first["case_id"]
    assert again["version"] == first["version"] == 1


def test_a_seller_may_not_log_an_inquiry(client: TestClient, clock: ControlledClock) -> None:
    refused = client.post(
        "/inquiries",
        json={
            "contacted_at": clock.now().isoformat(),
            "channel": "agent",
            "category": "product",
            "question": "what does the product cover?",
        },
        headers=as_(Role.SELLER, "li.na.agent"),
    )

    assert refused.status_code == 403


@pytest.mark.usefixtures("read_models")
def test_the_complaint_an_inquiry_was_transferred_to_shows_the_inquiry_and_both_are_in_the_history(
    client: TestClient, system: System, clock: ControlledClock
) -> None:
    begin(system)
    customer = "CUST-api"  # the complaint driver's customer
    logged = log(client, clock, customer)
    complaint = lodge_complaint(client, clock.now())
    step(
        client,
        AGENT,
        f"/inquiries/{logged['case_id']}/transfer",
        {"target_kind": "complaint", "target_id": complaint["case_id"]},
    )
    project(system)

    origin = ok(client.get(f"/cases/{complaint['case_id']}/inquiry", headers=as_(*SUPERVISOR)))
    history = ok(client.get(f"/customers/{customer}/contacts", headers=as_(*AGENT)))

    assert origin["inquiry_id"] == logged["case_id"]
    assert origin["case_kind"] == "complaint"
    kinds = {c["case_id"]: c["contact_kind"] for c in history["contacts"]}
    assert kinds[logged["case_id"]] == "inquiry"
    assert kinds[complaint["case_id"]] == "complaint"


def a_policy_holder(system: System, clock: ControlledClock) -> tuple[UUID, str]:
    register_demo_seller(system, clock.now().astimezone(SHANGHAI).date())
    policy_id = a_policy(system, Line.LIFE)
    return policy_id, system.policies.load(policy_id).customer_id


def address_change(
    client: TestClient, clock: ControlledClock, policy_id: UUID, inquiry: str
) -> dict[str, Any]:
    body = {
        "policy_id": str(policy_id),
        "item": "address_change",
        "channel": "hotline",
        "requested_by": "applicant",
        "requester_name": "张伟",
        "received_at": (clock.now() - timedelta(minutes=1)).isoformat(),
        "new_address": "上海市浦东新区世纪大道 100 号 8 楼",
        "inquiry_id": inquiry,
    }
    return ok(client.post("/service-requests", json=body, headers=as_(Role.SELLER, "li.na.seller")))


@pytest.mark.usefixtures("read_models")
def test_the_service_request_an_inquiry_was_transferred_to_shows_the_inquiry_and_both_are_in_the_history(
    client: TestClient, system: System, clock: ControlledClock
) -> None:
    begin(system)
    policy_id, customer = a_policy_holder(system, clock)
    logged = log(client, clock, customer)
    request = address_change(client, clock, policy_id, logged["case_id"])
    step(
        client,
        AGENT,
        f"/inquiries/{logged['case_id']}/transfer",
        {"target_kind": "service_request", "target_id": request["case_id"]},
    )
    project(system)

    origin = ok(client.get(f"/cases/{request['case_id']}/inquiry", headers=as_(*SUPERVISOR)))
    history = ok(client.get(f"/customers/{customer}/contacts", headers=as_(*AGENT)))

    assert (origin["inquiry_id"], origin["case_kind"]) == (logged["case_id"], "service_request")
    kinds = {c["case_id"]: c["contact_kind"] for c in history["contacts"]}
    assert kinds[logged["case_id"]] == "inquiry"
    assert kinds[request["case_id"]] == "service_request"


def test_a_transfer_to_a_service_request_opened_for_another_inquiry_is_a_422_naming_its_rule(
    client: TestClient, system: System, clock: ControlledClock
) -> None:
    policy_id, customer = a_policy_holder(system, clock)
    first = log(client, clock, customer)
    request = address_change(client, clock, policy_id, first["case_id"])
    second = log(client, clock, customer)

    refused = client.post(
        f"/inquiries/{second['case_id']}/transfer",
        json={"target_kind": "service_request", "target_id": request["case_id"]},
        headers=as_(*AGENT),
    )

    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["rule"] == "INQ-TRANSFER-TARGET"


@pytest.mark.usefixtures("read_models")
def test_a_case_no_inquiry_was_transferred_to_has_no_origin(client: TestClient) -> None:
    answer = client.get(f"/cases/{uuid4()}/inquiry", headers=as_(*SUPERVISOR))

    assert answer.status_code == 404


@pytest.mark.usefixtures("read_models")
def test_inquiry_statistics_count_first_contact_resolution_for_managers_only(
    client: TestClient, system: System, clock: ControlledClock
) -> None:
    begin(system)
    month = clock.now().strftime("%Y-%m")
    logged = log(client, clock, "CUST-stats")
    step(client, AGENT, f"/inquiries/{logged['case_id']}/answer", {"answer": "yes"})
    project(system)

    answer = client.get("/statistics/inquiries", params={"month_from": month}, headers=as_(*SUPERVISOR))
    stats: list[dict[str, Any]] = answer.json()
    forbidden = client.get("/statistics/inquiries", headers=as_(*AGENT))

    assert answer.status_code == 200, answer.text
    row = next(s for s in stats if (s["category"], s["channel"]) == ("claim_progress", "hotline"))
    assert row["first_contact_resolved"] >= 1
    assert 0 < row["first_contact_resolution_rate"] <= 1
    assert forbidden.status_code == 403


@pytest.mark.usefixtures("read_models")
def test_a_rescue_order_runs_requested_dispatched_arrived_done_and_shows_it_arrived_on_time(
    client: TestClient, system: System, clock: ControlledClock
) -> None:
    begin(system)
    order = rescue(client, clock, "CUST-rescue")
    path = f"/service-orders/{order['case_id']}"
    step(client, AGENT, f"{path}/dispatch", {"provider": "Anji Rescue"})
    clock.advance(timedelta(minutes=30))
    step(client, AGENT, f"{path}/arrival", {"arrived_at": clock.now().isoformat()})
    done = step(client, AGENT, f"{path}/completion", {"summary": "battery jumped"})
    project(system)

    view = ok(client.get(path, params={"min_version": done["version"]}, headers=as_(*SUPERVISOR)))

    assert view["status"] == "done"
    assert view["arrived_on_time"] is True


def test_an_arrival_before_the_dispatch_is_a_422_naming_its_rule(
    client: TestClient, clock: ControlledClock
) -> None:
    order = rescue(client, clock, "CUST-early")
    path = f"/service-orders/{order['case_id']}"
    step(client, AGENT, f"{path}/dispatch", {"provider": "Anji Rescue"})

    refused = client.post(
        f"{path}/arrival",
        json={"arrived_at": (clock.now() - timedelta(hours=1)).isoformat()},
        headers=as_(*AGENT),
    )

    assert refused.status_code == 422
    assert refused.json()["rule"] == "VAS-BUSINESS-TIME"


@pytest.mark.usefixtures("read_models")
def test_a_service_order_s_phone_is_masked_and_revealed_in_full_to_its_dispatcher_with_a_purpose(
    client: TestClient, system: System, clock: ControlledClock
) -> None:
    begin(system)
    order = rescue(client, clock, f"CUST-{uuid4().hex[:8]}")
    project(system)
    path = f"/service-orders/{order['case_id']}/personal-data"

    masked = ok(client.get(path, headers=as_(*SUPERVISOR)))
    revealed = ok(
        client.get(
            path,
            params={"reveal": "contact_phone", "purpose": "call the customer back about the truck"},
            headers=as_(*AGENT),
        )
    )
    refused = client.get(
        path, params={"reveal": "contact_phone", "purpose": "curiosity"}, headers=as_(*SUPERVISOR)
    )

    assert masked["fields"]["contact_phone"] == "138****8000"
    assert masked["fields"]["location"] == "***"
    assert revealed["fields"]["contact_phone"] == "13800138000"
    assert refused.status_code == 403
