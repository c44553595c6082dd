"""The system of one command, built through the composition root once its PostgreSQL answers.

Without the check, a wrong or unreachable ``CASELEDGER_DATABASE_URL`` surfaces deep in a connection pool (or
waits for the kernel's TCP timeout); with it, the command stops within seconds and names the host and port.
"""

from __future__ import annotations

import gc

import psycopg
from psycopg.conninfo import conninfo_to_dict

from cli.errors import CliError
from infra.bootstrap import System, bootstrap
from infra.clock import Clock
from infra.settings import Settings

CONNECT_TIMEOUT_S = 5
"""How long the first connection may take (libpq's connect_timeout; its own default is to wait forever)."""


class DatabaseUnreachableError(CliError):
    """The configured PostgreSQL refused or did not answer the first connection."""

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(
            f"cannot connect to PostgreSQL at {address}: {reason} (check CASELEDGER_DATABASE_URL)"
        )


def open_system(settings: Settings, clock: Clock | None = None) -> System:
    """The system on the configured PostgreSQL (checked first) or on the embedded one."""
    if settings.database_url is not None:
        check_database(settings.database_url)
    return bootstrap(settings, clock)


def settle_heap() -> None:
    """Freeze what the relay's process holds once started (modules, the system), after one collection.

    Why: the collector's full passes walk every tracked object. In the relay they took a quarter of its
    time (two passes over the startup heap per 20,000 events); frozen, those objects are skipped and only
    what the work allocates since is walked. Nothing is leaked that refcounting frees: only a reference
    cycle among the frozen objects would stay, and the collection first clears what was garbage then.
    Only the relay does it: the others hold objects for longer (the scheduler its staged timers), where
    a smaller walked heap means more frequent full passes, and no gain was measured there.
    """
    gc.collect()
    gc.freeze()


def check_database(url: str) -> None:
    """Open and close one connection, or raise naming the server's address (never the password)."""
    try:
        psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S).close()
    except psycopg.OperationalError as refused:
        raise DatabaseUnreachableError(database_address(url), _reason(refused)) from refused


def database_address(url: str) -> str:
    """``host:port`` of a PostgreSQL URL, from its parsed parts only (the password is never among them)."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "the configured URL (it does not parse)"
    host = str(params.get("host") or params.get("hostaddr") or "localhost")
    return f"{host}:{params.get('port') or 5432}"


def _reason(refused: psycopg.OperationalError) -> str:
    # libpq says "connection failed: connection to server at "h", port p failed: <why>"; the address is
    # ours to name, the why is libpq's.
    lines = str(refused).strip().splitlines()
    first = lines[0] if lines else type(refused).__name__
    return first.rsplit("failed: ", 1)[-1].strip()
