"""Complaints (投诉): the application service for complaints.

Recusal (回避) is looked up here, not typed: ``assign`` finds the case complained about (by its case id,
or by the policy, proposal or claim number the complainant quoted), reads who worked it from the policy and
claim stores (a policy's seller, clerks and underwriters; a claim's handlers, surveyor, adjuster and
reviewer, and the staff of the policy it claims on; a seller complaint's seller) and the domain refuses any
of them as handler. A reference that does not resolve to one case or seller is refused
(``ComplaintSubjectUnresolvedError``) until the officer gives the case id: recusal is never skipped because
a lookup found nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID, uuid4

from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import sql
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain.base import DomainEvent, Role
from domain.claim import ClaimRegistered
from domain.complaint import (
    Complaint,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintOutcome,
    ComplaintSubjectUnresolvedError,
    Complexity,
    ExternalBody,
    Remedy,
    ReviewResult,
    SubjectKind,
    SubjectRef,
)
from domain.policy import PolicyIssued, ProposalSubmitted
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
from infra.store.sellers import SellerRegistry

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
    """The handler, and who took part in the case complained about (they may not handle it); the case id
    of the policy or claim complained about when the number the complaint quotes does not name one case."""

    model_config = examples(
        {"handler_id": "sun.li.complaints", "involved_staff": ["chen.jie.claims", "huang.min.adjust"]},
        {"handler_id": "sun.li.complaints", "subject_case_id": "c4e2a8f6-1d3b-4a5c-9e7f-2b4d6f8a0c1e"},
    )

    handler_id: Name
    involved_staff: Names = Field(default_factory=list)
    subject_case_id: UUID | None = None

    def arguments(self) -> dict[str, Any]:
        """The domain's arguments: the staff involved in the case as a set (the service looks up the case
        complained about and gives the domain its id, version and staff)."""
        arguments = {**super().arguments(), "involved_staff": frozenset(self.involved_staff)}
        del arguments["subject_case_id"]
        return arguments


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
        sellers: SellerRegistry,
        snapshot_interval: int = 50,
    ) -> None:
        super().__init__(env, clock, snapshot_interval)
        self.policies = policies
        self.claims = claims
        self.sellers = sellers

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
        staff the officer names, whoever the policy, claim or seller complained about records (looked up
        here; a reference that names no single case or seller is refused until the officer gives the case
        id)."""
        subject = self.subject_case(self.load(complaint_id).subject_ref, command.subject_case_id)
        return self.run(
            complaint_id,
            by,
            expected_version,
            Complaint.assign,
            subject_staff=subject.staff,
            subject_case_id=subject.case_id,
            subject_case_version=subject.version,
            **command.arguments(),
        )

    def subject_case(self, subject: SubjectRef, given_case_id: UUID | None = None) -> SubjectCase:
        """The case a complaint is about and who worked it, or ``ComplaintSubjectUnresolvedError``.

        A policy: the staff on its events (seller, clerks, underwriters, …). A claim: the staff on its
        events (handler, surveyor, adjuster, reviewer) and on its policy's. A seller: that seller, named by
        their id or their practice registration number. ``given_case_id`` is the officer's answer when the
        reference does not name one case: it must be a case of the kind complained about and, if the
        reference names cases, one of them.
        """
        if subject.kind is SubjectKind.SELLER:
            return self._seller(subject, given_case_id)
        store: CaseApplication[Any] = self.claims if subject.kind is SubjectKind.CLAIM else self.policies
        named = self.cases_named(subject)
        kind = subject.kind.value
        if given_case_id is not None:
            if named and given_case_id not in named:
                raise ComplaintSubjectUnresolvedError(
                    f"the complaint names {kind} {subject.ref!r}, which is case {_ids(named)}, "
                    f"not the subject_case_id given ({given_case_id})"
                )
            if not _holds(store, given_case_id):
                raise ComplaintSubjectUnresolvedError(
                    f"no {kind} with the subject_case_id given ({given_case_id}) is on record"
                )
            case_id = given_case_id
        elif len(named) == 1:
            [case_id] = named
        elif not named:
            raise ComplaintSubjectUnresolvedError(
                f"no {kind} with the number or id {subject.ref!r} is on record, so who worked it cannot be "
                f"refused as handler: give the {kind}'s case id as subject_case_id"
            )
        else:
            raise ComplaintSubjectUnresolvedError(
                f"{subject.ref!r} is the number of {len(named)} {kind} cases ({_ids(named)}): give the one "
                "complained about as subject_case_id"
            )
        history = store.history(case_id)
        staff = _staff_on(history)
        if subject.kind is SubjectKind.CLAIM:
            staff |= _staff_on(self._policy_history(self.claims.load(case_id).policy_id))
        return SubjectCase(staff=staff, case_id=case_id, version=history[-1].originator_version)

    def cases_named(self, subject: SubjectRef) -> frozenset[UUID]:
        """The policy or claim cases a reference names: the case with that id, or the cases whose proposal
        or policy number (a policy) or claim number (a claim) it is.

        Read from the event store, not the read models: the numbers are recorded there on
        ``ProposalSubmitted``, ``PolicyIssued`` and ``ClaimRegistered`` in the same transaction as the
        command that set them, so a policy issued a moment ago is found at once, whereas the ``policies``
        and ``claims`` tables (projections/) are filled by consumers that may lag, be rebuilding, or not run
        in this process: a lookup there could find nobody and the recusal would rest on a miss. The cost is
        one scan of one context's events table per assignment, a step taken by hand (about 0.7 s over 1.5
        million policy events on the shared development machine); no index serves it yet.
        """
        store: CaseApplication[Any] = self.claims if subject.kind is SubjectKind.CLAIM else self.policies
        try:
            case_id = UUID(subject.ref)
        except ValueError:
            return _cases_recording(store, _NUMBERS_QUOTED[subject.kind], subject.ref)
        return frozenset({case_id}) if _holds(store, case_id) else frozenset()

    def _seller(self, subject: SubjectRef, given_case_id: UUID | None) -> SubjectCase:
        if given_case_id is not None:
            raise ComplaintSubjectUnresolvedError(
                f"a complaint about seller {subject.ref!r} names a person, not a case: "
                "give no subject_case_id"
            )
        sellers = self.sellers.sellers_named(subject.ref)
        if not sellers:
            raise ComplaintSubjectUnresolvedError(
                f"no seller {subject.ref!r} (a seller id or practice registration number) is on record, so "
                "the seller cannot be refused as handler"
            )
        return SubjectCase(staff=sellers, case_id=None, version=None)

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


