"""Read your writes by store position: a query given a command's ``position`` waits for the projections.

On a case query the case's events up to the position must be applied; on a list query (with ``context``)
every event of the context up to it, and the relay must have passed it (no earlier event can still commit).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from api.app import create_app
from cli.runtime import serve
from domain.base import Role
from infra.bootstrap import System
from infra.clock import ControlledClock
from projections.schema import PROJECTIONS_GROUP
from tests.api.claim_driver import HANDLER, OFFICER, lodge_complaint, report_claim
from tests.api.conftest import as_, ok
from tests.feed import project

pytestmark = [
    pytest.mark.integration,
    pytest.mark.isolated("runs the relay and the projections group over everything the schema stores"),
]


@pytest.fixture
def pipeline_system(api_system: System) -> System:
    """The API's system on topics of its own, with room for the live pipeline to catch up."""
    settings = api_system.settings.model_copy(
        update={"topic_prefix": f"t{uuid4().hex[:8]}", "api_read_wait_seconds": 20.0}
    )
    return dataclasses.replace(api_system, settings=settings)


@pytest.fixture
def live_pipeline(pipeline_system: System, kafka_bootstrap: str, read_models: None) -> Iterator[None]:
    """The relay and the projections consumer group running for real, in a thread of their own."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    with ThreadPoolExecutor(max_workers=1) as executor:
        running = executor.submit(
            loop.run_until_complete,
            serve(pipeline_system, kafka_bootstrap, stop, relay=True, groups=("projections",)),
        )
        yield
        loop.call_soon_threadsafe(stop.set)
        running.result(timeout=30)  # re-raises whatever stopped the pipeline early
    loop.close()


@pytest.fixture
def live_client(pipeline_system: System, live_pipeline: None) -> Iterator[TestClient]:
    with TestClient(create_app(pipeline_system), raise_server_exceptions=False) as test_client:
        yield test_client


def mark_relayed(system: System, context: str, position: int) -> None:
    """Record the relay's published position, as the relay writes it."""
    with psycopg.connect(system.database_url, autocommit=True) as conn:
        table = sql.Identifier(system.settings.db_schema, "relay_positions")
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (context text PRIMARY KEY, position bigint NOT NULL,"
                " updated_at timestamptz NOT NULL DEFAULT now(), topic_id text)"
            ).format(table)
        )
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (context, position) VALUES (%s, %s)"
                " ON CONFLICT (context) DO UPDATE SET position = excluded.position"
            ).format(table),
            (context, position),
        )


def mark_applied(system: System, context: str, case_id: str, version: int) -> None:
    """Record a case version as applied by the projections group, as its consumer does."""
    with psycopg.connect(system.database_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (group_id, context, case_id, last_version) VALUES (%s, %s, %s, %s)"
            ).format(sql.Identifier(system.settings.db_schema, "consumer_applied")),
            (f"{system.settings.topic_prefix}.{PROJECTIONS_GROUP}", context, UUID(case_id), version),
        )


def statistics(client: TestClient, position: int) -> Any:
    return client.get(
        "/statistics/complaints",
        params={"min_position": position, "context": "complaint"},
        headers=as_(Role.SUPERVISOR),
    )


def test_a_case_query_given_a_commands_position_waits_and_sees_the_write(
    live_client: TestClient, clock: ControlledClock, policy_id: UUID
) -> None:
    claim = report_claim(live_client, policy_id, clock.now() - timedelta(hours=1))

    view = live_client.get(
        f"/claims/{claim['case_id']}", params={"min_position": claim["position"]}, headers=as_(*HANDLER)
    )

    assert ok(view)["status"] == "reported"
    assert view.headers["ETag"] == f'"{claim["version"]}"'


def test_a_list_query_given_a_commands_position_and_context_waits_and_sees_the_write(
    live_client: TestClient, clock: ControlledClock, policy_id: UUID
) -> None:
    claim = report_claim(live_client, policy_id, clock.now() - timedelta(hours=1))

    work = live_client.get(
        "/worklist",
        params={"role": "claims_handler", "min_position": claim["position"], "context": "claim"},
        headers=as_(*HANDLER),
    )

    assert work.status_code == 200, work.text
    assert claim["case_id"] in {item["case_id"] for item in work.json()}


def test_a_case_query_answers_503_with_retry_after_when_the_projection_does_not_reach_the_position(
    client: TestClient, clock: ControlledClock, read_models: None
) -> None:
    complaint = lodge_complaint(client, clock.now())

    response = client.get(
        f"/complaints/{complaint['case_id']}",
        params={"min_position": complaint["position"]},
        headers=as_(*OFFICER),
    )

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.headers["content-type"] == "application/problem+json"


def test_a_list_query_answers_503_with_retry_after_when_the_projection_does_not_reach_the_position(
    client: TestClient, system: System, clock: ControlledClock, read_models: None
) -> None:
    complaint = lodge_complaint(client, clock.now())
    mark_relayed(system, "complaint", complaint["position"])

    response = statistics(client, complaint["position"])

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert "projection-behind" in response.json()["type"]


def test_a_list_query_is_not_satisfied_by_a_later_event_applied_before_an_earlier_one(
    client: TestClient, system: System, clock: ControlledClock, read_models: None
) -> None:
    first = lodge_complaint(client, clock.now())
    second = lodge_complaint(client, clock.now())
    mark_relayed(system, "complaint", second["position"])
    # Another partition: the second complaint is applied, the first not yet.
    mark_applied(system, "complaint", second["case_id"], 1)

    assert statistics(client, second["position"]).status_code == 503
    mark_applied(system, "complaint", first["case_id"], 1)
    assert statistics(client, second["position"]).status_code == 200


def test_a_list_query_waits_for_the_relay_to_pass_the_position_even_when_every_event_is_applied(
    client: TestClient, system: System, clock: ControlledClock, read_models: None
) -> None:
    complaint = lodge_complaint(client, clock.now())
    project(system)
    mark_relayed(system, "complaint", complaint["position"] - 1)

    behind = statistics(client, complaint["position"])
    mark_relayed(system, "complaint", complaint["position"])
    reached = statistics(client, complaint["position"])

    assert (behind.status_code, reached.status_code) == (503, 200)
    assert sum(row["lodged"] for row in reached.json()) == 1


def test_a_list_query_with_a_position_but_no_context_is_refused_with_422(
    client: TestClient, read_models: None
) -> None:
    response = client.get("/worklist", params={"min_position": 1}, headers=as_(Role.SUPERVISOR))

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
