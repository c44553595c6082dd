"""The scenario builders: staff, and the steps of realistic cases, over the application services.

One set, shared by the demo (which tells a story with them), the load driver (which interleaves them) and
the tests (which set up their cases with them), so what the demo shows is what the tests prove. Every
builder takes the case ids it creates from ``uuid4`` (or its caller) and reads the time from the system's
clock, so it works on a shared store and on any clock. A ``Steps`` generator performs one command per step
and ends on a command; ``drive`` runs one to its end, the load driver interleaves many.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from uuid import UUID, uuid4

from domain.base import SHANGHAI, Actor, Role
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
from domain.inquiry import InquiryCategory, InquiryChannel
from domain.policy import ExplanationMethod, Line, SellerRegistration, UnderwritingDecision
from domain.service_order import ServiceKind
from domain.service_request import IdentityCheck, Requester, ServiceChannel, ServiceItem
from infra.bootstrap import System
from infra.clock import ControlledClock
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
    SendRejectionNotice,
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
from infra.services.inquiries import AnswerInquiry, DeferInquiry, LogInquiry
from infra.services.policies import (
    AcknowledgeReceipt,
    AgreePremiumSchedule,
    CheckProposal,
    ComputeSurrenderValue,
    DecideUnderwriting,
    EndCoolingOff,
    EnterProposalData,
    IssuePolicy,
    LapsePolicy,
    PaySurrenderRefund,
    PrepareDocuments,
    RateRisk,
    ReceivePremium,
    ReceiveSurrenderNotice,
    RecordCashValueTable,
    RecordDisclosure,
    RecordExclusionsExplained,
    ReinstatePolicy,
    SealDocuments,
    SendPremiumReminder,
    SubmitProposal,
    VerifyEntry,
)
from infra.services.service_orders import (
    CompleteServiceOrder,
    DispatchServiceOrder,
    RecordProviderArrival,
    RequestServiceOrder,
)
from infra.services.service_requests import (
    ApproveServiceRequest,
    CheckServiceRequest,
    CompleteServiceRequest,
    NotifyServiceCustomer,
    RequestPolicyService,
)
from infra.store.eventstore import Caller, CommandResult

Steps = Iterator[None]
"""A case's commands, one per step (``next``); it ends on a command."""


def drive(steps: Steps) -> None:
    """Perform every step of ``steps`` at once."""
    for _ in steps:
        pass


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


@dataclass(frozen=True)
class Person:
    """A customer as the forms name them (applicant, insured, reporter, payee)."""

    name: str
    id_number: str
    phone: str
    account: str


ZHANG_WEI = Person("张伟", "110101199003071234", "13800138000", "6222020200112233445")
WANG_FANG = Person("王芳", "310101198512120021", "13900139000", "6222020200998877665")


@dataclass(frozen=True)
class Product:
    code: str
    term_months: int
    premium_fen: int


PRODUCTS = {
    Line.LIFE: Product("LIFE-WL-20", 240, 1_200_000),
    Line.MOTOR_COMMERCIAL: Product("MOTOR-COMM-2026", 12, 480_000),
    Line.MOTOR_CTPL: Product("CTPL-2026", 12, 95_000),
}


def register_demo_seller(system: System, on: date) -> None:
    """The seller's practice registration, authorised for the demo products (renewed when on record)."""
    system.sellers.register(
        SellerRegistration(
            registration_no=SELLER_REGISTRATION,
            seller_id=SELLER[1],
            valid_from=on - timedelta(days=365),
            valid_to=on + timedelta(days=3 * 365),
            authorised_products=frozenset(product.code for product in PRODUCTS.values()),
        )
    )


def next_morning(clock: ControlledClock) -> None:
    """Move the clock to 09:30 Shanghai on the next day: staff work office hours."""
    tomorrow = clock.now().astimezone(SHANGHAI).date() + timedelta(days=1)
    clock.set(datetime.combine(tomorrow, time(9, 30), SHANGHAI))


def today(system: System) -> date:
    """The day in Shanghai on the system's clock."""
    return system.clock.now().astimezone(SHANGHAI).date()


# Policies (承保).


