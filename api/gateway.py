"""Commands over HTTP: each request's envelope, and the gateway that runs a use case at most once per
(actor, Idempotency-Key) and keeps its answer for the repeats. The use cases themselves are the
application services' named methods (``Complaints.acknowledge``); a route hands one of them to its call.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, TypeVar
from uuid import UUID, uuid4

import orjson
import structlog
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from api.idempotency import IdempotencyStore, IdempotentRequest, StoredAnswer
from api.problems import PROBLEM_JSON, IdempotentRequestInProgressError, is_final_rejection, problem_for
from domain.base import DomainError
from infra import metrics
from infra.services.commands import Command
from infra.store.database import database_unavailable
from infra.store.eventstore import (
    AlongsideRefusedError,
    Caller,
    CaseApplication,
    CommandResult,
    committed_with,
)
from infra.tracing import command_span

C = TypeVar("C", bound=Command)
log = logging.getLogger(__name__)

OpeningUseCase = Callable[[C, Caller, UUID], CommandResult]
"""A use case that opens a case: ``(command, by, case_id) -> result`` (e.g. ``Complaints.lodge``)."""
CaseUseCase = Callable[[UUID, C, Caller, int | None], CommandResult]
"""A use case on an existing case: ``(case_id, command, by, expected_version) -> result``."""


class CommandAccepted(BaseModel):
    """A command was stored: the case, its new version (the ETag) and the store position of its last event."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"case_id": "6f1c0f3e-7d2a-4c55-9f4e-1a2b3c4d5e6f", "version": 4, "position": 18452}]
        }
    )

    case_id: UUID
    version: int
    position: int


@dataclass(frozen=True)
class CommandCall:
    """One command request: who sends it (from the token), against which version, under which key.

    ``opening_id`` is the id a command that opens a case gives it: derived from the Idempotency-Key when
    there is one, so that a second run of the same request meets the first one's case at the store's
    unique constraint instead of opening a twin.
    """

    caller: Caller
    expected_version: int | None
    idempotency_key: str | None
    method: str
    path: str
    gateway: CommandGateway
    opening_id: UUID = field(default_factory=uuid4)

    def open(
        self,
        app: CaseApplication[Any],
        command: C,
        use_case: OpeningUseCase[C],
        case_id: UUID | None = None,
    ) -> JSONResponse:
        """Run a use case that opens a case (under ``opening_id`` unless the case's id is ``case_id``)."""
        opened = self.opening_id if case_id is None else case_id
        return self._run(
            opened,
            HTTPStatus.CREATED,
            command,
            CommandTarget(app, opened),
            lambda: use_case(command, self.caller, opened),
        )

    def update(
        self, app: CaseApplication[Any], case_id: UUID, command: C, use_case: CaseUseCase[C]
    ) -> JSONResponse:
        """Run a use case on the case ``case_id``, against the version the request's If-Match expects."""
        return self._run(
            case_id,
            HTTPStatus.OK,
            command,
            CommandTarget(app, case_id),
            lambda: use_case(case_id, command, self.caller, self.expected_version),
        )

    def _run(
        self,
        case_id: UUID,
        status: int,
        command: BaseModel,
        target: CommandTarget,
        use_case: Callable[[], CommandResult],
    ) -> JSONResponse:
        # The command's span: the events it stores carry its trace context on to the relay and consumers.
        with self._logged(case_id), command_span(type(command).__name__, str(case_id)):
            try:
                answer = self.gateway.execute(self, status, command, target, use_case)
            except DomainError as refused:
                log.info("%s %s refused by rule %s", self.method, self.path, refused.rule)
                metrics.command_refused(refused.rule)
                raise
            if not answer.replayed and answer.status < HTTPStatus.BAD_REQUEST:
                metrics.command_accepted()
            log.info(
                "%s %s answered %d, case version %s%s",
                self.method,
                self.path,
                answer.status,
                answer.body.get("version"),
                " (a repeat: nothing recorded again)" if answer.replayed else "",
            )
        return command_response(answer)

    @contextlib.contextmanager
    def _logged(self, case_id: UUID) -> Iterator[None]:
        """Every log line of the command's path (store, gateway, libraries) names its case and correlation."""
        # Tokens, not structlog's ``bound_contextvars``: that one walks every variable of the request's
        # context to save the old values, 8 % of an API worker's GIL-holding samples under POST load (py-spy).
        tokens = structlog.contextvars.bind_contextvars(
            correlation_id=str(self.caller.correlation_id), case_id=str(case_id)
        )
        try:
            yield
        finally:
            structlog.contextvars.reset_contextvars(**tokens)


@dataclass(frozen=True)
class CommandTarget:
    """The case a command writes to, and the application whose store holds it."""

    app: CaseApplication[Any]
    case_id: UUID


@dataclass(frozen=True)
class CommandAnswer:
    """What the client is told: the first answer to its request, possibly replayed."""

    status: int
    body: dict[str, Any]
    replayed: bool = False


