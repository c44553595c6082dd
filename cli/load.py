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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from cli.scenarios import (
    HANDLER,
    HANDLING_OFFICER,
    OFFICER,
    PRODUCTS,
    REVIEWER,
    SELLER,
    SURVEYOR,
    UNDERWRITER,
    WANG_FANG,
    Steps,
    adjust_claim,
    agree_settlement,
    by,
    documents_received_steps,
    documents_request_steps,
    handling_steps,
    issuance_steps,
    lodge_sample_complaint,
    payment_steps,
    proposal_steps,
    refusal_steps,
    register_claim,
    register_demo_seller,
    report_claim,
    respond_to_complaint,
    review_claim,
)
from domain.base import SHANGHAI, DomainError
from domain.claim import ClaimOutcome
from domain.complaint import ComplaintOutcome, Complexity
from domain.policy import Line, UnderwritingDecision
from infra.bootstrap import System
from infra.services.claims import (
    AssessLoss,
    CloseClaim,
    DecideClaim,
    ReceiveClaimApplication,
    ReceiveDocument,
    RecordSurvey,
    RequestDocuments,
    WithdrawClaim,
)
from infra.services.complaints import (
    ClassifyComplaint,
    CloseComplaint,
    CompleteAppraisal,
    ExtendComplaint,
    StartAppraisal,
    WithdrawComplaint,
)
from infra.services.policies import (
    AcceptConditionalOffer,
    AcknowledgeReceipt,
    DecideUnderwriting,
    RejectConditionalOffer,
)
from infra.store.eventstore import ConcurrencyConflictError


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

    def policy(self) -> Steps:
        """A proposal to issue, or to a decline or a rejected conditional offer."""
        policies = self.system.policies
        line = self.rng.choice([Line.LIFE, Line.MOTOR_COMMERCIAL, Line.MOTOR_COMMERCIAL, Line.MOTOR_CTPL])
        product = PRODUCTS[line]
        policy_id = uuid4()
        proposal = proposal_steps(
            self.system,
            policy_id,
            line,
            product,
            customer_id=f"CUST-{self.rng.randrange(10_000):05d}",
            person=WANG_FANG,
            sum_insured_fen=self.rng.choice([20_000_000, 50_000_000, 100_000_000]),
            channel=self.rng.choice(["agency", "bank", "online"]),
        )
        next(proposal)  # submitted: a case of the report's from here on
        self.report.policies.append(policy_id)
        yield
        yield from proposal
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
        today = self.now().astimezone(SHANGHAI).date()
        # Cover from yesterday: the load's claims report losses up to ten hours back.
        yield from issuance_steps(self.system, policy_id, product, effective_from=today - timedelta(days=1))
        self.in_force.append(policy_id)
        yield
        policies.acknowledge_receipt(
            policy_id, AcknowledgeReceipt(received_on=today, method="e-receipt"), by(SELLER)
        )

    def claim(self) -> Steps:
        """A claim to payment, to a rejection with its notice, or withdrawn."""
        if not self.in_force:
            # A claim needs a policy in force: the first claims of a load bring their policies along.
            yield from self.policy()
            if not self.in_force:
                return
        claims = self.system.claims
        claim_id = uuid4()
        report_claim(
            self.system,
            claim_id,
            self.rng.choice(self.in_force),
            loss_at=self.now() - timedelta(minutes=self.rng.randrange(1, 600)),
            cause=self.rng.choice(["collision", "theft", "hail", "illness"]),
            description="reported by phone",
            person=WANG_FANG,
        )
        self.report.claims.append(claim_id)
        yield
        register_claim(self.system, claim_id, coverages=["main cover"], reserve_fen=500_000)
        yield
        if self.rng.random() < 0.05:
            claims.withdraw(claim_id, WithdrawClaim(reason="settled privately"), by(HANDLER))
            return
        claims.record_survey(
            claim_id, RecordSurvey(findings="consistent", liability_view="covered"), by(SURVEYOR)
        )
        yield
        if self.rng.random() < 0.15:
            yield from refusal_steps(
                self.system, claim_id, ClaimOutcome.NOT_COVERED, ["exclusion: drunk driving"]
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
        yield from documents_request_steps(
            self.system, claim_id, ["invoice", "id card"], delivered_at=self.now()
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
        yield from documents_received_steps(
            self.system, claim_id, ["invoice", "id card"], received_at=self.now()
        )
        yield
        adjust_claim(self.system, claim_id, assessed_fen=assessed, deductible_fen=0)
        yield
        partial = self.rng.random() < 0.2
        approved = assessed // 2 if partial else assessed
        review_claim(self.system, claim_id, approved)
        yield
        if partial:
            yield from refusal_steps(
                self.system, claim_id, ClaimOutcome.PARTIAL, ["half the damage predates the policy"]
            )
        else:
            claims.decide(claim_id, DecideClaim(outcome=ClaimOutcome.COVERED), by(REVIEWER))
        yield
        agree_settlement(self.system, claim_id, approved, WANG_FANG)
        yield
        yield from payment_steps(self.system, claim_id, approved)

    def complaint(self) -> Steps:
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
        yield from handling_steps(self.system, complaint_id, [HANDLER[1]])
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
        respond_to_complaint(
            self.system,
            complaint_id,
            decision="explained and settled",
            basis="policy terms",
            verified="file reviewed",
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
    running: list[Steps] = []
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
