"""咨询 Inquiries: contact logged → answered at once, or pending a reply → answered, or transferred to the
case that handles it (a complaint, a claim report, a policy service request) → closed.

The rules an inquiry keeps, each a named error below: the contact's time is never after the server recorded
it; a reply is promised only to a caller the insurer can reach again (a known customer, INQ-REPLY-NEEDS-
CUSTOMER); a transfer names the case it opened, on record, the caller's own and not opened for another
inquiry (INQ-TRANSFER-TARGET); an inquiry is closed only once answered or transferred. First-contact
resolution is a recorded fact: ``InquiryAnswered.first_contact`` is True when the answer was given during
the contact that logged it, never promised for later; a transfer never counts.

The service standard for an inquiry that could not be answered at once (reply within 1 working day) is a row
of ``domain.sla`` (INQ-REPLY-1WD): the insurer changes the number there, not here. Its clock starts on
``InquiryDeferred`` and stops on the answer or the transfer.

The link to the case an inquiry was transferred to is recorded on the inquiry (``InquiryTransferred``: the
target's kind and id); the other direction (the case showing the inquiry it came from) is a read model
(``projections.inquiries``), so the complaint, claim and service request aggregates are not changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import Field

from domain.base import (
    CaseAggregate,
    CaseCreated,
    Context,
    DomainError,
    DomainEvent,
    Role,
    require_status,
    taken_by,
)

REPLY_RULE_ID = "INQ-REPLY-1WD"
"""The SLA rule of the company's reply standard for an inquiry not answered at once."""


class InquiryChannel(StrEnum):
    """How the inquiry reached the insurer."""

    HOTLINE = "hotline"  # 热线 95xxx
    COUNTER = "counter"  # 柜面
    ONLINE = "online"  # 在线 (app, web chat)
    AGENT = "agent"  # 代理人转达


class InquiryCategory(StrEnum):
    """What the caller asked about."""

    PRODUCT = "product"  # 产品
    POLICY = "policy"  # 保单
    CLAIM_PROGRESS = "claim_progress"  # 理赔进度
    PREMIUM = "premium"  # 保费
    OTHER = "other"


class InquiryStatus(StrEnum):
    """Where an inquiry stands."""

    OPEN = "open"
    """Logged during the contact, not yet answered, deferred or transferred."""
    PENDING = "pending"
    """Could not be answered at once: a reply is owed within the service standard."""
    ANSWERED = "answered"
    TRANSFERRED = "transferred"
    CLOSED = "closed"


class TransferTarget(StrEnum):
    """The kind of case an inquiry is transferred to."""

    COMPLAINT = "complaint"  # 投诉
    CLAIM_REPORT = "claim_report"  # 报案
    SERVICE_REQUEST = "service_request"  # 保全申请


@dataclass(frozen=True)
class CaseOnRecord:
    """What the store of the case an inquiry is transferred to says of it: whose case it is, and the
    inquiry it says it was opened for (a service request names it; a complaint or claim does not)."""

    customer_id: str | None
    from_inquiry: UUID | None = None


# ---------------------------------------------------------------------------------------------- errors


class InquiryTimeInFutureError(DomainError):
    """A contact or answer time cannot lie after the server recorded it: it would move the reply clock."""

    rule = "INQ-BUSINESS-TIME"


class InquiryReplyNeedsCustomerError(DomainError):
    """A reply is promised for later only to a caller the insurer can reach again: a known customer.
    An anonymous caller is answered at once, or told where to go (transfer)."""

    rule = "INQ-REPLY-NEEDS-CUSTOMER"


class InquiryTransferTargetError(DomainError):
    """A transfer names another case, opened for the customer: a complaint, claim report or service request
    is the customer's own case, so the caller is identified first."""

    rule = "INQ-TRANSFER-TARGET"


# ---------------------------------------------------------------------------------------------- events


class InquiryLogged(CaseCreated):
    """An inquiry was received; ``occurred_at`` is the contact's start."""

    TOPIC = "inquiry.logged.v1"

    channel: InquiryChannel
    category: InquiryCategory
    question: str = Field(min_length=1)
    customer_id: str | None = None
    """The customer asking, when the caller is identified; None for an anonymous caller."""
    policy_ref: str | None = None
    """The policy (number or case id) the question is about, when known."""

    @property
    def contacted_at(self) -> datetime:
        """The start of the contact (the business time of this event)."""
        return self.occurred_at or self.timestamp

    def apply(self, inquiry: Inquiry) -> None:
        inquiry.status = InquiryStatus.OPEN
        inquiry.channel = self.channel
        inquiry.category = self.category
        inquiry.customer_id = self.customer_id
        inquiry.policy_ref = self.policy_ref
        inquiry.contacted_at = self.contacted_at


class InquiryDeferred(DomainEvent):
    """The inquiry could not be answered during the contact: a reply is owed (INQ-REPLY-1WD starts)."""

    TOPIC = "inquiry.deferred.v1"

    reason: str = Field(min_length=1)

    def apply(self, inquiry: Inquiry) -> None:
        inquiry.status = InquiryStatus.PENDING


class InquiryAnswered(DomainEvent):
    """The answer was given; ``first_contact`` records whether during the contact that logged it."""

    TOPIC = "inquiry.answered.v1"

    answer: str = Field(min_length=1)
    first_contact: bool
    """First-contact resolution (一次解决): answered during the first contact, never deferred."""

    def apply(self, inquiry: Inquiry) -> None:
        inquiry.status = InquiryStatus.ANSWERED
        inquiry.first_contact_resolved = self.first_contact


