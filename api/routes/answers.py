"""How a command's answer goes over HTTP: the body, its ETag, and problem+json for a replayed refusal."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi.responses import JSONResponse

from api.commands import CommandAccepted, CommandAnswer
from api.problems import PROBLEM_JSON, problem_responses

COMMAND_PROBLEMS = problem_responses(401, 403, 404, 409, 422)
"""The problems every command may answer with."""


def command_route(status: int = HTTPStatus.OK) -> dict[str, Any]:
    """The decorator arguments shared by the command routes."""
    return {
        "status_code": status,
        "response_model": CommandAccepted,
        "responses": COMMAND_PROBLEMS,
        "response_description": "The command was stored: the case, its new version and the store position.",
    }


def command_response(answer: CommandAnswer) -> JSONResponse:
    """The HTTP answer to a command; a repeat of a keyed request says that it is one."""
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else {}
    if answer.status >= HTTPStatus.BAD_REQUEST:
        return JSONResponse(answer.body, status_code=answer.status, headers=headers, media_type=PROBLEM_JSON)
    headers["ETag"] = f'"{answer.body["version"]}"'
    return JSONResponse(answer.body, status_code=answer.status, headers=headers)
