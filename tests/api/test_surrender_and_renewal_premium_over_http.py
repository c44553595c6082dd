"""退保 and 续期 over HTTP: every new command with the house conventions (roles, If-Match, Idempotency-Key,
problem+json naming the broken rule), against the real store."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from cli.scenarios import a_policy, register_demo_seller
from domain.base import SHANGHAI, Role
from domain.policy import Line, PolicyStatus
from infra.bootstrap import System
from infra.clock import ControlledClock
from tests.api.claim_driver import step
from tests.api.conftest import as_, ok
from tests.feed import project

pytestmark = pytest.mark.integration

UNDERWRITER = Role.UNDERWRITER, "wang.fang.uw"
SELLER = Role.SELLER, "li.na.seller"
SYSTEM = Role.SYSTEM, "caseledger"


def _today(clock: ControlledClock) -> date:
    return clock.now().astimezone(SHANGHAI).date()


def a_life_policy(system: System, clock: ControlledClock) -> tuple[str, str]:
    register_demo_seller(system, _today(clock))
    policy_id = a_policy(system, Line.LIFE)
    return str(policy_id), f"/policies/{policy_id}"


def test_a_surrender_is_noticed_valued_and_refunded_and_each_refusal_names_its_rule(
    client: TestClient, system: System, clock: ControlledClock
) -> None:
    policy_id, policy = a_life_policy(system, clock)
    today = _today(clock).isoformat()
    step(
        client, UNDERWRITER, f"{policy}/cash-value-table", {"table_ref": "CV-1", "cash_values_fen": [70_000]}
    )

    by_insured = client.post(
        f"{policy}/surrender-notice",
        json={"received_on": today, "given_by": "insured"},
        headers=as_(*UNDERWRITER),
    )
    by_seller = client.post(f"{policy}/surrender-notice", json={"received_on": today}, headers=as_(*SELLER))
    step(client, UNDERWRITER, f"{policy}/surrender-notice", {"received_on": today})
    step(client, UNDERWRITER, f"{policy}/surrender-value", {})
    wrong = client.post(
        f"{policy}/surrender-refund",
        json={"amount_fen": 69_999, "paid_on": today, "payment_ref": "PAY-1"},
        headers=as_(*UNDERWRITER),
    )
    paid = step(
        client,
        UNDERWRITER,
        f"{policy}/surrender-refund",
        {"amount_fen": 70_000, "paid_on": today, "payment_ref": "P"},
    )

    assert by_insured.status_code == 422
    assert by_insured.headers["content-type"].startswith("application/problem+json")
    assert by_insured.json()["rule"] == "IL15-APPLICANT-SURRENDERS"
    assert by_seller.status_code == 403
    assert wrong.status_code == 422
    assert wrong.json()["rule"] == "SURRENDER-REFUND-AMOUNT"
    assert paid["case_id"] == policy_id
    policy_now = system.policies.load(paid["case_id"])
    assert (policy_now.status, policy_now.refund_paid) == (PolicyStatus.SURRENDERED, True)


def test_a_renewal_premium_is_scheduled_reminded_and_paid_with_if_match_and_idempotency(
    client: TestClient, system: System, clock: ControlledClock
) -> None:
    _, policy = a_life_policy(system, clock)
    today = _today(clock)
    scheduled = step(
        client, UNDERWRITER, f"{policy}/premium-schedule", {"frequency_months": 1, "instalments": 12}
    )
    billed = system.policies.load(scheduled["case_id"]).billed
    assert billed is not None

    early = client.post(
        f"{policy}/premium-reminder",
        json={"reminded_on": today.isoformat(), "channel": "sms"},
        headers=as_(*UNDERWRITER),
    )
    stale = client.post(
        f"{policy}/renewal-premium",
        json={"amount_fen": billed.amount_fen, "paid_on": today.isoformat(), "receipt_no": "R-1"},
        headers=as_(*UNDERWRITER, If_Match='"1"'),
    )
    body = {"amount_fen": billed.amount_fen, "paid_on": today.isoformat(), "receipt_no": "R-1"}
    first = client.post(
        f"{policy}/renewal-premium", json=body, headers=as_(*UNDERWRITER, Idempotency_Key="pay-1")
    )
    again = client.post(
        f"{policy}/renewal-premium", json=body, headers=as_(*UNDERWRITER, Idempotency_Key="pay-1")
    )
    lapse_by_staff = client.post(f"{policy}/lapse", headers=as_(*UNDERWRITER))

    assert early.status_code == 422
    assert early.json()["rule"] == "IL36-DEMAND-AFTER-DUE"
    assert stale.status_code == 409
    assert first.status_code == 200, first.text
    assert again.json() == first.json()
    assert system.policies.load(scheduled["case_id"]).instalments_paid == 2
    assert lapse_by_staff.status_code == 403


def test_lapse_by_the_system_before_the_payment_period_ends_is_refused_naming_art36(
    client: TestClient, system: System, clock: ControlledClock
) -> None:
    _, policy = a_life_policy(system, clock)
    step(client, UNDERWRITER, f"{policy}/premium-schedule", {"frequency_months": 3, "instalments": 4})

    early = client.post(f"{policy}/lapse", headers=as_(*SYSTEM))

    assert early.status_code == 422
    assert early.json()["rule"] == "IL36-GRACE"


def test_the_policy_query_shows_the_instalment_due_and_its_payment_period(
    client: TestClient, system: System, clock: ControlledClock, read_models: None
) -> None:
    policy_id, policy = a_life_policy(system, clock)
    step(client, UNDERWRITER, f"{policy}/premium-schedule", {"frequency_months": 3, "instalments": 4})
    billed = system.policies.load(UUID(policy_id)).billed
    assert billed is not None
    project(system)

    view = ok(client.get(policy, headers=as_(*UNDERWRITER)))

    assert view["next_due_on"] == billed.due_on.isoformat()
    assert (view["premium_frequency_months"], view["instalments"], view["instalments_paid"]) == (3, 4, 1)
    assert view["status"] == "issued"
