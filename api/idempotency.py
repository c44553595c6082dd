"""Idempotency-Key: the first answer to a request is kept in PostgreSQL and given again to its repeats.

A request claims its key by inserting a pending row under the primary key (actor, key): of concurrent
repeats exactly one inserts it and runs; the others wait for its answer. The rows outlive the process,
so a repeat after a restart of the API (or on another API process) is answered the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from api.problems import IdempotencyKeyReusedError, IdempotentRequestInProgressError

TABLE = "api_idempotency"


@dataclass(frozen=True)
class StoredAnswer:
    """The first answer given to a request: its status and JSON body."""

    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class IdempotentRequest:
    """A request that carries an Idempotency-Key, fingerprinted by what it asks for."""

    actor_id: str
    key: str
    method: str
    path: str
    request_hash: str


class IdempotencyStore:
    """The ``api_idempotency`` table in the base schema."""

    def __init__(self, pool: ConnectionPool[Any], schema: str, wait_seconds: float = 5.0) -> None:
        self._pool = pool
        self._table = sql.Identifier(schema, TABLE)
        self._wait_seconds = wait_seconds

    def create_table(self) -> None:
        """Create the table if it is missing."""
        with self._pool.connection() as conn:
            conn.execute(
                sql.SQL(
                    """CREATE TABLE IF NOT EXISTS {} (
                        key text NOT NULL,
                        actor_id text NOT NULL,
                        method text NOT NULL,
                        path text NOT NULL,
                        request_hash text NOT NULL,
                        status integer,
                        body jsonb,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        PRIMARY KEY (actor_id, key))"""
                ).format(self._table)
            )

    def claim(self, request: IdempotentRequest) -> StoredAnswer | None:
        """None when this request is the first with its key (it must run), else the first one's answer.

        A different request under a used key is refused; a repeat of one still running waits for it,
        then is told to retry.
        """
        deadline = time.monotonic() + self._wait_seconds
        while True:
            with self._pool.connection() as conn:
                inserted = conn.execute(
                    sql.SQL(
                        "INSERT INTO {} (key, actor_id, method, path, request_hash) "
                        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (actor_id, key) DO NOTHING RETURNING 1"
                    ).format(self._table),
                    (request.key, request.actor_id, request.method, request.path, request.request_hash),
                ).fetchone()
                if inserted is not None:
                    return None
                row = conn.execute(
                    sql.SQL(
                        "SELECT method, path, request_hash, status, body FROM {} "
                        "WHERE actor_id = %s AND key = %s"
                    ).format(self._table),
                    (request.actor_id, request.key),
                ).fetchone()
            if row is not None:
                method, path, request_hash, status, body = row
                if (method, path, request_hash) != (request.method, request.path, request.request_hash):
                    raise IdempotencyKeyReusedError(
                        f"the Idempotency-Key {request.key!r} was already used for a different request "
                        f"({method} {path})"
                    )
                if status is not None:
                    return StoredAnswer(int(status), dict(body))
                if time.monotonic() >= deadline:
                    raise IdempotentRequestInProgressError(
                        f"the first request with the Idempotency-Key {request.key!r} is still running"
                    )
            time.sleep(0.05)

    def record(self, request: IdempotentRequest, answer: StoredAnswer) -> None:
        """Keep the first answer for the repeats."""
        with self._pool.connection() as conn:
            conn.execute(
                sql.SQL("UPDATE {} SET status = %s, body = %s WHERE actor_id = %s AND key = %s").format(
                    self._table
                ),
                (answer.status, Jsonb(answer.body), request.actor_id, request.key),
            )

    def release(self, request: IdempotentRequest) -> None:
        """Free the key of a request that failed without an answer worth keeping: a retry runs again."""
        with self._pool.connection() as conn:
            conn.execute(
                sql.SQL("DELETE FROM {} WHERE actor_id = %s AND key = %s AND status IS NULL").format(
                    self._table
                ),
                (request.actor_id, request.key),
            )
