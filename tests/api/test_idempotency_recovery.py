"""A key left pending by a request that died: the repeat finds what it stored, or runs it once.

The crash is reproduced as the database holds it afterwards: the pending row (aged past the bound), with
or without the command's events in the store.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from api.idempotency import TABLE
from infra.bootstrap import System
from infra.clock import ControlledClock
from tests.api.claim_driver import OFFICER, lodge_complaint
from tests.api.conftest import as_, ok

pytestmark = pytest.mark.integration


def complaints_stored(system: System) -> int:
    """How many complaint events are stored (counted: a rolled-back attempt leaves a gap in the positions)."""
    rows = system.complaints.read_events(
        sql.SQL("SELECT count(*) AS stored FROM {}").format(system.complaints.events_table())
    )
    return int(rows[0]["stored"])


def idempotency_sql(system: System, statement: str, *params: object) -> None:
    with psycopg.connect(system.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL(statement).format(t=sql.Identifier(system.settings.db_schema, TABLE)), params)


def crash_after_storing(system: System, key: str) -> None:
    """The state a request leaves when it dies after its events were committed, before its answer was."""
    idempotency_sql(
        system,
        "UPDATE {t} SET status = NULL, body = NULL, held_since = now() - interval '1 hour' WHERE key = %s",
        key,
    )


def crash_before_storing(system: System, like_key: str, key: str) -> None:
    """The state a request leaves when it dies after claiming its key, before anything was stored."""
    # The same request as the one under ``like_key`` (same fingerprint), under a key of its own.
    idempotency_sql(
        system,
        "INSERT INTO {t} (key, actor_id, method, path, request_hash, hold_token, held_since) "
        "SELECT %s, actor_id, method, path, request_hash, %s, now() - interval '1 hour' FROM {t} "
        "WHERE key = %s",
        key,
        uuid4(),
        like_key,
    )


def test_a_repeat_after_a_crash_that_stored_the_event_gets_its_answer_and_stores_nothing(
    client: TestClient, system: System, clock: ControlledClock
) -> None:
    key = str(uuid4())
    first = lodge_complaint(client, clock.now(), Idempotency_Key=key)
    crash_after_storing(system, key)
    before = complaints_stored(system)

    repeat = lodge_complaint(client, clock.now(), Idempotency_Key=key)
    again = lodge_complaint(client, clock.now(), Idempotency_Key=key)

    assert repeat == again == first
    assert complaints_stored(system) == before
    assert len(system.complaints.history(UUID(first["case_id"]))) == 1


def test_a_repeat_after_a_crash_that_stored_nothing_runs_the_command_once(
    client: TestClient, system: System, clock: ControlledClock
) -> None:
    done, crashed = str(uuid4()), str(uuid4())
    lodge_complaint(client, clock.now(), Idempotency_Key=done)
    crash_before_storing(system, like_key=done, key=crashed)
    before = complaints_stored(system)

    repeat = lodge_complaint(client, clock.now(), Idempotency_Key=crashed)
    again = lodge_complaint(client, clock.now(), Idempotency_Key=crashed)

    assert again == repeat
    assert complaints_stored(system) == before + 1
    assert system.complaints.history(UUID(repeat["case_id"]))[0].actor.id == OFFICER[1]


def test_a_repeat_after_a_crash_on_an_existing_case_answers_with_the_stored_step(
    client: TestClient, system: System, clock: ControlledClock
) -> None:
    complaint = lodge_complaint(client, clock.now())
    key = str(uuid4())
    path = f"/complaints/{complaint['case_id']}/acknowledgement"
    body = {"channel": "sms"}
    first = ok(client.post(path, json=body, headers=as_(*OFFICER, Idempotency_Key=key)))
    crash_after_storing(system, key)

    repeat = ok(client.post(path, json=body, headers=as_(*OFFICER, Idempotency_Key=key)))

    assert repeat == first
    assert len(system.complaints.history(UUID(complaint["case_id"]))) == 2


def test_a_repeat_of_a_request_still_running_is_told_to_retry_with_409(
    client: TestClient, system: System, clock: ControlledClock
) -> None:
    key = str(uuid4())
    lodge_complaint(client, clock.now(), Idempotency_Key=key)
    # Pending and fresh: the first request is still running (for the API's wait, about five seconds).
    idempotency_sql(system, "UPDATE {t} SET status = NULL, body = NULL WHERE key = %s", key)

    response = client.post(
        "/complaints", json=lodged_body(client, clock), headers=as_(*OFFICER, Idempotency_Key=key)
    )

    assert response.status_code == 409
    assert response.headers["Retry-After"] == "1"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("idempotent-request-in-progress")


def lodged_body(client: TestClient, clock: ControlledClock) -> dict[str, Any]:
    return {
        "received_at": (clock.now() - timedelta(minutes=5)).isoformat(),
        "category": "claims",
        "channel": "hotline",
        "subject_ref": {"kind": "policy", "ref": "P-1"},
        "customer_id": "CUST-api",
        "complainant_name": "张伟",
        "complainant_phone": "13800138000",
        "facts": "the repair estimate left out the paint work",
        "demands": "pay the paint work",
    }


def new_facts(client: TestClient, complaint: dict[str, Any], key: str) -> Any:
    return client.post(
        f"/complaints/{complaint['case_id']}/new-facts",
        json={"facts": "a second garage's estimate"},
        headers=as_(*OFFICER, Idempotency_Key=key),
    )


def test_a_repeat_of_a_step_that_could_run_again_runs_nothing_again(
    client: TestClient, system: System, clock: ControlledClock
) -> None:
    complaint = lodge_complaint(client, clock.now())
    key = str(uuid4())
    first = new_facts(client, complaint, key)

    repeat = new_facts(client, complaint, key)

    # New facts may be received twice: only the key stops the repeat's run from being stored.
    assert first.status_code == repeat.status_code == 200
    assert repeat.json() == first.json()
    assert repeat.headers.get("idempotent-replayed") == "true"
    assert len(system.complaints.history(UUID(complaint["case_id"]))) == 2


def test_repeats_sent_at_once_store_the_step_once_and_get_one_answer(
    client: TestClient, system: System, clock: ControlledClock
) -> None:
    complaint = lodge_complaint(client, clock.now())
    key = str(uuid4())

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: new_facts(client, complaint, key), range(6)))

    assert {a.status_code for a in answers} == {200}
    assert len({a.text for a in answers}) == 1
    assert len(system.complaints.history(UUID(complaint["case_id"]))) == 2
