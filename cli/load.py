"""`caseledger demo load`: realistic policy, claim and complaint lifecycles, interleaved, at a steady rate.

Each case is a script: a generator that performs one command per step. The driver keeps many scripts in
flight and takes one step at a time from a randomly chosen one, paced to the requested commands per second,
so the store sees the interleaving it sees in production. The mix (declines, conditional offers, documents
asked twice on new facts, rejections with notices, partial cover, complaint extensions, appraisals and
withdrawals) is drawn from a seeded generator, so a load is repeatable.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from cli.demo import (
    ADJUSTER,
    CHECKER,
    CLERK,
    HANDLER,
    HANDLING_OFFICER,
    OFFICER,
    REVIEWER,
    SELLER,
    SELLER_REGISTRATION,
    SURVEYOR,
    SYSTEM,
    UNDERWRITER,
    by,
    lodge_sample_complaint,
    register_demo_seller,
)
from domain.base import SHANGHAI, DomainError
from domain.claim import ClaimOutcome
from domain.complaint import ComplaintOutcome, Complexity, Remedy
from domain.policy import ExplanationMethod, Line, UnderwritingDecision
from infra.bootstrap import System
from infra.services.claims import (
    AdjustClaim,
    AgreeSettlement,
    AssessLoss,
    CloseClaim,
    CompleteDocuments,
    DecideClaim,
    IssuePayment,
    ReceiveClaimApplication,
    ReceiveDocument,
    RecordRequestDelivery,
    RecordSurvey,
    RegisterClaim,
    ReportClaim,
    RequestDocuments,
    ReviewClaim,
    SendRejectionNotice,
    WithdrawClaim,
)
from infra.services.complaints import (
    AcknowledgeComplaint,
    AssignComplaint,
    ClassifyComplaint,
    CloseComplaint,
    CompleteAppraisal,
    ExtendComplaint,
    RespondToComplaint,
    StartAppraisal,
    WithdrawComplaint,
)
from infra.services.policies import (
    AcceptConditionalOffer,
    AcknowledgeReceipt,
    CheckProposal,
    DecideUnderwriting,
    EnterProposalData,
    IssuePolicy,
    PrepareDocuments,
    RateRisk,
    ReceivePremium,
    RecordDisclosure,
    RecordExclusionsExplained,
    RejectConditionalOffer,
    SealDocuments,
    SubmitProposal,
    VerifyEntry,
)
from infra.store.eventstore import ConcurrencyConflictError

Step = Iterator[None]

PRODUCTS = {
    Line.LIFE: ("LIFE-WL-20", 240, 1_200_000),
    Line.MOTOR_COMMERCIAL: ("MOTOR-COMM-2026", 12, 480_000),
    Line.MOTOR_CTPL: ("CTPL-2026", 12, 95_000),
}


@dataclass
class LoadReport:
    """What a load did: commands run, refusals met (expected by the scripts), cases opened."""

    commands: int = 0
    refusals: dict[str, int] = field(default_factory=dict)
    policies: list[UUID] = field(default_factory=list)
    claims: list[UUID] = field(default_factory=list)
    complaints: list[UUID] = field(default_factory=list)
    seconds: float = 0.0


class LoadScripts:
    """The case scripts; every yield is one command sent through the application services."""

    def __init__(self, system: System, rng: random.Random, report: LoadReport) -> None:
        self.system = system
        self.rng = rng
        self.report = report
        self.in_force: list[UUID] = []

    def now(self) -> datetime:
        return self.system.clock.now()

    def policy(self) -> Step:
        """A proposal to issue, or to a decline or a rejected conditional offer."""
        policies = self.system.policies
        line = self.rng.choice([Line.LIFE, Line.MOTOR_COMMERCIAL, Line.MOTOR_COMMERCIAL, Line.MOTOR_CTPL])
        product, term, premium = PRODUCTS[line]
        policy_id = uuid4()
        exclusions = ("EXCL-WAR",) if line is Line.LIFE else ("EXCL-DRUNK-DRIVING",)
        policies.submit(
            SubmitProposal(
                proposal_no=f"TB{policy_id.hex[:10].upper()}",
                product_code=product,
                line=line,
                customer_id=f"CUST-{self.rng.randrange(10_000):05d}",
                applicant_name="王芳",
                applicant_id_number="310101198512120021",
                applicant_phone="13900139000",
                insured_name="王芳",
                sum_insured_fen=self.rng.choice([20_000_000, 50_000_000, 100_000_000]),
                term_months=term,
                quoted_premium_fen=premium,
                exclusion_clause_ids=list(exclusions),
                seller_registration_no=SELLER_REGISTRATION,
                channel=self.rng.choice(["agency", "bank", "online"]),
            ),
            by(SELLER),
            policy_id=policy_id,
        )
        self.report.policies.append(policy_id)
        yield
        policies.check_proposal(policy_id, CheckProposal(), by(CLERK))
        yield
        policies.enter_data(policy_id, EnterProposalData(form_ref="FORM-L"), by(CLERK))
        yield
        policies.verify_entry(policy_id, VerifyEntry(), by(CHECKER))
        yield
        policies.record_disclosure(
            policy_id,
            RecordDisclosure(questions=["smoker?"], answers=["no"], answered_by="王芳"),
            by(SELLER),
        )
        yield
        policies.record_exclusions_explained(
            policy_id,
            RecordExclusionsExplained(
                clause_ids=list(exclusions),
                method=ExplanationMethod.WRITTEN,
                evidence_ref="SIGNED-L",
                acknowledged_by="王芳",
            ),
            by(SELLER),
        )
        yield
        policies.rate_risk(policy_id, RateRisk(risk_class="standard"), by(UNDERWRITER))
        yield
        roll = self.rng.random()
        if line is not Line.MOTOR_CTPL and roll < 0.08:
            policies.decide_underwriting(
                policy_id,
                DecideUnderwriting(decision=UnderwritingDecision.DECLINED, reasons=["risk outside appetite"]),
                by(UNDERWRITER),
            )
            return
        if line is not Line.MOTOR_CTPL and roll < 0.2:
            policies.decide_underwriting(
                policy_id,
                DecideUnderwriting(
                    decision=UnderwritingDecision.CONDITIONAL,
                    reasons=["medical history"],
                    conditions=["exclusion rider: back pain"],
                ),
                by(UNDERWRITER),
            )
            yield
            if self.rng.random() < 0.3:
                policies.reject_conditional_offer(
                    policy_id, RejectConditionalOffer(reason="rider not accepted"), by(SELLER)
                )
                return
            policies.accept_conditional_offer(
                policy_id, AcceptConditionalOffer(accepted_by="王芳", evidence_ref="ACCEPT-L"), by(SELLER)
            )
        else:
            policies.decide_underwriting(
                policy_id, DecideUnderwriting(decision=UnderwritingDecision.STANDARD), by(UNDERWRITER)
            )
        yield
        policies.prepare_documents(policy_id, PrepareDocuments(documents=["policy", "clauses"]), by(CLERK))
        yield
        policies.seal_documents(policy_id, SealDocuments(seal_ref="SEAL-L"), by(CHECKER))
        yield
        policies.receive_premium(
            policy_id,
            ReceivePremium(amount_fen=premium, method="bank", receipt_no=f"R-{policy_id.hex[:6]}"),
            by(SYSTEM),
        )
        yield
        today = self.now().astimezone(SHANGHAI).date()
        policies.issue(
            policy_id,
            IssuePolicy(
                policy_no=f"P{policy_id.hex[:12].upper()}",
                effective_from=today - timedelta(days=1),
                effective_to=today + timedelta(days=30 * term),
                terms_version="2026-01",
            ),
            by(UNDERWRITER),
        )
        self.in_force.append(policy_id)
        yield
        policies.acknowledge_receipt(
            policy_id, AcknowledgeReceipt(received_on=today, method="e-receipt"), by(SELLER)
        )

    def claim(self) -> Step:
        """A claim to payment, to a rejection with its notice, or withdrawn."""
        if not self.in_force:
            # A claim needs a policy in force: the first claims of a load bring their policies along.
            yield from self.policy()
            if not self.in_force:
                return
        claims = self.system.claims
        claim_id = uuid4()
        claims.report(
            ReportClaim(
                policy_id=self.rng.choice(self.in_force),
                loss_at=self.now() - timedelta(minutes=self.rng.randrange(1, 600)),
                reporter_name="王芳",
                reporter_phone="13900139000",
                cause=self.rng.choice(["collision", "theft", "hail", "illness"]),
                description="reported by phone",
                channel="hotline 95500",
            ),
            by(HANDLER),
            claim_id=claim_id,
        )
        self.report.claims.append(claim_id)
        yield
        claims.register(
            claim_id,
            RegisterClaim(
                claim_no=f"LP{claim_id.hex[:10].upper()}", coverages=["main cover"], reserve_fen=500_000
            ),
            by(HANDLER),
        )
        yield
        if self.rng.random() < 0.05:
            claims.withdraw(claim_id, WithdrawClaim(reason="settled privately"), by(HANDLER))
            return
        claims.record_survey(
            claim_id, RecordSurvey(findings="consistent", liability_view="covered"), by(SURVEYOR)
        )
        yield
        if self.rng.random() < 0.15:
            claims.decide(
                claim_id,
                DecideClaim(outcome=ClaimOutcome.NOT_COVERED, reasons=["exclusion: drunk driving"]),
                by(REVIEWER),
            )
            yield
            claims.send_rejection_notice(
                claim_id,
                SendRejectionNotice(
                    reasons=["exclusion: drunk driving"],
                    notice_ref=f"REJ-{claim_id.hex[:6]}",
                    channel="letter",
                ),
                by(HANDLER),
            )
            yield
            claims.close_claim(claim_id, CloseClaim(), by(HANDLER))
            return
        assessed = self.rng.randrange(50_000, 400_000)
        claims.assess_loss(claim_id, AssessLoss(items=["parts", "labour"], amount_fen=assessed), by(SURVEYOR))
        yield
        claims.receive_application(
            claim_id, ReceiveClaimApplication(received_at=self.now(), documents=["claim form"]), by(HANDLER)
        )
        yield
        claims.request_documents(
            claim_id,
            RequestDocuments(required_docs=["invoice", "id card"], notice_ref=f"N22-{claim_id.hex[:6]}"),
            by(HANDLER),
        )
        yield
        claims.record_request_delivery(
            claim_id,
            RecordRequestDelivery(delivered_at=self.now(), notice_ref=f"N22-{claim_id.hex[:6]}"),
            by(HANDLER),
        )
        yield
        if self.rng.random() < 0.1:
            claims.request_documents(
                claim_id,
                RequestDocuments(
                    required_docs=["medical report"],
                    notice_ref=f"N22B-{claim_id.hex[:6]}",
                    new_facts=True,
                    reason="injury found at survey",
                ),
                by(HANDLER),
            )
            yield
            claims.receive_document(
                claim_id, ReceiveDocument(doc_type="medical report", received_at=self.now()), by(HANDLER)
            )
            yield
        for doc in ("invoice", "id card"):
            claims.receive_document(
                claim_id, ReceiveDocument(doc_type=doc, received_at=self.now()), by(HANDLER)
            )
            yield
        claims.complete_documents(claim_id, CompleteDocuments(), by(HANDLER))
        yield
        claims.adjust(
            claim_id,
            AdjustClaim(proposed_amount_fen=assessed, deductible_fen=0, calculation="assessed amount"),
            by(ADJUSTER),
        )
        yield
        partial = self.rng.random() < 0.2
        approved = assessed // 2 if partial else assessed
        claims.review(claim_id, ReviewClaim(approved_amount_fen=approved), by(REVIEWER))
        yield
        if partial:
            claims.decide(
                claim_id,
                DecideClaim(outcome=ClaimOutcome.PARTIAL, reasons=["half the damage predates the policy"]),
                by(REVIEWER),
            )
            yield
            # Art. 24: the part refused gets its written notice too.
            claims.send_rejection_notice(
                claim_id,
                SendRejectionNotice(
                    reasons=["half the damage predates the policy"],
                    notice_ref=f"REJ-P-{claim_id.hex[:6]}",
                    channel="letter",
                ),
                by(HANDLER),
            )
        else:
            claims.decide(claim_id, DecideClaim(outcome=ClaimOutcome.COVERED), by(REVIEWER))
        yield
        claims.agree_settlement(
            claim_id,
            AgreeSettlement(amount_fen=approved, payee_name="王芳", payee_account="6222020200998877665"),
            by(HANDLER),
        )
        yield
        claims.issue_payment(
            claim_id, IssuePayment(amount_fen=approved, reference=f"PAY-{claim_id.hex[:6]}"), by(HANDLER)
        )
        yield
        claims.close_claim(claim_id, CloseClaim(), by(HANDLER))

    def complaint(self) -> Step:
        """A complaint answered in 15 days, extended to 30, paused for an appraisal, or withdrawn."""
        if not self.in_force:
            # A complaint is assigned only about a policy on record (回避): the first ones bring theirs along.
            yield from self.policy()
            if not self.in_force:
                return
        complaint_id = uuid4()
        lodge_sample_complaint(
            self.system,
            by(OFFICER),
            complaint_id,
            self.now() - timedelta(minutes=5),
            self.rng.choice(self.in_force),
        )
        self.report.complaints.append(complaint_id)
        yield
        self.system.complaints.acknowledge(complaint_id, AcknowledgeComplaint(channel="sms"), by(OFFICER))
        yield
        self.system.complaints.assign(
            complaint_id,
            AssignComplaint(handler_id=HANDLING_OFFICER[1], involved_staff=[HANDLER[1]]),
            by(OFFICER),
        )
        yield
        if self.rng.random() < 0.07:
            self.system.complaints.withdraw(
                complaint_id, WithdrawComplaint(reason="resolved by phone"), by(OFFICER)
            )
            return
        complex_case = self.rng.random() < 0.3
        self.system.complaints.classify(
            complaint_id,
            ClassifyComplaint(complexity=Complexity.COMPLEX if complex_case else Complexity.SIMPLE),
            by(HANDLING_OFFICER),
        )
        yield
        if complex_case:
            self.system.complaints.extend(
                complaint_id,
                ExtendComplaint(to_days=30, reason="facts must be checked with the garage"),
                by(HANDLING_OFFICER),
            )
            yield
            if self.rng.random() < 0.3:
                self.system.complaints.start_appraisal(
                    complaint_id,
                    StartAppraisal(
                        provider="independent assessor",
                        purpose="repair price",
                        customer_notified_at=self.now(),
                    ),
                    by(HANDLING_OFFICER),
                )
                yield
                self.system.complaints.complete_appraisal(
                    complaint_id,
                    CompleteAppraisal(result_summary="price within market range"),
                    by(HANDLING_OFFICER),
                )
                yield
        self.system.complaints.respond(
            complaint_id,
            RespondToComplaint(
                decision="explained and settled",
                verification_summary="file reviewed",
                basis="policy terms",
                remedies=[Remedy.REVIEW, Remedy.MEDIATION, Remedy.LITIGATION],
                channel="letter",
                delivered_at=self.now(),
            ),
            by(HANDLING_OFFICER),
        )
        yield
        self.system.complaints.close_complaint(
            complaint_id,
            CloseComplaint(outcome=self.rng.choice([ComplaintOutcome.UPHELD, ComplaintOutcome.NOT_UPHELD])),
            by(HANDLING_OFFICER),
        )


def run_load(
    system: System,
    cases: int,
    rate: float,
    seed: int = 7,
    concurrency: int = 50,
    on_command: Callable[[int], None] | None = None,
) -> LoadReport:
    """Drive ``cases`` case scripts (about half policies, a third claims, the rest complaints) at ``rate``."""
    rng = random.Random(seed)  # noqa: S311 - a repeatable traffic mix, not a secret
    report = LoadReport()
    scripts = LoadScripts(system, rng, report)
    register_demo_seller(system, system.clock.now().astimezone(SHANGHAI).date())
    kinds = [scripts.policy] * 5 + [scripts.claim] * 3 + [scripts.complaint] * 2
    to_start = cases
    running: list[Step] = []
    interval = 1.0 / rate if rate > 0 else 0.0
    started = time.perf_counter()
    next_at = started
    while to_start or running:
        while to_start and len(running) < concurrency:
            running.append(rng.choice(kinds)())
            to_start -= 1
        script = rng.choice(running)
        try:
            next(script)
        except StopIteration:
            # Every script ends on a command (it returns right after its last one): count and pace it too.
            running.remove(script)
        except (DomainError, ConcurrencyConflictError) as refusal:  # a refused step ends its script only
            name = type(refusal).__name__
            report.refusals[name] = report.refusals.get(name, 0) + 1
            running.remove(script)
            continue
        report.commands += 1
        if on_command is not None:
            on_command(report.commands)
        if interval:
            next_at += interval
            delay = next_at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
    report.seconds = time.perf_counter() - started
    return report