class CommandGateway:
    """Runs a command at most once per (actor, Idempotency-Key), and keeps its answer for the repeats.

    A keyed command costs one statement and one commit: its answer is kept by the statement that stores
    its events (``api.idempotency``). The key is not read first: a repeat runs the command too, and meets
    the key (or, for a command that opens a case, the case under its key-derived id) when it stores; then
    nothing of it is stored and the first answer is given. Repeats are rare, first requests are not.
    """

    def __init__(self, idempotency: IdempotencyStore) -> None:
        self._idempotency = idempotency

    def execute(
        self,
        call: CommandCall,
        status: int,
        body: BaseModel | None,
        target: CommandTarget,
        command: Callable[[], CommandResult],
    ) -> CommandAnswer:
        """Run ``command`` unless an earlier request with the same key already answered (or stored)."""
        if call.idempotency_key is None:
            return CommandAnswer(status, _accepted(command()))
        request = IdempotentRequest(
            actor_id=call.caller.actor.id,
            key=call.idempotency_key,
            method=call.method,
            path=call.path,
            request_hash=_fingerprint(call, body),
        )
        # A second run only after taking over a hold whose attempt (of an older release) stored nothing.
        for _ in range(2):
            try:
                return self._run_keeping(request, status, target, command)
            except AlongsideRefusedError:
                kept = self._kept_answer(call, request, status, target)
                if kept is not None:
                    return kept
            except Exception as exc:
                if database_unavailable(exc):
                    # Whether the events were stored is unknown (the commit's answer may be what was lost):
                    # they were stored with the key's answer or not at all, and the retry finds out which.
                    raise
                kept = self._kept_answer(call, request, status, target)
                if kept is not None:
                    # A repeat: the first attempt's effect is why this one failed (a conflict, a rule).
                    return kept
                if is_final_rejection(exc):
                    # The same request would be refused the same way: its repeats get this answer.
                    problem, _ = problem_for(exc, call.path)
                    refusal = StoredAnswer(problem.status, problem.model_dump(mode="json", exclude_none=True))
                    if not self._idempotency.keep_alone(request, refusal):
                        kept = self._kept_answer(call, request, status, target)
                        if kept is not None:
                            return kept
                raise
        raise IdempotentRequestInProgressError(
            f"the first request with the Idempotency-Key {request.key!r} is still running"
        )

    def _run_keeping(
        self,
        request: IdempotentRequest,
        status: int,
        target: CommandTarget,
        command: Callable[[], CommandResult],
    ) -> CommandAnswer:
        with committed_with(target.case_id, self._idempotency.kept_with_events(request, status)) as stored:
            result = command()
        if stored() is None:
            # The command stored nothing on its case: its answer is kept on its own.
            answer = _accepted(result)
            if not self._idempotency.keep_alone(request, StoredAnswer(status, answer)):
                raise AlongsideRefusedError(f"the Idempotency-Key {request.key!r} already has an answer")
            return CommandAnswer(status, answer)
        return CommandAnswer(status, _accepted(stored() or result))

    def _kept_answer(
        self, call: CommandCall, request: IdempotentRequest, status: int, target: CommandTarget
    ) -> CommandAnswer | None:
        """The answer kept under the key, if any (waiting a while for a hold that has none yet).

        None when the key has no answer, or had a hold whose attempt stored nothing (now taken over): this
        request runs the command.
        """
        deadline = time.monotonic() + self._idempotency.wait_seconds
        while True:
            found = self._idempotency.earlier(request)
            if found is None:
                return None
            if isinstance(found, StoredAnswer):
                return CommandAnswer(found.status, found.body, replayed=True)
            if found.stale and self._idempotency.take_over(request, found):
                # The attempt that held the key died: if it stored its events, its result is the answer.
                earlier = target.app.stored_by(target.case_id, call.caller)
                if earlier is None:
                    return None
                answer = _accepted(earlier)
                if self._idempotency.keep_alone(request, StoredAnswer(status, answer)):
                    return CommandAnswer(status, answer, replayed=True)
                continue
            if time.monotonic() >= deadline:
                raise IdempotentRequestInProgressError(
                    f"the first request with the Idempotency-Key {request.key!r} is still running"
                )
            time.sleep(0.05)


def _accepted(result: CommandResult) -> dict[str, Any]:
    return CommandAccepted(
        case_id=result.case_id, version=result.version, position=result.position
    ).model_dump(mode="json")


def _fingerprint(call: CommandCall, body: BaseModel | None) -> str:
    request = {
        "if_match": call.expected_version,
        "body": None if body is None else body.model_dump(mode="json"),
    }
    return hashlib.sha256(orjson.dumps(request, option=orjson.OPT_SORT_KEYS)).hexdigest()


def command_response(answer: CommandAnswer) -> JSONResponse:
    """The HTTP answer to a command; a repeat of a keyed request says that it is one."""
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else {}
    if answer.status >= HTTPStatus.BAD_REQUEST:
        return JSONResponse(answer.body, status_code=answer.status, headers=headers, media_type=PROBLEM_JSON)
    headers["ETag"] = f'"{answer.body["version"]}"'
    return JSONResponse(answer.body, status_code=answer.status, headers=headers)
