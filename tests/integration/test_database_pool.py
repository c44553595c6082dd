"""The process's pool lends no connection the server dropped while it sat idle, and checks only idle ones."""

from __future__ import annotations

import time

import psycopg
import pytest

from infra.store.database import CHECK_IDLE_AFTER_S, Database

pytestmark = pytest.mark.integration


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_a_connection_dropped_while_idle_is_replaced_before_it_is_lent_again(database_url: str) -> None:
    database = Database(database_url, min_size=1, max_size=1)
    database.open()
    try:
        with database.connection() as conn:
            dropped = conn.info.backend_pid
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (dropped,))
        time.sleep(CHECK_IDLE_AFTER_S + 0.2)
        with database.connection() as conn:
            answered = conn.execute("SELECT pg_backend_pid()").fetchone()
    finally:
        database.close()

    assert answered is not None
    assert answered[0] != dropped


def test_a_connection_given_back_is_marked_with_the_instant_it_became_idle(database_url: str) -> None:
    database = Database(database_url, min_size=1, max_size=1)
    database.open()
    try:
        with database.connection() as conn:
            pass
        given_back = time.monotonic()
        with database.connection() as again:
            marked: float = again._caseledger_idle_since  # type: ignore[attr-defined]
    finally:
        database.close()

    assert again is conn
    assert given_back - 0.5 < marked <= given_back


@pytest.mark.anyio
async def test_every_connection_of_the_process_sends_tcp_keepalives(database_url: str) -> None:
    database = Database(database_url, min_size=1, max_size=1)
    database.open()
    try:
        with database.connection() as pooled:
            seen = [pooled.info.get_parameters()]
        with database.dedicated() as dedicated:
            seen.append(dedicated.info.get_parameters())
        async with await database.dedicated_async() as listening:
            seen.append(listening.info.get_parameters())
    finally:
        database.close()

    assert [(p.get("keepalives_idle"), p.get("keepalives_count")) for p in seen] == [("30", "3")] * 3