class InquiryTransferred(DomainEvent):
    """The inquiry was handed to the case that handles it; the target case's id is the link."""

    TOPIC = "inquiry.transferred.v1"

    target_kind: TransferTarget
    target_id: UUID
    note: str | None = None

    def apply(self, inquiry: Inquiry) -> None:
        inquiry.status = InquiryStatus.TRANSFERRED
        inquiry.first_contact_resolved = False
        inquiry.transferred_to = (self.target_kind, self.target_id)


class InquiryClosed(DomainEvent):
    """The inquiry was closed after its answer or transfer."""

    TOPIC = "inquiry.closed.v1"

    def apply(self, inquiry: Inquiry) -> None:
        inquiry.status = InquiryStatus.CLOSED


# ---------------------------------------------------------------------------------------------- aggregate

_DESK = (Role.CALLBACK_AGENT, Role.COMPLAINTS_OFFICER, Role.CLAIMS_HANDLER, Role.SUPERVISOR)
"""The customer-service staff who take and answer inquiries."""


class Inquiry(CaseAggregate):
    """An inquiry (咨询): one contact's question, its answer or transfer, and its first-contact flag."""

    TOPIC = "inquiry.aggregate"
    """Explicit, so that stored events and snapshots never name a Python import path."""

    class Created(CaseAggregate.Created):
        """The library's generic creation event: unused here, but it must carry a topic too."""

        TOPIC = "inquiry.library-created"

    status: InquiryStatus
    channel: InquiryChannel
    category: InquiryCategory
    customer_id: str | None
    policy_ref: str | None
    contacted_at: datetime
    first_contact_resolved: bool | None
    transferred_to: tuple[TransferTarget, UUID] | None

    def __init__(self) -> None:
        # Called by the library when InquiryLogged is replayed; InquiryLogged.apply then sets the facts.
        self.customer_id = None
        self.policy_ref = None
        self.first_contact_resolved = None
        self.transferred_to = None

    @classmethod
    @taken_by("log inquiry", *_DESK)
    def log(
        cls,
        ctx: Context,
        *,
        inquiry_id: UUID,
        contacted_at: datetime,
        channel: InquiryChannel,
        category: InquiryCategory,
        question: str,
        customer_id: str | None = None,
        policy_ref: str | None = None,
    ) -> Inquiry:
        """Log an inquiry received at ``contacted_at``, with its customer and policy if known."""
        _check_not_after_recording("contacted_at", contacted_at, ctx)
        return cls._open(
            InquiryLogged,
            inquiry_id,
            ctx,
            occurred_at=contacted_at,
            channel=channel,
            category=category,
            question=question,
            customer_id=customer_id,
            policy_ref=policy_ref,
        )

    @taken_by("answer inquiry", *_DESK)
    def answer(self, ctx: Context, *, answer: str, answered_at: datetime | None = None) -> None:
        """Give the answer: during the first contact (first-contact resolution), or later as promised."""
        require_status("answer inquiry", self.status, InquiryStatus.OPEN, InquiryStatus.PENDING)
        at = answered_at or ctx.recorded_at
        _check_not_after_recording("answered_at", at, ctx)
        if at < self.contacted_at:
            raise InquiryTimeInFutureError("the answer cannot come before the contact it answers")
        self._record(
            InquiryAnswered,
            ctx,
            occurred_at=at,
            answer=answer,
            first_contact=self.status is InquiryStatus.OPEN,
        )

    @taken_by("defer inquiry", *_DESK)
    def defer(self, ctx: Context, *, reason: str) -> None:
        """Promise a reply within the service standard: the question needs checking first."""
        require_status("defer inquiry", self.status, InquiryStatus.OPEN)
        if self.customer_id is None:
            raise InquiryReplyNeedsCustomerError(
                "a reply can only be promised to an identified customer: answer now or transfer"
            )
        self._record(InquiryDeferred, ctx, reason=reason)

    @taken_by("transfer inquiry", *_DESK)
    def transfer(
        self,
        ctx: Context,
        *,
        target_kind: TransferTarget,
        target_id: UUID,
        note: str | None = None,
        target: CaseOnRecord | None = None,
    ) -> None:
        """Hand the inquiry to the case opened for it (complaint, claim report, service request): the
        case found on record (``target``) is the caller's own, and came from no other inquiry."""
        require_status("transfer inquiry", self.status, InquiryStatus.OPEN, InquiryStatus.PENDING)
        if target_id == self.id:
            raise InquiryTransferTargetError("an inquiry is not transferred to itself")
        if self.customer_id is None:
            raise InquiryTransferTargetError(
                f"a {target_kind.value} is the customer's own case: identify the customer first"
            )
        if target is not None:
            if target.customer_id != self.customer_id:
                raise InquiryTransferTargetError(
                    f"{target_kind.value} {target_id} is customer {target.customer_id}'s case, "
                    f"not the caller's ({self.customer_id})"
                )
            if target.from_inquiry is not None and target.from_inquiry != self.id:
                raise InquiryTransferTargetError(
                    f"{target_kind.value} {target_id} was opened for inquiry {target.from_inquiry}, "
                    "not this one"
                )
        self._record(InquiryTransferred, ctx, target_kind=target_kind, target_id=target_id, note=note)

    @taken_by("close inquiry", *_DESK, Role.SYSTEM)
    def close(self, ctx: Context) -> None:
        """Close the inquiry once it was answered or transferred."""
        require_status("close inquiry", self.status, InquiryStatus.ANSWERED, InquiryStatus.TRANSFERRED)
        self._record(InquiryClosed, ctx)


def _check_not_after_recording(name: str, value: datetime, ctx: Context) -> None:
    if value.tzinfo is None:
        raise InquiryTimeInFutureError(f"{name} must carry its time zone")
    if value > ctx.recorded_at:
        raise InquiryTimeInFutureError(f"{name} {value.isoformat()} is after the recorded time")
