"""Callback task commands (回访), one resource per lifecycle step.

The roles mirror domain.callback: creation is the system's alone; a call is made by callback agents or
supervisors, a mis-selling remediation also by complaints officers (never sales staff). An endpoint admits
the roles any task may need; the task's type then narrows them in the domain, which names the broken rule.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse

from api.deps import CallbacksDep, command_call, opening_call
from api.gateway import CommandCall, command_response
from api.routes.answers import command_route
from domain.base import Role
from infra.services.callbacks import (
    AttemptCallback,
    CompleteCallback,
    CreateCallbackTask,
    FailCallback,
    RecordCallbackIssue,
    RemedyMisSelling,
    ScheduleCallback,
)
from infra.services.commands import Reason

router = APIRouter(prefix="/callbacks", tags=["callbacks"])

CALLERS = (Role.CALLBACK_AGENT, Role.SUPERVISOR)
REMEDIATORS = (*CALLERS, Role.COMPLAINTS_OFFICER)

CreatingCall = Annotated[CommandCall, Depends(opening_call(Role.SYSTEM))]
StaffCall = Annotated[CommandCall, Depends(command_call(*REMEDIATORS))]
StaffOrSystemCall = Annotated[CommandCall, Depends(command_call(*REMEDIATORS, Role.SYSTEM))]
CallerCall = Annotated[CommandCall, Depends(command_call(*CALLERS))]
CancellingCall = Annotated[CommandCall, Depends(command_call(Role.SYSTEM, Role.SUPERVISOR))]
TaskId = Annotated[UUID, Path(description="The callback task's id.")]


@router.post("", **command_route(HTTPStatus.CREATED))
def create_task(body: CreateCallbackTask, call: CreatingCall, callbacks: CallbacksDep) -> JSONResponse:
    """Open the task a source event calls for; sent again, it answers with the task already opened."""
    return command_response(callbacks.create(call, body))


@router.post("/{task_id}/schedule", **command_route())
def schedule_callback(
    task_id: TaskId, body: ScheduleCallback, call: StaffOrSystemCall, callbacks: CallbacksDep
) -> JSONResponse:
    """Plan the call for a slot outside quiet hours (21:00-09:00 Asia/Shanghai)."""
    return command_response(callbacks.schedule(call, task_id, body))


@router.post("/{task_id}/attempts", **command_route())
def attempt_callback(
    task_id: TaskId, body: AttemptCallback, call: StaffCall, callbacks: CallbacksDep
) -> JSONResponse:
    """Record an attempt made now, outside quiet hours; never by the policy's seller."""
    return command_response(callbacks.attempt(call, task_id, body))


@router.post("/{task_id}/completion", **command_route())
def complete_callback(
    task_id: TaskId, body: CompleteCallback, call: CallerCall, callbacks: CallbacksDep
) -> JSONResponse:
    """Complete with the customer's answers, once reached; a new-policy callback answers all 7 checks."""
    return command_response(callbacks.complete(call, task_id, body))


@router.post("/{task_id}/failure", **command_route())
def fail_callback(
    task_id: TaskId, body: FailCallback, call: StaffOrSystemCall, callbacks: CallbacksDep
) -> JSONResponse:
    """Give up calling; name the letter or visit to follow."""
    return command_response(callbacks.fail(call, task_id, body))


@router.post("/{task_id}/issues", **command_route())
def record_issue(
    task_id: TaskId, body: RecordCallbackIssue, call: StaffCall, callbacks: CallbacksDep
) -> JSONResponse:
    """Record an issue found (mis-selling, proxy signature, …); it does not complete the task."""
    return command_response(callbacks.find_issue(call, task_id, body))


@router.post("/{task_id}/remedy", **command_route())
def remedy_mis_selling(
    task_id: TaskId, body: RemedyMisSelling, call: StaffCall, callbacks: CallbacksDep
) -> JSONResponse:
    """Record the remedy of a mis-selling remediation task (never by sales staff, Art. 18)."""
    return command_response(callbacks.remedy(call, task_id, body))


@router.post("/{task_id}/cancellation", **command_route())
def cancel_task(task_id: TaskId, body: Reason, call: CancellingCall, callbacks: CallbacksDep) -> JSONResponse:
    """Stop the task because the callback is no longer due."""
    return command_response(callbacks.cancel(call, task_id, body))
