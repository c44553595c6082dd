"""A LISTEN connection read through the event loop's socket watch: notifications arrive, a loss is raised."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import psycopg
import pytest

from infra.store.listening import listen, notifications

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_notifications_arrive_in_order_with_their_payloads(database_url: str) -> None:
    channel = f"listening.{uuid4().hex[:8]}"
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as listener:
        await listen(listener, [channel])
        received = notifications(listener)
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as sender:
            for payload in ("caseledger.claim", "caseledger.policy"):
                await sender.execute("SELECT pg_notify(%s, %s)", (channel, payload))
        got = [await asyncio.wait_for(anext(received), 5.0) for _ in range(2)]
        await received.aclose()

    assert [(n.channel, n.payload) for n in got] == [
        (channel, "caseledger.claim"),
        (channel, "caseledger.policy"),
    ]


async def test_a_notification_sent_while_nobody_read_is_not_lost(database_url: str) -> None:
    channel = f"listening.{uuid4().hex[:8]}"
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as listener:
        await listen(listener, [channel])
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as sender:
            await sender.execute("SELECT pg_notify(%s, 'before')", (channel,))
        await asyncio.sleep(0.2)  # it reached the socket before the reader was there
        received = notifications(listener)
        first = await asyncio.wait_for(anext(received), 5.0)
        await received.aclose()

    assert first.payload == "before"


async def test_a_terminated_listen_connection_raises_instead_of_waiting_forever(database_url: str) -> None:
    channel = f"listening.{uuid4().hex[:8]}"
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as listener:
        await listen(listener, [channel])
        pid = listener.info.backend_pid
        received = notifications(listener)
        waiting = asyncio.ensure_future(anext(received))
        await asyncio.sleep(0.1)
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as admin:
            await admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(psycopg.OperationalError):
            await asyncio.wait_for(waiting, 5.0)
