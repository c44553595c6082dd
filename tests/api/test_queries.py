"""Queries answer from the projections; read your writes waits for them, bounded, else 503."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from domain.base import Role
from infra.bootstrap import System
from infra.clock import ControlledClock
from tests.api.claim_driver import HANDLER, lodge_complaint, report_claim
from tests.api.conftest import as_, ok
from tests.feed import project

pytestmark = pytest.mark.integration


def test_the_case_queries_return_the_projected_rows(
    client: TestClient, system: System, clock: ControlledClock, policy_id: UUID, read_models: None
) -> None:
    claim = report_claim(client, policy_id, clock.now() - timedelta(hours=1))
    complaint = lodge_complaint(client, clock.now())
    project(system)

    claim_view = ok(client.get(f"/claims/{claim['case_id']}", headers=as_(Role.AUDITOR)))
    complaint_view = ok(client.get(f"/complaints/{complaint['case_id']}", headers=as_(Role.AUDITOR)))
    policy_view = ok(client.get(f"/policies/{policy_id}", headers=as_(Role.SELLER, "li.na.seller")))
    customer = ok(client.get(f"/customers/{claim_view['customer_id']}", headers=as_(Role.AUDITOR)))

    assert claim_view["status"] == "reported"
    assert complaint_view["status"] == "lodged"
    assert policy_view["status"] == "issued"
    assert claim["case_id"] in customer["claim_ids"]


@pytest.mark.isolated("counts the worklist and the statistics over every case in the schema")
def test_the_worklist_and_statistics_come_from_the_projections(
    client: TestClient, system: System, clock: ControlledClock, policy_id: UUID, read_models: None
) -> None:
    claim = report_claim(client, policy_id, clock.now() - timedelta(hours=1))
    lodge_complaint(client, clock.now())
    project(system)

    work = client.get("/worklist", params={"role": "claims_handler"}, headers=as_(*HANDLER)).json()
    stats = client.get("/statistics/complaints", headers=as_(Role.SUPERVISOR)).json()
    ageing = client.get("/statistics/claims-ageing", headers=as_(Role.SENIOR_MANAGER)).json()

    assert claim["case_id"] in {item["case_id"] for item in work}
    assert sum(row["lodged"] for row in stats) == 1
    assert sum(bucket["count"] for bucket in ageing) == 1


def test_a_query_waits_for_the_version_a_command_returned(
    client: TestClient, system: System, clock: ControlledClock, policy_id: UUID, read_models: None
) -> None:
    claim = report_claim(client, policy_id, clock.now() - timedelta(hours=1))
    project(system)

    response = client.get(
        f"/claims/{claim['case_id']}", params={"min_version": claim["version"]}, headers=as_(*HANDLER)
    )

    assert response.status_code == 200


def test_a_query_answers_503_with_retry_after_when_the_projection_is_behind(
    client: TestClient, clock: ControlledClock, policy_id: UUID, read_models: None
) -> None:
    claim = report_claim(client, policy_id, clock.now() - timedelta(hours=1))

    response = client.get(
        f"/claims/{claim['case_id']}", params={"min_version": claim["version"]}, headers=as_(*HANDLER)
    )

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.headers["content-type"] == "application/problem+json"


def test_an_unknown_id_answers_404(client: TestClient, read_models: None) -> None:
    response = client.get(f"/complaints/{uuid4()}", headers=as_(Role.AUDITOR))

    assert response.status_code == 404


def test_health_and_readiness_need_no_token(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["database"] is True
