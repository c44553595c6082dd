"""The commands a case file offers as forms, derived from the API's own command routes.

Nothing is declared twice: each ``POST /<context>/{id}/...`` route names its domain step (``case_command``),
whose ``@taken_by`` roles decide who sees the form; the route's command model gives the form's fields; and
a submitted form runs the route's own endpoint, so the console goes through the same application-service
method, the same idempotency gateway (the form's Idempotency-Key) and the same If-Match check (the version
the page showed) as an HTTP client does.

Fields come from the pydantic model: enums as selects, a list of enums as checkboxes, dates and times as
date and datetime inputs (read as Asia/Shanghai), other lists as a textarea one item per line, a mapping as
``key: value`` lines, a nested model as its own fields.
"""

from __future__ import annotations

import inspect
import json
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any, Union
from uuid import UUID

from fastapi import FastAPI, Request
from fastapi.params import Depends as DependsParam
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import AwareDatetime, BaseModel, NaiveDatetime
from pydantic.fields import FieldInfo
from starlette.datastructures import FormData
from starlette.routing import BaseRoute

from api.deps import DOMAIN_STEP, ApiServices
from api.gateway import CommandCall
from domain.base import SHANGHAI, Role, roles_of
from infra.services.commands import Command
from infra.store.eventstore import CaseApplication

_LONG_TEXT = 200
"""A string field allowing more than this many characters is a textarea."""


@dataclass(frozen=True)
class FormField:
    """One input of a command form."""

    name: str
    label: str
    kind: str
    """text, textarea, number, checkbox, select, checkboxes, date, datetime, lines or mapping."""
    required: bool
    options: tuple[str, ...] = ()
    default: str = ""


@dataclass(frozen=True)
class _Parameter:
    name: str
    kind: str
    """case_id, path, body, call, service or request."""
    service: type[CaseApplication[Any]] | None = None


@dataclass(frozen=True)
class CaseCommand:
    """One command on an existing case, as its route declares it."""

    name: str
    title: str
    context: str
    path: str
    step: Callable[..., object]
    body: type[Command] | None
    fields: tuple[FormField, ...]
    parameters: tuple[_Parameter, ...]
    endpoint: Callable[..., Any]

    @property
    def roles(self) -> frozenset[Role]:
        """Who may run it: the roles its domain step declares."""
        return roles_of(self.step)

    def allows(self, role: Role) -> bool:
        return role in self.roles


@dataclass(frozen=True)
class CommandOutcome:
    """What the route answered: the new version, or the problem document of a refusal."""

    status: int
    body: dict[str, Any]

    @property
    def accepted(self) -> bool:
        return self.status < 400


class CommandCatalogue:
    """Every case command of an app, by context and by name."""

    def __init__(self, commands: Sequence[CaseCommand]) -> None:
        self._by_name = {command.name: command for command in commands}

    @classmethod
    def of(cls, app: FastAPI) -> CommandCatalogue:
        """The case commands among ``app``'s routes (a command that opens a case has no case to run on)."""
        found = []
        for route in _api_routes(app.routes):
            if "POST" in (route.methods or set()):
                command = _case_command(route)
                if command is not None:
                    found.append(command)
        return cls(found)

    def __iter__(self) -> typing.Iterator[CaseCommand]:
        return iter(self._by_name.values())

    def named(self, name: str) -> CaseCommand | None:
        return self._by_name.get(name)

    def for_case(self, context: str, role: Role) -> list[CaseCommand]:
        """The commands on a case of ``context`` that ``role`` may run, in the routes' order."""
        return [c for c in self._by_name.values() if c.context == context and c.allows(role)]


def _api_routes(routes: Sequence[BaseRoute]) -> typing.Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        # FastAPI from 0.16x keeps an included router whole (its routes carry the full path already).
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _api_routes(included.routes)


def _step(route: APIRoute) -> Callable[..., object] | None:
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        step: Callable[..., object] | None = getattr(dependant.call, DOMAIN_STEP, None)
        if step is not None:
            return step
        pending.extend(dependant.dependencies)
    return None


def _case_command(route: APIRoute) -> CaseCommand | None:
    step = _step(route)
    path_names = [param.name for param in route.dependant.path_params]
    if step is None or not path_names:
        return None
    hints = typing.get_type_hints(route.endpoint, include_extras=True)
    parameters = []
    body: type[Command] | None = None
    context = ""
    for name in inspect.signature(route.endpoint).parameters:
        hint = hints[name]
        base, metadata = _unannotated(hint)
        if name == path_names[0]:
            parameters.append(_Parameter(name, "case_id"))
        elif name in path_names:
            parameters.append(_Parameter(name, "path"))
        elif base is CommandCall:
            parameters.append(_Parameter(name, "call"))
        elif base is Request:
            parameters.append(_Parameter(name, "request"))
        elif inspect.isclass(base) and issubclass(base, Command):
            body = base
            parameters.append(_Parameter(name, "body"))
        elif (
            inspect.isclass(base)
            and issubclass(base, CaseApplication)
            and any(isinstance(m, DependsParam) for m in metadata)
        ):
            context = base.bounded_context
            parameters.append(_Parameter(name, "service", base))
        else:
            raise TypeError(f"{route.path}: the console cannot supply the parameter {name!r}")
    form = [FormField(name, _label(name), "text", True) for name in path_names[1:]]
    if body is not None:
        form += _model_fields(body)
    return CaseCommand(
        name=route.name,
        title=(inspect.getdoc(route.endpoint) or route.name).split("\n", 1)[0],
        context=context,
        path=route.path,
        step=step,
        body=body,
        fields=tuple(form),
        parameters=tuple(parameters),
        endpoint=route.endpoint,
    )


