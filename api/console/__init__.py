"""The staff console: server-rendered pages in the API process (worklist, case file, SLA board, audit,
operations), with the API's sign-in and role checks. Templates and styles ship in this package; the pages
load nothing from outside and need no script.
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from api.console.operations import Operations
from api.console.routes import (
    Console,
    ConsolePageRefusedError,
    SignInRequiredError,
    render_page,
    router,
    template_globals,
)
from api.console.sessions import SESSION_COOKIE, ConsoleSessions
from api.console.views import ConsoleViews
from api.system import ApiSystem
from infra.store.database import Database

_HERE = Path(__file__).parent


def install_console(
    app: FastAPI, system: ApiSystem, pool: Database, operations: Operations | None = None
) -> None:
    """Serve the console under ``/console`` on ``app`` (built by ``create_app``: its verifier and keys)."""
    templates = Jinja2Templates(directory=_HERE / "templates")
    templates.env.globals.update(template_globals())
    audit_key = system.settings.audit_key
    app.state.console = Console(
        system=system,
        sessions=ConsoleSessions(
            pool, system.settings.db_schema, app.state.token_verifier, app.state.api_keys
        ),
        views=ConsoleViews(pool, system),
        templates=templates,
        operations=operations,
        audit_key=None if audit_key is None else audit_key.get_secret_value().encode("utf-8"),
    )
    app.mount("/console/static", StaticFiles(directory=_HERE / "static"), name="console-static")
    app.include_router(router)
    app.add_exception_handler(SignInRequiredError, _to_sign_in)
    app.add_exception_handler(ConsolePageRefusedError, _refused_page)


async def _to_sign_in(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequiredError)
    return RedirectResponse(
        f"/console/sign-in?next={quote(exc.back_to, safe='')}", status_code=HTTPStatus.SEE_OTHER
    )


async def _refused_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConsolePageRefusedError)
    console: Console = request.app.state.console
    session = await asyncio.to_thread(console.sessions.find, request.cookies.get(SESSION_COOKIE))
    return render_page(console, request, "refused.html", session, exc.status, refusal=exc)
