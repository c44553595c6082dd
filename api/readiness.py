"""Liveness and readiness: is the process up, can it reach its database, how far behind is the relay."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg_pool import ConnectionPool
from pydantic import BaseModel

from infra.bootstrap import System
from infra.messaging.relay import relay_lag


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

    def __init__(self, system: System, pool: ConnectionPool[Any]) -> None:
        self._system = system
        self._pool = pool

    def database_reachable(self) -> bool:
        """True when a pooled connection answers a query."""
        try:
            with self._pool.connection(timeout=2.0) as conn:
                conn.execute("SELECT 1")
        except (psycopg.Error, TimeoutError):
            return False
        return True

    async def report(self, database: bool) -> ReadinessReport:
        """The readiness report; the relay's lag is informative and never makes the API unready."""
        relay: list[RelayLag] | None = None
        if database:
            try:
                lags = await relay_lag(self._system)
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
