"""RFC 9457 problem details: the one place that turns an error into an HTTP answer.

Every refusal the API gives is ``application/problem+json``: a broken domain rule names its ``rule``, a
concurrency conflict names the case's ``current_version``, invalid input names the fields in ``errors``;
an unexpected failure is a bare 500 that leaks nothing of the server's internals.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.base import DomainError, InvalidTransitionError
from infra.store.eventstore import CaseNotFoundError, ConcurrencyConflictError

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE = "urn:caseledger:problem:"
RULE_TYPE = "urn:caseledger:rule:"

log = logging.getLogger(__name__)


class FieldProblem(BaseModel):
    """One invalid input: where it is (``["body", "amount_fen"]``) and what is wrong with it."""

    model_config = ConfigDict(frozen=True)

    loc: list[str | int]
    msg: str


class Problem(BaseModel):
    """An RFC 9457 problem detail, with caseledger's extension members."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:caseledger:rule:IL22-ONE-TIME-NOTICE",
                    "title": "DocumentsAlreadyRequestedError",
                    "status": 422,
                    "detail": "the missing documents were already notified in one list",
                    "instance": "/claims/6f1c0f3e-7d2a-4c55-9f4e-1a2b3c4d5e6f/documents-request",
                    "rule": "IL22-ONE-TIME-NOTICE",
                },
                {
                    "type": "urn:caseledger:problem:concurrency-conflict",
                    "title": "ConcurrencyConflictError",
                    "status": 409,
                    "detail": (
                        "case 6f1c0f3e-7d2a-4c55-9f4e-1a2b3c4d5e6f is at version 7, not 6: "
                        "it changed meanwhile"
                    ),
                    "instance": "/claims/6f1c0f3e-7d2a-4c55-9f4e-1a2b3c4d5e6f/review",
                    "current_version": 7,
                },
                {
                    "type": "urn:caseledger:problem:invalid-input",
                    "title": "Unprocessable Content",
                    "status": 422,
                    "detail": "invalid input: body.amount_fen",
                    "instance": "/claims/6f1c0f3e-7d2a-4c55-9f4e-1a2b3c4d5e6f/payments",
                    "errors": [
                        {"loc": ["body", "amount_fen"], "msg": "Input should be greater than or equal to 0"}
                    ],
                },
            ]
        },
    )

    type: str = Field(default="about:blank", description="A URI naming the kind of problem.")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = Field(default=None, description="The request path the problem occurred on.")
    rule: str | None = Field(default=None, description="The id of the broken business rule.")
    current_version: int | None = Field(default=None, description="The case's version (conflicts).")
    errors: list[FieldProblem] | None = Field(default=None, description="The invalid inputs.")


class ApiProblemError(Exception):
    """A refusal by the API itself (not by the domain): carries its status, title and headers."""

    status: int = 400
    title: str = "Bad Request"
    slug: str = "bad-request"

    def __init__(self, detail: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = dict(headers or {})


class AuthenticationRequiredError(ApiProblemError):
    """No bearer token, or one that is not valid (bad signature, expired, unknown role)."""

    status, title, slug = 401, "Unauthorized", "unauthenticated"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, {"WWW-Authenticate": 'Bearer realm="caseledger"'})


class RoleNotAllowedError(ApiProblemError):
    """The token's role may not use this endpoint."""

    status, title, slug = 403, "Forbidden", "role-not-allowed"


class ResourceNotFoundError(ApiProblemError):
    """The read models hold nothing under this id."""

    status, title, slug = 404, "Not Found", "not-found"


class IdempotencyKeyReusedError(ApiProblemError):
    """The Idempotency-Key was already used by this actor for a different request."""

    status, title, slug = 422, "IdempotencyKeyReusedError", "idempotency-key-reused"


class IdempotentRequestInProgressError(ApiProblemError):
    """The first request with this Idempotency-Key has not finished yet."""

    status, title, slug = 409, "IdempotentRequestInProgressError", "idempotent-request-in-progress"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, {"Retry-After": "1"})


class ProjectionBehindError(ApiProblemError):
    """The read models have not applied the version asked for within the wait."""

    status, title, slug = 503, "ProjectionBehindError", "projection-behind"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, {"Retry-After": "1"})


class UnreachableReadBoundError(ApiProblemError):
    """A ``min_version`` or ``min_position`` that no wait can meet: beyond what the store holds."""

    status, title, slug = 422, "UnreachableReadBoundError", "unreachable-read-bound"


class ReadModelsUnavailableError(ApiProblemError):
    """The read-model tables do not exist yet: the projections consumer has never started."""

    status, title, slug = 503, "ReadModelsUnavailableError", "read-models-unavailable"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, {"Retry-After": "5"})