@dataclass(frozen=True)
class SubjectCase:
    """What recusal is checked on: who worked the policy, claim or seller complained about, and which case
    (at which version) they were read from; no case for a seller."""

    staff: frozenset[str]
    case_id: UUID | None
    version: int | None


_NUMBERS_QUOTED: dict[SubjectKind, tuple[tuple[type[DomainEvent], str], ...]] = {
    SubjectKind.POLICY: ((ProposalSubmitted, "proposal_no"), (PolicyIssued, "policy_no")),
    SubjectKind.CLAIM: ((ClaimRegistered, "claim_no"),),
}
"""The numbers a complainant may quote for a policy or claim, and the event (and field) that records each."""

_NOT_STAFF = frozenset({Role.SYSTEM})


def _staff_on(history: list[DomainEvent]) -> frozenset[str]:
    """The people recorded as actors on a case's events (the system's own steps are nobody's)."""
    return frozenset(event.actor.id for event in history if event.actor.role not in _NOT_STAFF)


def _holds(store: CaseApplication[Any], case_id: UUID) -> bool:
    return any(True for _ in store.events.get(case_id, limit=1))


def _ids(case_ids: frozenset[UUID]) -> str:
    return ", ".join(sorted(str(case_id) for case_id in case_ids))


def _cases_recording(
    store: CaseApplication[Any], numbers: tuple[tuple[type[DomainEvent], str], ...], value: str
) -> frozenset[UUID]:
    """The cases in ``store`` where one of ``numbers`` (an event and its field) records ``value``, in one
    scan of the store's events table with the store's own connections. The payload is the event's JSON
    under its wire name (infra/store/mapper.py); the numbers are not personal data, so they are in clear.
    The topic is tested first, so only the numbering events' payloads are parsed."""
    recorder = store.recorder
    if not isinstance(recorder, PostgresApplicationRecorder):
        raise TypeError(f"{type(store).__name__} does not store its events in PostgreSQL")
    records_number = sql.SQL("(topic = %s AND convert_from(state, 'UTF8')::jsonb ->> %s = %s)")
    query = sql.SQL("SELECT DISTINCT originator_id FROM {} WHERE {}").format(
        sql.Identifier(recorder.datastore.schema, recorder.events_table_name),
        sql.SQL(" OR ").join(records_number for _ in numbers),
    )
    with recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute(query, [part for event, field in numbers for part in (event.TOPIC, field, value)])
        return frozenset(row["originator_id"] for row in cursor.fetchall())
