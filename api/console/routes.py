"""The console's pages: sign-in, worklist, case file, SLA board, audit and operations.

Each page admits the roles its API counterpart admits (the case commands: their domain step's roles; the
statistics: ``MANAGEMENT``; the audit trail: ``AUDIT_READERS``). Every POST carries the session's CSRF
token; a command runs through the API route's own endpoint (``commands.run_command``).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.background import BackgroundTask
from starlette.datastructures import FormData, UploadFile

from api.access import reader
from api.console import labels
from api.console.charts import Bar, bar_chart
from api.console.commands import CaseCommand, CommandCatalogue, command_input, run_command
from api.console.operations import Operations
from api.console.sessions import SESSION_COOKIE, ConsoleSession, ConsoleSessions, SignInRefusedError
from api.console.views import CASE_TYPES, TEAMS, ConsoleViews, duration, shanghai, time_left
from api.deps import ApiServices, command_envelope
from api.problems import ApiProblemError, Problem, problem_for
from api.routes.audit import AUDIT_READERS
from api.routes.queries import MANAGEMENT
from api.system import ApiSystem
from domain.base import SHANGHAI, DomainError, Role
from infra.audit.history import VersionNotRecordedError
from infra.audit.verify import describe, verify_export
from infra.messaging.relay import relay_lag
from infra.store.eventstore import CaseNotFoundError, ConcurrencyConflictError
from projections.masking import mask_fields

log = logging.getLogger(__name__)

router = APIRouter(prefix="/console", include_in_schema=False)

STAFF = frozenset(Role) - {Role.SYSTEM}
OPERATORS = frozenset({Role.SUPERVISOR, Role.SENIOR_MANAGER})
"""Who may retry or skip a dead letter and run the projections check."""
OPERATIONS_READERS = OPERATORS | {Role.AUDITOR}
SIGN_IN_COOKIE = "caseledger_console_signin"
CONSOLE_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
"""The pages run no script and load only this origin's stylesheet: an injected tag could do nothing."""
_REFUSALS = (DomainError, ConcurrencyConflictError, CaseNotFoundError, ApiProblemError, ValidationError)
"""What a command may be refused with: shown on the page with its rule; anything else is a server error."""


@dataclass
class Console:
    """The console's parts, built once by ``install_console``."""

    system: ApiSystem
    sessions: ConsoleSessions
    views: ConsoleViews
    templates: Jinja2Templates
    operations: Operations | None
    audit_key: bytes | None
    _catalogue: CommandCatalogue | None = None

    def catalogue(self, request: Request) -> CommandCatalogue:
        # Built on first use: by then every router of the app is included.
        if self._catalogue is None:
            self._catalogue = CommandCatalogue.of(request.app)
        return self._catalogue


class SignInRequiredError(Exception):
    """No live session: the browser is sent to the sign-in page, then back."""

    def __init__(self, back_to: str) -> None:
        super().__init__(back_to)
        self.back_to = back_to


class ConsolePageRefusedError(Exception):
    """A page or an action the session may not have (wrong role, bad CSRF token, unknown case)."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail


def _console(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


ConsoleDep = Annotated[Console, Depends(_console)]


def _signed_in(request: Request, console: ConsoleDep) -> ConsoleSession:
    session = console.sessions.find(request.cookies.get(SESSION_COOKIE))
    if session is None:
        back_to = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequiredError(back_to if request.method == "GET" else "/console/worklist")
    return session


SessionDep = Annotated[ConsoleSession, Depends(_signed_in)]


def _role_in(roles: frozenset[Role]) -> Callable[[ConsoleSession], ConsoleSession]:
    def check(session: SessionDep) -> ConsoleSession:
        if session.actor.role not in roles:
            raise ConsolePageRefusedError(
                HTTPStatus.FORBIDDEN,
                "无权访问 Not allowed",
                f"the role {session.actor.role.value} may not use this page",
            )
        return session

    return check


Manager = Annotated[ConsoleSession, Depends(_role_in(frozenset(MANAGEMENT)))]
AuditReader = Annotated[ConsoleSession, Depends(_role_in(frozenset(AUDIT_READERS)))]
OperationsReader = Annotated[ConsoleSession, Depends(_role_in(OPERATIONS_READERS))]
Operator = Annotated[ConsoleSession, Depends(_role_in(OPERATORS))]


async def _posted(request: Request, session: SessionDep) -> FormData:
    """The form of a POST, once its CSRF token is the session's."""
    form = await request.form()
    token = form.get("csrf_token")
    if not session.csrf_matches(token if isinstance(token, str) else None):
        raise ConsolePageRefusedError(
            HTTPStatus.FORBIDDEN, "表单已失效 Form expired", "the form's CSRF token is not this session's"
        )
    return form


