"""The API creates no read table: before the consumers and the scheduler first ran, a query says "not yet".

The read models and ``sla_due`` belong to the processes that write them (the projections and timers
consumer groups, the scheduler), which create them at start. Until then every query that reads them
answers 503 ``application/problem+json`` with ``Retry-After``, never a 500, and creates nothing.
"""

from __future__ import annotations

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.problems import PROBLEM_JSON
from domain.base import Role
from infra.bootstrap import System
from tests.api.conftest import as_

pytestmark = [
    pytest.mark.integration,
    pytest.mark.isolated("needs a schema whose read tables were never created"),
]

READS = [
    "/timers",
    "/timers/due-soon",
    "/timers/breached",
    "/callbacks/worklist",
    "/callbacks/completion-rate",
    "/worklist",
    "/statistics/complaints",
    "/statistics/claims-ageing",
]


def tables(system: System) -> set[str]:
    with psycopg.connect(system.database_url) as conn:
        rows = conn.execute(
            "SELECT schemaname || '.' || tablename FROM pg_tables WHERE schemaname LIKE %s",
            (system.settings.db_schema + "%",),
        ).fetchall()
    return {row[0] for row in rows}


@pytest.mark.parametrize("path", READS)
def test_a_query_answers_503_when_its_read_table_is_not_there_yet(client: TestClient, path: str) -> None:
    response = client.get(path, headers=as_(Role.SUPERVISOR))

    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.headers["retry-after"]
    assert response.json()["type"] == "urn:caseledger:problem:read-models-unavailable"


def test_the_api_creates_no_table_but_its_own(api_system: System) -> None:
    before = tables(api_system)
    with TestClient(create_app(api_system), raise_server_exceptions=False) as client:
        for path in READS:
            client.get(path, headers=as_(Role.SUPERVISOR))

    assert tables(api_system) - before == {f"{api_system.settings.db_schema}.api_idempotency"}
