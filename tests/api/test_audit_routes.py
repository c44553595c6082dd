"""The audit routes over HTTP on real PostgreSQL: history and as-of for the audit roles, else problems."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from cli.scenarios import OFFICER, by, lodge_sample_complaint
from domain.base import Role
from infra.bootstrap import System
from infra.services.complaints import AcknowledgeComplaint
from tests.api.conftest import as_, ok

pytestmark = pytest.mark.integration


@pytest.fixture
def complaint_id(system: System) -> UUID:
    case_id = uuid4()
    lodge_sample_complaint(system, by(OFFICER), case_id, system.clock.now(), uuid4())
    system.complaints.acknowledge(case_id, AcknowledgeComplaint(channel="sms"), by(OFFICER))
    return case_id


def test_the_auditor_reads_a_case_history_with_actor_basis_and_chain(
    client: TestClient, complaint_id: UUID
) -> None:
    body = ok(client.get(f"/audit/cases/{complaint_id}/events", headers=as_(Role.AUDITOR)))

    assert body["context"] == "complaint"
    assert [e["wire_name"] for e in body["events"]] == ["complaint.lodged.v1", "complaint.acknowledged.v1"]
    first = body["events"][0]
    assert (first["actor_id"], first["actor_role"]) == (OFFICER[1], OFFICER[0].value)
    assert first["legal_basis"]["instrument"].startswith("银行业保险业消费投诉处理管理办法")
    assert len(first["chain_hash"]) == 64


def test_a_supervisor_reads_the_case_as_of_its_first_version(client: TestClient, complaint_id: UUID) -> None:
    body = ok(client.get(f"/audit/cases/{complaint_id}/state?version=1", headers=as_(Role.SUPERVISOR)))

    assert body["version"] == 1
    assert body["state"]["status"] == "lodged"


def test_as_of_is_a_problem_when_the_case_is_unknown_or_the_time_has_no_zone(
    client: TestClient, complaint_id: UUID
) -> None:
    unknown = client.get(f"/audit/cases/{uuid4()}/events", headers=as_(Role.AUDITOR))
    naive = client.get(
        f"/audit/cases/{complaint_id}/state",
        params={"as_of": "2026-03-02T09:00:00"},
        headers=as_(Role.AUDITOR),
    )
    before = client.get(
        f"/audit/cases/{complaint_id}/state",
        params={"as_of": "2000-01-01T00:00:00+08:00"},
        headers=as_(Role.AUDITOR),
    )
    both = client.get(
        f"/audit/cases/{complaint_id}/state",
        params={"as_of": "2030-01-01T00:00:00+08:00", "version": 1},
        headers=as_(Role.AUDITOR),
    )

    assert (unknown.status_code, naive.status_code, before.status_code, both.status_code) == (
        404,
        422,
        404,
        422,
    )
    assert {r.headers["content-type"] for r in (unknown, naive, before, both)} == {"application/problem+json"}


def test_a_claims_handler_may_not_read_the_audit_trail(client: TestClient, complaint_id: UUID) -> None:
    response = client.get(f"/audit/cases/{complaint_id}/events", headers=as_(Role.CLAIMS_HANDLER))

    assert response.status_code == 403
