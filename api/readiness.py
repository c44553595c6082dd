"""Liveness and readiness: is the process up, can it reach its database, how far behind is the relay."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import psycopg
from pydantic import BaseModel

from infra.messaging.relay import ContextLag
from infra.store.database import Database


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
