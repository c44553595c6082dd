"""Complaints (投诉): the application service for complaints.

Recusal (回避) is looked up here, not typed: ``assign`` reads who worked the case complained about from the
policy and claim stores (a policy's seller, clerks and underwriters; a claim's handlers, surveyor, adjuster
and reviewer, and the staff of the policy it claims on) and the domain refuses any of them as handler.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain.base import DomainEvent, Role
from domain.complaint import (
    Complaint,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintOutcome,
    Complexity,
    ExternalBody,
    Remedy,
    ReviewResult,
    SubjectKind,
    SubjectRef,
)
from infra.clock import Clock
from infra.services.claims import Claims
from infra.services.commands import (
    Command,
    Name,
    Names,
    OptionalText,
    Reason,
    Text,
    examples,
)
from infra.services.policies import Policies
from infra.store.eventstore import Caller, CaseApplication, CaseNotFoundError, CommandResult

# ------------------------------------------------------------------------------------------ commands


class SubjectRefBody(BaseModel):
    """What the complaint is about: a policy, a claim or a seller."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        # The domain's own SubjectRef is accepted too (the demo and the tests build commands from it).
        from_attributes=True,
        json_schema_extra={"examples": [{"kind": "claim", "ref": "LP6F1C0F3E7D"}]},
    )

    kind: SubjectKind
    ref: Name


class LodgeComplaint(Command):
    """A complaint as received: the 15-day period counts from ``received_at``."""

    model_config = examples(
        {
            "received_at": "2026-03-09T09:00:00+08:00",
            "category": "claims",
            "channel": "hotline",
            "subject_ref": {"kind": "policy", "ref": "P0B8A4F2E3C1D"},
            "customer_id": "CUST-0b8a4f2e",
            "complainant_name": "张三",
            "complainant_phone": "13800138000",
            "facts": "the repair estimate left out the paint work",
            "demands": "pay the paint work",
            "involved_staff": ["chen.jie.claims"],
            "recording_ref": "REC-20260309-0007",
        }
    )

    received_at: AwareDatetime
    category: ComplaintCategory
    channel: ComplaintChannel
    subject_ref: SubjectRefBody
    customer_id: Name
    complainant_name: Name
    complainant_phone: Name
    facts: Text
    demands: Text
    involved_staff: Names = Field(default_factory=list)
    recording_ref: Name | None = None

    def arguments(self) -> dict[str, Any]:
        """The domain's arguments: the subject as the domain's reference, the staff as a set."""
        return {
            **super().arguments(),
            "subject_ref": SubjectRef(kind=self.subject_ref.kind, ref=self.subject_ref.ref),
            "involved_staff": frozenset(self.involved_staff),
        }


class AcknowledgeComplaint(Command):
    """The acknowledgement of receipt and how it was sent."""

    model_config = examples({"channel": "sms"})

    channel: Name


class AssignComplaint(Command):
    """The handler, and who took part in the case complained about (they may not handle it)."""

    model_config = examples(
        {"handler_id": "sun.li.complaints", "involved_staff": ["chen.jie.claims", "huang.min.adjust"]}
    )

    handler_id: Name
    involved_staff: Names = Field(default_factory=list)

    def arguments(self) -> dict[str, Any]:
        """The domain's arguments: the staff involved in the case as a set."""
        return {**super().arguments(), "involved_staff": frozenset(self.involved_staff)}


class ClassifyComplaint(Command):
    """The complexity, confirming or correcting the category."""

    model_config = examples({"complexity": "complex", "category": "claims", "product": "MOTOR-COMM-2026"})

    complexity: Complexity
    category: ComplaintCategory | None = None
    product: Name | None = None


class StartAppraisal(Command):
    """An external appraisal: the clock pauses."""

    model_config = examples(
        {
            "provider": "East China Motor Appraisal Centre",
            "purpose": "an independent estimate of the paint work on the boot lid",
            "customer_notified_at": "2026-03-10T14:00:00+08:00",
        }
    )

    provider: Name
    purpose: Text
    customer_notified_at: AwareDatetime | None = None


class CompleteAppraisal(Command):
    """The appraisal's result: the clock resumes."""

    model_config = examples({"result_summary": "the paint work is needed and costs 1,200.00 CNY"})

    result_summary: Text


class ReceiveNewFacts(Command):
    """New facts from the complainant: the period restarts from their receipt."""

    model_config = examples(
        {
            "facts": "the complainant sent a second garage's estimate of 1,800.00 CNY for the paint work",
            "received_at": "2026-03-12T16:20:00+08:00",
        }
    )

    facts: Text
    received_at: AwareDatetime | None = None


