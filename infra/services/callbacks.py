"""Callbacks (回访): the application service for callback tasks, created once per (type, source event)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import AwareDatetime, Field

from domain.callback import AttemptOutcome, CallbackChannel, CallbackIssue, CallbackTask, CallbackType
from infra.services.commands import (
    Command,
    Name,
    OptionalText,
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
    """The customer's answers; a new-policy callback answers all seven checks."""

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
            }
        }
    )

    answers: Annotated[dict[Name, OptionalText], Field(max_length=100)]


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


# ------------------------------------------------------------------------------------------- service


class Callbacks(CaseApplication[CallbackTask]):
    """Callback task commands; creating a task twice for the same source event has no second effect."""

    aggregate_class = CallbackTask
    kind = "callback task"
    bounded_context = "callback"

    def create_task(
        self,
        caller: Caller,
        *,
        task_type: CallbackType,
        source_event_id: UUID,
        source_case_id: UUID,
        customer_id: str,
        due_by: datetime,
        seller_id: str | None = None,
    ) -> CommandResult:
        """Open the task that ``source_event_id`` calls for, or return the one it already opened."""
        task = CallbackTask.create(
            self.context(caller),
            task_type=task_type,
            source_event_id=source_event_id,
            source_case_id=source_case_id,
            customer_id=customer_id,
            due_by=due_by,
            seller_id=seller_id,
        )
        try:
            return self.save_new(task)
        except ConcurrencyConflictError as conflict:
            # The task id derives from (type, source event): a conflict means it exists already.
            return CommandResult(task.id, conflict.current_version, 0)