def proposal_steps(
    system: System,
    policy_id: UUID,
    line: Line,
    product: Product,
    *,
    customer_id: str,
    person: Person = ZHANG_WEI,
    sum_insured_fen: int = 50_000_000,
    channel: str = "agency",
) -> Steps:
    """A proposal submitted by the seller, through 录单, 投保告知 and exclusions explained, to its rating."""
    policies = system.policies
    exclusions = ("EXCL-WAR", "EXCL-FRAUD") if line is Line.LIFE else ("EXCL-DRUNK-DRIVING",)
    policies.submit(
        SubmitProposal(
            proposal_no=f"TB{policy_id.hex[:10].upper()}",
            product_code=product.code,
            line=line,
            customer_id=customer_id,
            applicant_name=person.name,
            applicant_id_number=person.id_number,
            applicant_phone=person.phone,
            insured_name=person.name,
            beneficiary_names=list(("李娜",) if line is Line.LIFE else ()),
            sum_insured_fen=sum_insured_fen,
            term_months=product.term_months,
            quoted_premium_fen=product.premium_fen,
            exclusion_clause_ids=list(exclusions),
            seller_registration_no=SELLER_REGISTRATION,
            channel=channel,
        ),
        by(SELLER),
        policy_id=policy_id,
    )
    yield
    policies.check_proposal(policy_id, CheckProposal(), by(CLERK))
    yield
    policies.enter_data(policy_id, EnterProposalData(form_ref="FORM-0001"), by(CLERK))
    yield
    policies.verify_entry(policy_id, VerifyEntry(), by(CHECKER))
    yield
    policies.record_disclosure(
        policy_id,
        RecordDisclosure(
            questions=["hypertension?", "smoker?"], answers=["no", "no"], answered_by=person.name
        ),
        by(SELLER),
    )
    yield
    policies.record_exclusions_explained(
        policy_id,
        RecordExclusionsExplained(
            clause_ids=list(exclusions),
            method=ExplanationMethod.WRITTEN,
            evidence_ref="SIGNED-EXCL-0001",
            acknowledged_by=person.name,
        ),
        by(SELLER),
    )
    yield
    policies.rate_risk(
        policy_id, RateRisk(risk_class="standard", factors=["age 36", "non-smoker"]), by(UNDERWRITER)
    )


def issuance_steps(system: System, policy_id: UUID, product: Product, *, effective_from: date) -> Steps:
    """An accepted proposal's documents prepared and sealed (缮制单证, 复核签章), its premium received,
    issued."""
    policies = system.policies
    policies.prepare_documents(
        policy_id, PrepareDocuments(documents=["policy", "clauses", "payment notice"]), by(CLERK)
    )
    yield
    policies.seal_documents(policy_id, SealDocuments(seal_ref="SEAL-0001"), by(CHECKER))
    yield
    policies.receive_premium(
        policy_id,
        ReceivePremium(amount_fen=product.premium_fen, method="bank", receipt_no=f"R-{policy_id.hex[:6]}"),
        by(SYSTEM),
    )
    yield
    policies.issue(
        policy_id,
        IssuePolicy(
            policy_no=f"P{policy_id.hex[:12].upper()}",
            effective_from=effective_from,
            effective_to=today(system) + timedelta(days=30 * product.term_months),
            terms_version="2026-01",
        ),
        by(UNDERWRITER),
    )


def issue_policy(
    system: System, *, line: Line, product_code: str, term_months: int, premium_fen: int
) -> UUID:
    """Take a proposal through 录单, 投保告知, 核保, 承保决策, 缮制单证, 复核签章 and 收取保费 to issue,
    today."""
    policy_id = uuid4()
    product = Product(product_code, term_months, premium_fen)
    drive(proposal_steps(system, policy_id, line, product, customer_id=f"CUST-{policy_id.hex[:8]}"))
    system.policies.decide_underwriting(
        policy_id, DecideUnderwriting(decision=UnderwritingDecision.STANDARD), by(UNDERWRITER)
    )
    drive(issuance_steps(system, policy_id, product, effective_from=today(system)))
    return policy_id


