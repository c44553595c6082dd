"""CTPL (交强险) over HTTP: a surrender names its regulation ground, a rescission waits for the written
notice and the applicant's 5 days; each refusal answers problem+json naming its rule."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from cli.scenarios import a_policy, register_demo_seller
from domain.base import SHANGHAI, Role
from domain.policy import Line, PolicyStatus
from infra.bootstrap import System
from infra.clock import ControlledClock
from tests.api.claim_driver import step
from tests.api.conftest import as_

pytestmark = pytest.mark.integration

UNDERWRITER = Role.UNDERWRITER, "wang.fang.uw"
HANDLER = Role.CLAIMS_HANDLER, "chen.jie.claims"


def _today(clock: ControlledClock) -> date:
    return clock.now().astimezone(SHANGHAI).date()


def a_ctpl_policy(system: System, clock: ControlledClock) -> str:
    register_demo_seller(system, _today(clock))
    policy_id = a_policy(system, Line.MOTOR_CTPL)
    return f"/policies/{policy_id}"


def test_ctpl_surrender_is_refused_without_a_regulation_ground_and_recorded_with_one(
    client: TestClient, system: System, clock: ControlledClock
) -> None:
    policy = a_ctpl_policy(system, clock)
    today = _today(clock).isoformat()

    refused = client.post(
        f"{policy}/surrender",
        json={"requested_on": today, "cash_value_fen": 80_000},
        headers=as_(*UNDERWRITER),
    )
    step(
        client,
        UNDERWRITER,
        f"{policy}/surrender",
        {
            "requested_on": today,
            "cash_value_fen": 80_000,
            "ctpl_ground": "vehicle_deregistered",
            "proof_ref": "DMV-DEREG-0001",
        },
    )

    assert refused.status_code == 422
    assert refused.json()["rule"] == "CTPL16-SURRENDER-GROUNDS"
    assert system.policies.load(policy_id_of(policy)).status is PolicyStatus.SURRENDERED


def test_ctpl_rescission_waits_for_the_written_notice_and_the_applicants_five_days(
    client: TestClient, system: System, clock: ControlledClock
) -> None:
    policy = a_ctpl_policy(system, clock)
    step(
        client,
        HANDLER,
        f"{policy}/rescission-grounds",
        {
            "ground": "non_disclosure_art16",
            "known_at": clock.now().isoformat(),
            "evidence": "the vehicle is used for ride-hailing, declared private",
        },
    )
    rescind = {"ground": "non_disclosure_art16", "fault": "deliberate", "refund_fen": 0, "notice_ref": "R-1"}

    without_notice = client.post(f"{policy}/rescission", json=rescind, headers=as_(*UNDERWRITER))
    received_on = _today(clock)
    step(
        client,
        UNDERWRITER,
        f"{policy}/rescission-notice",
        {"ground": "non_disclosure_art16", "notice_ref": "CTPL-N-1", "received_on": received_on.isoformat()},
    )
    within_cure = client.post(f"{policy}/rescission", json=rescind, headers=as_(*UNDERWRITER))
    # Received Monday 2 March 2026: the 5 days end with Saturday 7 March, a rest day → Monday 9 March.
    clock.set(datetime(2026, 3, 10, 9, 30, tzinfo=SHANGHAI))
    step(client, UNDERWRITER, f"{policy}/rescission", rescind)

    assert received_on == date(2026, 3, 2)
    assert (without_notice.status_code, without_notice.json()["rule"]) == (422, "CTPL14-WRITTEN-NOTICE")
    assert (within_cure.status_code, within_cure.json()["rule"]) == (422, "CTPL14-CURE-5D")
    assert system.policies.load(policy_id_of(policy)).status is PolicyStatus.RESCINDED


def test_ctpl_rescission_is_refused_when_the_applicant_disclosed_within_the_five_days(
    client: TestClient, system: System, clock: ControlledClock
) -> None:
    policy = a_ctpl_policy(system, clock)
    step(
        client,
        HANDLER,
        f"{policy}/rescission-grounds",
        {"ground": "non_disclosure_art16", "known_at": clock.now().isoformat(), "evidence": "undeclared use"},
    )
    received_on = _today(clock)
    step(
        client,
        UNDERWRITER,
        f"{policy}/rescission-notice",
        {"ground": "non_disclosure_art16", "notice_ref": "CTPL-N-2", "received_on": received_on.isoformat()},
    )
    clock.advance(timedelta(days=3))
    step(
        client,
        UNDERWRITER,
        f"{policy}/non-disclosure-cure",
        {
            "ground": "non_disclosure_art16",
            "disclosed_on": _today(clock).isoformat(),
            "evidence_ref": "DISCLOSURE-0001",
        },
    )
    clock.advance(timedelta(days=10))

    refused = client.post(
        f"{policy}/rescission",
        json={"ground": "non_disclosure_art16", "fault": "deliberate", "refund_fen": 0, "notice_ref": "R-2"},
        headers=as_(*UNDERWRITER),
    )

    assert (refused.status_code, refused.json()["rule"]) == (422, "CTPL14-CURED")


def policy_id_of(path: str) -> UUID:
    return UUID(path.rsplit("/", 1)[-1])
