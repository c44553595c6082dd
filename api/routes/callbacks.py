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

from api.deps import CallbacksDep, case_command, opening_command
from api.gateway import CommandCall
from api.routes.answers import command_route
from domain.callback import CallbackTask
from infra.services.callbacks import (
    AttemptCallback,
    CancelCallbackTask,
    CompleteCallback,
    CreateCallbackTask,
    FailCallback,
    RecordCallbackIssue,
    RemedyMisSelling,
    ScheduleCallback,
)

router = APIRouter(prefix="/callbacks", tags=["callbacks"])

TaskId = Annotated[UUID, Path(description="The callback task's id.")]


@router.post("", **command_route(HTTPStatus.CREATED))
def create_task(
    body: CreateCallbackTask,
    call: Annotated[CommandCall, Depends(opening_command(CallbackTask.create))],
    callbacks: CallbacksDep,
) -> JSONResponse:
    """Open the task a source event calls for; sent again, it answers with the task already opened."""
    task_id = CallbackTask.task_id_for(body.task_type, body.source_event_id)
    return call.open(callbacks, body, callbacks.create_task, case_id=task_id)


@router.post("/{task_id}/schedule", **command_route())
def schedule_callback(
    task_id: TaskId,
    body: ScheduleCallback,
    call: Annotated[CommandCall, Depends(case_command(CallbackTask.schedule))],
    callbacks: CallbacksDep,
) -> JSONResponse:
    """Plan the call for a slot outside quiet hours (21:00-09:00 Asia/Shanghai)."""
    return call.update(callbacks, task_id, body, callbacks.schedule)


@router.post("/{task_id}/attempts", **command_route())
def attempt_callback(
    task_id: TaskId,
    body: AttemptCallback,
    call: Annotated[CommandCall, Depends(case_command(CallbackTask.attempt))],
    callbacks: CallbacksDep,
) -> JSONResponse:
    """Record an attempt made now, outside quiet hours; never by the policy's seller."""
    return call.update(callbacks, task_id, body, callbacks.attempt)


@router.post("/{task_id}/completion", **command_route())
def complete_callback(
    task_id: TaskId,
    body: CompleteCallback,
    call: Annotated[CommandCall, Depends(case_command(CallbackTask.complete))],
    callbacks: CallbacksDep,
) -> JSONResponse:
    """Complete with the customer's answers, once reached; a new-policy callback answers all 7 checks."""
    return call.update(callbacks, task_id, body, callbacks.complete)


@router.post("/{task_id}/failure", **command_route())
def fail_callback(
    task_id: TaskId,
    body: FailCallback,
    call: Annotated[CommandCall, Depends(case_command(CallbackTask.fail))],
    callbacks: CallbacksDep,
) -> JSONResponse:
    """Give up calling; name the letter or visit to follow."""
    return call.update(callbacks, task_id, body, callbacks.fail)


@router.post("/{task_id}/issues", **command_route())
def record_issue(
    task_id: TaskId,
    body: RecordCallbackIssue,
    call: Annotated[CommandCall, Depends(case_command(CallbackTask.find_issue))],
    callbacks: CallbacksDep,
) -> JSONResponse:
    """Record an issue found (mis-selling, proxy signature, …); it does not complete the task."""
    return call.update(callbacks, task_id, body, callbacks.find_issue)


@router.post("/{task_id}/remedy", **command_route())
def remedy_mis_selling(
    task_id: TaskId,
    body: RemedyMisSelling,
    call: Annotated[CommandCall, Depends(case_command(CallbackTask.remedy))],
    callbacks: CallbacksDep,
) -> JSONResponse:
    """Record the remedy of a mis-selling remediation task (never by sales staff, Art. 18)."""
    return call.update(callbacks, task_id, body, callbacks.remedy)


@router.post("/{task_id}/cancellation", **command_route())
def cancel_task(
    task_id: TaskId,
    body: CancelCallbackTask,
    call: Annotated[CommandCall, Depends(case_command(CallbackTask.cancel))],
    callbacks: CallbacksDep,
) -> JSONResponse:
    """Stop the task because the callback is no longer due."""
    return call.update(callbacks, task_id, body, callbacks.cancel)