class ExtendComplaint(Command):
    """An extension to 30 days (reason) or 60 days (a senior manager's recorded approval and the notice),
    decided while the period still runs."""

    model_config = examples(
        {
            "to_days": 30,
            "reason": "the repair shop's invoice must be checked with the manufacturer",
            "customer_notified_at": "2026-03-12T10:00:00+08:00",
        },
        {
            "to_days": 60,
            "reason": "the manufacturer's price list is under dispute with the repair shop",
            "customer_notified_at": "2026-03-30T10:00:00+08:00",
        },
    )

    to_days: Annotated[int, Field(ge=1, le=366)]
    reason: OptionalText
    customer_notified_at: AwareDatetime | None = None


class ApproveComplaintExtension(Command):
    """A senior manager's approval of extending the period from 30 to 60 days, with its reason."""

    model_config = examples(
        {
            "to_days": 60,
            "reason": "the manufacturer's price list must be checked by the head office's motor experts",
        }
    )

    to_days: Annotated[int, Field(ge=1, le=366)] = 60
    reason: OptionalText


class RespondToComplaint(Command):
    """The decision delivered to the complainant, with its basis and the remedies (Art. 20)."""

    model_config = examples(
        {
            "decision": "upheld in part: the paint work is paid in addition",
            "verification_summary": "invoice checked with the manufacturer's price list",
            "basis": "policy clause 3.2; Insurance Law Art. 23",
            "remedies": ["review", "mediation", "litigation"],
            "channel": "letter",
            "delivered_at": "2026-03-20T15:00:00+08:00",
        }
    )

    decision: Text
    verification_summary: Text
    basis: Text
    remedies: Annotated[list[Remedy], Field(max_length=10)]
    channel: Name
    delivered_at: AwareDatetime


class RequestReview(Command):
    """The complainant's request for review (核查)."""

    model_config = examples(
        {
            "reason": "the complainant disputes the labour hours allowed for the paint work",
            "received_at": "2026-03-25T10:15:00+08:00",
        }
    )

    reason: Text
    received_at: AwareDatetime | None = None


class DecideReview(Command):
    """The review's result."""

    model_config = examples(
        {
            "result": "upheld",
            "decision": "the decision stands: the labour hours follow the manufacturer's schedule",
        }
    )

    result: ReviewResult
    decision: Text


class WithdrawComplaint(Command):
    """The complainant's withdrawal, as received."""

    model_config = examples(
        {
            "reason": "the complainant is satisfied with the supplementary payment",
            "received_at": "2026-03-18T11:40:00+08:00",
        }
    )

    reason: Text
    received_at: AwareDatetime | None = None


class CloseComplaint(Command):
    """The outcome the complaint is closed with."""

    model_config = examples({"outcome": "partly_upheld"})

    outcome: ComplaintOutcome


class EscalateComplaint(Command):
    """The outside body the complaint went to."""

    model_config = examples({"body": "regulator", "reference": "NFRA-SH-2026-00123"})

    body: ExternalBody
    reference: Name | None = None


class ReopenComplaint(Reason):
    """Reopen a closed complaint for a new investigation, with the reason."""


# ------------------------------------------------------------------------------------------- service


