"""Callbacks (回访): the application service for callback tasks, created once per (type, source event)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import AwareDatetime, Field

from domain.callback import AttemptOutcome, CallbackChannel, CallbackIssue, CallbackTask, CallbackType
from infra.services.commands import (
    Command,
    Name,
    OptionalText,
    Reason,
    Text,
    examples,
)
from infra.store.eventstore import Caller, CaseApplication, CommandResult, ConcurrencyConflictError

# ------------------------------------------------------------------------------------------ commands


class CreateCallbackTask(Command):
    """The callback an event calls for: one task per (type, source event), however often it is sent."""

    model_config = examples(
        {
            "task_type": "new_policy",
            "source_event_id": "9a7c5e31-2b4d-4c6f-8e0a-1b3c5d7e9f20",
            "source_case_id": "c4e2a8f6-1d3b-4a5c-9e7f-2b4d6f8a0c1e",
            "customer_id": "CUST-0b8a4f2e",
            "due_by": "2026-03-23T23:59:59+08:00",
            "seller_id": "li.na.agent",
        }
    )

    task_type: CallbackType
    source_event_id: UUID
    source_case_id: UUID
    customer_id: Name
    due_by: AwareDatetime
    seller_id: Name | None = None


class ScheduleCallback(Command):
    """The slot the call is planned for, outside quiet hours (21:00-09:00 Asia/Shanghai)."""

    model_config = examples({"slot": "2026-03-10T10:30:00+08:00"})

    slot: AwareDatetime


class AttemptCallback(Command):
    """One attempt to reach the customer, made now."""

    model_config = examples({"channel": "phone", "outcome": "reached", "recording_ref": "REC-20260310-0042"})

    channel: CallbackChannel
    outcome: AttemptOutcome
    recording_ref: Name | None = None


class CompleteCallback(Command):
    """The customer's answers; a new-policy callback answers all seven checks yes or no (a "no" records
    the issue it found instead of completing), with the call's recording."""

    model_config = examples(
        {
            "answers": {
                "applicant_is_respondent": "yes",
                "bought_and_signed_personally": "yes",
                "read_brochure_and_risk_notice": "yes",
                "knows_cover_exclusions_term": "yes",
                "knows_surrender_loss": "yes",
                "knows_cooling_off": "yes",
                "knows_payment_term_and_frequency": "yes",
            },
            "recording_ref": "REC-20260310-0042",
        }
    )

    answers: Annotated[dict[Name, OptionalText], Field(max_length=100)]
    recording_ref: Name | None = Field(
        default=None,
        description="The call's recording; by default that of the attempt that reached the customer.",
    )


class FailCallback(Command):
    """Why calling stopped, and the letter or visit to follow."""

    model_config = examples({"reason": "three calls and an SMS link went unanswered", "fallback": "letter"})

    reason: Text
    fallback: Name | None = None


class RecordCallbackIssue(Command):
    """An issue the callback brought to light."""

    model_config = examples(
        {
            "issue": "proxy_signature",
            "details": "the customer says the agent signed the proposal form for them",
        }
    )

    issue: CallbackIssue
    details: Text


class RemedyMisSelling(Command):
    """The remedy of the mis-selling a remediation task was opened for."""

    model_config = examples(
        {
            "action": "full refund offered",
            "summary": "non-sales staff explained the surrender loss again; the customer cancelled",
        }
    )

    action: Name
    summary: Text


class CancelCallbackTask(Reason):
    """Stop the task because the callback is no longer due."""


# ------------------------------------------------------------------------------------------- service


class Callbacks(CaseApplication[CallbackTask]):
    """Callback tasks (回访): one method per use case, each taking its command model.

    Creating a task twice for one source event has no second effect.
    """

    aggregate_class = CallbackTask
    kind = "callback task"
    bounded_context = "callback"

    def create_task(
        self, command: CreateCallbackTask, by: Caller, task_id: UUID | None = None
    ) -> CommandResult:
        """Open the task a source event calls for; sent again, it answers with the task already opened.

        The task's id derives from (type, source event), so ``task_id``, when given, must be that id.
        """
        task = CallbackTask.create(self.context(by), **command.arguments())
        if task_id is not None and task_id != task.id:
            raise ValueError(f"task {task_id} is not the task its source event derives ({task.id})")
        try:
            return self.save_new(task)
        except ConcurrencyConflictError as conflict:
            # The task id derives from (type, source event): a conflict means it exists already.
            return CommandResult(task.id, conflict.current_version, 0)

    def schedule(
        self, task_id: UUID, command: ScheduleCallback, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Plan the call for a slot outside quiet hours (21:00-09:00 Asia/Shanghai)."""
        return self.run(task_id, by, expected_version, CallbackTask.schedule, **command.arguments())

    def attempt(
        self, task_id: UUID, command: AttemptCallback, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Record an attempt made now, outside quiet hours; never by the policy's seller."""
        return self.run(task_id, by, expected_version, CallbackTask.attempt, **command.arguments())

    def complete(
        self, task_id: UUID, command: CompleteCallback, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Complete with the customer's answers, once reached; a new-policy callback answers all 7 checks."""
        return self.run(task_id, by, expected_version, CallbackTask.complete, **command.arguments())

    def fail(
        self, task_id: UUID, command: FailCallback, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Give up calling; name the letter or visit to follow."""
        return self.run(task_id, by, expected_version, CallbackTask.fail, **command.arguments())

    def find_issue(
        self, task_id: UUID, command: RecordCallbackIssue, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Record an issue found (mis-selling, proxy signature, …); it does not complete the task."""
        return self.run(task_id, by, expected_version, CallbackTask.find_issue, **command.arguments())

    def remedy(
        self, task_id: UUID, command: RemedyMisSelling, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Record the remedy of a mis-selling remediation task (never by sales staff, Art. 18)."""
        return self.run(task_id, by, expected_version, CallbackTask.remedy, **command.arguments())

    def cancel(
        self, task_id: UUID, command: CancelCallbackTask, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Stop the task because the callback is no longer due."""
        return self.run(task_id, by, expected_version, CallbackTask.cancel, **command.arguments())