def a_policy(system: System, line: Line = Line.MOTOR_COMMERCIAL) -> UUID:
    """A policy of ``line``'s demo product issued today (the seller registered beforehand)."""
    product = PRODUCTS[line]
    return issue_policy(
        system,
        line=line,
        product_code=product.code,
        term_months=product.term_months,
        premium_fen=product.premium_fen,
    )


def life_policy_story(system: System, clock: ControlledClock) -> tuple[UUID, UUID]:
    """A 20-year life policy: issued, received, called back inside cooling-off, cooling-off over."""
    policy_id = a_policy(system, Line.LIFE)
    clock.advance(timedelta(days=2))
    result = system.policies.acknowledge_receipt(
        policy_id, AcknowledgeReceipt(received_on=today(system), method="e-receipt"), by(SELLER)
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


# Claims (理赔).


def report_claim(
    system: System,
    claim_id: UUID,
    policy_id: UUID,
    *,
    loss_at: datetime,
    cause: str,
    description: str,
    channel: str = "hotline 95500",
    person: Person = ZHANG_WEI,
) -> None:
    """A loss on ``policy_id`` reported by the customer (报案)."""
    system.claims.report(
        ReportClaim(
            policy_id=policy_id,
            loss_at=loss_at,
            reporter_name=person.name,
            reporter_phone=person.phone,
            cause=cause,
            description=description,
            channel=channel,
        ),
        by(HANDLER),
        claim_id=claim_id,
    )


def register_claim(system: System, claim_id: UUID, *, coverages: list[str], reserve_fen: int) -> None:
    """A reported claim registered (立案) under a claim number of its own."""
    system.claims.register(
        claim_id,
        RegisterClaim(
            claim_no=f"LP{claim_id.hex[:10].upper()}", coverages=coverages, reserve_fen=reserve_fen
        ),
        by(HANDLER),
    )


def documents_request_steps(
    system: System, claim_id: UUID, required_docs: list[str], *, delivered_at: datetime
) -> Steps:
    """The one-time list of missing documents (Art. 22) sent, then its delivery recorded: that delivery stops
    the Art. 23 clock until the documents are complete."""
    notice_ref = f"N22-{claim_id.hex[:6]}"
    system.claims.request_documents(
        claim_id, RequestDocuments(required_docs=required_docs, notice_ref=notice_ref), by(HANDLER)
    )
    yield
    system.claims.record_request_delivery(
        claim_id, RecordRequestDelivery(delivered_at=delivered_at, notice_ref=notice_ref), by(HANDLER)
    )


def documents_received_steps(
    system: System, claim_id: UUID, docs: list[str], *, received_at: datetime
) -> Steps:
    """Each requested document received (dated ``received_at``), then the documents declared complete."""
    for doc in docs:
        system.claims.receive_document(
            claim_id, ReceiveDocument(doc_type=doc, received_at=received_at), by(HANDLER)
        )
        yield
    system.claims.complete_documents(claim_id, CompleteDocuments(), by(HANDLER))


def adjust_claim(system: System, claim_id: UUID, *, assessed_fen: int, deductible_fen: int) -> None:
    """The adjuster's calculation (理算): the assessed loss less the deductible."""
    system.claims.adjust(
        claim_id,
        AdjustClaim(
            proposed_amount_fen=assessed_fen - deductible_fen,
            deductible_fen=deductible_fen,
            calculation=f"{assessed_fen:,} assessed - {deductible_fen:,} deductible",
        ),
        by(ADJUSTER),
    )


def review_claim(system: System, claim_id: UUID, approved_fen: int) -> None:
    """The reviewer's approved amount (核赔)."""
    system.claims.review(
        claim_id, ReviewClaim(approved_amount_fen=approved_fen, comment="calculation checked"), by(REVIEWER)
    )


def refusal_steps(system: System, claim_id: UUID, outcome: ClaimOutcome, reasons: list[str]) -> Steps:
    """A claim decided not covered, or covered in part, then the written notice of what is refused
    (Art. 24)."""
    system.claims.decide(claim_id, DecideClaim(outcome=outcome, reasons=reasons), by(REVIEWER))
    yield
    system.claims.send_rejection_notice(
        claim_id,
        SendRejectionNotice(
            reasons=reasons, notice_ref=f"REJ-{outcome.value}-{claim_id.hex[:6]}", channel="letter"
        ),
        by(HANDLER),
    )


def agree_settlement(system: System, claim_id: UUID, amount_fen: int, person: Person = ZHANG_WEI) -> None:
    """The settlement agreed with the customer (赔付协议): payment falls due."""
    system.claims.agree_settlement(
        claim_id,
        AgreeSettlement(amount_fen=amount_fen, payee_name=person.name, payee_account=person.account),
        by(HANDLER),
    )


def payment_steps(system: System, claim_id: UUID, amount_fen: int) -> Steps:
    """The agreed amount paid, then the claim closed."""
    system.claims.issue_payment(
        claim_id, IssuePayment(amount_fen=amount_fen, reference=f"PAY-{claim_id.hex[:6]}"), by(HANDLER)
    )
    yield
    system.claims.close_claim(claim_id, CloseClaim(), by(HANDLER))


def settled_claim(system: System, clock: ControlledClock, policy_id: UUID) -> UUID:
    """A motor claim taken to an agreed settlement over six days, its payment still due: reported, applied
    for, registered, surveyed, assessed, documents asked for (the request's delivery stops the Art. 23
    clock until they arrive), adjusted, reviewed, decided covered, settled."""
    claims = system.claims
    claim_id = uuid4()
    report_claim(
        system,
        claim_id,
        policy_id,
        loss_at=clock.now() - timedelta(hours=3),
        cause="rear-end collision",
        description="hit from behind at a red light, rear bumper and boot lid damaged",
    )
    claims.receive_application(
        claim_id,
        ReceiveClaimApplication(
            received_at=clock.now() - timedelta(minutes=20), documents=["claim form", "vehicle licence"]
        ),
        by(HANDLER),
    )
    register_claim(system, claim_id, coverages=["vehicle damage"], reserve_fen=800_000)
    claims.record_survey(
        claim_id,
        RecordSurvey(findings="damage matches the account", liability_view="third party at fault"),
        by(SURVEYOR),
    )
    claims.assess_loss(
        claim_id, AssessLoss(items=["rear bumper", "boot lid", "paint"], amount_fen=650_000), by(SURVEYOR)
    )
    required = ["police accident report", "repair invoice", "driving licence"]
    request = documents_request_steps(
        system, claim_id, required, delivered_at=clock.now() + timedelta(hours=22)
    )
    next(request)  # the notice goes out today and reaches the customer tomorrow morning
    clock.advance(timedelta(days=1))
    drive(request)
    clock.advance(timedelta(days=3))
    drive(documents_received_steps(system, claim_id, required, received_at=clock.now() - timedelta(hours=1)))
    clock.advance(timedelta(days=1))
    adjust_claim(system, claim_id, assessed_fen=650_000, deductible_fen=50_000)
    review_claim(system, claim_id, 600_000)
    claims.decide(claim_id, DecideClaim(outcome=ClaimOutcome.COVERED), by(REVIEWER))
    agree_settlement(system, claim_id, 600_000)
    return claim_id


def claim_story(system: System, clock: ControlledClock, policy_id: UUID) -> UUID:
    """A motor claim settled (``settled_claim``), then paid two days later and closed."""
    claim_id = settled_claim(system, clock, policy_id)
    clock.advance(timedelta(days=2))
    drive(payment_steps(system, claim_id, 600_000))
    return claim_id


# Complaints (投诉).


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


def handling_steps(system: System, complaint_id: UUID, involved_staff: list[str]) -> Steps:
    """A lodged complaint acknowledged, then assigned to a handler who is none of ``involved_staff``."""
    system.complaints.acknowledge(complaint_id, AcknowledgeComplaint(channel="sms"), by(OFFICER))
    yield
    system.complaints.assign(
        complaint_id,
        AssignComplaint(handler_id=HANDLING_OFFICER[1], involved_staff=involved_staff),
        by(OFFICER),
    )


def respond_to_complaint(
    system: System, complaint_id: UUID, *, decision: str, basis: str, verified: str
) -> None:
    """The written answer, naming the remedies left, delivered now."""
    system.complaints.respond(
        complaint_id,
        RespondToComplaint(
            decision=decision,
            verification_summary=verified,
            basis=basis,
            remedies=[Remedy.REVIEW, Remedy.MEDIATION, Remedy.LITIGATION],
            channel="letter",
            delivered_at=system.clock.now(),
        ),
        by(HANDLING_OFFICER),
    )


def complaint_story(system: System, clock: ControlledClock, policy_id: UUID) -> UUID:
    """A claims complaint: lodged, acknowledged, assigned, found complex, extended to 30 days, answered."""
    complaints = system.complaints
    complaint_id = uuid4()
    lodge_sample_complaint(system, by(OFFICER), complaint_id, clock.now(), policy_id)
    drive(handling_steps(system, complaint_id, [HANDLER[1], ADJUSTER[1]]))
    complaints.classify(complaint_id, ClassifyComplaint(complexity=Complexity.COMPLEX), by(HANDLING_OFFICER))
    clock.advance(timedelta(days=10))
    complaints.extend(
        complaint_id,
        ExtendComplaint(to_days=30, reason="the repair shop's invoice must be checked with the manufacturer"),
        by(HANDLING_OFFICER),
    )
    clock.advance(timedelta(days=8))
    respond_to_complaint(
        system,
        complaint_id,
        decision="upheld in part: the paint work is paid in addition",
        verified="invoice checked with the manufacturer's price list",
        basis="policy clause 3.2; Insurance Law Art. 23",
    )
    clock.advance(timedelta(days=1))
    complaints.close_complaint(
        complaint_id, CloseComplaint(outcome=ComplaintOutcome.PARTLY_UPHELD), by(HANDLING_OFFICER)
    )
    return complaint_id


def open_complaint(system: System, clock: ControlledClock, policy_id: UUID) -> UUID:
    """A complaint about ``policy_id`` lodged next morning and left open (acknowledged and assigned), so its
    15-day clock can be watched running out."""
    next_morning(clock)
    complaint_id = uuid4()
    lodge_sample_complaint(system, by(OFFICER), complaint_id, clock.now(), policy_id)
    drive(handling_steps(system, complaint_id, [HANDLER[1]]))
    return complaint_id


# 续期 renewal premium and 退保 surrender (issue #14 points 3 and 4).

DEMO_CASH_VALUES_FEN = (0, 380_000, 1_150_000, 2_100_000, 3_200_000)
"""The demo life product's cash value table, by policy year (year 1 first)."""


def agree_monthly_premiums(system: System, policy_id: UUID) -> None:
    """The 20-year life policy pays monthly for 10 years (120 instalments, the first at issue); the 2nd is
    billed."""
    system.policies.agree_premium_schedule(
        policy_id, AgreePremiumSchedule(frequency_months=1, instalments=120), by(UNDERWRITER)
    )


def remind_premium(system: System, policy_id: UUID) -> None:
    """催告: the instalment due is demanded today (on or after its due date)."""
    system.policies.send_premium_reminder(
        policy_id, SendPremiumReminder(reminded_on=today(system), channel="sms 95500"), by(UNDERWRITER)
    )


def suspend_and_reinstate(system: System, clock: ControlledClock, policy_id: UUID) -> None:
    """The demand's 30 days (holidays rolled over) pass unpaid: the cover is suspended (Art. 36) by the
    system, as the IL36-DEMAND-30D timer does; three days later the applicant pays the arrears and the
    policy is reinstated by agreement (Art. 37)."""
    billed = system.policies.load(policy_id).billed
    assert billed is not None
    clock.set(max(clock.now(), billed.suspends_at + timedelta(hours=1)))
    # The timers group may have recorded it first (the same command, caused by the closed window).
    if system.policies.load(policy_id).payment_period_over(clock.now()):
        system.policies.lapse(policy_id, LapsePolicy(), by(SYSTEM))
    clock.advance(timedelta(days=3))
    next_morning(clock)
    system.policies.reinstate(
        policy_id,
        ReinstatePolicy(arrears_paid_fen=billed.amount_fen, agreement_ref="FX-DEMO-0001"),
        by(UNDERWRITER),
    )


def surrender_story(system: System, clock: ControlledClock, policy_id: UUID) -> None:
    """退保: the contract's cash value table on file, the applicant's notice (the Art. 47 clock starts),
    the value computed from the table, and the refund paid three days later."""
    system.policies.record_cash_value_table(
        policy_id,
        RecordCashValueTable(table_ref="CV-LIFE-WL-20-2026", cash_values_fen=list(DEMO_CASH_VALUES_FEN)),
        by(UNDERWRITER),
    )
    clock.advance(timedelta(days=1))
    system.policies.receive_surrender_notice(
        policy_id, ReceiveSurrenderNotice(received_on=today(system)), by(UNDERWRITER)
    )
    clock.advance(timedelta(hours=3))
    system.policies.compute_surrender_value(policy_id, ComputeSurrenderValue(), by(UNDERWRITER))
    refund = system.policies.load(policy_id).refund_due_fen
    assert refund is not None
    clock.advance(timedelta(days=3))
    next_morning(clock)
    system.policies.pay_surrender_refund(
        policy_id,
        PaySurrenderRefund(amount_fen=refund, paid_on=today(system), payment_ref="PAY-SURR-DEMO-0001"),
        by(UNDERWRITER),
    )


# Policy service (保全).

OPS_HANDLER = Role.UNDERWRITER, "qian.yu.ops"
OPS_REVIEWER = Role.UNDERWRITER, "feng.jun.ops"


def service_steps(system: System, request_id: UUID, documents: list[str], *, four_eyes: bool) -> Steps:
    """Check identity and documents, review (by a second person when four-eyes), do it, tell the customer."""
    service = system.service_requests
    check = CheckServiceRequest(identity_check=IdentityCheck.ID_CARD_IN_PERSON, documents=documents)
    service.check(request_id, check, by(OPS_HANDLER))
    yield
    service.approve(request_id, ApproveServiceRequest(), by(OPS_REVIEWER if four_eyes else OPS_HANDLER))
    yield
    service.complete(request_id, CompleteServiceRequest(effective_on=today(system)), by(OPS_REVIEWER))
    yield
    service.notify_customer(request_id, NotifyServiceCustomer(channel="sms"), by(OPS_HANDLER))


def address_change_story(system: System, clock: ControlledClock, policy_id: UUID) -> UUID:
    """The applicant moves house: the address is changed the same day and the customer told by SMS."""
    request_id = system.service_requests.request(
        RequestPolicyService(
            policy_id=policy_id,
            item=ServiceItem.ADDRESS_CHANGE,
            channel=ServiceChannel.COUNTER,
            requested_by=Requester.APPLICANT,
            requester_name=ZHANG_WEI.name,
            received_at=clock.now(),
            new_address="上海市浦东新区世纪大道 100 号 8 楼",
        ),
        by(SELLER),
    ).case_id
    clock.advance(timedelta(hours=2))
    drive(service_steps(system, request_id, ["request_form"], four_eyes=False))
    return request_id


def beneficiary_change_story(system: System, clock: ControlledClock, policy_id: UUID) -> UUID:
    """The applicant names new beneficiaries with the insured's written consent (Art. 41); a second person
    reviews it, the policy's beneficiaries change, the customer is told."""
    request_id = system.service_requests.request(
        RequestPolicyService(
            policy_id=policy_id,
            item=ServiceItem.BENEFICIARY_CHANGE,
            channel=ServiceChannel.AGENT,
            requested_by=Requester.APPLICANT,
            requester_name=ZHANG_WEI.name,
            received_at=clock.now(),
            beneficiary_names=[WANG_FANG.name],
            beneficiary_id_numbers=[WANG_FANG.id_number],
            beneficiary_shares=[100],
            insured_consent_ref="CONSENT-2026-0042",
        ),
        by(SELLER),
    ).case_id
    next_morning(clock)
    documents = ["request_form", "id_copy", "beneficiary_id_copies"]
    drive(service_steps(system, request_id, documents, four_eyes=True))
    return request_id


def open_bank_account_change(system: System, clock: ControlledClock, policy_id: UUID) -> UUID:
    """A bank account change requested and checked now, left for a second person's review (four-eyes)."""
    request_id = system.service_requests.request(
        RequestPolicyService(
            policy_id=policy_id,
            item=ServiceItem.BANK_ACCOUNT_CHANGE,
            channel=ServiceChannel.COUNTER,
            requested_by=Requester.APPLICANT,
            requester_name=ZHANG_WEI.name,
            received_at=clock.now(),
            bank="ICBC",
            bank_account_no=WANG_FANG.account,
            account_holder_name=ZHANG_WEI.name,
        ),
        by(SELLER),
    ).case_id
    documents = ["request_form", "id_copy", "bank_card_copy"]
    check = CheckServiceRequest(identity_check=IdentityCheck.ID_CARD_IN_PERSON, documents=documents)
    system.service_requests.check(request_id, check, by(OPS_HANDLER))
    return request_id


# ---- 咨询 inquiries and 其他 value-added service orders (issue #14 points 1 and 5)


def inquiry_story(system: System, clock: ControlledClock, policy_id: UUID) -> tuple[UUID, UUID]:
    """Two hotline inquiries of the policy's customer: a premium question answered at once (first-contact
    resolution), and a claim-progress question that needs the adjuster, answered the next working morning
    within INQ-REPLY-1WD. Returns both inquiry ids."""
    policy = system.policies.load(policy_id)
    inquiries = system.inquiries
    at_once = inquiries.log_inquiry(
        LogInquiry(
            contacted_at=clock.now() - timedelta(minutes=4),
            channel=InquiryChannel.HOTLINE,
            category=InquiryCategory.PREMIUM,
            question="when is my next premium due, and how much is it?",
            customer_id=policy.customer_id,
            policy_ref=str(policy_id),
        ),
        by(CALLBACK_AGENT),
    ).case_id
    inquiries.answer(
        at_once, AnswerInquiry(answer="on the policy anniversary; 4,800.00 CNY"), by(CALLBACK_AGENT)
    )
    pending = inquiries.log_inquiry(
        LogInquiry(
            contacted_at=clock.now() - timedelta(minutes=1),
            channel=InquiryChannel.HOTLINE,
            category=InquiryCategory.CLAIM_PROGRESS,
            question="has the repair estimate of my car been approved?",
            customer_id=policy.customer_id,
            policy_ref=str(policy_id),
        ),
        by(CALLBACK_AGENT),
    ).case_id
    inquiries.defer(
        pending, DeferInquiry(reason="the adjuster must confirm the estimate"), by(CALLBACK_AGENT)
    )
    next_morning(clock)
    inquiries.answer(
        pending, AnswerInquiry(answer="approved this morning; the shop may start"), by(CALLBACK_AGENT)
    )
    return at_once, pending


def service_order_story(system: System, clock: ControlledClock, policy_id: UUID) -> UUID:
    """A roadside rescue (非事故救援) under the motor policy: requested at night, dispatched, on site within
    the hour (VAS-ARRIVE-RESCUE-1H), done; its callback task follows (CO-VAS-CALLBACK-3WD)."""
    policy = system.policies.load(policy_id)
    orders = system.service_orders
    order_id = orders.request(
        RequestServiceOrder(
            requested_at=clock.now(),
            kind=ServiceKind.ROADSIDE_RESCUE,
            customer_id=policy.customer_id,
            policy_ref=str(policy_id),
            contact_phone=ZHANG_WEI.phone,
            location="G60 Shanghai-Kunming expressway km 32, Songjiang",
            details="flat battery, the car will not start",
        ),
        by(CALLBACK_AGENT),
    ).case_id
    orders.dispatch(order_id, DispatchServiceOrder(provider="Anji Rescue Songjiang"), by(CALLBACK_AGENT))
    clock.advance(timedelta(minutes=35))
    orders.record_arrival(order_id, RecordProviderArrival(arrived_at=clock.now()), by(CALLBACK_AGENT))
    clock.advance(timedelta(minutes=20))
    orders.complete(
        order_id,
        CompleteServiceOrder(summary="battery jump-started, the customer drove on"),
        by(CALLBACK_AGENT),
    )
    return order_id
