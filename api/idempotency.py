"""Idempotency-Key: the first answer to a request is kept in PostgreSQL and given again to its repeats.

A request claims its key by inserting a pending row under the primary key (actor, key): of concurrent
repeats exactly one inserts it and runs; the others wait (bounded) for its answer, then are told to retry
(409 with Retry-After). The rows outlive the process, so a repeat after a restart of the API (or on another
API process) is answered the same way.

A request that dies between storing its events and recording its answer leaves its key pending. Once the
hold is older than ``stale_seconds`` a repeat takes it over (compare-and-set on the hold's token, so only one
repeat does) and is told that it did (``KeyHold.taken_over``): it must look in the event store for the events
of the first attempt before it runs the command again (see ``api.commands.CommandGateway``). The answer of
the request that lost its hold is not recorded: its hold's token no longer matches.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from api.problems import IdempotencyKeyReusedError, IdempotentRequestInProgressError
from infra.store.database import DATABASE_UNAVAILABLE, Database

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
class KeyHold:
    """This request holds the key and runs; ``taken_over`` when an earlier attempt left it pending."""

    token: UUID
    taken_over: bool = False


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
        self._wait_seconds = wait_seconds
        self._stale = timedelta(seconds=stale_seconds)
        # Holds this process could not mark abandoned while the database was away (``abandon``).
        self._to_abandon: list[tuple[IdempotentRequest, KeyHold]] = []
        self._to_abandon_lock = threading.Lock()

    def claim(self, request: IdempotentRequest) -> StoredAnswer | KeyHold:
        """The first answer when there is one; else a hold on the key, and this request must run.

        A different request under a used key is refused; a repeat of one still running waits for it,
        then is told to retry; a repeat of one that died (its hold older than the bound) takes the key over.
        """
        if self._to_abandon:
            self._abandon_pending()
        deadline = time.monotonic() + self._wait_seconds
        while True:
            token = uuid4()
            with self._database.connection() as conn:
                inserted = conn.execute(
                    sql.SQL(
                        "INSERT INTO {} (key, actor_id, method, path, request_hash, hold_token) "
                        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (actor_id, key) DO NOTHING RETURNING 1"
                    ).format(self._table),
                    (
                        request.key,
                        request.actor_id,
                        request.method,
                        request.path,
                        request.request_hash,
                        token,
                    ),
                ).fetchone()
                if inserted is not None:
                    return KeyHold(token)
                row = conn.execute(
                    sql.SQL(
                        "SELECT method, path, request_hash, status, body, hold_token, "
                        "held_since < now() - %s FROM {} WHERE actor_id = %s AND key = %s"
                    ).format(self._table),
                    (self._stale, request.actor_id, request.key),
                ).fetchone()
                if row is not None:
                    method, path, request_hash, status, body, held_by, abandoned = row
                    if (method, path, request_hash) != (request.method, request.path, request.request_hash):
                        raise IdempotencyKeyReusedError(
                            f"the Idempotency-Key {request.key!r} was already used for a different request "
                            f"({method} {path})"
                        )
                    if status is not None:
                        return StoredAnswer(int(status), dict(body))
                    if abandoned and self._take_over(conn, request, held_by, token):
                        return KeyHold(token, taken_over=True)
            if time.monotonic() >= deadline:
                raise IdempotentRequestInProgressError(
                    f"the first request with the Idempotency-Key {request.key!r} is still running"
                )
            time.sleep(0.05)

    def _take_over(
        self, conn: psycopg.Connection[Any], request: IdempotentRequest, held_by: UUID | None, token: UUID
    ) -> bool:
        # Compare-and-set on the old token: of several repeats arriving together, one takes the key over.
        taken = conn.execute(
            sql.SQL(
                "UPDATE {} SET hold_token = %s, held_since = now() WHERE actor_id = %s AND key = %s "
                "AND status IS NULL AND hold_token IS NOT DISTINCT FROM %s RETURNING 1"
            ).format(self._table),
            (token, request.actor_id, request.key, held_by),
        ).fetchone()
        return taken is not None

    def record(self, request: IdempotentRequest, hold: KeyHold, answer: StoredAnswer) -> bool:
        """Keep the first answer for the repeats; False when the hold was lost (the answer is not kept)."""
        with self._database.connection() as conn:
            updated = conn.execute(
                sql.SQL(
                    "UPDATE {} SET status = %s, body = %s WHERE actor_id = %s AND key = %s "
                    "AND status IS NULL AND hold_token = %s RETURNING 1"
                ).format(self._table),
                (answer.status, Jsonb(answer.body), request.actor_id, request.key, hold.token),
            ).fetchone()
        return updated is not None

    def abandon(self, request: IdempotentRequest, hold: KeyHold) -> None:
        """Leave the key held but stale at once: the attempt ended not knowing whether its events were
        stored (the database went away, perhaps after the commit), so the next repeat takes the key over and
        looks in the event store before it runs the command.

        While the database is still away the mark is kept in this process and written before its next
        claim, so a client's retry (to this process) waits out the outage only, not ``stale_seconds``. A
        retry that another API process serves still waits for the hold to go stale.
        """
        try:
            # Briefly: the client is owed its 503 now, and the mark is written later if need be.
            self._mark_abandoned(request, hold, timeout=0.5)
        except DATABASE_UNAVAILABLE:
            with self._to_abandon_lock:
                self._to_abandon.append((request, hold))

    def _abandon_pending(self) -> None:
        with self._to_abandon_lock:
            pending, self._to_abandon = self._to_abandon, []
        for at, (request, hold) in enumerate(pending):
            try:
                self._mark_abandoned(request, hold)
            except DATABASE_UNAVAILABLE:
                with self._to_abandon_lock:
                    self._to_abandon.extend(pending[at:])
                raise

    def _mark_abandoned(
        self, request: IdempotentRequest, hold: KeyHold, timeout: float | None = None
    ) -> None:
        with self._database.connection(timeout) as conn:
            conn.execute(
                sql.SQL(
                    "UPDATE {} SET held_since = '-infinity' WHERE actor_id = %s AND key = %s "
                    "AND status IS NULL AND hold_token = %s"
                ).format(self._table),
                (request.actor_id, request.key, hold.token),
            )

    def release(self, request: IdempotentRequest, hold: KeyHold) -> None:
        """Free the key of a request that failed without an answer worth keeping: a retry runs again."""
        with self._database.connection() as conn:
            conn.execute(
                sql.SQL(
                    "DELETE FROM {} WHERE actor_id = %s AND key = %s AND status IS NULL AND hold_token = %s"
                ).format(self._table),
                (request.actor_id, request.key, hold.token),
            )
