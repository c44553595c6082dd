"""The process's PostgreSQL connections: ONE pool, shared by the event store and our own SQL, and the few
dedicated sessions that cannot be pooled.

Every application's datastore borrows this pool (``infra.store.eventstore.StoreEnv``), and so do the key
store, the seller registry, the API, the consumers, the scheduler's batches, the dead-letter tools and the
relay's reads. A session is dedicated only where it must outlive a checkout: the relay's advisory lock, and
the LISTEN connections of the relay and the scheduler (``dedicated``). So an idle process holds the pool's
``min_size`` connections plus those, and a busy one at most ``max_size`` plus those.

Every connection carries ``application_name`` = the process kind (``caseledger-api``, ``caseledger-relay``,
...), so that ``pg_stat_activity`` shows which process holds what.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Any, cast

import psycopg
from eventsourcing.postgres import ConnectionPool
from psycopg import Connection
from psycopg.rows import DictRow, TupleRow, dict_row, tuple_row


class ProcessKind(StrEnum):
    """What a process runs, as its connections name it in ``pg_stat_activity.application_name``."""

    CLI = "caseledger-cli"
    """A command-line tool (``dlq``, ``projections``, ``audit``, ...), and any process not named yet."""
    API = "caseledger-api"
    RELAY = "caseledger-relay"
    CONSUME = "caseledger-consume"
    TIMERS = "caseledger-timers"
    UP = "caseledger-up"
    """Everything in one process (``caseledger up``)."""


def _configure(conn: Connection[DictRow]) -> None:
    # The library's recorders expect autocommit: each of their statements is its own transaction (with
    # POSTGRES_ENABLE_DB_FUNCTIONS an insert is one function call). Our own SQL opens explicit transactions.
    # The library would also set idle_in_transaction_session_timeout (5 s); not here: a rebuild and a
    # scheduler batch hold a transaction open while Python folds events or records timers between statements.
    conn.autocommit = True


class Database:
    """One PostgreSQL server as this process uses it: the shared pool, and dedicated sessions on request."""

    def __init__(
        self,
        url: str,
        *,
        min_size: int,
        max_size: int,
        process: ProcessKind = ProcessKind.CLI,
        timeout: float = 30.0,
    ) -> None:
        if max_size < min_size:
            raise ValueError(f"the pool's max_size {max_size} is below its min_size {min_size}")
        self.url = url
        self._process = process
        # The library's own pool class and connection settings (dict rows, autocommit), so that every
        # datastore can use it as its own; each datastore still registers its composite types on the
        # connections it gets (they are per schema, so several applications coexist on one connection).
        self.pool: ConnectionPool[Connection[DictRow]] = ConnectionPool(
            url,
            connection_class=Connection[DictRow],
            kwargs={"row_factory": dict_row, "application_name": process.value},
            min_size=min_size,
            max_size=max_size,
            open=False,
            configure=_configure,
            timeout=timeout,
            name="caseledger",
        )

    @property
    def process(self) -> ProcessKind:
        """The kind this process's connections are named after."""
        return self._process

    @property
    def min_size(self) -> int:
        return self.pool.min_size

    @property
    def max_size(self) -> int:
        return self.pool.max_size

    def pool_stats(self) -> dict[str, int]:
        """The pool's gauges (``pool_size``, ``pool_available``, ``requests_waiting``, ...) for the metrics;
        ``get_stats`` only reads them (``pop_stats`` would reset the counters)."""
        return self.pool.get_stats()

    def open(self, timeout: float = 30.0) -> None:
        """Open the pool and wait until its ``min_size`` connections are up (a wrong URL fails here)."""
        self.pool.open(wait=True, timeout=timeout)

    def close(self) -> None:
        """Close every pooled connection (a borrowed one closes when it is given back)."""
        self.pool.close()

    def name_process(self, process: ProcessKind) -> None:
        """Name this process's connections after what it runs, unless an outer entry point already did.

        ``caseledger up`` names itself ``caseledger-up`` first; the relay and the scheduler it runs then keep
        that name. The pool's connections are replaced (``drain``): idle ones at once, borrowed ones when
        they are given back.
        """
        if self._process is not ProcessKind.CLI or process is ProcessKind.CLI:
            return
        self._process = process
        assert isinstance(self.pool.kwargs, dict)
        self.pool.kwargs["application_name"] = process.value
        if not self.pool.closed:
            self.pool.drain()

    @contextmanager
    def connection(self, timeout: float | None = None) -> Iterator[Connection[TupleRow]]:
        """A pooled connection in autocommit mode, rows as tuples; open a transaction with ``transaction()``
        or ``conn.transaction()``. Given back (and its row factory restored) when the block ends.

        When all ``max_size`` are borrowed, it waits up to ``timeout`` (default 30 s) for one to come back,
        then raises ``psycopg_pool.PoolTimeout``: the pool never opens more.
        """
        with self.pool.connection(timeout) as pooled:
            conn = cast(Connection[Any], pooled)
            conn.row_factory = tuple_row
            try:
                yield cast(Connection[TupleRow], conn)
            finally:
                if not conn.closed:
                    conn.row_factory = dict_row

    @contextmanager
    def transaction(self) -> Iterator[Connection[TupleRow]]:
        """A pooled connection inside one transaction: committed when the block ends, rolled back on error."""
        with self.connection() as conn, conn.transaction():
            yield conn

    def dedicated(self) -> Connection[TupleRow]:
        """A connection of its own, outside the pool (LISTEN), autocommit; the caller closes it."""
        return psycopg.connect(self.url, autocommit=True, application_name=self._process.value)

    async def dedicated_async(self) -> psycopg.AsyncConnection[TupleRow]:
        """An asyncio connection of its own (the relay's advisory lock, LISTEN); the caller closes it."""
        return await psycopg.AsyncConnection.connect(
            self.url, autocommit=True, application_name=self._process.value
        )
