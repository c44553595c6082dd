"""Waiting for PostgreSQL notifications without waking every tenth of a second.

psycopg's ``AsyncConnection.notifies()`` waits on the socket with a 0.1 s interval (so that Ctrl-C is seen
in a blocking wait): an idle process with two LISTEN connections woke its event loop twenty times a second
for nothing, about a third of what an idle `caseledger up` spent. asyncio needs no such interval (a cancel
reaches the awaiting task at once), so here the event loop watches the connection's socket and libpq's
documented ``PQconsumeInput``/``PQnotifies`` (psycopg's ``pq`` layer) read what arrived: no wake-up at all
until a notification or the connection's end.

Only for a connection that does nothing but LISTEN while it is read this way.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterable
from typing import Any

import psycopg
from psycopg import sql


async def listen(conn: psycopg.AsyncConnection[Any], channels: Iterable[str]) -> None:
    """LISTEN on each channel (names are quoted as identifiers)."""
    for channel in channels:
        await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))


async def notifications(conn: psycopg.AsyncConnection[Any]) -> AsyncGenerator[psycopg.Notify, None]:
    """Each notification as it arrives, until the connection is lost (``psycopg.OperationalError``)."""
    pgconn = conn.pgconn
    encoding = conn.info.encoding
    loop = asyncio.get_running_loop()
    readable = asyncio.Event()
    fileno = pgconn.socket
    loop.add_reader(fileno, readable.set)
    try:
        while True:
            # What arrived with the LISTEN's own answer is already buffered: read before the first wait.
            pgconn.consume_input()  # raises OperationalError once the server is gone
            while (notify := pgconn.notifies()) is not None:
                yield psycopg.Notify(
                    notify.relname.decode(encoding), notify.extra.decode(encoding), notify.be_pid
                )
            if pgconn.status != psycopg.pq.ConnStatus.OK:
                raise psycopg.OperationalError("the LISTEN connection is closed")
            await readable.wait()
            readable.clear()
    finally:
        loop.remove_reader(fileno)
