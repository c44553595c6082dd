"""`caseledger up --demo`: realistic cases driven through their whole lifecycles, then printed event by event.

The same story drivers serve the integration tests and the benchmark, so what the demo shows is what the
tests prove. The story is told on a controlled clock: it starts some weeks back, so a cooling-off period
can run out and a claim can age, while every recorded time is still the server's (simulated) time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from uuid import UUID, uuid4

from domain.base import SHANGHAI, Actor, DomainEvent, Role
from domain.callback import AttemptOutcome, CallbackChannel, CallbackType, NewPolicyCheck
from domain.claim import ClaimOutcome
from domain.complaint import (
    ComplaintCategory,
    ComplaintChannel,
    ComplaintOutcome,
    Complexity,
    Remedy,
    SubjectKind,
)
from domain.policy import ExplanationMethod, Line, SellerRegistration, UnderwritingDecision
from infra.bootstrap import System
from infra.clock import ControlledClock, SystemClock
from infra.services.callbacks import AttemptCallback, CompleteCallback, CreateCallbackTask
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
)
from infra.services.complaints import (
    AcknowledgeComplaint,
    AssignComplaint,
    ClassifyComplaint,
    CloseComplaint,
    ExtendComplaint,
    LodgeComplaint,
    RespondToComplaint,
    SubjectRefBody,
)
from infra.services.policies import (
    AcknowledgeReceipt,
    CheckProposal,
    DecideUnderwriting,
    EndCoolingOff,
    EnterProposalData,
    IssuePolicy,
    PrepareDocuments,
    RateRisk,
    ReceivePremium,
    RecordDisclosure,
    RecordExclusionsExplained,
    SealDocuments,
    SubmitProposal,
    VerifyEntry,
)
from infra.store.eventstore import Caller, CommandResult

SELLER_REGISTRATION = "02000133000080002025000123"


def staff(role: Role, name: str) -> Caller:
    """A member of staff acting in ``role``, in a request of their own."""
    return Caller(Actor(id=name, role=role), correlation_id=uuid4())


SELLER = Role.SELLER, "li.na.seller"
CLERK = Role.UNDERWRITER, "zhao.lei.entry"
CHECKER = Role.UNDERWRITER, "sun.li.checker"
UNDERWRITER = Role.UNDERWRITER, "wang.fang.uw"
HANDLER = Role.CLAIMS_HANDLER, "chen.jie.claims"
SURVEYOR = Role.SURVEYOR, "liu.yang.survey"
ADJUSTER = Role.ADJUSTER, "huang.min.adjust"
REVIEWER = Role.CLAIM_REVIEWER, "zhou.hui.review"
OFFICER = Role.COMPLAINTS_OFFICER, "wu.xia.complaints"
HANDLING_OFFICER = Role.COMPLAINTS_OFFICER, "zheng.qiang.complaints"
SYSTEM = Role.SYSTEM, "caseledger"
CALLBACK_AGENT = Role.CALLBACK_AGENT, "he.ping.callback"


def by(who: tuple[Role, str]) -> Caller:
    return staff(*who)


def register_demo_seller(system: System, on: date) -> None:
    """The seller's practice registration, authorised for the demo products."""
    system.sellers.register(
        SellerRegistration(
            registration_no=SELLER_REGISTRATION,
            seller_id=SELLER[1],
            valid_from=on - timedelta(days=365),
            valid_to=on + timedelta(days=3 * 365),
            authorised_products=frozenset({"LIFE-WL-20", "MOTOR-COMM-2026", "CTPL-2026"}),
        )
    )


def next_morning(clock: ControlledClock) -> None:
    """Move the clock to 09:30 Shanghai on the next day: staff work office hours."""
    tomorrow = clock.now().astimezone(SHANGHAI).date() + timedelta(days=1)
    clock.set(datetime.combine(tomorrow, time(9, 30), SHANGHAI))


def _today(system: System) -> date:
    return system.clock.now().astimezone(SHANGHAI).date()


