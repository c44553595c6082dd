"""The API creates no read table: before the consumers first ran, a query of a read model says "not yet".

The read models belong to the projections consumer group, which creates them at start. Until then every
query that reads them answers 503 ``application/problem+json`` with ``Retry-After``, never a 500, and
creates nothing. ``sla_due`` is no read model but one of the migrations' tables (the timers group and the
scheduler write it): it is there from the first process's start, so its views answer, with no timer yet.
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
    "/callbacks/worklist",
    "/worklist",
    "/statistics/complaints",
    "/statistics/claims-ageing",
]
"""The queries of the read models."""

DUE_READS = ["/timers", "/timers/due-soon", "/timers/breached", "/callbacks/completion-rate"]
"""The queries of ``sla_due``."""


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


@pytest.mark.parametrize("path", [p for p in DUE_READS if p.startswith("/timers")])
def test_a_timer_view_answers_with_no_timer_before_any_was_recorded(client: TestClient, path: str) -> None:
    response = client.get(path, headers=as_(Role.SUPERVISOR))

    assert response.status_code == 200, response.text
    assert response.json() == []


def test_the_callback_completion_rate_counts_nothing_before_any_timer_was_recorded(
    client: TestClient,
) -> None:
    response = client.get("/callbacks/completion-rate", headers=as_(Role.SUPERVISOR))

    assert response.status_code == 200, response.text
    counts = {
        key for row in response.json() for key, value in row.items() if isinstance(value, int) and value
    }
    assert response.json()
    assert counts == set()


def test_the_api_creates_no_table(api_system: System) -> None:
    before = tables(api_system)
    with TestClient(create_app(api_system), raise_server_exceptions=False) as client:
        for path in READS + DUE_READS:
            client.get(path, headers=as_(Role.SUPERVISOR))

    assert f"{api_system.settings.db_schema}.api_idempotency" in before  # the migrations': there already
    assert tables(api_system) - before == set()
