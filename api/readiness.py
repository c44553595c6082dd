"""Liveness and readiness: is the process up, can it reach its database, how far behind is the relay; and
the answer to any request while the database cannot be reached."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.problems import ApiProblemError, problem_for, problem_response
from infra.messaging.relay import ContextLag
from infra.store.database import DATABASE_UNAVAILABLE, Database

log = logging.getLogger(__name__)

RETRY_AFTER_S = 2
"""What a 503 for an unreachable database tells the client to wait: about a pool's connect timeout."""


class DatabaseUnavailableError(ApiProblemError):
    """PostgreSQL cannot be reached just now (restarting, down, or every connection is busy)."""

    status, title, slug = 503, "DatabaseUnavailableError", "database-unavailable"

    def __init__(self) -> None:
        super().__init__(
            "the database cannot be reached just now; retry after the given seconds "
            "(with the same Idempotency-Key, a command is never run twice)",
            {"Retry-After": str(RETRY_AFTER_S)},
        )


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # A warning, not an error with a traceback: an outage makes many of these, and each is expected.
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    problem, headers = problem_for(DatabaseUnavailableError(), request.url.path)
    return problem_response(problem, headers)


def install_database_unavailable_handler(app: FastAPI) -> None:
    """Answer a request that meets an unreachable database (lost connection, refused connect, a checkout
    that timed out) with 503 problem+json and Retry-After, at once instead of a 500 or a hang."""
    for error in DATABASE_UNAVAILABLE:
        app.add_exception_handler(error, _database_unavailable)


class RelayLag(BaseModel):
    """How far the relay is behind the store in one context."""

    context: str
    positions_behind: int
    seconds_behind: float


class ReadinessReport(BaseModel):
    """Whether this API process can serve: its database, and the relay's lag when it could be read."""

    ready: bool
    database: bool
    relay: list[RelayLag] | None


class Readiness:
    """Checks what the API needs in order to serve."""

    def __init__(self, database: Database, relay_lag: Callable[[], Awaitable[list[ContextLag]]]) -> None:
        self._database = database
        self._relay_lag = relay_lag

    def database_reachable(self) -> bool:
        """True when a pooled connection answers a query (a full pool waits up to 2 s: not reachable)."""
        try:
            with self._database.connection(timeout=2.0) as conn:
                conn.execute("SELECT 1")
        except (psycopg.Error, TimeoutError):
            return False
        return True

    async def report(self, database: bool) -> ReadinessReport:
        """The readiness report; the relay's lag is informative and never makes the API unready."""
        relay: list[RelayLag] | None = None
        if database:
            try:
                lags = await self._relay_lag()
            except psycopg.Error:
                relay = None
            else:
                relay = [
                    RelayLag(
                        context=lag.context,
                        positions_behind=lag.positions_behind,
                        seconds_behind=lag.seconds_behind,
                    )
                    for lag in lags
                ]
        return ReadinessReport(ready=database, database=database, relay=relay)
