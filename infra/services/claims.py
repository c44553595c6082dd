"""Claims (理赔): the application service for claims; a new claim reads its policy's cover."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID, uuid4

from pydantic import AwareDatetime, Field

from domain.claim import AdvanceBasis, Claim, ClaimOutcome, RefusalGround
from infra.clock import Clock
from infra.services.commands import (
    Command,
    Fen,
    Name,
    Names,
    OptionalText,
    Reason,
    Text,
    examples,
)
from infra.services.policies import Policies
from infra.store.eventstore import Caller, CaseApplication, CommandResult

# ------------------------------------------------------------------------------------------ commands


class ReportClaim(Command):
    """接报案: a loss reported on a policy."""

    model_config = examples(
        {
            "policy_id": "0b8a4f2e-3c1d-4e5f-8a9b-0c1d2e3f4a5b",
            "loss_at": "2026-03-02T08:30:00+08:00",
            "reporter_name": "张三",
            "reporter_phone": "13800138000",
            "cause": "rear-end collision",
            "description": "hit from behind at a red light, rear bumper and boot lid damaged",
            "channel": "hotline 95500",
        }
    )

    policy_id: UUID
    loss_at: AwareDatetime
    reporter_name: Name
    reporter_phone: Name
    cause: Text
    description: Text
    channel: Name


class ReceiveClaimApplication(Command):
    """索赔申请: the claim application reached the insurer at ``received_at``, with these documents.

    The Art. 23 decision period (JI-II Art. 15), the Art. 22 notice and CTPL Art. 28's list count from
    ``received_at``, the time it arrived, not the time it is recorded.
    """

    model_config = examples(
        {
            "received_at": "2026-03-03T14:10:00+08:00",
            "documents": ["claim form", "driving licence", "vehicle licence"],
        }
    )

    received_at: AwareDatetime
    documents: Names = Field(default_factory=list)


class RegisterClaim(Command):
    """立案: the claim number, the coverages concerned and the initial reserve."""

    model_config = examples(
        {"claim_no": "LP6F1C0F3E7D", "coverages": ["vehicle damage"], "reserve_fen": 800_000}
    )

    claim_no: Name
    coverages: Annotated[list[Name], Field(min_length=1, max_length=100)]
    reserve_fen: Fen


class RecordSurvey(Command):
    """查勘: the surveyor's findings."""

    model_config = examples(
        {
            "findings": "rear bumper and boot lid dented; the damage matches the scene photos",
            "liability_view": "the following vehicle is fully at fault",
        }
    )

    findings: Text
    liability_view: Text


class AssessLoss(Command):
    """定损: the damaged items and the assessed amount."""

    model_config = examples({"items": ["rear bumper", "boot lid", "paint"], "amount_fen": 650_000})

    items: Annotated[list[Name], Field(min_length=1, max_length=500)]
    amount_fen: Fen


class RequestDocuments(Command):
    """The one complete list of missing documents (Art. 22); a second one only on new facts."""

    model_config = examples(
        {
            "required_docs": ["police accident report", "repair invoice", "driving licence"],
            "notice_ref": "NOTICE-22-01",
        },
        {
            "required_docs": ["third-party liability confirmation"],
            "notice_ref": "NOTICE-22-02",
            "new_facts": True,
            "reason": "the police report names a second vehicle involved in the collision",
        },
    )

    required_docs: Annotated[list[Name], Field(min_length=1, max_length=100)]
    notice_ref: Name
    new_facts: bool = False
    reason: Text | None = None


class RecordRequestDelivery(Command):
    """The documents request reached the claimant at ``delivered_at``: the Art. 23 clock stops from then
    until the requested documents arrive (JI-II Art. 15)."""

    model_config = examples(
        {"delivered_at": "2026-03-05T11:20:00+08:00", "notice_ref": "NOTICE-22-01"},
    )

    delivered_at: AwareDatetime
    notice_ref: Name


class DocumentArrival(Command):
    """When a requested document reached the insurer (the body of ``POST .../documents/{doc_type}``)."""

    model_config = examples({"received_at": "2026-03-09T16:45:00+08:00"})

    received_at: AwareDatetime