Posted = Annotated[FormData, Depends(_posted)]


def render_page(
    console: Console,
    request: Request,
    template: str,
    session: ConsoleSession | None,
    status: int = HTTPStatus.OK,
    **context: Any,
) -> HTMLResponse:
    """A console page: the template with the session, its CSRF token and the navigation it may use."""
    response = console.templates.TemplateResponse(
        request,
        template,
        {
            "session": session,
            "csrf": session.csrf_token if session else "",
            "can_manage": session is not None and session.actor.role in MANAGEMENT,
            "can_audit": session is not None and session.actor.role in AUDIT_READERS,
            "can_operate": session is not None and session.actor.role in OPERATIONS_READERS,
            "now": console.views.now(),
            **context,
        },
        status_code=status,
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = CONSOLE_POLICY
    return response


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _safe_next(target: str | None) -> str:
    """Only a path inside the console: a sign-in link cannot send the browser elsewhere."""
    if not target:
        return "/console/worklist"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/console/"):
        return "/console/worklist"
    return target


# ------------------------------------------------------------------------------------------ sign-in


@router.get("", include_in_schema=False)
def console_home() -> RedirectResponse:
    return RedirectResponse("/console/worklist", status_code=HTTPStatus.SEE_OTHER)


@router.get("/sign-in")
def sign_in_page(request: Request, console: ConsoleDep, next: str | None = None) -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    response = render_page(console, request, "sign_in.html", None, next=_safe_next(next), signin_csrf=token)
    _set_cookie(request, response, SIGN_IN_COOKIE, token, max_age=3600)
    return response


@router.post("/sign-in")
async def sign_in(request: Request, console: ConsoleDep) -> Response:
    form = await request.form()
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    presented = _field(form, "csrf_token")
    target = _safe_next(_field(form, "next"))
    # Login CSRF: the form's token must be the one this browser was given with the form (double submit).
    if not expected or not secrets.compare_digest(expected, presented):
        return render_page(
            console, request, "sign_in.html", None, HTTPStatus.FORBIDDEN,
            next=target, signin_csrf=expected, error="表单已失效，请重试 The form expired: try again",
        )  # fmt: skip
    try:
        session_id, session = console.sessions.sign_in(_field(form, "credential"))
    except SignInRefusedError as refused:
        return render_page(
            console, request, "sign_in.html", None, HTTPStatus.UNAUTHORIZED,
            next=target, signin_csrf=expected, error=f"登录失败 Sign-in refused: {refused}",
        )  # fmt: skip
    response = RedirectResponse(target, status_code=HTTPStatus.SEE_OTHER)
    seconds = int((session.expires_at - console.sessions.clock.now()).total_seconds())
    _set_cookie(request, response, SESSION_COOKIE, session_id, max_age=max(seconds, 1))
    response.delete_cookie(SIGN_IN_COOKIE, path="/console")
    return response


@router.post("/sign-out")
def sign_out(request: Request, console: ConsoleDep, _: Posted) -> RedirectResponse:
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        console.sessions.end(session_id)
    response = RedirectResponse("/console/sign-in", status_code=HTTPStatus.SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


# ------------------------------------------------------------------------------------------ worklist


def _default_team(role: Role) -> str:
    return role.value if role in TEAMS and role not in (Role.SENIOR_MANAGER,) else ""


@router.get("/worklist")
def worklist_page(
    request: Request,
    console: ConsoleDep,
    session: SessionDep,
    team: str | None = None,
    case_type: str | None = None,
    rule: str | None = None,
    mine: bool = False,
) -> HTMLResponse:
    chosen_team = _default_team(session.actor.role) if team is None else team
    rows = console.views.worklist(
        team=chosen_team or None,
        case_type=case_type or None,
        rule_id=rule or None,
        mine=session.actor.id if mine else None,
        reader=reader(session.actor),
    )
    return render_page(
        console,
        request,
        "worklist.html",
        session,
        rows=rows,
        team=chosen_team,
        case_type=case_type or "",
        rule=rule or "",
        mine=mine,
        teams=[t.value for t in TEAMS],
        case_types=CASE_TYPES,
        rules=console.views.worklist_rules(),
    )


# ------------------------------------------------------------------------------------------ case file


@router.get("/cases")
def find_case(case_id: str = "") -> RedirectResponse:
    try:
        target = f"/console/cases/{UUID(case_id.strip())}"
    except ValueError:
        target = "/console/worklist"
    return RedirectResponse(target, status_code=HTTPStatus.SEE_OTHER)


@router.get("/cases/{case_id}")
def case_page(
    request: Request,
    case_id: UUID,
    console: ConsoleDep,
    session: SessionDep,
    recorded: int | None = None,
    command: str | None = None,
) -> HTMLResponse:
    return _case_response(console, request, session, case_id, recorded=recorded, done=command)


def _case_response(
    console: Console,
    request: Request,
    session: ConsoleSession,
    case_id: UUID,
    *,
    status: int = HTTPStatus.OK,
    recorded: int | None = None,
    done: str | None = None,
    problem: Problem | None = None,
    failed: str | None = None,
    values: Mapping[str, Any] | None = None,
) -> HTMLResponse:
    try:
        case = console.views.case_file(case_id, reader(session.actor))
    except CaseNotFoundError:
        raise ConsolePageRefusedError(
            HTTPStatus.NOT_FOUND, "未找到案件 No such case", f"no case with id {case_id}"
        ) from None
    commands = console.catalogue(request).for_case(case.context, session.actor.role)
    catalogue = console.catalogue(request)
    return render_page(
        console,
        request,
        "case.html",
        session,
        status,
        case=case,
        commands=commands,
        done=catalogue.named(done) if done else None,
        recorded=recorded,
        problem=problem,
        failed=failed,
        values=values or {},
        keys={c.name: str(uuid4()) for c in commands},
        show_payload=session.actor.role in AUDIT_READERS,
        defaults=_defaults(console),
    )


def _defaults(console: Console) -> dict[str, str]:
    now = console.views.now().astimezone(SHANGHAI)
    return {"datetime": now.strftime("%Y-%m-%dT%H:%M"), "date": now.date().isoformat()}


@router.post("/cases/{case_id}/commands/{name}")
def run_case_command(
    request: Request,
    case_id: UUID,
    name: str,
    console: ConsoleDep,
    session: SessionDep,
    form: Posted,
) -> Response:
    command = console.catalogue(request).named(name)
    if command is None:
        raise ConsolePageRefusedError(HTTPStatus.NOT_FOUND, "未知操作 Unknown command", f"no command {name}")
    if not command.allows(session.actor.role):
        raise ConsolePageRefusedError(
            HTTPStatus.FORBIDDEN,
            "无权操作 Not allowed",
            f"the role {session.actor.role.value} may not use {command.path}",
        )
    expected = _field(form, "expected_version")
    call = command_envelope(
        session.actor,
        request,
        _field(form, "idempotency_key") or None,
        int(expected) if expected.isdigit() else None,
    )
    try:
        outcome = _run(command, case_id, form, call, request)
    except _REFUSALS as refused:
        problem, _ = problem_for(refused, request.url.path)
        return _refused(console, request, session, case_id, command, problem, form)
    if not outcome.accepted:  # a repeat of a request that was refused: its first answer
        problem = Problem.model_validate(outcome.body)
        return _refused(console, request, session, case_id, command, problem, form)
    version = outcome.body["version"]
    return RedirectResponse(
        f"/console/cases/{case_id}?recorded={version}&command={quote(command.name)}",
        status_code=HTTPStatus.SEE_OTHER,
    )


def _run(command: CaseCommand, case_id: UUID, form: FormData, call: Any, request: Request) -> Any:
    body_values, path_values = command_input(command, form)
    body = None if command.body is None else command.body.model_validate(body_values)
    services: ApiServices = request.app.state.services
    return run_command(command, case_id, body, path_values, call, services, request)


def _refused(
    console: Console,
    request: Request,
    session: ConsoleSession,
    case_id: UUID,
    command: CaseCommand,
    problem: Problem,
    form: FormData,
) -> HTMLResponse:
    values = {key: form.getlist(key) for key in form}
    return _case_response(
        console, request, session, case_id, status=problem.status, problem=problem, failed=command.name,
        values=values,
    )  # fmt: skip


# ------------------------------------------------------------------------------------------ SLA board


@router.get("/sla")
def sla_page(
    request: Request,
    console: ConsoleDep,
    session: Manager,
    within_days: int = 7,
    month_from: str | None = None,
    month_to: str | None = None,
) -> HTMLResponse:
    days = min(max(within_days, 1), 90)
    figures = console.views.complaint_figures(month_from or None, month_to or None)

    def rate(share: Any) -> str:
        return "" if share.rate is None else f"on time {share.rate:.0%}"

    return render_page(
        console,
        request,
        "sla.html",
        session,
        within_days=days,
        board=console.views.sla_board(days),
        figures=figures,
        month_from=month_from or "",
        month_to=month_to or "",
        category_chart=bar_chart(
            "投诉量（按类别） Complaints by category",
            [Bar(s.label, s.lodged, rate(s)) for s in figures.by_category],
        ),
        channel_chart=bar_chart(
            "投诉量（按渠道） Complaints by channel",
            [Bar(s.label, s.lodged, rate(s)) for s in figures.by_channel],
        ),
        callbacks=console.views.callback_completion(),
        inquiries=console.views.inquiry_figures(month_from or None, month_to or None),
    )


# ------------------------------------------------------------------------------------------ audit


@router.get("/audit")
def audit_page(
    request: Request,
    console: ConsoleDep,
    session: AuditReader,
    case_id: str = "",
    as_of: str = "",
    version: str = "",
) -> HTMLResponse:
    state = error = None
    chosen = _case_id(case_id)
    if chosen is not None:
        try:
            at = _as_of(as_of)
            state = console.views.trail.as_of(
                chosen, at=at, version=int(version) if version.isdigit() and at is None else None
            )
            state = state.model_copy(update={"state": mask_fields(state.state)})
        except (CaseNotFoundError, VersionNotRecordedError, ValueError) as refused:
            error = str(refused)
    elif case_id:
        error = f"{case_id!r} is not a case id"
    return render_page(
        console,
        request,
        "audit.html",
        session,
        case_id=case_id,
        as_of=as_of,
        version=version,
        state=state,
        error=error,
        audit_key=console.audit_key is not None,
    )


def _case_id(text: str) -> UUID | None:
    try:
        return UUID(text.strip()) if text.strip() else None
    except ValueError:
        return None


def _as_of(text: str) -> datetime | None:
    if not text.strip():
        return None
    moment = datetime.fromisoformat(text.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


@router.post("/audit/verify")
def audit_verify(request: Request, console: ConsoleDep, session: AuditReader, form: Posted) -> HTMLResponse:
    chosen = _case_id(_field(form, "case_id"))
    try:
        report = console.views.trail.verify(chosen)
        verdict = (
            f"每条哈希链完好 every chain holds: {report.events} events in {report.cases} cases"
            if report.ok
            else f"BROKEN: {len(report.broken)} cases"
        )
        broken = [str(link) for link in report.broken]
    except CaseNotFoundError as missing:
        verdict, broken = str(missing), []
    return render_page(
        console, request, "audit.html", session,
        case_id=_field(form, "case_id"), as_of="", version="", state=None, error=None,
        chain_verdict=verdict, chain_broken=broken, audit_key=console.audit_key is not None,
    )  # fmt: skip


@router.post("/audit/export")
def audit_export(request: Request, console: ConsoleDep, session: AuditReader, form: Posted) -> Response:
    if console.audit_key is None:
        raise ConsolePageRefusedError(
            HTTPStatus.CONFLICT, "未配置签名密钥 No audit key", "set CASELEDGER_AUDIT_KEY to sign exports"
        )
    chosen = _case_id(_field(form, "case_id"))
    folder = Path(tempfile.mkdtemp(prefix="caseledger-export-"))
    path = folder / "audit.jsonl"
    try:
        console.views.trail.export(path, console.audit_key, chosen)
    except CaseNotFoundError as missing:
        _remove(folder)
        raise ConsolePageRefusedError(HTTPStatus.NOT_FOUND, "未找到案件 No such case", str(missing)) from None
    name = f"audit-{chosen or 'all'}-{console.views.now().strftime('%Y%m%dT%H%M%SZ')}.jsonl"
    log.info("audit export of %s by %s", chosen or "every case", session.actor.id)
    return FileResponse(
        path,
        media_type="application/x-ndjson",
        filename=name,
        background=BackgroundTask(_remove, folder),
    )


def _remove(folder: Path) -> None:
    for item in folder.iterdir():
        item.unlink()
    folder.rmdir()


@router.post("/audit/verify-export")
async def audit_verify_export(
    request: Request, console: ConsoleDep, session: AuditReader, form: Posted
) -> HTMLResponse:
    upload = form.get("export")
    key = _field(form, "key").encode() or console.audit_key
    lines: list[str]
    if not isinstance(upload, UploadFile) or key is None:
        lines = ["choose an export file and give its key (or set CASELEDGER_AUDIT_KEY)"]
    else:
        with tempfile.TemporaryDirectory(prefix="caseledger-verify-") as folder:
            path = Path(folder) / "export.jsonl"
            path.write_bytes(await upload.read())
            lines = list(describe(verify_export(path, key)))
    return render_page(
        console, request, "audit.html", session,
        case_id="", as_of="", version="", state=None, error=None,
        export_verdict=lines, audit_key=console.audit_key is not None,
    )  # fmt: skip


# ------------------------------------------------------------------------------------------ operations


@router.get("/operations")
async def operations_page(request: Request, console: ConsoleDep, session: OperationsReader) -> HTMLResponse:
    return await _operations_response(request, console, session)


async def _operations_response(
    request: Request, console: Console, session: ConsoleSession, **context: Any
) -> HTMLResponse:
    relay = await relay_lag(console.system)
    backlog = await asyncio.to_thread(console.views.timer_backlog)
    operations = console.operations
    groups = letters = None
    if operations is not None:
        groups = await asyncio.to_thread(operations.group_lag)
        letters = await asyncio.to_thread(operations.dead_letters, True)
    return render_page(
        console,
        request,
        "operations.html",
        session,
        relay=relay,
        backlog=backlog,
        groups=groups,
        letters=letters,
        available=operations is not None,
        can_act=session.actor.role in OPERATORS,
        **context,
    )


def _operations(console: Console) -> Operations:
    if console.operations is None:
        raise ConsolePageRefusedError(
            HTTPStatus.SERVICE_UNAVAILABLE,
            "本进程不提供 Not in this process",
            "this API process was started without the consumer operations: use `caseledger dlq` and "
            "`caseledger projections verify`, or the console of `caseledger up`",
        )
    return console.operations


@router.post("/operations/projections-verify")
async def verify_projections(
    request: Request, console: ConsoleDep, session: Operator, _: Posted
) -> HTMLResponse:
    check = await asyncio.to_thread(_operations(console).verify_projections)
    return await _operations_response(request, console, session, check=check)


@router.post("/operations/dead-letters/{dead_letter_id}/retry")
async def retry_dead_letter(
    request: Request, dead_letter_id: int, console: ConsoleDep, session: Operator, _: Posted
) -> HTMLResponse:
    result = await asyncio.to_thread(_operations(console).retry, dead_letter_id, session.actor.id)
    return await _operations_response(request, console, session, resolution=result, acted_on=dead_letter_id)


@router.post("/operations/dead-letters/{dead_letter_id}/skip")
async def skip_dead_letter(
    request: Request, dead_letter_id: int, console: ConsoleDep, session: Operator, form: Posted
) -> HTMLResponse:
    reason = _field(form, "reason")
    if not reason:
        return await _operations_response(
            request, console, session, acted_on=dead_letter_id, skip_error="give the reason 请填写原因"
        )
    result = await asyncio.to_thread(_operations(console).skip, dead_letter_id, session.actor.id, reason)
    return await _operations_response(request, console, session, resolution=result, acted_on=dead_letter_id)


# ------------------------------------------------------------------------------------------ helpers


def template_globals() -> dict[str, Any]:
    """What every template may call."""
    return {
        "role_label": labels.role,
        "case_type_label": labels.case_type,
        "colour_label": labels.colour,
        "timer_state_label": labels.timer_state,
        "shanghai": shanghai,
        "time_left": time_left,
        "duration": duration,
    }
