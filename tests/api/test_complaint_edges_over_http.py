"""Complaint and calendar edges over HTTP: the senior manager approves the 60-day extension by their own
request; a date no calendar covers is a 422 naming its rule; provisional deadlines are flagged in the
worklist and timer answers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from datetime import datetime
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from cli.scenarios import SELLER, register_demo_seller
from consumers.timers import TIMERS_GROUP, timers_handler
from domain.base import SHANGHAI, Role
from domain.complaint import ComplaintDeadlineExtended
from infra.bootstrap import System
from infra.clock import ControlledClock
from tests.api.claim_driver import lodge_complaint, step
from tests.api.conftest import as_
from tests.feed import Group, project

pytestmark = pytest.mark.integration

OFFICER = (Role.COMPLAINTS_OFFICER, "wu.xia.complaints")
HANDLING = (Role.COMPLAINTS_OFFICER, "zheng.qiang.complaints")
SENIOR = (Role.SENIOR_MANAGER, "qian.wei.senior")


@pytest.fixture
def timers_group(system: System) -> Iterator[Group]:
    cases = (system.policies, system.claims, system.complaints, system.callbacks)
    with closing(Group(system, TIMERS_GROUP, timers_handler, cases)) as group:
        yield group


def investigated(client: TestClient, system: System, clock: ControlledClock) -> str:
    """A complaint about the (registered) seller lodged, acknowledged, assigned and classified complex."""
    register_demo_seller(system, clock.now().astimezone(SHANGHAI).date())
    complaint = lodge_complaint(client, clock.now(), {"kind": "seller", "ref": SELLER[1]})
    path = f"/complaints/{complaint['case_id']}"
    step(client, OFFICER, f"{path}/acknowledgement", {"channel": "sms"})
    step(client, OFFICER, f"{path}/assignment", {"handler_id": HANDLING[1]})
    step(client, HANDLING, f"{path}/classification", {"complexity": "complex"})
    return str(complaint["case_id"])


def test_the_senior_manager_approves_the_60_day_extension_by_their_own_request(
    client: TestClient, system: System, clock: ControlledClock
) -> None:
    complaint_id = investigated(client, system, clock)
    path = f"/complaints/{complaint_id}"
    step(client, HANDLING, f"{path}/extension", {"to_days": 30, "reason": "the invoice is disputed"})

    step(
        client,
        SENIOR,
        f"{path}/extension-approval",
        {"to_days": 60, "reason": "the head office's motor experts must see the car"},
    )
    step(
        client,
        HANDLING,
        f"{path}/extension",
        {"to_days": 60, "reason": "experts needed", "customer_notified_at": clock.now().isoformat()},
    )

    extended = system.complaints.history(UUID(complaint_id))[-1]
    assert isinstance(extended, ComplaintDeadlineExtended)
    assert extended.approver is not None
    assert (extended.approver.id, extended.approver.role) == (SENIOR[1], Role.SENIOR_MANAGER)
    assert extended.actor.id == HANDLING[1]


def test_the_60_day_extension_is_refused_with_the_approval_rule_when_no_senior_manager_approved(
    client: TestClient, system: System, clock: ControlledClock
) -> None:
    complaint_id = investigated(client, system, clock)
    path = f"/complaints/{complaint_id}"
    step(client, HANDLING, f"{path}/extension", {"to_days": 30, "reason": "the invoice is disputed"})

    response = client.post(
        f"{path}/extension",
        json={"to_days": 60, "reason": "experts", "customer_notified_at": clock.now().isoformat()},
        headers=as_(*HANDLING),
    )

    assert response.status_code == 422
    assert response.json()["rule"] == "CMP-EXT-60D-APPROVAL"


def test_assigning_a_complaint_about_a_policy_number_on_no_record_is_a_422_naming_the_recusal_rule(
    client: TestClient, system: System, clock: ControlledClock
) -> None:
    complaint = lodge_complaint(client, clock.now(), {"kind": "policy", "ref": "P-LEGACY-0001"})
    path = f"/complaints/{complaint['case_id']}"
    step(client, OFFICER, f"{path}/acknowledgement", {"channel": "sms"})

    response = client.post(f"{path}/assignment", json={"handler_id": HANDLING[1]}, headers=as_(*OFFICER))

    assert response.status_code == 422
    assert response.json()["rule"] == "CMP-RECUSAL-SUBJECT-UNRESOLVED"
    assert "subject_case_id" in response.json()["detail"]
    assert system.complaints.load(UUID(complaint["case_id"])).handler_id is None


def test_a_complaint_received_in_2020_is_refused_with_the_calendar_rule(
    client: TestClient, system: System
) -> None:
    stored = system.complaints.recorder.max_notification_id()
    response = client.post(
        "/complaints",
        json={
            "received_at": "2020-06-01T10:00:00+08:00",
            "category": "claims",
            "channel": "letter",
            "subject_ref": {"kind": "policy", "ref": "P-1"},
            "customer_id": "CUST-api",
            "complainant_name": "张伟",
            "complainant_phone": "13800138000",
            "facts": "an old grievance",
            "demands": "a refund",
        },
        headers=as_(*OFFICER),
    )

    assert response.status_code == 422
    assert response.json()["rule"] == "CAL-OUT-OF-RANGE"
    assert system.complaints.recorder.max_notification_id() == stored


def listed(client: TestClient, path: str, **params: object) -> list[dict[str, Any]]:
    response = client.get(path, params=params, headers=as_(Role.SUPERVISOR))
    assert response.status_code == 200, response.text
    answer: list[dict[str, Any]] = response.json()
    return answer


def items_of(client: TestClient, case_id: str) -> dict[str, dict[str, Any]]:
    return {
        item["item"]: item for item in listed(client, "/worklist", limit=500) if item["case_id"] == case_id
    }


def test_the_worklist_and_the_timers_flag_a_deadline_resting_on_the_provisional_year(
    client: TestClient, system: System, clock: ControlledClock, read_models: None, timers_group: Group
) -> None:
    now_2026 = lodge_complaint(client, clock.now())["case_id"]
    clock.set(datetime(2027, 9, 16, 10, tzinfo=SHANGHAI))
    in_2027 = lodge_complaint(client, clock.now())["case_id"]
    project(system)
    timers_group.consume()

    timers = listed(client, "/timers", case_id=in_2027)
    earlier = listed(client, "/timers", case_id=now_2026)

    assert items_of(client, in_2027)["respond to complaint"]["provisional"] is True
    assert items_of(client, now_2026)["respond to complaint"]["provisional"] is False
    assert {t["rule_id"]: t["provisional"] for t in timers} == {
        "CMP-DECIDE-15D": True,
        "CO-CMP-ACK-1WD": True,
    }
    assert {t["provisional"] for t in earlier} == {False}