def issue_policy(
    system: System, *, line: Line, product_code: str, term_months: int, premium_fen: int
) -> UUID:
    """Take a proposal through 录单, 投保告知, 核保, 承保决策, 缮制单证, 复核签章 and 收取保费 to issue."""
    policies = system.policies
    policy_id = uuid4()
    exclusions = ("EXCL-WAR", "EXCL-FRAUD") if line is Line.LIFE else ("EXCL-DRUNK-DRIVING",)
    policies.submit(
        SubmitProposal(
            proposal_no=f"TB{policy_id.hex[:10].upper()}",
            product_code=product_code,
            line=line,
            customer_id=f"CUST-{policy_id.hex[:8]}",
            applicant_name="张伟",
            applicant_id_number="110101199003071234",
            applicant_phone="13800138000",
            insured_name="张伟",
            beneficiary_names=list(("李娜",) if line is Line.LIFE else ()),
            sum_insured_fen=50_000_000,
            term_months=term_months,
            quoted_premium_fen=premium_fen,
            exclusion_clause_ids=list(exclusions),
            seller_registration_no=SELLER_REGISTRATION,
            channel="agency",
        ),
        by(SELLER),
        policy_id=policy_id,
    )
    policies.check_proposal(policy_id, CheckProposal(), by(CLERK))
    policies.enter_data(policy_id, EnterProposalData(form_ref="FORM-0001"), by(CLERK))
    policies.verify_entry(policy_id, VerifyEntry(), by(CHECKER))
    policies.record_disclosure(
        policy_id,
        RecordDisclosure(questions=["hypertension?", "smoker?"], answers=["no", "no"], answered_by="张伟"),
        by(SELLER),
    )
    policies.record_exclusions_explained(
        policy_id,
        RecordExclusionsExplained(
            clause_ids=list(exclusions),
            method=ExplanationMethod.WRITTEN,
            evidence_ref="SIGNED-EXCL-0001",
            acknowledged_by="张伟",
        ),
        by(SELLER),
    )
    policies.rate_risk(
        policy_id, RateRisk(risk_class="standard", factors=["age 36", "non-smoker"]), by(UNDERWRITER)
    )
    policies.decide_underwriting(
        policy_id, DecideUnderwriting(decision=UnderwritingDecision.STANDARD), by(UNDERWRITER)
    )
    policies.prepare_documents(
        policy_id, PrepareDocuments(documents=["policy", "clauses", "payment notice"]), by(CLERK)
    )
    policies.seal_documents(policy_id, SealDocuments(seal_ref="SEAL-0001"), by(CHECKER))
    policies.receive_premium(
        policy_id, ReceivePremium(amount_fen=premium_fen, method="bank", receipt_no="R-01"), by(SYSTEM)
    )
    today = _today(system)
    policies.issue(
        policy_id,
        IssuePolicy(
            policy_no=f"P{policy_id.hex[:12].upper()}",
            effective_from=today,
            effective_to=today + timedelta(days=30 * term_months),
            terms_version="2026-01",
        ),
        by(UNDERWRITER),
    )
    return policy_id


@dataclass
class DemoCases:
    life_policy_id: UUID
    motor_policy_id: UUID
    claim_id: UUID
    complaint_id: UUID
    callback_task_id: UUID
    open_work: tuple[OpenCase, ...] = ()


@dataclass(frozen=True)
class OpenCase:
    """A case the demo leaves open for the worklist, and where it stands."""

    context: str
    case_id: UUID
    stands: str


def life_policy_story(system: System, clock: ControlledClock) -> tuple[UUID, UUID]:
    """A 20-year life policy: issued, received, called back inside cooling-off, cooling-off over."""
    policy_id = issue_policy(
        system, line=Line.LIFE, product_code="LIFE-WL-20", term_months=240, premium_fen=1_200_000
    )
    clock.advance(timedelta(days=2))
    received_on = _today(system)
    result = system.policies.acknowledge_receipt(
        policy_id, AcknowledgeReceipt(received_on=received_on, method="e-receipt"), by(SELLER)
    )
    receipt = system.policies.history(policy_id)[-1]
    policy = system.policies.load(policy_id)
    # The end the policy recorded (its last day rolled past a holiday): its guard and timer read it too.
    cooling_off_end = policy.cooling_off_end
    assert cooling_off_end is not None
    task = system.callbacks.create_task(
        CreateCallbackTask(
            task_type=CallbackType.NEW_POLICY,
            source_event_id=receipt.event_id,
            source_case_id=policy_id,
            customer_id=policy.customer_id,
            due_by=cooling_off_end,
            seller_id=policy.seller_id,
        ),
        Caller(Actor(id=SYSTEM[1], role=Role.SYSTEM), receipt.correlation_id, receipt.event_id),
    )
    assert result.version == receipt.originator_version
    clock.advance(timedelta(days=1))
    callbacks = system.callbacks
    callbacks.attempt(
        task.case_id,
        AttemptCallback(
            channel=CallbackChannel.PHONE, outcome=AttemptOutcome.REACHED, recording_ref="REC-CB-0001"
        ),
        by(CALLBACK_AGENT),
    )
    callbacks.complete(
        task.case_id,
        CompleteCallback(answers={check.value: "yes" for check in NewPolicyCheck}),
        by(CALLBACK_AGENT),
    )
    clock.set(cooling_off_end + timedelta(hours=1))
    system.policies.end_cooling_off(policy_id, EndCoolingOff(), by(SYSTEM))
    next_morning(clock)
    return policy_id, task.case_id


