"""理赔 Claims: report → claim application → register → survey → loss assessment → documents → adjustment
→ review → decision → settlement → payment → closure (→ reopening).

The rules a claim keeps, each a named error below: every reported loss is recorded, and one the policy did
not cover at the loss date (Art. 14) is decided "not covered" at once, with its reason, so that its Art. 24
notice follows; missing documents are asked for once, in one complete list, after the claim application
(Insurance Law Art. 22); the reviewer (核赔) is not the adjuster (理算); nothing is paid before approval,
advance payments (Art. 25, once the claim and its documents are in) and CTPL rescue costs aside; the total
paid never exceeds the approved amount; a decision refusing all or part of a claim carries reasons and a
written notice (Art. 24); a refusal for non-disclosure needs the contract rescinded first (JI-II Art. 8).

The Art. 23 clock runs on facts with their business times (JI-II Art. 15): from the claim application's
receipt, stopped from the day the documents request reached the claimant until the last requested
document arrived. Each of those times is stated by the command, never taken from when staff record it.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.utils import register_topic
from pydantic import Field

from domain.base import (
    CaseAggregate,
    CaseCreated,
    Context,
    DomainError,
    DomainEvent,
    Fen,
    FourEyesError,
    PersonalStr,
    Role,
    require_status,
    taken_by,
)
from domain.cover import PolicyCover
from domain.policy import RescissionGround


class ClaimStatus(StrEnum):
    """Where a claim stands in its lifecycle."""

    REPORTED = "reported"
    REGISTERED = "registered"
    SURVEYED = "surveyed"
    ASSESSED = "assessed"
    ADJUSTED = "adjusted"
    REVIEWED = "reviewed"
    DECIDED = "decided"
    SETTLED = "settled"
    PAID = "paid"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


class ClaimOutcome(StrEnum):
    """The decision on cover (Insurance Law Art. 23): covered, partly covered, or not covered."""

    COVERED = "covered"
    PARTIAL = "partial"
    NOT_COVERED = "not_covered"


class AdvanceBasis(StrEnum):
    """The only grounds on which money is paid before approval."""

    IL25_ADVANCE = "IL25"  # amount still open after 60 days: pay what can be fixed now
    CTPL_RESCUE = "CTPL31"  # rescue costs advanced to the hospital on the police's notice


class RefusalGround(StrEnum):
    """The legal ground a decision refusing all or part of a claim rests on (its reasons say the facts)."""

    OUTSIDE_COVER = "outside_cover"  # Art. 14: the policy did not cover the loss date
    EXCLUSION = "exclusion"  # Art. 17: an exclusion clause explained at the sale
    NON_DISCLOSURE = "non_disclosure"  # Art. 16 ¶4-5: only once the contract is rescinded (JI-II Art. 8)
    FRAUD = "fraud"  # Art. 27
    OTHER = "other"


class ClosureOutcome(StrEnum):
    """How a claim ended."""

    PAID = "paid"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    NIL = "nil"


# ---------------------------------------------------------------------------------------------- errors


class DocumentsAlreadyRequestedError(DomainError):
    """Art. 22: missing documents are notified once, in one complete list; a second list needs new facts."""

    rule = "IL22-ONE-TIME-NOTICE"


class DocumentsStillMissingError(DomainError):
    """Documents are complete only when every item of the requested list has been received."""

    rule = "IL22-DOCUMENTS-COMPLETE"


class DocumentsAlreadyCompleteError(DomainError):
    """The documents are declared complete once per request: the Art. 23 clock resumes once."""

    rule = "IL22-DOCUMENTS-COMPLETE-ONCE"


class ClaimApplicationNotReceivedError(DomainError):
    """Art. 22: documents are asked for, and judged complete, against the claim application (索赔申请)."""

    rule = "IL22-AFTER-APPLICATION"


class ClaimApplicationAlreadyReceivedError(DomainError):
    """JI-II Art. 15: the Art. 23 period counts from the first receipt of the claim application, once."""

    rule = "IL23-ONE-APPLICATION"


class DocumentsRequestNotOpenError(DomainError):
    """JI-II Art. 15: only an open documents request, delivered once, stops the Art. 23 clock."""

    rule = "IL23-PAUSE-ON-OPEN-REQUEST"


class ClaimBusinessTimeError(DomainError):
    """A business time (application, delivery, arrival) lies neither after its recording nor before the
    fact it follows: a wrong one would move a statutory clock."""

    rule = "CLM-BUSINESS-TIME"


class NonDisclosureRefusalWithoutRescissionError(DomainError):
    """JI-II Art. 8: a claim is not refused for non-disclosure (Art. 16 ¶4-5) unless the insurer has
    rescinded the contract on that ground."""

    rule = "JI2-ART8-RESCIND-FIRST"


class ReviewerIsAdjusterError(FourEyesError):
    """Four-eyes: the claim reviewer (核赔) is not the adjuster (理算)."""

    rule = "four-eyes-claim-review"


class GracePremiumNotDeductedError(DomainError):
    """Art. 36: a loss in the grace period of an unpaid instalment is paid less the premium due: the
    approved amount is at most the adjusted benefit less that premium."""

    rule = "IL36-GRACE-DEDUCT"


class ApprovedAmountExceedsCoverError(DomainError):
    """The approved amount never exceeds the policy's sum insured."""

    rule = "approved-within-cover"