def rejection_status(error: DomainError) -> int:
    """409 for a command that does not fit the case's lifecycle state, 422 for any other broken rule."""
    return (
        HTTPStatus.CONFLICT if isinstance(error, InvalidTransitionError) else HTTPStatus.UNPROCESSABLE_ENTITY
    )


def is_final_rejection(exc: Exception) -> bool:
    """A refusal that a retry of the same request would meet again: its answer may be replayed."""
    return isinstance(exc, DomainError | CaseNotFoundError | ResourceNotFoundError)


def problem_for(exc: Exception, instance: str) -> tuple[Problem, dict[str, str]]:
    """The problem (and extra headers) that answers ``exc``; anything unknown is an opaque 500."""
    if isinstance(exc, DomainError):
        return Problem(
            type=RULE_TYPE + exc.rule,
            title=type(exc).__name__,
            status=rejection_status(exc),
            detail=exc.message,
            instance=instance,
            rule=exc.rule,
        ), {}
    if isinstance(exc, ConcurrencyConflictError):
        return Problem(
            type=PROBLEM_TYPE + "concurrency-conflict",
            title="ConcurrencyConflictError",
            status=HTTPStatus.CONFLICT,
            detail=str(exc),
            instance=instance,
            current_version=exc.current_version,
        ), {"ETag": f'"{exc.current_version}"'}
    if isinstance(exc, CaseNotFoundError):
        return Problem(
            type=PROBLEM_TYPE + "not-found",
            title="CaseNotFoundError",
            status=HTTPStatus.NOT_FOUND,
            detail=str(exc),
            instance=instance,
        ), {}
    if isinstance(exc, ApiProblemError):
        return Problem(
            type=PROBLEM_TYPE + exc.slug,
            title=exc.title,
            status=exc.status,
            detail=exc.detail,
            instance=instance,
        ), exc.headers
    if isinstance(exc, psycopg.errors.UndefinedTable):
        # The API creates no read table: the process that writes one creates it when it starts, so until
        # then the answer is "not yet", not a server error.
        missing = ReadModelsUnavailableError(
            "a table this answer reads is not there yet: its writer has not started"
        )
        return problem_for(missing, instance)
    if isinstance(exc, psycopg.DataError):
        # A value PostgreSQL cannot hold (a NUL in a body's text, a number out of its range): the input is
        # at fault, whatever route carried it. The database's message is not repeated: it quotes the value.
        return Problem(
            type=PROBLEM_TYPE + "unstorable-value",
            title="Unprocessable Content",
            status=HTTPStatus.UNPROCESSABLE_ENTITY,
            detail="the request holds a value the database cannot store (such as a NUL byte in a text)",
            instance=instance,
        ), {}
    if isinstance(exc, RequestValidationError | ValidationError):
        return _invalid_input(exc.errors(), instance), {}
    if isinstance(exc, StarletteHTTPException):
        status = HTTPStatus(exc.status_code)
        return Problem(title=status.phrase, status=status, detail=str(exc.detail), instance=instance), dict(
            exc.headers or {}
        )
    return Problem(
        title="Internal Server Error",
        status=HTTPStatus.INTERNAL_SERVER_ERROR,
        detail="the request could not be completed; the error was logged",
        instance=instance,
    ), {}


def _invalid_input(errors: Sequence[Any], instance: str) -> Problem:
    # The offending input is left out on purpose: it may hold personal data or a token.
    fields = [FieldProblem(loc=list(error["loc"]), msg=str(error["msg"])) for error in errors]
    names = ", ".join(".".join(str(part) for part in field.loc) for field in fields)
    return Problem(
        type=PROBLEM_TYPE + "invalid-input",
        title="Unprocessable Content",
        status=HTTPStatus.UNPROCESSABLE_ENTITY,
        detail=f"invalid input: {names}",
        instance=instance,
        errors=fields,
    )


def problem_response(problem: Problem, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The HTTP answer carrying ``problem``."""
    return JSONResponse(
        problem.model_dump(mode="json", exclude_none=True),
        status_code=problem.status,
        headers=dict(headers or {}),
        media_type=PROBLEM_JSON,
    )


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    problem, headers = problem_for(exc, request.url.path)
    if problem.status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(problem, headers)


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` with a problem document."""
    for error in (
        DomainError,
        ConcurrencyConflictError,
        CaseNotFoundError,
        ApiProblemError,
        RequestValidationError,
        ValidationError,
        StarletteHTTPException,
        psycopg.DataError,
        Exception,
    ):
        app.add_exception_handler(error, _handle)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI declaration of the problems a route may answer with."""
    return {
        status: {"model": Problem, "description": HTTPStatus(status).phrase + " (problem+json)"}
        for status in statuses
    }
