"""Run the HTTP API with uvicorn: alone (`caseledger api`) or beside the other tasks of `caseledger up`."""

from __future__ import annotations

import uvicorn

from api.app import create_app
from api.console.operations import Operations
from api.hygiene import ProblemHttpToolsProtocol
from api.system import ApiSystem
from infra.store.database import ProcessKind


def api_server(
    system: ApiSystem, host: str | None = None, port: int | None = None, operations: Operations | None = None
) -> uvicorn.Server:
    """A uvicorn server for the API (``await server.serve()`` inside a running event loop).

    Its connections are named ``caseledger-api``, unless the process already named itself (``up``).
    """
    system.database.name_process(ProcessKind.API)
    config = uvicorn.Config(
        create_app(system, operations),
        host=host or system.settings.api_host,
        port=port or system.settings.api_port,
        # Logging is the process's (cli/logs.py): uvicorn's loggers propagate to it instead of printing
        # coloured lines of their own, at its level (a log_level here would set uvicorn's loggers to it
        # and print an access line per request under CASELEDGER_LOG_LEVEL=WARNING).
        log_level=None,
        log_config=None,
        proxy_headers=True,
        # httptools, answering what its parser rejects with problem+json rather than uvicorn's plain text.
        http=ProblemHttpToolsProtocol,
    )
    return uvicorn.Server(config)


def run_api(
    system: ApiSystem, host: str | None = None, port: int | None = None, operations: Operations | None = None
) -> None:
    """Serve the API until interrupted (blocks); its connections are named ``caseledger-api``."""
    api_server(system, host, port, operations).run()
