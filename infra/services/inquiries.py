"""Inquiries (咨询): the application service for inquiry tickets.

A transfer links the inquiry to the case opened for it. The complaint, claim report or policy service
request (保全) is looked up in its own store before the link is recorded, so an inquiry never points at a
case that does not exist, nor at another customer's, nor at a service request opened for another inquiry
(``InquiryTransferTargetError``, INQ-TRANSFER-TARGET; the rule itself is ``Inquiry.transfer``'s). The other
direction, the case showing the inquiry it came from, is the ``inquiries`` read model read by
``transferred_to`` (``projections.inquiries``, ``GET /cases/{id}/inquiry``).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from pydantic import AwareDatetime

from domain.inquiry import (
    CaseOnRecord,
    Inquiry,
    InquiryCategory,
    InquiryChannel,
    InquiryTransferTargetError,
    TransferTarget,
)
from infra.clock import Clock
from infra.services.claims import Claims
from infra.services.commands import Command, Name, Text, examples
from infra.services.complaints import Complaints
from infra.services.service_requests import ServiceRequests
from infra.store.eventstore import Caller, CaseApplication, CaseNotFoundError, CommandResult

# ------------------------------------------------------------------------------------------ commands


class LogInquiry(Command):
    """An inquiry as received: its channel, category and question; the customer and policy when known."""

    model_config = examples(
        {
            "contacted_at": "2026-03-09T09:00:00+08:00",
            "channel": "hotline",
            "category": "claim_progress",
            "question": "when will the repair of my car be paid?",
            "customer_id": "CUST-0b8a4f2e",
            "policy_ref": "P0B8A4F2E3C1D",
        },
        {
            "contacted_at": "2026-03-09T10:30:00+08:00",
            "channel": "online",
            "category": "product",
            "question": "does the critical illness product cover thyroid cancer?",
        },
    )

    contacted_at: AwareDatetime
    channel: InquiryChannel
    category: InquiryCategory
    question: Text
    customer_id: Name | None = None
    policy_ref: Name | None = None


class AnswerInquiry(Command):
    """The answer given, and when (the server's time when not given)."""

    model_config = examples({"answer": "the payment was approved today and reaches you within 2 days"})

    answer: Text
    answered_at: AwareDatetime | None = None


class DeferInquiry(Command):
    """Why the inquiry could not be answered during the contact: a reply is owed (INQ-REPLY-1WD)."""

    model_config = examples({"reason": "the adjuster has to confirm the repair estimate"})

    reason: Text


class TransferInquiry(Command):
    """The case opened for the inquiry: a complaint, a claim report or a policy service request."""

    model_config = examples(
        {"target_kind": "complaint", "target_id": "c4e2a8f6-1d3b-4a5c-9e7f-2b4d6f8a0c1e"},
        {
            "target_kind": "claim_report",
            "target_id": "7d1e3b5a-9c2f-4e6d-8a0b-1c3e5f7a9b2d",
            "note": "the caller reported a collision during the call",
        },
    )

    target_kind: TransferTarget
    target_id: UUID
    note: Text | None = None


class CloseInquiry(Command):
    """Closing an answered or transferred inquiry takes no input."""

    model_config = examples({})


# ------------------------------------------------------------------------------------------ service


class Inquiries(CaseApplication[Inquiry]):
    """Inquiries (咨询): one method per use case, each taking its command model."""

    aggregate_class = Inquiry
    kind = "inquiry"
    bounded_context = "inquiry"

    def __init__(
        self,
        env: dict[str, str],
        clock: Clock,
        complaints: Complaints,
        claims: Claims,
        service_requests: ServiceRequests,
        snapshot_interval: int = 50,
    ) -> None:
        super().__init__(env, clock, snapshot_interval)
        self.complaints = complaints
        self.claims = claims
        self.service_requests = service_requests

    def log_inquiry(self, command: LogInquiry, by: Caller, inquiry_id: UUID | None = None) -> CommandResult:
        """Log an inquiry as received, with its channel and category."""
        return self.open_case(by, Inquiry.log, inquiry_id=inquiry_id or uuid4(), **command.arguments())

    def answer(
        self, inquiry_id: UUID, command: AnswerInquiry, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Give the answer: during the first contact it counts as resolved at first contact."""
        return self.run(inquiry_id, by, expected_version, Inquiry.answer, **command.arguments())

    def defer(
        self, inquiry_id: UUID, command: DeferInquiry, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Promise a reply within the service standard."""
        return self.run(inquiry_id, by, expected_version, Inquiry.defer, **command.arguments())

    def transfer(
        self, inquiry_id: UUID, command: TransferInquiry, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Link the inquiry to the case opened for it, once that case is found in its own store."""
        target = self._case_on_record(command.target_kind, command.target_id)
        return self.run(
            inquiry_id, by, expected_version, Inquiry.transfer, target=target, **command.arguments()
        )

    def close_inquiry(
        self, inquiry_id: UUID, command: CloseInquiry, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Close an answered or transferred inquiry."""
        return self.run(inquiry_id, by, expected_version, Inquiry.close)

    def _case_on_record(self, kind: TransferTarget, target_id: UUID) -> CaseOnRecord:
        """The complaint, claim report or service request named, as its own store has it (whose case it
        is, and for a service request the inquiry it was opened for); none on record is refused."""
        stores: dict[TransferTarget, CaseApplication[Any]] = {
            TransferTarget.COMPLAINT: self.complaints,
            TransferTarget.CLAIM_REPORT: self.claims,
            TransferTarget.SERVICE_REQUEST: self.service_requests,
        }
        try:
            target = stores[kind].load(target_id)
        except CaseNotFoundError:
            raise InquiryTransferTargetError(f"no {kind.value} with id {target_id} is on record") from None
        return CaseOnRecord(
            customer_id=getattr(target, "customer_id", None),
            from_inquiry=getattr(target, "inquiry_id", None),
        )