def _unannotated(hint: Any) -> tuple[Any, tuple[Any, ...]]:
    if typing.get_origin(hint) is Annotated:
        base, *metadata = typing.get_args(hint)
        return base, tuple(metadata)
    return hint, ()


def _label(name: str) -> str:
    return name.replace("_", " ")


def _optional(annotation: Any) -> tuple[Any, bool]:
    """The annotation without ``| None``, and whether None was allowed."""
    if typing.get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _unannotated(args[0])[0], True
    return annotation, False


def _max_length(info: FieldInfo) -> int | None:
    for item in info.metadata:
        length = getattr(item, "max_length", None)
        if isinstance(length, int):
            return length
    return None


def _model_fields(model: type[BaseModel], prefix: str = "") -> list[FormField]:
    form: list[FormField] = []
    for name, info in model.model_fields.items():
        annotation, nullable = _optional(info.annotation)
        required = info.is_required() and not nullable
        key = f"{prefix}{name}"
        default = "" if info.default is None or not _plain(info.default) else _text(info.default)
        if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
            form += _model_fields(annotation, f"{key}.")
            continue
        origin = typing.get_origin(annotation)
        if annotation is bool:
            form.append(FormField(key, _label(name), "checkbox", False, default=default))
        elif inspect.isclass(annotation) and issubclass(annotation, Enum):
            options = tuple(str(member.value) for member in annotation)
            form.append(FormField(key, _label(name), "select", required, options, default))
        elif annotation is int:
            form.append(FormField(key, _label(name), "number", required, default=default))
        elif annotation in (AwareDatetime, NaiveDatetime) or (
            inspect.isclass(annotation) and issubclass(annotation, datetime)
        ):
            form.append(FormField(key, _label(name), "datetime", required))
        elif inspect.isclass(annotation) and issubclass(annotation, date):
            form.append(FormField(key, _label(name), "date", required, default=default))
        elif origin in (list, tuple, set, frozenset):
            (item, *_) = typing.get_args(annotation) or (str,)
            item = _unannotated(item)[0]
            if inspect.isclass(item) and issubclass(item, Enum):
                options = tuple(str(member.value) for member in item)
                form.append(FormField(key, _label(name), "checkboxes", False, options))
            else:
                form.append(FormField(key, _label(name), "lines", required))
        elif origin in (dict, Mapping):
            form.append(FormField(key, _label(name), "mapping", required))
        else:
            long = (_max_length(info) or 0) > _LONG_TEXT
            form.append(
                FormField(key, _label(name), "textarea" if long else "text", required, default=default)
            )
    return form


def _plain(value: Any) -> bool:
    return isinstance(value, str | int | float | bool | Enum | date) and not isinstance(
        value, bool | type(None)
    )


def _text(value: Any) -> str:
    return str(value.value) if isinstance(value, Enum) else str(value)


# ------------------------------------------------------------------------------------------- running


def command_input(command: CaseCommand, form: FormData) -> tuple[dict[str, Any], dict[str, str]]:
    """The body as a dict for the command model (validated by it), and the extra path values."""
    body: dict[str, Any] = {}
    path: dict[str, str] = {}
    path_names = {p.name for p in command.parameters if p.kind == "path"}
    for field in command.fields:
        value = _value(field, form)
        if value is None:
            continue
        if field.name in path_names:
            path[field.name] = str(value)
            continue
        target = body
        *parents, leaf = field.name.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
    return body, path


def _value(field: FormField, form: FormData) -> Any:
    if field.kind == "checkbox":
        return form.get(field.name) is not None
    if field.kind == "checkboxes":
        return [str(v) for v in form.getlist(field.name)]
    raw = form.get(field.name)
    text = "" if raw is None else str(raw).strip()
    if field.kind == "lines":
        return [line.strip() for line in text.splitlines() if line.strip()]
    if field.kind == "mapping":
        pairs = [line.split(":", 1) for line in text.splitlines() if line.strip()]
        return {key.strip(): (rest[0].strip() if rest else "") for key, *rest in pairs}
    if not text:
        return None
    if field.kind == "datetime":
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return text  # the command model names the field and what is wrong with it
        return (moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)).isoformat()
    return text


def run_command(
    command: CaseCommand,
    case_id: UUID,
    body: Command | None,
    path_values: Mapping[str, str],
    call: CommandCall,
    services: ApiServices,
    request: Request,
) -> CommandOutcome:
    """Run the route's endpoint with the console's envelope; a refusal raises, as it does for the API."""
    arguments: dict[str, Any] = {}
    for parameter in command.parameters:
        if parameter.kind == "case_id":
            arguments[parameter.name] = case_id
        elif parameter.kind == "path":
            arguments[parameter.name] = path_values.get(parameter.name, "")
        elif parameter.kind == "body":
            arguments[parameter.name] = body
        elif parameter.kind == "call":
            arguments[parameter.name] = call
        elif parameter.kind == "request":
            arguments[parameter.name] = request
        else:
            arguments[parameter.name] = _service(services, parameter.service)
    response = command.endpoint(**arguments)
    if not isinstance(response, JSONResponse):
        raise TypeError(f"{command.path} answered {type(response).__name__}, not a command answer")
    return CommandOutcome(response.status_code, json.loads(bytes(response.body)))


def _service(services: ApiServices, kind: type[CaseApplication[Any]] | None) -> CaseApplication[Any]:
    for item in fields(services):
        value = getattr(services, item.name)
        if kind is not None and isinstance(value, kind):
            return value
    raise LookupError(f"no service of type {kind} in the API's services")
