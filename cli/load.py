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
from domain.claim import Claim, ClaimOutcome
from domain.complaint import ComplaintOutcome, Complexity, Remedy
from domain.policy import ExplanationMethod, Line, Policy, UnderwritingDecision
from infra.bootstrap import System
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
        policies.submit_proposal(
            by(SELLER),
            policy_id=policy_id,
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
            exclusion_clause_ids=exclusions,
            seller_registration_no=SELLER_REGISTRATION,
            channel=self.rng.choice(["agency", "bank", "online"]),
        )
        self.report.policies.append(policy_id)
        yield
        policies.run(policy_id, by(CLERK), None, Policy.check_proposal)
        yield
        policies.run(policy_id, by(CLERK), None, Policy.enter_data, form_ref="FORM-L")
        yield
        policies.run(policy_id, by(CHECKER), None, Policy.verify_entry)
        yield
        policies.run(
            policy_id,
            by(SELLER),
            None,
            Policy.record_disclosure,
            questions=("smoker?",),
            answers=("no",),
            answered_by="王芳",
        )
        yield
        policies.run(
            policy_id,
            by(SELLER),
            None,
            Policy.record_exclusions_explained,
            clause_ids=exclusions,
            method=ExplanationMethod.WRITTEN,
            evidence_ref="SIGNED-L",
            acknowledged_by="王芳",
        )
        yield
        policies.run(policy_id, by(UNDERWRITER), None, Policy.rate_risk, risk_class="standard")
        yield
        roll = self.rng.random()
        if line is not Line.MOTOR_CTPL and roll < 0.08:
            policies.run(
                policy_id,
                by(UNDERWRITER),
                None,
                Policy.decide_underwriting,
                decision=UnderwritingDecision.DECLINED,
                reasons=("risk outside appetite",),
            )
            return
        if line is not Line.MOTOR_CTPL and roll < 0.2:
            policies.run(
                policy_id,
                by(UNDERWRITER),
                None,
                Policy.decide_underwriting,
                decision=UnderwritingDecision.CONDITIONAL,
                reasons=("medical history",),
                conditions=("exclusion rider: back pain",),
            )
            yield
            if self.rng.random() < 0.3:
                policies.run(
                    policy_id, by(SELLER), None, Policy.reject_conditional_offer, reason="rider not accepted"
                )
                return
            policies.run(
                policy_id,
                by(SELLER),
                None,
                Policy.accept_conditional_offer,
                accepted_by="王芳",
                evidence_ref="ACCEPT-L",
            )
        else:
            policies.run(
                policy_id,
                by(UNDERWRITER),
                None,
                Policy.decide_underwriting,
                decision=UnderwritingDecision.STANDARD,
            )
        yield
        policies.run(policy_id, by(CLERK), None, Policy.prepare_documents, documents=("policy", "clauses"))
        yield
        policies.run(policy_id, by(CHECKER), None, Policy.seal_documents, seal_ref="SEAL-L")
        yield
        policies.run(
            policy_id,
            by(SYSTEM),
            None,
            Policy.receive_premium,
            amount_fen=premium,
            method="bank",
            receipt_no=f"R-{policy_id.hex[:6]}",
        )
        yield
        today = self.now().astimezone(SHANGHAI).date()
        policies.run(
            policy_id,
            by(UNDERWRITER),
            None,
            Policy.issue,
            policy_no=f"P{policy_id.hex[:12].upper()}",
            effective_from=today - timedelta(days=1),
            effective_to=today + timedelta(days=30 * term),
            terms_version="2026-01",
        )
        self.in_force.append(policy_id)
        yield
        policies.run(
            policy_id, by(SELLER), None, Policy.acknowledge_receipt, received_on=today, method="e-receipt"
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
        claims.report_claim(
            by(HANDLER),
            claim_id=claim_id,
            policy_id=self.rng.choice(self.in_force),
            loss_at=self.now() - timedelta(minutes=self.rng.randrange(1, 600)),
            reporter_name="王芳",
            reporter_phone="13900139000",
            cause=self.rng.choice(["collision", "theft", "hail", "illness"]),
            description="reported by phone",
            channel="hotline 95500",
        )
        self.report.claims.append(claim_id)
        yield
        claims.run(
            claim_id,
            by(HANDLER),
            None,
            Claim.register,
            claim_no=f"LP{claim_id.hex[:10].upper()}",
            coverages=("main cover",),
            reserve_fen=500_000,
        )
        yield
        if self.rng.random() < 0.05:
            claims.run(claim_id, by(HANDLER), None, Claim.withdraw, reason="settled privately")
            return
        claims.run(
            claim_id, by(SURVEYOR), None, Claim.record_survey, findings="consistent", liability_view="covered"
        )
        yield
        if self.rng.random() < 0.15:
            claims.run(
                claim_id,
                by(REVIEWER),
                None,
                Claim.decide,
                outcome=ClaimOutcome.NOT_COVERED,
                reasons=("exclusion: drunk driving",),
            )
            yield
            claims.run(
                claim_id,
                by(HANDLER),
                None,
                Claim.send_rejection_notice,
                reasons=("exclusion: drunk driving",),
                notice_ref=f"REJ-{claim_id.hex[:6]}",
                channel="letter",
            )
            yield
            claims.run(claim_id, by(HANDLER), None, Claim.close)
            return
        assessed = self.rng.randrange(50_000, 400_000)
        claims.run(
            claim_id, by(SURVEYOR), None, Claim.assess_loss, items=("parts", "labour"), amount_fen=assessed
        )
        yield
        claims.run(
            claim_id,
            by(HANDLER),
            None,
            Claim.request_documents,
            required_docs=("invoice", "id card"),
            notice_ref=f"N22-{claim_id.hex[:6]}",
        )
        yield
        if self.rng.random() < 0.1:
            claims.run(
                claim_id,
                by(HANDLER),
                None,
                Claim.request_documents,
                required_docs=("medical report",),
                notice_ref=f"N22B-{claim_id.hex[:6]}",
                new_facts=True,
                reason="injury found at survey",
            )
            yield
            claims.run(claim_id, by(HANDLER), None, Claim.receive_document, doc_type="medical report")
            yield
        for doc in ("invoice", "id card"):
            claims.run(claim_id, by(HANDLER), None, Claim.receive_document, doc_type=doc)
            yield
        claims.run(claim_id, by(HANDLER), None, Claim.complete_documents)
        yield
        claims.run(
            claim_id,
            by(ADJUSTER),
            None,
            Claim.adjust,
            proposed_amount_fen=assessed,
            deductible_fen=0,
            calculation="assessed amount",
        )
        yield
        partial = self.rng.random() < 0.2
        approved = assessed // 2 if partial else assessed
        claims.run(claim_id, by(REVIEWER), None, Claim.review, approved_amount_fen=approved)
        yield
        if partial:
            claims.run(
                claim_id,
                by(REVIEWER),
                None,
                Claim.decide,
                outcome=ClaimOutcome.PARTIAL,
                reasons=("half the damage predates the policy",),
            )
        else:
            claims.run(claim_id, by(REVIEWER), None, Claim.decide, outcome=ClaimOutcome.COVERED)
        yield
        claims.run(
            claim_id,
            by(HANDLER),
            None,
            Claim.agree_settlement,
            amount_fen=approved,
            payee_name="王芳",
            payee_account="6222020200998877665",
        )
        yield
        claims.run(
            claim_id,
            by(HANDLER),
            None,
            Claim.issue_payment,
            amount_fen=approved,
            reference=f"PAY-{claim_id.hex[:6]}",
        )
        yield
        claims.run(claim_id, by(HANDLER), None, Claim.close)

    def complaint(self) -> Step:
        """A complaint answered in 15 days, extended to 30, paused for an appraisal, or withdrawn."""
        complaint_id = uuid4()
        lodge_sample_complaint(
            self.system,
            by(OFFICER),
            complaint_id,
            self.now() - timedelta(minutes=5),
            self.rng.choice(self.in_force) if self.in_force else uuid4(),
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
