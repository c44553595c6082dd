"""保全 in the staff console: the request's case page shows its timeline and state without the new bank
account or the requester's name, links the policy, offers the review form to underwriting, and is not
found for a role that may not read the policy."""

from __future__ import annotations

from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from cli.scenarios import WANG_FANG, ZHANG_WEI, a_policy, open_bank_account_change, register_demo_seller
from domain.base import SHANGHAI, Role
from domain.policy import Line
from infra.bootstrap import System
from infra.clock import ControlledClock
from tests.api.test_console import sign_in

pytestmark = pytest.mark.integration


@pytest.fixture
def bank_change(system: System, clock: ControlledClock) -> tuple[UUID, UUID]:
    register_demo_seller(system, clock.now().astimezone(SHANGHAI).date())
    policy_id = a_policy(system, Line.LIFE)
    return policy_id, open_bank_account_change(system, clock, policy_id)


def test_underwriting_sees_the_request_masked_with_its_policy_and_the_review_form(
    client: TestClient, bank_change: tuple[UUID, UUID]
) -> None:
    policy_id, request_id = bank_change
    sign_in(client, Role.UNDERWRITER, "feng.jun.ops")

    page = client.get(f"/console/cases/{request_id}")

    assert page.status_code == 200, page.text
    assert "ServiceRequestChecked" in page.text
    assert WANG_FANG.account not in page.text
    assert ZHANG_WEI.name not in page.text
    assert f"/console/cases/{policy_id}" in page.text
    assert "POST /service-requests/{request_id}/approval" in page.text


def test_a_claims_handler_does_not_find_a_request_on_a_policy_never_claimed_on(
    client: TestClient, bank_change: tuple[UUID, UUID]
) -> None:
    _, request_id = bank_change
    sign_in(client, Role.CLAIMS_HANDLER, "chen.jie.claims")

    page = client.get(f"/console/cases/{request_id}")

    assert page.status_code == 404
