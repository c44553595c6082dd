"""Callbacks (回访): the application service for callback tasks, created once per (type, source event)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain.callback import CallbackTask, CallbackType
from infra.store.eventstore import Caller, CaseApplication, CommandResult, ConcurrencyConflictError


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
