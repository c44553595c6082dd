"""The process's PostgreSQL connections: ONE pool, shared by the event store and our own SQL, and the few
dedicated sessions that cannot be pooled.

Every application's datastore borrows this pool (``infra.store.eventstore.StoreEnv``), and so do the key
store, the seller registry, the API, the consumers, the scheduler's batches, the dead-letter tools and the
relay's reads. A session is dedicated only where it must outlive a checkout: the relay's advisory lock, and
the LISTEN connections of the relay and the scheduler (``dedicated``). So an idle process holds the pool's
``min_size`` connections plus those, and a busy one at most ``max_size`` plus those.

Every connection carries ``application_name`` = the process kind (``caseledger-api``, ``caseledger-relay``,
...), so that ``pg_stat_activity`` shows which process holds what.

While PostgreSQL is away (restarted, killed, unreachable) nothing waits long: a new connection gives up
after ``timeout`` (libpq ``connect_timeout``), a checkout waits at most ``timeout`` for one, and a checkout
of a connection that sat idle for more than ``CHECK_IDLE_AFTER_S`` first checks that it still answers (a
restart leaves every idle one broken; one given back a moment ago is not checked, which spares a round trip
per checkout under load, and a connection an outage broke in use is discarded when it is given back). The pool
retries its lost connections with a short backoff and gives up on each after ``RECONNECT_GIVE_UP_S``, so the
next checkout opens a fresh one at once: service resumes within seconds of the server's return however
long it was away. What such an outage raises is ``DATABASE_UNAVAILABLE`` (the API answers 503, the
long-running loops reconnect).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Any, cast

import psycopg
from eventsourcing import persistence
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


DEFAULT_TIMEOUT_S = 2.0
"""How long a checkout waits for a connection, and a new connection for the server, by default."""

CHECK_IDLE_AFTER_S = 1.0
"""A pooled connection idle for longer than this is checked (one round trip) before it is lent again.

Under load connections come back within milliseconds, and checking each would add a round trip to every
checkout; a server restart takes longer than this, so the connections that sat idle through it are checked
(and replaced) before use."""

RECONNECT_GIVE_UP_S = 5.0
"""How long the pool retries one lost connection (backoff 1, 2, 4 s) before the next checkout opens anew.

The pool's own default (5 minutes) would let the backoff grow to minutes: a server back after a long outage
would then wait for the next attempt."""

DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    psycopg.OperationalError,  # lost or refused connection, server shutting down; PoolTimeout is one too
    psycopg.InterfaceError,  # a connection already closed under us
    persistence.OperationalError,  # the same, as the event store's recorders re-raise them
    persistence.InterfaceError,
)
"""What a statement or checkout raises while PostgreSQL cannot be reached: worth retrying later."""

SCHEMA_LOCK = "caseledger.schema"
"""The key (hashed) of the database-wide advisory lock processes create and migrate their tables under."""


def database_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` (or what it was raised from) says the database cannot be reached just now."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, DATABASE_UNAVAILABLE):
            return True
        seen = seen.__cause__
    return False


def _connect_timeout(timeout: float) -> int:
    # libpq takes whole seconds, and treats 1 as 2.
    return max(2, round(timeout))


def _given_back(conn: Connection[DictRow]) -> None:
    # Runs each time a connection returns to the pool, idle from now on.
    conn._caseledger_idle_since = time.monotonic()  # type: ignore[attr-defined]


class _MarkingPool(ConnectionPool[Connection[DictRow]]):
    """The library's pool, which marks when each connection is given back (``_check_if_idle`` reads it).

    Marked here, not in the pool's ``reset`` hook: with a hook, the pool gives every returned connection to
    a worker thread, a thread hop per checkout (40 µs of wall time on each command with two cores)."""

    def putconn(self, conn: Connection[DictRow]) -> None:
        _given_back(conn)
        super().putconn(conn)


def _check_if_idle(conn: Connection[DictRow]) -> None:
    # A fresh connection has no mark: it was just opened, so it answers.
    idle_since: float = getattr(conn, "_caseledger_idle_since", time.monotonic())
    if time.monotonic() - idle_since > CHECK_IDLE_AFTER_S:
        ConnectionPool.check_connection(conn)


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
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        if max_size < min_size:
            raise ValueError(f"the pool's max_size {max_size} is below its min_size {min_size}")
        self.url = url
        self._process = process
        self._connect_timeout = _connect_timeout(timeout)
        # The library's own pool class and connection settings (dict rows, autocommit), so that every
        # datastore can use it as its own; each datastore still registers its composite types on the
        # connections it gets (they are per schema, so several applications coexist on one connection).
        self.pool: ConnectionPool[Connection[DictRow]] = _MarkingPool(
            url,
            connection_class=Connection[DictRow],
            kwargs={
                "row_factory": dict_row,
                "application_name": process.value,
                "connect_timeout": self._connect_timeout,
            },
            min_size=min_size,
            max_size=max_size,
            open=False,
            configure=_configure,
            # After a restart the idle connections are all broken, and each would otherwise fail one
            # request before the pool noticed: a connection idle for a while is checked before it is lent.
            check=_check_if_idle,
            timeout=timeout,
            reconnect_timeout=RECONNECT_GIVE_UP_S,
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

        When all ``max_size`` are borrowed (or the server is away), it waits up to ``timeout`` (default: the
        pool's) for one, then raises ``psycopg_pool.PoolTimeout``: the pool never opens more.
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
        return psycopg.connect(
            self.url,
            autocommit=True,
            application_name=self._process.value,
            connect_timeout=self._connect_timeout,
        )

    @contextmanager
    def schema_lock(self, conn: Connection[Any] | None = None) -> Iterator[None]:
        """Hold the database-wide lock under which a process creates what it needs (tables, functions,
        triggers), so processes starting at once do it one after the other: concurrent CREATE … IF NOT
        EXISTS and CREATE OR REPLACE FUNCTION collide in PostgreSQL ("tuple concurrently updated",
        duplicate pg_type rows). On ``conn`` (autocommit) when the caller holds one anyway; else on a
        connection of its own, so that the pool stays free for the work (a pool of one would deadlock)."""
        with contextlib.ExitStack() as stack:
            session = conn if conn is not None else stack.enter_context(self.dedicated())
            session.execute("SELECT pg_advisory_lock(hashtext(%s))", (SCHEMA_LOCK,))
            try:
                yield
            finally:
                session.execute("SELECT pg_advisory_unlock(hashtext(%s))", (SCHEMA_LOCK,))

    async def dedicated_async(self) -> psycopg.AsyncConnection[TupleRow]:
        """An asyncio connection of its own (the relay's advisory lock, LISTEN); the caller closes it."""
        return await psycopg.AsyncConnection.connect(
            self.url,
            autocommit=True,
            application_name=self._process.value,
            connect_timeout=self._connect_timeout,
        )