def claim_story(system: System, clock: ControlledClock, policy_id: UUID) -> UUID:
    """A motor claim: reported, applied for, registered, surveyed, assessed, documents asked for (the
    request's delivery stops the Art. 23 clock until they arrive), adjusted, reviewed, paid, closed."""
    claim_id = settled_claim(system, clock, policy_id)
    clock.advance(timedelta(days=2))
    system.claims.issue_payment(claim_id, IssuePayment(amount_fen=600_000, reference="PAY-0001"), by(HANDLER))
    system.claims.close_claim(claim_id, CloseClaim(), by(HANDLER))
    return claim_id


def settled_claim(system: System, clock: ControlledClock, policy_id: UUID) -> UUID:
    """A motor claim taken to an agreed settlement, its payment still due."""
    claims = system.claims
    claim_id = uuid4()
    loss_at = clock.now() - timedelta(hours=3)
    claims.report(
        ReportClaim(
            policy_id=policy_id,
            loss_at=loss_at,
            reporter_name="张伟",
            reporter_phone="13800138000",
            cause="rear-end collision",
            description="hit from behind at a red light, rear bumper and boot lid damaged",
            channel="hotline 95500",
        ),
        by(HANDLER),
        claim_id=claim_id,
    )
    claims.receive_application(
        claim_id,
        ReceiveClaimApplication(
            received_at=clock.now() - timedelta(minutes=20), documents=["claim form", "vehicle licence"]
        ),
        by(HANDLER),
    )
    claim_no = f"LP{claim_id.hex[:10].upper()}"
    claims.register(
        claim_id,
        RegisterClaim(claim_no=claim_no, coverages=["vehicle damage"], reserve_fen=800_000),
        by(HANDLER),
    )
    claims.record_survey(
        claim_id,
        RecordSurvey(findings="damage matches the account", liability_view="third party at fault"),
        by(SURVEYOR),
    )
    claims.assess_loss(
        claim_id, AssessLoss(items=["rear bumper", "boot lid", "paint"], amount_fen=650_000), by(SURVEYOR)
    )
    claims.request_documents(
        claim_id,
        RequestDocuments(
            required_docs=["police accident report", "repair invoice", "driving licence"],
            notice_ref="NOTICE-22-01",
        ),
        by(HANDLER),
    )
    clock.advance(timedelta(days=1))
    claims.record_request_delivery(
        claim_id,
        RecordRequestDelivery(delivered_at=clock.now() - timedelta(hours=2), notice_ref="NOTICE-22-01"),
        by(HANDLER),
    )
    clock.advance(timedelta(days=3))
    for doc in ("police accident report", "repair invoice", "driving licence"):
        claims.receive_document(
            claim_id, ReceiveDocument(doc_type=doc, received_at=clock.now() - timedelta(hours=1)), by(HANDLER)
        )
    claims.complete_documents(claim_id, CompleteDocuments(), by(HANDLER))
    clock.advance(timedelta(days=1))
    claims.adjust(
        claim_id,
        AdjustClaim(
            proposed_amount_fen=600_000,
            deductible_fen=50_000,
            calculation="650,000 assessed - 50,000 deductible",
        ),
        by(ADJUSTER),
    )
    claims.review(
        claim_id, ReviewClaim(approved_amount_fen=600_000, comment="calculation checked"), by(REVIEWER)
    )
    claims.decide(claim_id, DecideClaim(outcome=ClaimOutcome.COVERED), by(REVIEWER))
    claims.agree_settlement(
        claim_id,
        AgreeSettlement(amount_fen=600_000, payee_name="张伟", payee_account="6222020200112233445"),
        by(HANDLER),
    )
    return claim_id