class RejectionWithoutReasonsError(DomainError):
    """Art. 24: a rejection carries its reasons."""

    rule = "IL24-REJECTION-REASONS"


class RejectionNoticeNotSentError(DomainError):
    """Art. 24: a claim refused in whole or in part gets the written notice, and is not closed before it."""

    rule = "IL24-REJECT-3D"


class PaymentBeforeApprovalError(DomainError):
    """No payment before approval (advance payments under Art. 25 and CTPL rescue costs aside)."""

    rule = "no-payment-before-approval"


class PaymentExceedsApprovedAmountError(DomainError):
    """The total paid on a claim never exceeds the approved amount."""

    rule = "paid-within-approved"


class SettlementExceedsApprovedAmountError(DomainError):
    """A settlement agreement is for no more than the approved amount."""

    rule = "settlement-within-approved"


class ClaimNotFullyPaidError(DomainError):
    """A covered claim is closed as paid only when the agreed amount has been paid."""

    rule = "closure-after-payment"


# ---------------------------------------------------------------------------------------------- events


class ClaimReported(CaseCreated):
    """接报案: a loss was reported on a policy; ``occurred_at`` is the loss time.

    Every report is recorded, whatever the cover at the loss date: a loss outside it is decided "not
    covered" by the same command (``ClaimDecided`` with ground ``outside_cover``).

    Version 2 added the reporting ``channel``; version-1 events, stored as ``claim.reported.v1``, are
    upcast on load with the channel "unknown" (the reporters' channel was not recorded then).
    """

    TOPIC = "claim.reported.v2"
    class_version: ClassVar[int] = 2

    policy_id: UUID
    policy_no: str
    customer_id: str
    reporter_name: PersonalStr
    reporter_phone: PersonalStr
    cause: str = Field(min_length=1)
    description: str
    ctpl: bool
    sum_insured_fen: Fen
    channel: str
    premium_due_fen: Fen = 0
    """Art. 36: the loss fell in the grace period of an unpaid renewal instalment: covered, less this."""
    premium_due_on: date | None = None

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Version 1 had no reporting channel."""
        state["channel"] = "unknown"

    def apply(self, claim: Claim) -> None:
        claim.status = ClaimStatus.REPORTED
        claim.policy_id = self.policy_id
        claim.customer_id = self.customer_id
        claim.ctpl = self.ctpl
        claim.sum_insured_fen = self.sum_insured_fen
        claim.loss_at = self.occurred_at
        claim.premium_due_fen = self.premium_due_fen


# Stored version-1 rows keep their old wire name; it resolves to the same class and is upcast on load.
register_topic("claim.reported.v1", ClaimReported)


class ClaimApplicationReceived(DomainEvent):
    """索赔申请: the claim application, with the documents the claimant could supply, reached the insurer
    at ``received_at``: the Art. 23 decision clock (JI-II Art. 15), the Art. 22 notice and CTPL Art. 28's
    document list count from here."""

    TOPIC = "claim.application-received.v1"

    received_at: datetime
    documents: tuple[str, ...] = ()

    def apply(self, claim: Claim) -> None:
        claim.application_received_at = self.received_at


class ClaimRegistered(DomainEvent):
    """立案: the claim is registered against the policy's coverages with an initial reserve."""

    TOPIC = "claim.registered.v1"

    claim_no: str = Field(min_length=1)
    coverages: tuple[str, ...]
    initial_reserve_fen: Fen

    def apply(self, claim: Claim) -> None:
        claim.status = ClaimStatus.REGISTERED
        claim.claim_no = self.claim_no


class SurveyDone(DomainEvent):
    """查勘: the surveyor inspected the loss (alias of SurveyCompleted in the catalogue)."""

    TOPIC = "claim.survey-done.v1"

    findings: str = Field(min_length=1)
    liability_view: str

    def apply(self, claim: Claim) -> None:
        claim.status = ClaimStatus.SURVEYED