class Complaints(CaseApplication[Complaint]):
    """Complaints (投诉): one method per use case, each taking its command model."""

    aggregate_class = Complaint
    kind = "complaint"
    bounded_context = "complaint"

    def __init__(
        self,
        env: dict[str, str],
        clock: Clock,
        policies: Policies,
        claims: Claims,
        snapshot_interval: int = 50,
    ) -> None:
        super().__init__(env, clock, snapshot_interval)
        self.policies = policies
        self.claims = claims

    def lodge(self, command: LodgeComplaint, by: Caller, complaint_id: UUID | None = None) -> CommandResult:
        """Lodge a complaint as received: the 15-day period counts from its receipt."""
        return self.open_case(
            by, Complaint.lodge, complaint_id=complaint_id or uuid4(), **command.arguments()
        )

    def acknowledge(
        self,
        complaint_id: UUID,
        command: AcknowledgeComplaint,
        by: Caller,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Tell the complainant the complaint was received."""
        return self.run(complaint_id, by, expected_version, Complaint.acknowledge, **command.arguments())

    def assign(
        self, complaint_id: UUID, command: AssignComplaint, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Assign (or reassign) a handler who had no part in the case complained about (回避): besides the
        staff the officer names, whoever the policy or claim complained about records (looked up here)."""
        subject_staff, subject_version = self.subject_staff(self.load(complaint_id).subject_ref)
        return self.run(
            complaint_id,
            by,
            expected_version,
            Complaint.assign,
            subject_staff=subject_staff,
            subject_case_version=subject_version,
            **command.arguments(),
        )

    def subject_staff(self, subject: SubjectRef) -> tuple[frozenset[str], int | None]:
        """Who worked the case a complaint is about, and the version of that case read.

        A policy: the staff on its events (seller, clerks, underwriters, …). A claim: the staff on its
        events (handler, surveyor, adjuster, reviewer) and on its policy's. A seller: that seller. The
        reference names the case by its id; one caseledger does not hold (another system's policy number)
        gives nobody, and the officer's own list is then all there is (the event records a None version).
        """
        if subject.kind is SubjectKind.SELLER:
            return frozenset({subject.ref}), None
        try:
            case_id = UUID(subject.ref)
        except ValueError:
            return frozenset(), None
        try:
            if subject.kind is SubjectKind.CLAIM:
                history = self.claims.history(case_id)
                policy_id = self.claims.load(case_id).policy_id
                staff = _staff_on(history) | _staff_on(self._policy_history(policy_id))
            else:
                history = self.policies.history(case_id)
                staff = _staff_on(history)
        except CaseNotFoundError:
            return frozenset(), None
        return staff, history[-1].originator_version

    def _policy_history(self, policy_id: UUID) -> list[DomainEvent]:
        try:
            return self.policies.history(policy_id)
        except CaseNotFoundError:
            return []

    def classify(
        self, complaint_id: UUID, command: ClassifyComplaint, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Classify the complaint by complexity, confirming or correcting its category."""
        return self.run(complaint_id, by, expected_version, Complaint.classify, **command.arguments())

    def start_appraisal(
        self, complaint_id: UUID, command: StartAppraisal, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Start an external appraisal: the clock pauses."""
        return self.run(complaint_id, by, expected_version, Complaint.start_appraisal, **command.arguments())

    def complete_appraisal(
        self, complaint_id: UUID, command: CompleteAppraisal, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Record the external appraisal's result: the clock resumes."""
        return self.run(
            complaint_id, by, expected_version, Complaint.complete_appraisal, **command.arguments()
        )

    def receive_new_facts(
        self, complaint_id: UUID, command: ReceiveNewFacts, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Record new facts from the complainant: the period restarts from their receipt."""
        return self.run(
            complaint_id, by, expected_version, Complaint.receive_new_facts, **command.arguments()
        )

    def extend(
        self, complaint_id: UUID, command: ExtendComplaint, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Extend a complex complaint's period while it runs: to 30 days with a reason, to 60 with a senior
        manager's recorded approval and notice to the complainant."""
        return self.run(complaint_id, by, expected_version, Complaint.extend, **command.arguments())

    def approve_extension(
        self,
        complaint_id: UUID,
        command: ApproveComplaintExtension,
        by: Caller,
        expected_version: int | None = None,
    ) -> CommandResult:
        """A senior manager approves, by their own command, extending the period from 30 to 60 days."""
        return self.run(
            complaint_id, by, expected_version, Complaint.approve_extension, **command.arguments()
        )

    def respond(
        self, complaint_id: UUID, command: RespondToComplaint, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Deliver the decision with how the facts were checked, its basis and the remedies (Art. 20)."""
        return self.run(complaint_id, by, expected_version, Complaint.respond, **command.arguments())

    def request_review(
        self, complaint_id: UUID, command: RequestReview, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Record the complainant's request for review (核查), within 30 days of the response."""
        return self.run(complaint_id, by, expected_version, Complaint.request_review, **command.arguments())

    def decide_review(
        self, complaint_id: UUID, command: DecideReview, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Decide the review: never by the one who answered or anyone involved in the case."""
        return self.run(complaint_id, by, expected_version, Complaint.decide_review, **command.arguments())

    def withdraw(
        self, complaint_id: UUID, command: WithdrawComplaint, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Record the complainant's withdrawal: the procedure ends on the day it was received."""
        return self.run(complaint_id, by, expected_version, Complaint.withdraw, **command.arguments())

    def close_complaint(
        self, complaint_id: UUID, command: CloseComplaint, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Close an answered (or reviewed) complaint with its outcome."""
        return self.run(complaint_id, by, expected_version, Complaint.close, **command.arguments())

    def reopen(
        self, complaint_id: UUID, command: ReopenComplaint, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Reopen a closed complaint for a new investigation, with the reason."""
        return self.run(complaint_id, by, expected_version, Complaint.reopen, **command.arguments())

    def escalate_externally(
        self, complaint_id: UUID, command: EscalateComplaint, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Record that the complaint went to an outside body; a regulator makes it reportable."""
        return self.run(
            complaint_id, by, expected_version, Complaint.escalate_externally, **command.arguments()
        )


_NOT_STAFF = frozenset({Role.SYSTEM})


def _staff_on(history: list[DomainEvent]) -> frozenset[str]:
    """The people recorded as actors on a case's events (the system's own steps are nobody's)."""
    return frozenset(event.actor.id for event in history if event.actor.role not in _NOT_STAFF)