class AdjustClaim(Command):
    """理算: the payable amount and how it was calculated."""

    model_config = examples(
        {
            "proposed_amount_fen": 600_000,
            "deductible_fen": 50_000,
            "calculation": "6,500.00 CNY assessed - 500.00 CNY deductible = 6,000.00 CNY",
        }
    )

    proposed_amount_fen: Fen
    deductible_fen: Fen
    calculation: Text


class ReviewClaim(Command):
    """核赔: the approved amount."""

    model_config = examples(
        {"approved_amount_fen": 600_000, "comment": "calculation checked against the repair invoice"}
    )

    approved_amount_fen: Fen
    comment: OptionalText = ""


class DecideClaim(Command):
    """The decision on cover (Art. 23), with reasons unless covered."""

    model_config = examples(
        {"outcome": "covered"},
        {
            "outcome": "not_covered",
            "reasons": ["driver under the influence of alcohol: exclusion clause 24"],
            "grounds": ["exclusion"],
        },
        {
            "outcome": "partial",
            "reasons": ["the rear light was broken before the collision (survey photos 3 and 4)"],
            "grounds": ["other"],
        },
    )

    outcome: ClaimOutcome
    reasons: Names = Field(default_factory=list)
    grounds: Annotated[list[RefusalGround], Field(max_length=10)] = Field(default_factory=list)
    """The legal grounds of a refusal; ``non_disclosure`` only once the policy was rescinded for it."""


class SendRejectionNotice(Command):
    """The written rejection notice (Art. 24)."""

    model_config = examples(
        {
            "reasons": ["driver under the influence of alcohol: exclusion clause 24"],
            "notice_ref": "REJ-2026-0042",
            "channel": "registered letter",
        }
    )

    reasons: Names
    notice_ref: Name
    channel: Name


class AgreeSettlement(Command):
    """赔付协议: the agreed amount and the payee."""

    model_config = examples(
        {"amount_fen": 600_000, "payee_name": "张三", "payee_account": "6222000000000000000"}
    )

    amount_fen: Fen
    payee_name: Name
    payee_account: Name


class PayAdvance(Command):
    """A payment before approval: Art. 25 or CTPL rescue costs."""

    model_config = examples(
        {"amount_fen": 300_000, "basis": "IL25", "reference": "ADV-2026-0007"},
        {"amount_fen": 1_800_000, "basis": "CTPL31", "reference": "RESCUE-2026-0003"},
    )

    amount_fen: Fen
    basis: AdvanceBasis
    reference: Name


class IssuePayment(Command):
    """The indemnity payment."""

    model_config = examples({"amount_fen": 600_000, "reference": "PAY-2026-0001"})

    amount_fen: Fen
    reference: Name


class ReceiveDocument(Command):
    """收单: record one requested document as received at ``received_at``."""

    doc_type: Name
    received_at: AwareDatetime


class CompleteDocuments(Command):
    """Declare the documents complete: every requested item has arrived."""


class CloseClaim(Command):
    """结案: close a paid, rejected (notice sent) or withdrawn claim."""


class ReopenClaim(Reason):
    """Reopen a closed claim, with the reason."""


class WithdrawClaim(Reason):
    """Record the claimant's withdrawal of an open claim."""


# ------------------------------------------------------------------------------------------- service


