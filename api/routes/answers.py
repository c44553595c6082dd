"""How a command's answer goes over HTTP: the body, its ETag, and problem+json for a replayed refusal."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from api.gateway import CommandAccepted
from api.problems import problem_responses

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