class LossAssessed(DomainEvent):
    """定损: the loss was assessed at an amount."""

    TOPIC = "claim.loss-assessed.v1"

    items: tuple[str, ...]
    amount_fen: Fen

    def apply(self, claim: Claim) -> None:
        claim.status = ClaimStatus.ASSESSED
        claim.assessed_fen = self.amount_fen


class ClaimDocumentsRequested(DomainEvent):
    """一次性告知 (Art. 22): the one complete list of missing documents was sent to the claimant."""

    TOPIC = "claim.documents-requested.v1"

    required_docs: tuple[str, ...] = Field(min_length=1)
    notice_ref: str = Field(min_length=1)
    new_facts: bool = False
    reason: str | None = None

    def apply(self, claim: Claim) -> None:
        claim.documents_requested += 1
        claim.outstanding_docs = claim.outstanding_docs | set(self.required_docs)
        claim.documents_complete = False
        claim.requested_at = self.timestamp
        claim.request_delivered = False


class ClaimDocumentsRequestDelivered(DomainEvent):
    """The documents request reached the claimant at ``delivered_at`` (``occurred_at``): from here the
    Art. 23 clock stops until the documents are in (JI-II Art. 15)."""

    TOPIC = "claim.documents-request-delivered.v1"

    notice_ref: str = Field(min_length=1)
    delivered_at: datetime

    def apply(self, claim: Claim) -> None:
        claim.request_delivered = True


class ClaimDocumentReceived(DomainEvent):
    """收单: one requested document arrived at ``received_at`` (``occurred_at``).

    ``received_at`` is None on events recorded before arrival times were stated: their recording time
    stood for the arrival then.
    """

    TOPIC = "claim.document-received.v1"

    doc_type: str = Field(min_length=1)
    received_at: datetime | None = None

    def apply(self, claim: Claim) -> None:
        claim.outstanding_docs = claim.outstanding_docs - {self.doc_type}
        arrived = self.received_at or self.timestamp
        if claim.last_document_at is None or arrived > claim.last_document_at:
            claim.last_document_at = arrived


class ClaimDocumentsCompleted(DomainEvent):
    """The claim and its documents are all in, as of ``occurred_at``: the last requested document's arrival,
    or the application's receipt when it came complete. The Art. 23 clock runs again from then, and the
    Art. 25 and CTPL Art. 29 periods start (events recorded before that carry no ``occurred_at``)."""

    TOPIC = "claim.documents-completed.v1"

    def apply(self, claim: Claim) -> None:
        claim.documents_complete = True


class ClaimAdjusted(DomainEvent):
    """理算: the payable amount was calculated."""

    TOPIC = "claim.adjusted.v1"

    proposed_amount_fen: Fen
    deductible_fen: Fen
    calculation: str
    premium_due_deducted_fen: Fen = 0
    """Art. 36: the renewal premium due at a loss in the grace period, deducted from the benefit; the
    approved amount is at most ``proposed_amount_fen`` less it (rule IL36-GRACE-DEDUCT)."""

    def apply(self, claim: Claim) -> None:
        claim.status = ClaimStatus.ADJUSTED
        claim.adjuster_id = self.actor.id
        claim.proposed_fen = self.proposed_amount_fen


class ClaimReviewed(DomainEvent):
    """核赔: a reviewer other than the adjuster checked the adjustment and approved an amount."""

    TOPIC = "claim.reviewed.v1"

    approved_amount_fen: Fen
    comment: str = ""

    def apply(self, claim: Claim) -> None:
        claim.status = ClaimStatus.REVIEWED
        claim.approved_fen = self.approved_amount_fen


class ClaimDecided(DomainEvent):
    """The decision on cover (Art. 23): covered, partly covered or not covered, with reasons."""

    TOPIC = "claim.decided.v1"

    outcome: ClaimOutcome
    reasons: tuple[str, ...] = ()
    grounds: tuple[RefusalGround, ...] = ()
    """The legal grounds of a refusal in whole or in part (empty on events recorded before grounds were)."""

    def apply(self, claim: Claim) -> None:
        claim.status = ClaimStatus.DECIDED
        claim.outcome = self.outcome
        # Each decision needs its own notice: a reopened and again rejected claim is notified again.
        claim.rejection_notice_sent = False
        if self.outcome is ClaimOutcome.NOT_COVERED:
            claim.approved_fen = 0