def complaint_story(system: System, clock: ControlledClock, policy_id: UUID) -> UUID:
    """A claims complaint: lodged, acknowledged, assigned, found complex, extended to 30 days, answered."""
    complaints = system.complaints
    complaint_id = uuid4()
    lodge_sample_complaint(system, by(OFFICER), complaint_id, clock.now(), policy_id)
    complaints.acknowledge(complaint_id, AcknowledgeComplaint(channel="sms"), by(OFFICER))
    complaints.assign(
        complaint_id,
        AssignComplaint(handler_id=HANDLING_OFFICER[1], involved_staff=[HANDLER[1], ADJUSTER[1]]),
        by(OFFICER),
    )
    complaints.classify(complaint_id, ClassifyComplaint(complexity=Complexity.COMPLEX), by(HANDLING_OFFICER))
    clock.advance(timedelta(days=10))
    complaints.extend(
        complaint_id,
        ExtendComplaint(to_days=30, reason="the repair shop's invoice must be checked with the manufacturer"),
        by(HANDLING_OFFICER),
    )
    clock.advance(timedelta(days=8))
    complaints.respond(
        complaint_id,
        RespondToComplaint(
            decision="upheld in part: the paint work is paid in addition",
            verification_summary="invoice checked with the manufacturer's price list",
            basis="policy clause 3.2; Insurance Law Art. 23",
            remedies=[Remedy.REVIEW, Remedy.MEDIATION, Remedy.LITIGATION],
            channel="letter",
            delivered_at=clock.now(),
        ),
        by(HANDLING_OFFICER),
    )
    clock.advance(timedelta(days=1))
    complaints.close_complaint(
        complaint_id, CloseComplaint(outcome=ComplaintOutcome.PARTLY_UPHELD), by(HANDLING_OFFICER)
    )
    return complaint_id


def lodge_sample_complaint(
    system: System, caller: Caller, complaint_id: UUID, received_at: datetime, subject: UUID | SubjectRefBody
) -> CommandResult:
    """Lodge a realistic claims complaint about a policy (``subject`` its case id) or another subject (the
    demo's, the benchmark's and the tests'). It is assigned only if the subject is on record (回避)."""
    if isinstance(subject, UUID):
        subject = SubjectRefBody(kind=SubjectKind.POLICY, ref=str(subject))
    return system.complaints.lodge(
        LodgeComplaint(
            received_at=received_at,
            category=ComplaintCategory.CLAIMS,
            channel=ComplaintChannel.HOTLINE,
            subject_ref=subject,
            customer_id="CUST-demo",
            complainant_name="张伟",
            complainant_phone="13800138000",
            facts="the repair estimate left out the paint work",
            demands="pay the paint work",
        ),
        caller,
        complaint_id=complaint_id,
    )


def run_demo(system: System, clock: ControlledClock) -> DemoCases:
    """Drive one life policy (with its callback), one motor policy and claim, and one complaint."""
    register_demo_seller(system, _today(system))
    life_policy_id, task_id = life_policy_story(system, clock)
    motor_policy_id = issue_policy(
        system,
        line=Line.MOTOR_COMMERCIAL,
        product_code="MOTOR-COMM-2026",
        term_months=12,
        premium_fen=480_000,
    )
    clock.advance(timedelta(days=5, hours=2))
    claim_id = claim_story(system, clock, motor_policy_id)
    complaint_id = complaint_story(system, clock, motor_policy_id)
    # The cases left open are told on the days just before now, so that when the clock then follows real
    # time their colours are the ones the story meant (never backwards: an older story keeps its own time).
    # They start the morning after the day fifteen days back (``next_morning``) and take thirteen days, so
    # they end yesterday morning whatever the hour now.
    start_day = (SystemClock().now().astimezone(SHANGHAI) - timedelta(days=OPEN_WORK_DAYS + 2)).date()
    clock.set(max(clock.now(), datetime.combine(start_day, time(12), tzinfo=SHANGHAI)))
    open_work = open_work_story(system, clock, motor_policy_id)
    # The story ends now (within the day its open work needed), so nothing falls due unseen between them.
    clock.set(max(clock.now(), SystemClock().now()))
    return DemoCases(life_policy_id, motor_policy_id, claim_id, complaint_id, task_id, open_work)


OPEN_WORK_DAYS = 13
"""How much story time the open cases span: the last one is lodged a day before the story ends."""


