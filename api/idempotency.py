"""Idempotency-Key: the first answer to a request is kept in PostgreSQL and given again to its repeats.

The answer is kept by the very statement that stores the command's events (``infra.store.eventstore.
committed_with``), under the primary key (actor, key): one round trip and one commit per command, and the
events and the answer are stored together or not at all. A request that dies before that commit stored
nothing, and its repeat runs the command once; one that dies after it stored both, and its repeat is given the
answer. Of two attempts running at once, the second's insert of the key waits for the first's commit, then
meets the key taken: its own events roll back with it, and it answers with the first's answer. A refusal (a
final 4xx) stores no events: its answer is kept in a transaction of its own.

Rows whose answer is missing (``status`` NULL) are holds left by releases that claimed a key before running
(three transactions per command): a repeat waits for a fresh one (then is told to retry, 409), and takes over
one older than ``stale_seconds`` (compare-and-set on its token, so only one repeat does), then looks in the
event store for what that attempt stored before it runs the command again (``api.gateway``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from api.problems import IdempotencyKeyReusedError
from infra.store.database import Database
from infra.store.eventstore import Alongside, StatementAlongside

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


@dataclass(frozen=True)
class PendingHold:
    """A key held by an attempt (of an older release) that has not answered; ``stale`` once it is older than
    the bound, when a repeat may take it over."""

    token: UUID | None
    stale: bool


class IdempotencyStore:
    """The ``api_idempotency`` table in the base schema."""

    def __init__(
        self,
        database: Database,
        schema: str,
        wait_seconds: float = 5.0,
        stale_seconds: float = 60.0,
    ) -> None:
        self._database = database
        self._table = sql.Identifier(schema, TABLE)
        self.wait_seconds = wait_seconds
        self._stale = timedelta(seconds=stale_seconds)
        self._insert = sql.SQL(
            "INSERT INTO {} (key, actor_id, method, path, request_hash, status, body) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (actor_id, key) DO NOTHING RETURNING 1"
        ).format(self._table)

    def kept_with_events(self, request: IdempotentRequest, status: int) -> StatementAlongside:
        """The statement that keeps a command's answer (``CommandAccepted``: case, version, position) in the
        very statement that stores its events (``committed_with``); when the key already has a row it is
        refused, and the events with it (``AlongsideRefusedError``)."""

        def keep(case_id: UUID, version: int) -> Alongside:
            return Alongside(
                sql.SQL(
                    "INSERT INTO {} (key, actor_id, method, path, request_hash, status, body) "
                    "SELECT %s, %s, %s, %s, %s, %s, jsonb_build_object('case_id', %s::text, "
                    "'version', %s::bigint, 'position', (SELECT max(notification_id) FROM stored))"
                ).format(self._table),
                (
                    request.key,
                    request.actor_id,
                    request.method,
                    request.path,
                    request.request_hash,
                    status,
                    str(case_id),
                    version,
                ),
                TABLE,
            )

        return keep

    def keep_alone(self, request: IdempotentRequest, answer: StoredAnswer) -> bool:
        """Keep the answer of a command that stored no events (a refusal), in a transaction of its own;
        False when the key already has a row (then that row's answer stands)."""
        with self._database.connection() as conn:
            return self._inserted(conn, request, answer)

    def _inserted(
        self, conn: psycopg.Connection[Any], request: IdempotentRequest, answer: StoredAnswer
    ) -> bool:
        row = conn.execute(
            self._insert,
            (
                request.key,
                request.actor_id,
                request.method,
                request.path,
                request.request_hash,
                answer.status,
                Jsonb(answer.body),
            ),
            prepare=True,
        ).fetchone()
        return row is not None

    def earlier(self, request: IdempotentRequest) -> StoredAnswer | PendingHold | None:
        """What the key holds: the first answer, a hold without an answer, or nothing.

        A different request under a used key is refused (``IdempotencyKeyReusedError``).
        """
        with self._database.connection() as conn:
            row = conn.execute(
                sql.SQL(
                    "SELECT method, path, request_hash, status, body, hold_token, "
                    "held_since < now() - %s FROM {} WHERE actor_id = %s AND key = %s"
                ).format(self._table),
                (self._stale, request.actor_id, request.key),
            ).fetchone()
        if row is None:
            return None
        method, path, request_hash, status, body, held_by, stale = row
        if (method, path, request_hash) != (request.method, request.path, request.request_hash):
            raise IdempotencyKeyReusedError(
                f"the Idempotency-Key {request.key!r} was already used for a different request "
                f"({method} {path})"
            )
        if status is not None:
            return StoredAnswer(int(status), dict(body))
        return PendingHold(held_by, bool(stale))

    def take_over(self, request: IdempotentRequest, hold: PendingHold) -> bool:
        """Remove a stale hold, so that the key can take this attempt's answer; False when another repeat
        took it over (or it was answered) first. Compare-and-set on the hold's token."""
        with self._database.connection() as conn:
            removed = conn.execute(
                sql.SQL(
                    "DELETE FROM {} WHERE actor_id = %s AND key = %s AND status IS NULL "
                    "AND hold_token IS NOT DISTINCT FROM %s RETURNING 1"
                ).format(self._table),
                (request.actor_id, request.key, hold.token),
            ).fetchone()
        return removed is not None