class Claims(CaseApplication[Claim]):
    """Claims (理赔): one method per use case, each taking its command model.

    A report reads the cover from the policy's own history.
    """

    aggregate_class = Claim
    kind = "claim"
    bounded_context = "claim"

    def __init__(self, env: dict[str, str], clock: Clock, policies: Policies, snapshot_interval: int = 50):
        super().__init__(env, clock, snapshot_interval)
        self.policies = policies

    def report(self, command: ReportClaim, by: Caller, claim_id: UUID | None = None) -> CommandResult:
        """接报案: report a loss on a policy; opens a claim, decided "not covered" at once when the policy
        did not cover the loss date (Art. 14), so that its Art. 24 notice follows.

        The policy's cover comes from the policy's own history: a loss before a surrender, a lapse or an
        expiry is judged at its own date.
        """
        cover = self.policies.cover(command.policy_id)
        arguments = command.arguments()
        del arguments["policy_id"]
        claim = Claim.report(self.context(by), claim_id=claim_id or uuid4(), cover=cover, **arguments)
        return self.save_new(claim)

    def receive_application(
        self,
        claim_id: UUID,
        command: ReceiveClaimApplication,
        by: Caller,
        expected_version: int | None = None,
    ) -> CommandResult:
        """索赔申请: record the claim application's receipt; the Art. 23 decision clock starts there."""
        return self.run(claim_id, by, expected_version, Claim.receive_application, **command.arguments())

    def register(
        self, claim_id: UUID, command: RegisterClaim, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """立案: register the claim with its coverages and an initial reserve."""
        return self.run(claim_id, by, expected_version, Claim.register, **command.arguments())

    def record_survey(
        self, claim_id: UUID, command: RecordSurvey, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """查勘: record the surveyor's findings."""
        return self.run(claim_id, by, expected_version, Claim.record_survey, **command.arguments())

    def assess_loss(
        self, claim_id: UUID, command: AssessLoss, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """定损: assess the loss."""
        return self.run(claim_id, by, expected_version, Claim.assess_loss, **command.arguments())

    def request_documents(
        self, claim_id: UUID, command: RequestDocuments, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Send the one complete list of missing documents (Insurance Law Art. 22)."""
        return self.run(claim_id, by, expected_version, Claim.request_documents, **command.arguments())

    def record_request_delivery(
        self,
        claim_id: UUID,
        command: RecordRequestDelivery,
        by: Caller,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Record when the documents request reached the claimant (JI-II Art. 15: the clock stops then)."""
        return self.run(claim_id, by, expected_version, Claim.record_request_delivery, **command.arguments())

    def receive_document(
        self, claim_id: UUID, command: ReceiveDocument, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """收单: record one requested document as received."""
        return self.run(claim_id, by, expected_version, Claim.receive_document, **command.arguments())

    def complete_documents(
        self, claim_id: UUID, command: CompleteDocuments, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Declare the documents complete: every requested item has arrived."""
        return self.run(claim_id, by, expected_version, Claim.complete_documents, **command.arguments())

    def adjust(
        self, claim_id: UUID, command: AdjustClaim, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """理算: calculate the payable amount once the documents are complete."""
        return self.run(claim_id, by, expected_version, Claim.adjust, **command.arguments())

    def review(
        self, claim_id: UUID, command: ReviewClaim, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """核赔: review the adjustment and approve an amount (never by the adjuster)."""
        return self.run(claim_id, by, expected_version, Claim.review, **command.arguments())

    def decide(
        self, claim_id: UUID, command: DecideClaim, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Decide on cover (Art. 23); a rejection or partial cover states its reasons.

        The policy's cover is read now, so that a refusal for non-disclosure can be checked against its
        rescission (JI-II Art. 8).
        """
        cover = self.policies.cover(self.load(claim_id).policy_id)
        return self.run(claim_id, by, expected_version, Claim.decide, cover=cover, **command.arguments())

    def send_rejection_notice(
        self, claim_id: UUID, command: SendRejectionNotice, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Send the written rejection notice with reasons (Art. 24)."""
        return self.run(claim_id, by, expected_version, Claim.send_rejection_notice, **command.arguments())

    def agree_settlement(
        self, claim_id: UUID, command: AgreeSettlement, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """赔付协议: agree the settlement for no more than the approved amount."""
        return self.run(claim_id, by, expected_version, Claim.agree_settlement, **command.arguments())

    def pay_advance(
        self, claim_id: UUID, command: PayAdvance, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Pay in advance of approval (Art. 25, or CTPL rescue costs)."""
        return self.run(claim_id, by, expected_version, Claim.pay_advance, **command.arguments())

    def issue_payment(
        self, claim_id: UUID, command: IssuePayment, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Pay the indemnity, after approval and settlement, within the agreed amount."""
        return self.run(claim_id, by, expected_version, Claim.issue_payment, **command.arguments())

    def close_claim(
        self, claim_id: UUID, command: CloseClaim, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """结案: close a paid, rejected (notice sent) or withdrawn claim."""
        return self.run(claim_id, by, expected_version, Claim.close, **command.arguments())

    def reopen(
        self, claim_id: UUID, command: ReopenClaim, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Reopen a closed claim, with the reason."""
        return self.run(claim_id, by, expected_version, Claim.reopen, **command.arguments())

    def withdraw(
        self, claim_id: UUID, command: WithdrawClaim, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Record the claimant's withdrawal of an open claim."""
        return self.run(claim_id, by, expected_version, Claim.withdraw, **command.arguments())