def open_work_story(system: System, clock: ControlledClock, policy_id: UUID) -> tuple[OpenCase, ...]:
    """Cases left open over the story's last 13 days, so that the worklist shows work of every colour.

    At the story's end: a complaint never acknowledged (its 1-working-day acknowledgement breached, its
    15-day answer at 87 %: red), a claim whose one-time documents list was never sent (breached), a
    settled claim whose payment is due within 10 days of the agreement (80 %: red), a complaint assigned
    8 days before the end (53 %: amber) and one lodged the day before (green or just due).
    """
    next_morning(clock)
    unacknowledged = uuid4()
    lodge_sample_complaint(system, by(OFFICER), unacknowledged, clock.now(), policy_id)
    unlisted = uuid4()
    system.claims.report(
        ReportClaim(
            policy_id=policy_id,
            loss_at=clock.now() - timedelta(hours=20),
            reporter_name="张伟",
            reporter_phone="13800138000",
            cause="hail",
            description="hail dents on the bonnet and roof",
            channel="app",
        ),
        by(HANDLER),
        claim_id=unlisted,
    )
    system.claims.register(
        unlisted,
        RegisterClaim(
            claim_no=f"LP{unlisted.hex[:10].upper()}", coverages=["vehicle damage"], reserve_fen=300_000
        ),
        by(HANDLER),
    )
    unpaid = settled_claim(system, clock, policy_id)
    assigned = uuid4()
    lodge_sample_complaint(system, by(OFFICER), assigned, clock.now(), policy_id)
    system.complaints.acknowledge(assigned, AcknowledgeComplaint(channel="sms"), by(OFFICER))
    system.complaints.assign(
        assigned,
        AssignComplaint(handler_id=HANDLING_OFFICER[1], involved_staff=[HANDLER[1]]),
        by(OFFICER),
    )
    clock.advance(timedelta(days=OPEN_WORK_DAYS - 6))
    lodged_yesterday = uuid4()
    lodge_sample_complaint(system, by(OFFICER), lodged_yesterday, clock.now(), policy_id)
    clock.advance(timedelta(days=1))
    return (
        OpenCase("complaint", unacknowledged, "lodged, never acknowledged"),
        OpenCase("claim", unlisted, "registered, documents list never sent"),
        OpenCase("claim", unpaid, "settlement agreed, payment due"),
        OpenCase("complaint", assigned, "acknowledged and assigned, answer due"),
        OpenCase("complaint", lodged_yesterday, "lodged yesterday"),
    )


def format_history(title: str, events: list[DomainEvent]) -> str:
    """A case's history, one line per event: version, recorded time (Shanghai), event name, actor."""
    lines = [f"\n== {title} ({len(events)} events)"]
    for event in events:
        at = event.recorded_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
        lines.append(
            f"  v{event.originator_version:<3} {at}  {type(event).__name__:<32} "
            f"{event.actor.role.value}:{event.actor.id}  [{event.TOPIC}]"
        )
    return "\n".join(lines)


def print_demo(system: System, cases: DemoCases) -> None:
    """Print every demo case's history under the events' names."""
    print(
        format_history(
            f"Policy {cases.life_policy_id} (life, 20 years)", system.policies.history(cases.life_policy_id)
        )
    )
    print(
        format_history(
            f"Callback task {cases.callback_task_id} (承保回访)",
            system.callbacks.history(cases.callback_task_id),
        )
    )
    print(
        format_history(
            f"Policy {cases.motor_policy_id} (motor)", system.policies.history(cases.motor_policy_id)
        )
    )
    print(format_history(f"Claim {cases.claim_id}", system.claims.history(cases.claim_id)))
    print(format_history(f"Complaint {cases.complaint_id}", system.complaints.history(cases.complaint_id)))
    if cases.open_work:
        print("\nLeft open for the worklist (the staff console at /console shows them):")
        for case in cases.open_work:
            print(f"  open {case.context:<10} {case.case_id}  {case.stands}")


def open_complaint(system: System, clock: ControlledClock, policy_id: UUID) -> UUID:
    """A complaint about ``policy_id`` left open (acknowledged and assigned), so its 15-day clock can be
    watched running out."""
    next_morning(clock)
    complaint_id = uuid4()
    lodge_sample_complaint(system, by(OFFICER), complaint_id, clock.now(), policy_id)
    system.complaints.acknowledge(complaint_id, AcknowledgeComplaint(channel="sms"), by(OFFICER))
    system.complaints.assign(
        complaint_id,
        AssignComplaint(handler_id=HANDLING_OFFICER[1], involved_staff=[HANDLER[1]]),
        by(OFFICER),
    )
    return complaint_id