class RejectionNoticeSent(DomainEvent):
    """拒赔通知书 (Art. 24): the written notice, with reasons, of a decision refusing the claim (``outcome``
    not_covered) or the part of it not paid (``outcome`` partial) was sent."""

    TOPIC = "claim.rejection-notice-sent.v1"

    reasons: tuple[str, ...] = Field(min_length=1)
    notice_ref: str = Field(min_length=1)
    channel: str
    outcome: ClaimOutcome = ClaimOutcome.NOT_COVERED
    """The decision notified; events recorded before partial notices existed were all not_covered."""

    def apply(self, claim: Claim) -> None:
        claim.rejection_notice_sent = True


class SettlementAgreed(DomainEvent):
    """达成赔付协议: the amount and payee were agreed; the 10-day payment clock (Art. 23) starts."""

    TOPIC = "claim.settlement-agreed.v1"

    amount_fen: Fen
    payee_name: PersonalStr
    payee_account: PersonalStr

    def apply(self, claim: Claim) -> None:
        claim.status = ClaimStatus.SETTLED
        claim.agreed_fen = self.amount_fen


class AdvancePaymentIssued(DomainEvent):
    """先予支付 (Art. 25) or CTPL rescue costs: money paid before the final amount is fixed."""

    TOPIC = "claim.advance-payment-issued.v1"

    amount_fen: Fen
    basis: AdvanceBasis
    reference: str = Field(min_length=1)

    def apply(self, claim: Claim) -> None:
        claim.paid_fen += self.amount_fen


class PaymentIssued(DomainEvent):
    """赔款支付: an indemnity payment was issued."""

    TOPIC = "claim.payment-issued.v1"

    amount_fen: Fen = Field(gt=0)
    reference: str = Field(min_length=1)

    def apply(self, claim: Claim) -> None:
        claim.paid_fen += self.amount_fen
        if claim.paid_fen >= claim.agreed_fen:
            claim.status = ClaimStatus.PAID


class ClaimClosed(DomainEvent):
    """结案: the claim was closed; the closure callback (结案回访) follows."""

    TOPIC = "claim.closed.v1"

    outcome: ClosureOutcome

    def apply(self, claim: Claim) -> None:
        claim.status = ClaimStatus.CLOSED
        claim.closure = self.outcome


class ClaimReopened(DomainEvent):
    """A closed claim was reopened, with its reason."""

    TOPIC = "claim.reopened.v1"

    reason: str = Field(min_length=1)

    def apply(self, claim: Claim) -> None:
        claim.status = ClaimStatus.REGISTERED
        claim.closure = None
        claim.outcome = None


class ClaimWithdrawn(DomainEvent):
    """The claimant withdrew the claim."""

    TOPIC = "claim.withdrawn.v1"

    reason: str = Field(min_length=1)

    def apply(self, claim: Claim) -> None:
        claim.status = ClaimStatus.WITHDRAWN


# ---------------------------------------------------------------------------------------------- aggregate

_OPEN = (
    ClaimStatus.REPORTED,
    ClaimStatus.REGISTERED,
    ClaimStatus.SURVEYED,
    ClaimStatus.ASSESSED,
    ClaimStatus.ADJUSTED,
    ClaimStatus.REVIEWED,
)
_HANDLERS = (Role.CLAIMS_HANDLER, Role.SUPERVISOR)


class Claim(CaseAggregate):
    """A claim on a policy: its lifecycle and the rules each step keeps."""

    TOPIC = "claim.aggregate"
    """Explicit, so that stored events and snapshots never name a Python import path."""

    class Created(CaseAggregate.Created):
        """The library's generic creation event: unused here, but it must carry a topic too."""

        TOPIC = "claim.library-created"

    status: ClaimStatus
    policy_id: UUID
    customer_id: str
    ctpl: bool
    sum_insured_fen: int
    loss_at: datetime | None
    claim_no: str | None
    outstanding_docs: frozenset[str] | set[str]
    documents_requested: int
    documents_complete: bool
    assessed_fen: int
    adjuster_id: str | None
    proposed_fen: int
    approved_fen: int | None
    outcome: ClaimOutcome | None
    rejection_notice_sent: bool
    agreed_fen: int
    paid_fen: int
    closure: ClosureOutcome | None
    # Facts added later carry class-level defaults: a snapshot taken before them restores without them.
    application_received_at: datetime | None = None
    requested_at: datetime | None = None
    request_delivered: bool = False
    last_document_at: datetime | None = None
    premium_due_fen: int = 0

    def __init__(self) -> None:
        # Called by the library when ClaimReported is replayed; ClaimReported.apply then sets the facts.
        self.claim_no = None
        self.outstanding_docs = frozenset()
        self.documents_requested = 0
        # Art. 25: the claim's documents are in only once they are judged so (ClaimDocumentsCompleted), on
        # the application or on the last requested item; a fresh report has none.
        self.documents_complete = False
        self.assessed_fen = 0
        self.adjuster_id = None
        self.proposed_fen = 0
        self.approved_fen = None
        self.outcome = None
        self.rejection_notice_sent = False
        self.agreed_fen = 0
        self.paid_fen = 0
        self.closure = None

    @classmethod
    @taken_by("report claim", *_HANDLERS)
    def report(
        cls,
        ctx: Context,
        *,
        claim_id: UUID,
        cover: PolicyCover,
        loss_at: datetime,
        reporter_name: str,
        reporter_phone: str,
        cause: str,
        description: str,
        channel: str,
    ) -> Claim:
        """Report a loss (接报案): always recorded. A loss the policy did not cover at ``loss_at`` (Art. 14)
        is decided "not covered" at once, with the reason, so that the Art. 24 notice is owed and sent."""
        gap = cover.gap_at(loss_at)
        grace = cover.premium_due_at(loss_at) if gap is None else None
        claim = cls._open(
            ClaimReported,
            claim_id,
            ctx,
            occurred_at=loss_at,
            policy_id=cover.policy_id,
            policy_no=cover.policy_no,
            customer_id=cover.customer_id,
            reporter_name=reporter_name,
            reporter_phone=reporter_phone,
            cause=cause,
            description=description,
            ctpl=cover.ctpl,
            sum_insured_fen=cover.sum_insured_fen,
            channel=channel,
            premium_due_fen=grace.amount_fen if grace is not None else 0,
            premium_due_on=grace.due_on if grace is not None else None,
        )
        if gap is not None:
            # The policy's own record decides this one; a reviewer may still reopen it on other facts.
            claim._record(
                ClaimDecided,
                ctx,
                outcome=ClaimOutcome.NOT_COVERED,
                reasons=(gap,),
                grounds=(RefusalGround.OUTSIDE_COVER,),
            )
        return claim

    @taken_by("receive claim application", *_HANDLERS)
    def receive_application(
        self, ctx: Context, *, received_at: datetime, documents: tuple[str, ...] = ()
    ) -> None:
        """Record the claim application (索赔申请) as received at ``received_at``, with the documents it came
        with: the Art. 23 decision period counts from this receipt (JI-II Art. 15)."""
        require_status("receive claim application", self.status, *_OPEN)
        if self.application_received_at is not None:
            raise ClaimApplicationAlreadyReceivedError(
                f"the claim application was received at {self.application_received_at.isoformat()}"
            )
        _check_business_time("received_at", received_at, ctx, not_before=self.loss_at, before_what="the loss")
        self._record(
            ClaimApplicationReceived,
            ctx,
            occurred_at=received_at,
            received_at=received_at,
            documents=documents,
        )

    @taken_by("register claim", *_HANDLERS)
    def register(self, ctx: Context, *, claim_no: str, coverages: tuple[str, ...], reserve_fen: int) -> None:
        """Register the claim (立案) with its coverages and an initial reserve."""
        require_status("register claim", self.status, ClaimStatus.REPORTED)
        self._record(
            ClaimRegistered, ctx, claim_no=claim_no, coverages=coverages, initial_reserve_fen=reserve_fen
        )

    @taken_by("record survey", Role.SURVEYOR)
    def record_survey(self, ctx: Context, *, findings: str, liability_view: str) -> None:
        """Record the surveyor's findings (查勘)."""
        require_status("record survey", self.status, ClaimStatus.REGISTERED, ClaimStatus.SURVEYED)
        self._record(SurveyDone, ctx, findings=findings, liability_view=liability_view)

    @taken_by("assess loss", Role.SURVEYOR, Role.ADJUSTER)
    def assess_loss(self, ctx: Context, *, items: tuple[str, ...], amount_fen: int) -> None:
        """Assess the loss (定损)."""
        require_status("assess loss", self.status, ClaimStatus.SURVEYED, ClaimStatus.ASSESSED)
        self._record(LossAssessed, ctx, items=items, amount_fen=amount_fen)

    @taken_by("request documents", *_HANDLERS)
    def request_documents(
        self,
        ctx: Context,
        *,
        required_docs: tuple[str, ...],
        notice_ref: str,
        new_facts: bool = False,
        reason: str | None = None,
    ) -> None:
        """Send the one complete list of missing documents (Art. 22); a second list only on new facts."""
        require_status("request documents", self.status, *_OPEN[:5])
        self._require_application("request documents")
        if self.documents_requested and not (new_facts and reason):
            raise DocumentsAlreadyRequestedError(
                "the missing documents were already notified in one list; a further request needs "
                "new facts and a reason (Insurance Law Art. 22)"
            )
        self._record(
            ClaimDocumentsRequested,
            ctx,
            required_docs=required_docs,
            notice_ref=notice_ref,
            new_facts=new_facts,
            reason=reason,
        )

    @taken_by("record documents request delivery", *_HANDLERS)
    def record_request_delivery(self, ctx: Context, *, delivered_at: datetime, notice_ref: str) -> None:
        """Record when the documents request reached the claimant: the Art. 23 clock stops from then until
        the documents are in (JI-II Art. 15), never from the insurer's sending."""
        require_status("record documents request delivery", self.status, *_OPEN)
        if self.requested_at is None or self.documents_complete:
            raise DocumentsRequestNotOpenError("no documents request is open: there is nothing to deliver")
        if self.request_delivered:
            raise DocumentsRequestNotOpenError(
                "the delivery of the open documents request is already on record"
            )
        _check_business_time(
            "delivered_at",
            delivered_at,
            ctx,
            not_before=self.requested_at,
            before_what="the request was sent",
        )
        self._record(
            ClaimDocumentsRequestDelivered,
            ctx,
            occurred_at=delivered_at,
            delivered_at=delivered_at,
            notice_ref=notice_ref,
        )

    @taken_by("receive document", *_HANDLERS)
    def receive_document(self, ctx: Context, *, doc_type: str, received_at: datetime) -> None:
        """Record one requested document as received (收单) at ``received_at``: when it reached us."""
        require_status("receive document", self.status, *_OPEN)
        if doc_type not in self.outstanding_docs:
            raise DocumentsStillMissingError(f"{doc_type!r} is not on the list of outstanding documents")
        _check_business_time(
            "received_at",
            received_at,
            ctx,
            not_before=self.application_received_at,
            before_what="the claim application",
        )
        self._record(
            ClaimDocumentReceived, ctx, occurred_at=received_at, doc_type=doc_type, received_at=received_at
        )

    @taken_by("complete documents", *_HANDLERS)
    def complete_documents(self, ctx: Context) -> None:
        """Declare the claim's documents complete: those of the application, or every requested item.

        The completion takes effect when the documents arrived, not when it is declared: at the last
        requested item's arrival, or at the application's receipt when nothing was requested.
        """
        require_status("complete documents", self.status, *_OPEN)
        if self.documents_complete:
            raise DocumentsAlreadyCompleteError("the documents are already complete: no request is open")
        if self.outstanding_docs:
            missing = ", ".join(sorted(self.outstanding_docs))
            raise DocumentsStillMissingError(f"documents still missing: {missing}")
        # A request follows the application, so its last item arrived after it. (A request recorded before
        # applications were, on a claim in flight then, has no application: its items' arrival still dates.)
        arrived = self.last_document_at if self.documents_requested else None
        self._record(
            ClaimDocumentsCompleted,
            ctx,
            occurred_at=arrived or self._require_application("complete documents"),
        )

    @taken_by("adjust claim", Role.ADJUSTER)
    def adjust(
        self, ctx: Context, *, proposed_amount_fen: int, deductible_fen: int, calculation: str
    ) -> None:
        """Calculate the payable amount (理算) once the documents are complete."""
        require_status("adjust claim", self.status, ClaimStatus.ASSESSED, ClaimStatus.ADJUSTED)
        if not self.documents_complete:
            missing = ", ".join(sorted(self.outstanding_docs)) or "not yet judged complete"
            raise DocumentsStillMissingError(f"cannot adjust while documents are missing: {missing}")
        self._record(
            ClaimAdjusted,
            ctx,
            proposed_amount_fen=proposed_amount_fen,
            deductible_fen=deductible_fen,
            calculation=calculation,
            premium_due_deducted_fen=self.premium_due_fen,
        )

    @taken_by("review claim", Role.CLAIM_REVIEWER)
    def review(self, ctx: Context, *, approved_amount_fen: int, comment: str = "") -> None:
        """Review the adjustment (核赔) and approve an amount; the reviewer is never the adjuster."""
        require_status("review claim", self.status, ClaimStatus.ADJUSTED)
        if ctx.actor.id == self.adjuster_id:
            raise ReviewerIsAdjusterError(f"{ctx.actor.id} adjusted this claim and may not review it")
        if approved_amount_fen < self.paid_fen:
            raise PaymentExceedsApprovedAmountError(
                f"approving {approved_amount_fen} fen is less than the {self.paid_fen} fen already advanced"
            )
        if self.premium_due_fen and approved_amount_fen > self.proposed_fen - self.premium_due_fen:
            raise GracePremiumNotDeductedError(
                f"approving {approved_amount_fen} fen: the loss fell in the grace period, so at most the "
                f"{self.proposed_fen} fen adjusted less the {self.premium_due_fen} fen premium due (Art. 36)"
            )
        if approved_amount_fen > self.sum_insured_fen:
            raise ApprovedAmountExceedsCoverError(
                f"approved {approved_amount_fen} fen exceeds the sum insured of {self.sum_insured_fen} fen"
            )
        self._record(ClaimReviewed, ctx, approved_amount_fen=approved_amount_fen, comment=comment)

    @taken_by("decide claim", Role.CLAIM_REVIEWER, Role.SUPERVISOR)
    def decide(
        self,
        ctx: Context,
        *,
        outcome: ClaimOutcome,
        reasons: tuple[str, ...] = (),
        grounds: tuple[RefusalGround, ...] = (),
        cover: PolicyCover | None = None,
    ) -> None:
        """Decide on cover (Art. 23); a rejection or partial cover states its reasons and may name its legal
        grounds. A refusal for non-disclosure needs ``cover`` (the policy's, read now) to show the contract
        rescinded on that ground (JI-II Art. 8)."""
        if outcome is ClaimOutcome.NOT_COVERED:
            # A rejection may follow registration or survey directly: a clear exclusion needs no adjustment.
            require_status("decide claim", self.status, *_OPEN)
        else:
            require_status("decide claim", self.status, ClaimStatus.REVIEWED)
        if outcome is not ClaimOutcome.COVERED and not reasons:
            raise RejectionWithoutReasonsError(f"a decision of {outcome.value} must state its reasons")
        if outcome is not ClaimOutcome.COVERED and RefusalGround.NON_DISCLOSURE in grounds:
            rescinded = cover is not None and cover.rescission_ground == RescissionGround.NON_DISCLOSURE_ART16
            if not rescinded:
                raise NonDisclosureRefusalWithoutRescissionError(
                    "a claim is refused for non-disclosure only after the policy has been rescinded on "
                    "that ground (Insurance Law Art. 16; Judicial Interpretation II Art. 8)"
                )
        self._record(ClaimDecided, ctx, outcome=outcome, reasons=reasons, grounds=grounds)

    @taken_by("send rejection notice", *_HANDLERS)
    def send_rejection_notice(
        self, ctx: Context, *, reasons: tuple[str, ...], notice_ref: str, channel: str
    ) -> None:
        """Send the written notice, with reasons, of a refusal (Art. 24, within 3 days of the decision):
        of the whole claim, or of the part a partial decision does not pay."""
        if self.outcome is ClaimOutcome.PARTIAL:
            # The part paid may be settled and paid before the notice of the part refused goes out.
            require_status(
                "send rejection notice",
                self.status,
                ClaimStatus.DECIDED,
                ClaimStatus.SETTLED,
                ClaimStatus.PAID,
            )
        else:
            require_status("send rejection notice", self.status, ClaimStatus.DECIDED)
        if self.outcome not in _REFUSALS:
            raise RejectionNoticeNotSentError(
                "only a claim decided as not covered or partly covered gets a rejection notice"
            )
        if not reasons:
            raise RejectionWithoutReasonsError("a rejection notice states its reasons")
        self._record(
            RejectionNoticeSent,
            ctx,
            reasons=reasons,
            notice_ref=notice_ref,
            channel=channel,
            outcome=self.outcome,
        )

    @taken_by("agree settlement", *_HANDLERS)
    def agree_settlement(self, ctx: Context, *, amount_fen: int, payee_name: str, payee_account: str) -> None:
        """Agree the settlement (赔付协议) for no more than the approved amount."""
        require_status("agree settlement", self.status, ClaimStatus.DECIDED)
        if self.outcome is ClaimOutcome.NOT_COVERED or self.approved_fen is None:
            raise PaymentBeforeApprovalError("no settlement on a claim without an approved amount")
        if amount_fen > self.approved_fen:
            raise SettlementExceedsApprovedAmountError(
                f"settlement of {amount_fen} fen exceeds the approved {self.approved_fen} fen"
            )
        self._record(
            SettlementAgreed, ctx, amount_fen=amount_fen, payee_name=payee_name, payee_account=payee_account
        )

    @taken_by("pay advance", *_HANDLERS)
    def pay_advance(self, ctx: Context, *, amount_fen: int, basis: AdvanceBasis, reference: str) -> None:
        """Pay in advance of approval, only under Art. 25 or as CTPL rescue costs."""
        require_status("pay advance", self.status, *_OPEN)
        if basis is AdvanceBasis.CTPL_RESCUE and not self.ctpl:
            raise PaymentBeforeApprovalError("rescue costs are advanced only on a CTPL claim")
        if basis is AdvanceBasis.IL25_ADVANCE and not self.documents_complete:
            # Art. 25 counts from the receipt of the claim *and* its documents: before they are judged
            # complete there is nothing the advance could be "the amount that can be determined" of.
            raise PaymentBeforeApprovalError("an Art. 25 advance follows the claim and its documents")
        if self.paid_fen + amount_fen > self.sum_insured_fen:
            raise PaymentExceedsApprovedAmountError("advances may not exceed the sum insured")
        self._record(AdvancePaymentIssued, ctx, amount_fen=amount_fen, basis=basis, reference=reference)

    @taken_by("issue payment", *_HANDLERS)
    def issue_payment(self, ctx: Context, *, amount_fen: int, reference: str) -> None:
        """Pay the indemnity: only after approval and settlement, never beyond the approved amount."""
        if self.status is not ClaimStatus.SETTLED or self.approved_fen is None:
            raise PaymentBeforeApprovalError(
                f"no payment before approval and settlement (claim is {self.status})"
            )
        if self.paid_fen + amount_fen > min(self.approved_fen, self.agreed_fen):
            raise PaymentExceedsApprovedAmountError(
                f"paying {amount_fen} fen after {self.paid_fen} fen would exceed the agreed "
                f"{self.agreed_fen} fen"
            )
        self._record(PaymentIssued, ctx, amount_fen=amount_fen, reference=reference)

    @taken_by("close claim", *_HANDLERS)
    def close(self, ctx: Context) -> None:
        """Close the claim (结案): paid in full, or rejected with the notice sent; a partial decision's
        notice of the part refused (Art. 24) is sent before the claim is closed as paid."""
        if self.status in (ClaimStatus.PAID, ClaimStatus.SETTLED) and (
            self.outcome is ClaimOutcome.PARTIAL and not self.rejection_notice_sent
        ):
            raise RejectionNoticeNotSentError(
                "the notice of the part refused must be sent before a partly covered claim is closed"
            )
        if self.status is ClaimStatus.PAID:
            outcome = ClosureOutcome.PAID
        elif self.status is ClaimStatus.DECIDED and self.outcome is ClaimOutcome.NOT_COVERED:
            if not self.rejection_notice_sent:
                raise RejectionNoticeNotSentError("the rejection notice must be sent before closing")
            outcome = ClosureOutcome.REJECTED
        elif self.status is ClaimStatus.SETTLED:
            if self.paid_fen < self.agreed_fen:
                raise ClaimNotFullyPaidError(f"paid {self.paid_fen} of the agreed {self.agreed_fen} fen")
            outcome = ClosureOutcome.PAID  # advances already covered the agreed amount
        elif self.status is ClaimStatus.WITHDRAWN:
            outcome = ClosureOutcome.WITHDRAWN
        else:
            require_status("close claim", self.status, ClaimStatus.PAID)
            raise AssertionError("unreachable")  # pragma: no cover
        self._record(ClaimClosed, ctx, outcome=outcome)

    @taken_by("reopen claim", Role.SUPERVISOR, Role.CLAIMS_HANDLER)
    def reopen(self, ctx: Context, *, reason: str) -> None:
        """Reopen a closed claim, with the reason."""
        require_status("reopen claim", self.status, ClaimStatus.CLOSED)
        self._record(ClaimReopened, ctx, reason=reason)

    @taken_by("withdraw claim", *_HANDLERS)
    def withdraw(self, ctx: Context, *, reason: str) -> None:
        """Record the claimant's withdrawal of an open claim."""
        require_status("withdraw claim", self.status, *_OPEN)
        self._record(ClaimWithdrawn, ctx, reason=reason)

    def _require_application(self, step: str) -> datetime:
        if self.application_received_at is None:
            raise ClaimApplicationNotReceivedError(
                f"{step}: no claim application is on record; documents are judged against it (Art. 22)"
            )
        return self.application_received_at


_REFUSALS = (ClaimOutcome.NOT_COVERED, ClaimOutcome.PARTIAL)


def _check_business_time(
    name: str, value: datetime, ctx: Context, *, not_before: datetime | None, before_what: str
) -> None:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    if value > ctx.recorded_at:
        raise ClaimBusinessTimeError(
            f"{name} {value.isoformat()} is later than its recording at {ctx.recorded_at.isoformat()}"
        )
    if not_before is not None and value < not_before:
        raise ClaimBusinessTimeError(
            f"{name} {value.isoformat()} is before {before_what} ({not_before.isoformat()})"
        )
