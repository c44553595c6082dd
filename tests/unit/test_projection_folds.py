"""Read models as pure folds: given a case's events (recorded by the real aggregates), when they are folded,
then the rows are what staff and auditors should see."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from domain.base import SHANGHAI, CaseAggregate, DomainEvent, Role
from domain.calendar import Deadline, default_calendar
from domain.callback import AttemptOutcome, CallbackChannel, CallbackTask, CallbackType
from domain.claim import Claim, ClaimOutcome
from domain.complaint import (
    Complaint,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintDeadlineExtended,
    ComplaintLodged,
    ComplaintOutcome,
    ComplaintResponded,
    Complexity,
    Remedy,
    SubjectKind,
    SubjectRef,
)
from domain.cover import PolicyCover
from domain.policy import ExplanationMethod, Line, Policy, SellerRegistration, UnderwritingDecision
from domain.sla import rule_by_id
from domain.timer import SlaTimer, TimerBreached, TimerSatisfied
from projections.base import Key, Row, View, fold
from projections.catalogue import ALL_PROJECTIONS, UnknownProjectionError, projection_by_name
from projections.claims import ClaimsView
from projections.complaints import ComplaintStatsView, ComplaintsView
from projections.customers import CustomersView
from projections.policies import PoliciesView
from projections.worklist import KINDS, WorklistView, colour
from tests.gwt import T0, ctx

HANDLER = Role.CLAIMS_HANDLER
OFFICER = Role.COMPLAINTS_OFFICER
SELLER_ID = "zhao.lei"
CUSTOMER = "cust-0001"
MISSING_DOCS = ("police_report", "repair_invoice", "driving_licence")
EXCLUSIONS = ("EX-SUICIDE-2Y", "EX-DRUNK-DRIVING")
REPORTED_AT = T0  # Monday 2026-03-02 10:00 in Shanghai


def shanghai(month: int, day: int, hour: int = 10, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=SHANGHAI)


def midnight_after(day: date) -> datetime:
    """24:00 Asia/Shanghai of ``day`` (Civil Code Art. 203), in UTC as the rows hold it."""
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), SHANGHAI).astimezone(UTC)


def events_of(*aggregates: CaseAggregate) -> list[DomainEvent]:
    return [e for a in aggregates for e in a.collect_events() if isinstance(e, DomainEvent)]


def rows(view: View, events: Sequence[DomainEvent]) -> dict[Key, Row]:
    return dict(fold([view], events)[view.table.name])


def only_row(view: View, events: Sequence[DomainEvent]) -> Row:
    [row] = rows(view, events).values()
    return row


# -------------------------------------------------------------------------------------------- builders


def a_proposal(customer_id: str = CUSTOMER, at: datetime = T0) -> Policy:
    """A 20-year whole-life proposal with two exclusion clauses."""
    return Policy.submit_proposal(
        ctx(Role.SELLER, SELLER_ID, at),
        policy_id=uuid4(),
        proposal_no="TB-2026-000123",
        product_code="LIFE-WL-20",
        line=Line.LIFE,
        customer_id=customer_id,
        applicant_name="张伟",
        applicant_id_number="310101198001011234",
        applicant_phone="13800138000",
        insured_name="张伟",
        beneficiary_names=("李娜",),
        sum_insured_fen=50_000_000,
        term_months=240,
        quoted_premium_fen=1_200_000,
        exclusion_clause_ids=EXCLUSIONS,
        seller=SellerRegistration(
            registration_no="REG-310000-0042",
            seller_id=SELLER_ID,
            valid_from=date(2025, 1, 1),
            valid_to=date(2026, 12, 31),
            authorised_products=frozenset({"LIFE-WL-20"}),
        ),
        proposed_on=date(2026, 3, 2),
        channel="agency",
    )


def an_issued_policy() -> Policy:
    policy = a_proposal()
    policy.check_proposal(ctx(Role.UNDERWRITER, "clerk"))
    policy.enter_data(ctx(Role.UNDERWRITER, "clerk"), form_ref="FORM-0001")
    policy.verify_entry(ctx(Role.UNDERWRITER, "checker"))
    policy.record_exclusions_explained(
        ctx(Role.SELLER, SELLER_ID),
        clause_ids=EXCLUSIONS,
        method=ExplanationMethod.WRITTEN,
        evidence_ref="SIGNED-EXCL-0001",
        acknowledged_by="张伟",
    )
    policy.rate_risk(ctx(Role.UNDERWRITER, "uw"), risk_class="standard")
    policy.decide_underwriting(ctx(Role.UNDERWRITER, "uw"), decision=UnderwritingDecision.STANDARD)
    policy.prepare_documents(ctx(Role.UNDERWRITER, "clerk"), documents=("policy", "clauses"))
    policy.seal_documents(ctx(Role.UNDERWRITER, "checker"), seal_ref="SEAL-0001")
    policy.receive_premium(
        ctx(Role.SYSTEM, "caseledger"), amount_fen=1_200_000, method="bank", receipt_no="R-1"
    )
    policy.issue(
        ctx(Role.UNDERWRITER, "uw"),
        policy_no="P-2026-0001",
        effective_from=date(2026, 3, 3),
        effective_to=date(2046, 3, 2),
        terms_version="2026-01",
    )
    return policy


def a_cover(*, ctpl: bool = False) -> PolicyCover:
    return PolicyCover(
        policy_id=UUID("00000000-0000-4000-8000-000000000001"),
        policy_no="PDAA2026310000000001",
        customer_id=CUSTOMER,
        in_force=True,
        effective_from=date(2026, 1, 1),
        effective_to=date(2027, 12, 31),
        sum_insured_fen=20_000_000,
        ctpl=ctpl,
    )


def a_reported_claim(*, ctpl: bool = False, at: datetime = REPORTED_AT) -> Claim:
    return Claim.report(
        ctx(HANDLER, "chen.jie", at),
        claim_id=uuid4(),
        cover=a_cover(ctpl=ctpl),
        loss_at=at - timedelta(days=1),
        reporter_name="张伟",
        reporter_phone="13800138000",
        cause="collision",
        description="rear-ended at a red light",
        channel="phone-95500",
    )


def with_application(
    claim: Claim, received_at: datetime = REPORTED_AT, recorded_at: datetime | None = None
) -> Claim:
    """The claim application reached the insurer at ``received_at`` (recorded then, unless said)."""
    claim.receive_application(ctx(HANDLER, "chen.jie", recorded_at or received_at), received_at=received_at)
    return claim


def an_assessed_claim(*, ctpl: bool = False) -> Claim:
    """Registered, surveyed and assessed, its claim application received on the day of the report."""
    claim = a_reported_claim(ctpl=ctpl)
    claim.register(ctx(HANDLER, "chen.jie"), claim_no="CLM-2026-000123", coverages=("damage",), reserve_fen=1)
    claim.record_survey(ctx(Role.SURVEYOR, "liu.yang"), findings="rear bumper", liability_view="third party")
    claim.assess_loss(ctx(Role.SURVEYOR, "liu.yang"), items=("rear bumper",), amount_fen=650_000)
    return with_application(claim)


def a_claim_awaiting_documents(*, ctpl: bool = False, delivered_at: datetime | None = REPORTED_AT) -> Claim:
    """Assessed; the one complete list of missing documents sent on the day of the report, and (unless
    ``delivered_at`` is None) its delivery to the claimant on record."""
    claim = an_assessed_claim(ctpl=ctpl)
    claim.request_documents(ctx(HANDLER, "chen.jie"), required_docs=MISSING_DOCS, notice_ref="NTC-22-0001")
    if delivered_at is not None:
        claim.record_request_delivery(
            ctx(HANDLER, "chen.jie", max(delivered_at, REPORTED_AT)),
            delivered_at=delivered_at,
            notice_ref="NTC-22-0001",
        )
    return claim


def with_documents_completed(claim: Claim, on: datetime, declared: datetime | None = None) -> Claim:
    """Every requested document arrived ``on``; the completion is declared then, or at ``declared``."""
    for doc in MISSING_DOCS:
        claim.receive_document(ctx(HANDLER, "chen.jie", on), doc_type=doc, received_at=on)
    claim.complete_documents(ctx(HANDLER, "chen.jie", declared or on))
    return claim


def a_decided_claim(outcome: ClaimOutcome) -> Claim:
    claim = with_documents_completed(a_claim_awaiting_documents(), shanghai(3, 4))
    at = shanghai(3, 5)
    if outcome is not ClaimOutcome.NOT_COVERED:
        claim.adjust(
            ctx(Role.ADJUSTER, "huang.min", at),
            proposed_amount_fen=600_000,
            deductible_fen=0,
            calculation="x",
        )
        claim.review(ctx(Role.CLAIM_REVIEWER, "zhou.hui", at), approved_amount_fen=600_000)
    claim.decide(ctx(Role.CLAIM_REVIEWER, "zhou.hui", at), outcome=outcome, reasons=("exclusion 7.3",))
    return claim


def a_settled_claim() -> Claim:
    claim = a_decided_claim(ClaimOutcome.COVERED)
    claim.agree_settlement(
        ctx(HANDLER, "chen.jie", shanghai(3, 6)), amount_fen=600_000, payee_name="张伟", payee_account="6222"
    )
    return claim


def paid(claim: Claim) -> Claim:
    claim.issue_payment(ctx(HANDLER, "chen.jie", shanghai(3, 9)), amount_fen=600_000, reference="PAY-1")
    return claim


def a_survey_callback(due_by: datetime) -> CallbackTask:
    return CallbackTask.create(
        ctx(Role.SYSTEM, "caseledger"),
        task_type=CallbackType.SURVEY,
        source_event_id=uuid4(),
        source_case_id=UUID("00000000-0000-4000-8000-000000000009"),
        customer_id=CUSTOMER,
        due_by=due_by,
    )


def a_complaint(
    *,
    received_at: datetime = T0,
    category: ComplaintCategory = ComplaintCategory.CLAIMS,
    channel: ComplaintChannel = ComplaintChannel.HOTLINE,
) -> Complaint:
    return Complaint.lodge(
        ctx(OFFICER, "wu.xia", received_at),
        complaint_id=uuid4(),
        received_at=received_at,
        category=category,
        channel=channel,
        subject_ref=SubjectRef(kind=SubjectKind.POLICY, ref="P-2026-0001"),
        customer_id=CUSTOMER,
        complainant_name="张伟",
        complainant_phone="13800138000",
        facts="the repair estimate left out the paint work",
        demands="pay the paint work",
    )


def an_investigated_complaint(
    *, received_at: datetime = T0, complexity: Complexity = Complexity.COMPLEX
) -> Complaint:
    complaint = a_complaint(received_at=received_at)
    complaint.acknowledge(ctx(OFFICER, "wu.xia", received_at), channel="sms")
    complaint.assign(
        ctx(OFFICER, "wu.xia", received_at), handler_id="zheng.qiang", involved_staff=frozenset()
    )
    complaint.classify(ctx(OFFICER, "zheng.qiang", received_at), complexity=complexity)
    return complaint


def respond(complaint: Complaint, at: datetime) -> Complaint:
    complaint.respond(
        ctx(OFFICER, "zheng.qiang", at),
        decision="upheld in part",
        verification_summary="invoice checked",
        basis="policy clause 3.2",
        remedies=(Remedy.REVIEW, Remedy.MEDIATION),
        channel="letter",
        delivered_at=at,
    )
    return complaint


def the_decision_timer(history: Sequence[DomainEvent]) -> list[DomainEvent]:
    """The CMP-DECIDE-15D timer's events for a complaint's history, as the timers consumer and the
    scheduler record them: started at receipt, extended while open, breached at its deadline if the
    response comes later, then satisfied by the response."""
    rule = rule_by_id("CMP-DECIDE-15D")
    timer: SlaTimer | None = None
    for event in history:
        system = ctx(Role.SYSTEM, "sla-timers", event.recorded_at)
        if isinstance(event, ComplaintLodged):
            timer = SlaTimer.start(
                system,
                rule=rule,
                case_id=event.originator_id,
                case_context="complaint",
                cycle=event.originator_version,
                start_at=event.received_at,
                calendar=default_calendar(),
                cause_event="ComplaintLodged",
                cause_event_id=event.event_id,
            )
            continue
        assert timer is not None
        at = event.occurred_at or event.timestamp
        if timer.due_at is not None and timer.is_open and at >= timer.due_at:
            timer.breach(system, at=at)
        if isinstance(event, ComplaintDeadlineExtended) and timer.is_open:
            timer.extend(
                system,
                at=at,
                to_duration=event.to_days,
                approver=event.approver,
                reason=event.reason,
                cause_event="ComplaintDeadlineExtended",
                cause_event_id=event.event_id,
            )
        if isinstance(event, ComplaintResponded):
            timer.satisfy(system, at=at, by_event="ComplaintResponded", cause_event_id=event.event_id)
    assert timer is not None
    return events_of(timer)


def with_its_timer(complaint: Complaint) -> list[DomainEvent]:
    """A complaint's events followed by its decision timer's, as a rebuild reads them."""
    history = events_of(complaint)
    return [*history, *the_decision_timer(history)]


# -------------------------------------------------------------------------------------------- policies


def test_policy_row_shows_the_cover_when_the_policy_is_issued() -> None:
    policy = an_issued_policy()

    row = only_row(PoliciesView(), events_of(policy))

    assert (row["status"], row["policy_no"], row["line"]) == ("issued", "P-2026-0001", "life")
    assert (row["effective_from"], row["effective_to"]) == (date(2026, 3, 3), date(2046, 3, 2))
    assert (row["premium_fen"], row["premium_received_fen"]) == (1_200_000, 1_200_000)
    assert row["exclusions_proven"] is True
    assert row["applicant_name"] == "张伟"
    assert row["issued_at"] == T0


def test_exclusions_are_unproven_when_a_proxy_signature_is_detected() -> None:
    policy = an_issued_policy()
    policy.record_proxy_signature(ctx(Role.UNDERWRITER, "uw"), document="proposal", evidence="handwriting")

    row = only_row(PoliciesView(), events_of(policy))

    assert row["exclusions_proven"] is False
    assert row["callback_check_required"] is True


def test_exclusions_are_unproven_when_a_proposal_is_only_submitted() -> None:
    row = only_row(PoliciesView(), events_of(a_proposal()))

    assert (row["status"], row["exclusions_proven"], row["policy_no"]) == ("submitted", False, None)


# -------------------------------------------------------------------------------------------- claims


def test_outstanding_documents_shrink_when_documents_arrive() -> None:
    claim = a_claim_awaiting_documents()
    history = events_of(claim)
    claim.receive_document(ctx(HANDLER, "chen.jie"), doc_type="repair_invoice", received_at=REPORTED_AT)

    before = only_row(ClaimsView(), history)
    after = only_row(ClaimsView(), [*history, *events_of(claim)])

    assert before["outstanding_docs"] == list(MISSING_DOCS)
    assert after["outstanding_docs"] == ["police_report", "driving_licence"]


def test_claim_timeline_lists_every_event_with_its_actor_when_claim_is_assessed() -> None:
    row = only_row(ClaimsView(), events_of(an_assessed_claim()))

    assert [(e["version"], e["event"], e["actor_id"], e["role"]) for e in row["timeline"]] == [
        (1, "ClaimReported", "chen.jie", "claims_handler"),
        (2, "ClaimRegistered", "chen.jie", "claims_handler"),
        (3, "SurveyDone", "liu.yang", "surveyor"),
        (4, "LossAssessed", "liu.yang", "surveyor"),
        (5, "ClaimApplicationReceived", "chen.jie", "claims_handler"),
    ]
    assert row["timeline"][0]["at"] == T0.isoformat()
    assert (row["status"], row["handler"], row["version"]) == ("assessed", "chen.jie", 5)


def test_no_claim_clock_runs_when_a_loss_is_only_reported() -> None:
    # Art. 22, Art. 23 (JI-II Art. 15) and CTPL Art. 28 count from the claim application, not the report.
    row = only_row(ClaimsView(), events_of(a_reported_claim()))

    assert (row["sla_clocks"], row["next_deadline"]) == ([], None)


def test_next_deadline_is_the_one_time_notice_when_the_claim_application_is_received() -> None:
    # Received Fri 6 March at 15:00, recorded on Mon 9 March: the clocks count from the receipt.
    claim = with_application(a_reported_claim(), received_at=shanghai(3, 6, 15), recorded_at=shanghai(3, 9))

    row = only_row(ClaimsView(), events_of(claim))

    # One working day after Friday 6 March: the weekend is skipped, Monday 9 March ends at 24:00.
    assert row["next_deadline_rule"] == "IL22-ONE-TIME-NOTICE-1WD"
    assert row["next_deadline"] == midnight_after(date(2026, 3, 9))
    [il23] = [c for c in row["sla_clocks"] if c["rule_id"] == "IL23-DETERMINE-30D"]
    # Fri 6 March + 30 = Sun 5 April, the Qingming holiday (4–6 April): 24:00 on Tue 7 April.
    assert il23["started_at"] == shanghai(3, 6, 15).astimezone(UTC).isoformat()
    assert il23["due_at"] == midnight_after(date(2026, 4, 7)).isoformat()


def test_ctpl_clocks_run_when_a_ctpl_claim_application_is_received() -> None:
    row = only_row(ClaimsView(), events_of(with_application(a_reported_claim(ctpl=True))))

    assert [c["rule_id"] for c in row["sla_clocks"]] == ["CTPL28-DOCLIST-1D"]
    assert row["next_deadline"] == midnight_after(date(2026, 3, 3))


def test_the_notice_is_owed_no_more_and_art25_runs_when_the_documents_are_complete_on_receipt() -> None:
    claim = an_assessed_claim()
    claim.complete_documents(ctx(HANDLER, "chen.jie", shanghai(3, 2, 16)))

    row = only_row(ClaimsView(), events_of(claim))

    # No Art. 22 clock left to breach; Art. 25's 60 days count from the application's receipt on 2 March.
    assert {c["rule_id"] for c in row["sla_clocks"]} == {"IL23-DETERMINE-30D", "IL25-ADVANCE-60D"}
    [il25] = [c for c in row["sla_clocks"] if c["rule_id"] == "IL25-ADVANCE-60D"]
    assert il25["started_at"] == T0.isoformat()


def test_ctpl_decision_clock_runs_from_the_receipt_when_the_documents_are_complete_on_receipt() -> None:
    claim = with_application(a_reported_claim(ctpl=True))
    claim.complete_documents(ctx(HANDLER, "chen.jie", shanghai(3, 3)))

    row = only_row(ClaimsView(), events_of(claim))

    # Mon 2 March + 5 = Sat 7 March → Mon 9 March, 24:00 — from the receipt, not the declaration on 3 March.
    assert {c["rule_id"] for c in row["sla_clocks"]} == {"CTPL29-DECIDE-5D", "IL25-ADVANCE-60D"}
    assert (row["next_deadline_rule"], row["next_deadline"]) == (
        "CTPL29-DECIDE-5D",
        midnight_after(date(2026, 3, 9)),
    )


def test_il23_keeps_running_while_the_documents_request_has_not_reached_the_claimant() -> None:
    row = only_row(ClaimsView(), events_of(a_claim_awaiting_documents(delivered_at=None)))

    [il23] = row["sla_clocks"]
    assert (il23["rule_id"], il23["pauses"]) == ("IL23-DETERMINE-30D", [])
    assert il23["due_at"] == midnight_after(date(2026, 4, 1)).isoformat()


def test_il23_pauses_from_the_delivery_when_the_request_reached_the_claimant_days_after_it_was_sent() -> None:
    claim = a_claim_awaiting_documents(delivered_at=None)
    claim.record_request_delivery(
        ctx(HANDLER, "chen.jie", shanghai(3, 5, 18)),
        delivered_at=shanghai(3, 5, 11),
        notice_ref="NTC-22-0001",
    )

    row = only_row(ClaimsView(), events_of(claim))

    [il23] = row["sla_clocks"]
    assert il23["pauses"] == [
        {"paused_at": shanghai(3, 5, 11).astimezone(UTC).isoformat(), "resumed_at": None}
    ]


def test_il23_resumes_from_the_last_arrival_when_completion_is_declared_days_later() -> None:
    # Delivered Mon 2 March; everything arrived Fri 6 March; declared complete Wed 11 March.
    claim = with_documents_completed(a_claim_awaiting_documents(), shanghai(3, 6), declared=shanghai(3, 11))

    row = only_row(ClaimsView(), events_of(claim))

    [il23] = [c for c in row["sla_clocks"] if c["rule_id"] == "IL23-DETERMINE-30D"]
    assert il23["pauses"][0]["resumed_at"] == shanghai(3, 6).astimezone(UTC).isoformat()
    assert il23["due_at"] == midnight_after(date(2026, 4, 7)).isoformat()


def test_il23_decision_deadline_pauses_when_the_documents_request_reaches_the_claimant() -> None:
    row = only_row(ClaimsView(), events_of(a_claim_awaiting_documents()))

    [clock] = row["sla_clocks"]
    assert clock["rule_id"] == "IL23-DETERMINE-30D"
    assert clock["pauses"] == [{"paused_at": T0.isoformat(), "resumed_at": None}]
    assert clock["due_at"] is None
    assert (row["next_deadline"], row["next_deadline_rule"]) == (None, None)


def test_il23_decision_deadline_moves_by_the_pause_when_documents_are_completed() -> None:
    claim = with_documents_completed(a_claim_awaiting_documents(), shanghai(3, 6))

    row = only_row(ClaimsView(), events_of(claim))

    # Unpaused the 30 days would end on Wed 1 April. Paused on 2 March with 30 days left, resumed on
    # 6 March: they end on Sun 5 April, the Qingming holiday, so the period runs to 24:00 on Tue 7 April.
    assert row["next_deadline_rule"] == "IL23-DETERMINE-30D"
    assert row["next_deadline"] == midnight_after(date(2026, 4, 7))
    unpaused = rule_by_id("IL23-DETERMINE-30D").deadline(T0, default_calendar())
    assert isinstance(unpaused, Deadline)
    assert unpaused.due_at == midnight_after(date(2026, 4, 1))
    assert {c["rule_id"] for c in row["sla_clocks"]} == {"IL23-DETERMINE-30D", "IL25-ADVANCE-60D"}


def test_rejection_notice_deadline_runs_when_a_claim_is_decided_partly_covered() -> None:
    row = only_row(ClaimsView(), events_of(a_decided_claim(ClaimOutcome.PARTIAL)))

    assert row["outcome"] == "partial"
    assert row["next_deadline_rule"] == "IL24-REJECT-3D"
    assert row["next_deadline"] == midnight_after(date(2026, 3, 9))  # Sun 8 March rolls over to Monday


def test_rejection_notice_deadline_runs_from_the_report_when_the_loss_was_outside_cover() -> None:
    claim = Claim.report(
        ctx(HANDLER, "chen.jie", REPORTED_AT),
        claim_id=uuid4(),
        cover=a_cover(),
        loss_at=shanghai(12, 31, hour=23, year=2025),  # the day before cover started
        reporter_name="张伟",
        reporter_phone="13800138000",
        cause="collision",
        description="rear-ended at a red light",
        channel="phone-95500",
    )

    row = only_row(ClaimsView(), events_of(claim))

    assert (row["status"], row["outcome"]) == ("decided", "not_covered")
    # Mon 2 March + 3 = Thu 5 March, 24:00.
    assert row["next_deadline_rule"] == "IL24-REJECT-3D"
    assert row["next_deadline"] == midnight_after(date(2026, 3, 5))


def test_rejection_notice_deadline_runs_when_a_claim_is_decided_not_covered() -> None:
    row = only_row(ClaimsView(), events_of(a_decided_claim(ClaimOutcome.NOT_COVERED)))

    assert (row["status"], row["outcome"], row["approved_fen"]) == ("decided", "not_covered", 0)
    assert row["next_deadline_rule"] == "IL24-REJECT-3D"
    assert row["next_deadline"] == midnight_after(date(2026, 3, 9))  # Sun 8 March rolls over to Monday


def test_claim_deadline_is_unknown_when_the_calendar_does_not_cover_its_year() -> None:
    claim = with_application(a_reported_claim(at=shanghai(12, 21, year=2027)), shanghai(12, 21, year=2027))

    row = only_row(ClaimsView(), events_of(claim))

    [il23] = [c for c in row["sla_clocks"] if c["rule_id"] == "IL23-DETERMINE-30D"]
    assert il23["due_at"] is None
    assert "2028" in il23["note"]
    assert row["next_deadline_rule"] == "IL22-ONE-TIME-NOTICE-1WD"


def test_claim_is_paid_and_closed_when_the_settlement_is_paid() -> None:
    claim = a_settled_claim()
    history = events_of(claim)
    settled = only_row(ClaimsView(), history)
    paid(claim).close(ctx(HANDLER, "chen.jie", shanghai(3, 9)))

    row = only_row(ClaimsView(), history + events_of(claim))

    assert settled["next_deadline_rule"] == "IL23-PAY-10D"
    assert (row["status"], row["closure"], row["approved_fen"], row["paid_fen"]) == (
        "closed",
        "paid",
        600_000,
        600_000,
    )
    assert (row["next_deadline"], row["sla_clocks"]) == (None, [])


# -------------------------------------------------------------------------------------------- complaints


def test_complaint_is_on_time_when_responded_inside_fifteen_days() -> None:
    complaint = respond(an_investigated_complaint(), shanghai(3, 17))

    row = only_row(ComplaintsView(), with_its_timer(complaint))

    assert (row["status"], row["on_time"], row["responded_at"]) == ("responded", True, shanghai(3, 17))


def test_complaint_is_late_when_responded_after_fifteen_days() -> None:
    complaint = respond(an_investigated_complaint(), shanghai(3, 18))  # day 15 ended at 24:00 on 17 March

    row = only_row(ComplaintsView(), with_its_timer(complaint))

    assert row["on_time"] is False


def test_complaint_is_on_time_when_responded_inside_an_extended_period() -> None:
    complaint = an_investigated_complaint()
    complaint.extend(ctx(OFFICER, "zheng.qiang", shanghai(3, 10)), to_days=30, reason="manufacturer check")
    respond(complaint, shanghai(3, 25))

    row = only_row(ComplaintsView(), with_its_timer(complaint))

    assert (row["deadline_days"], row["on_time"]) == (30, True)


def test_complaint_is_late_when_its_timer_breached_before_an_extension_recorded_afterwards() -> None:
    # A history from before extensions were refused once the period had run out: 30 days from 2 March
    # ended 24:00 1 April; the 60-day extension was recorded on day 49 and the answer came on day 50.
    complaint = an_investigated_complaint()
    complaint.extend(ctx(OFFICER, "zheng.qiang", shanghai(3, 10)), to_days=30, reason="manufacturer check")
    day_49 = T0 + timedelta(days=49)
    complaint.trigger_event(
        ComplaintDeadlineExtended,
        timestamp=day_49,
        actor=ctx(OFFICER, "zheng.qiang").actor,
        correlation_id=uuid4(),
        from_days=30,
        to_days=60,
        reason="recorded after the period had run out",
        customer_notified_at=day_49,
    )
    respond(complaint, T0 + timedelta(days=50))
    history = events_of(complaint)
    timer = the_decision_timer(history)
    assert [type(e) for e in timer[-2:]] == [TimerBreached, TimerSatisfied]

    row = only_row(ComplaintsView(), [*history, *timer])
    before_the_answer = only_row(ComplaintsView(), history[:-1])

    assert (row["deadline_days"], row["on_time"], row["decide_timer_outcome"]) == (60, False, "met_late")
    # The period shown is the one the timer breached: the late extension moved neither.
    assert before_the_answer["due_at"] == midnight_after(date(2026, 4, 1))


def test_complaint_is_late_when_the_breach_arrives_before_the_response() -> None:
    complaint = respond(an_investigated_complaint(), shanghai(3, 20))
    history = events_of(complaint)
    timer = the_decision_timer(history)
    # The timer topic ran ahead of the complaint topic: the breach is seen before the response.
    breach_first = [*history[:-1], *timer[:-1], history[-1], timer[-1]]

    row = only_row(ComplaintsView(), breach_first)

    assert row["on_time"] is False


def test_complaint_timeliness_is_unknown_until_its_timer_outcome_arrives() -> None:
    row = only_row(ComplaintsView(), events_of(respond(an_investigated_complaint(), shanghai(3, 10))))

    assert (row["status"], row["on_time"]) == ("responded", None)


def test_an_earlier_periods_timer_does_not_decide_a_reopened_complaints_timeliness() -> None:
    complaint = respond(an_investigated_complaint(), shanghai(3, 10))
    first_period = with_its_timer(complaint)
    complaint.close(ctx(OFFICER, "zheng.qiang", shanghai(3, 11)), outcome=ComplaintOutcome.PARTLY_UPHELD)
    complaint.reopen(ctx(Role.SUPERVISOR, "boss", shanghai(4, 1)), reason="new evidence")
    respond(complaint, shanghai(5, 20))  # the new period ended 24:00 16 April: late

    # The first period's outcome (met) arrives after the reopening.
    reopened = events_of(complaint)
    row = only_row(ComplaintsView(), [*first_period[:-1], *reopened, first_period[-1]])

    assert (row["status"], row["on_time"], row["decide_timer_outcome"]) == ("responded", None, None)


def test_complaint_timeliness_is_unknown_while_it_is_open() -> None:
    row = only_row(ComplaintsView(), events_of(an_investigated_complaint()))

    assert (row["on_time"], row["handler_id"], row["complexity"]) == (None, "zheng.qiang", "complex")
    assert row["due_at"] == midnight_after(date(2026, 3, 17))


def test_complaint_deadline_is_paused_when_an_external_appraisal_runs() -> None:
    complaint = an_investigated_complaint()
    complaint.start_appraisal(ctx(OFFICER, "zheng.qiang", shanghai(3, 5)), provider="lab", purpose="paint")
    history = events_of(complaint)
    paused = only_row(ComplaintsView(), history)
    complaint.complete_appraisal(ctx(OFFICER, "zheng.qiang", shanghai(3, 9)), result_summary="paint missing")

    resumed = only_row(ComplaintsView(), history + events_of(complaint))

    # Paused on 5 March with 12 days left, resumed on 9 March: they end on Sat 21 March, so on Monday.
    assert (paused["paused"], paused["due_at"]) == (True, None)
    assert (resumed["paused"], resumed["due_at"]) == (False, midnight_after(date(2026, 3, 23)))


def test_complaint_statistics_count_lodged_responded_and_on_time_when_complaints_are_answered() -> None:
    on_time = respond(an_investigated_complaint(), shanghai(3, 10))
    late = respond(an_investigated_complaint(), shanghai(3, 20))
    open_ = an_investigated_complaint()
    online = a_complaint(channel=ComplaintChannel.ONLINE)
    april = a_complaint(received_at=shanghai(4, 1, hour=0))  # 31 March 16:00 UTC: April in Shanghai

    history = [*with_its_timer(on_time), *with_its_timer(late), *events_of(open_, online, april)]

    totals = fold([ComplaintsView(), ComplaintStatsView()], history)

    assert totals["complaint_stats"] == {
        ("claims", "hotline", "2026-03"): {
            "category": "claims",
            "channel": "hotline",
            "month": "2026-03",
            "lodged": 3,
            "responded": 2,
            "responded_on_time": 1,
        },
        ("claims", "online", "2026-03"): {
            "category": "claims",
            "channel": "online",
            "month": "2026-03",
            "lodged": 1,
            "responded": 0,
            "responded_on_time": 0,
        },
        ("claims", "hotline", "2026-04"): {
            "category": "claims",
            "channel": "hotline",
            "month": "2026-04",
            "lodged": 1,
            "responded": 0,
            "responded_on_time": 0,
        },
    }


def test_complaint_statistics_follow_the_category_when_a_complaint_is_reclassified() -> None:
    complaint = a_complaint()
    complaint.acknowledge(ctx(OFFICER, "wu.xia"), channel="sms")
    complaint.assign(ctx(OFFICER, "wu.xia"), handler_id="zheng.qiang", involved_staff=frozenset())
    complaint.classify(
        ctx(OFFICER, "zheng.qiang"), complexity=Complexity.SIMPLE, category=ComplaintCategory.SALES
    )

    totals = fold([ComplaintsView(), ComplaintStatsView()], events_of(complaint))["complaint_stats"]

    assert list(totals) == [("sales", "hotline", "2026-03")]


# -------------------------------------------------------------------------------------------- customers


def test_customer_lists_each_case_once_when_opening_events_are_delivered_twice() -> None:
    first, second = a_proposal(), a_proposal(at=T0 + timedelta(hours=1))
    claim = a_reported_claim(at=T0 + timedelta(hours=2))
    complaint = a_complaint(received_at=T0 + timedelta(hours=3))
    history = events_of(first, second, claim, complaint)

    row = only_row(CustomersView(), [*history, *history])

    assert row["policy_ids"] == [str(first.id), str(second.id)]
    assert row["claim_ids"] == [str(claim.id)]
    assert row["complaint_ids"] == [str(complaint.id)]


def test_customer_cases_keep_their_opening_order_when_events_arrive_out_of_order() -> None:
    first, second = a_proposal(), a_proposal(at=T0 + timedelta(hours=1))
    history = events_of(first, second)

    assert only_row(CustomersView(), history) == only_row(CustomersView(), history[::-1])


# -------------------------------------------------------------------------------------------- worklist


def items(events: Sequence[DomainEvent]) -> dict[str, Row]:
    return {key[1]: row for key, row in rows(WorklistView(), events).items()}


def test_work_item_opens_when_a_claim_is_reported_and_closes_when_it_is_registered() -> None:
    claim = a_reported_claim()
    history = events_of(claim)
    reported = items(history)
    claim.register(ctx(HANDLER, "chen.jie"), claim_no="CLM-1", coverages=("damage",), reserve_fen=1)

    registered = items(history + events_of(claim))

    assert reported["register claim"]["role"] == "claims_handler"
    assert reported["register claim"]["assignee"] == "chen.jie"
    assert set(reported) == {"register claim", "send documents list", "decide claim"}
    assert set(registered) == {"survey", "send documents list", "decide claim"}
    assert registered["survey"]["assignee"] is None


def test_decide_claim_item_has_no_due_date_while_documents_are_awaited() -> None:
    waiting = items(events_of(a_claim_awaiting_documents()))
    completed = items(events_of(with_documents_completed(a_claim_awaiting_documents(), shanghai(3, 6))))

    assert (waiting["decide claim"]["due_at"], waiting["decide claim"]["paused"]) == (None, True)
    assert waiting["collect documents"]["assignee"] == "chen.jie"
    assert "send documents list" not in waiting
    assert completed["decide claim"]["due_at"] == midnight_after(date(2026, 4, 7))
    assert completed["decide claim"]["rule_id"] == "IL23-DETERMINE-30D"
    assert "collect documents" not in completed


def test_rejection_notice_item_is_due_in_three_days_when_a_claim_is_rejected() -> None:
    open_items = items(events_of(a_decided_claim(ClaimOutcome.NOT_COVERED)))

    assert set(open_items) == {"send rejection notice"}
    assert open_items["send rejection notice"]["due_at"] == midnight_after(date(2026, 3, 9))


def test_rejection_notice_item_opens_beside_the_settlement_when_a_claim_is_partly_covered() -> None:
    claim = a_decided_claim(ClaimOutcome.PARTIAL)
    history = events_of(claim)
    decided = items(history)
    claim.send_rejection_notice(
        ctx(HANDLER, "chen.jie", shanghai(3, 6)),
        reasons=("exclusion 7.3",),
        notice_ref="R-1",
        channel="letter",
    )

    notified = items(history + events_of(claim))

    assert set(decided) == {"send rejection notice", "agree settlement"}
    assert decided["send rejection notice"]["due_at"] == midnight_after(date(2026, 3, 9))
    # The part refused is notified; the part paid is still to settle, so nothing is ready to close.
    assert set(notified) == {"agree settlement"}


def test_respond_item_is_assigned_to_the_complaint_handler_when_the_complaint_is_assigned() -> None:
    open_items = items(events_of(an_investigated_complaint()))

    assert set(open_items) == {"respond to complaint"}
    respond_item = open_items["respond to complaint"]
    assert (respond_item["assignee"], respond_item["rule_id"]) == ("zheng.qiang", "CMP-DECIDE-15D")
    assert respond_item["due_at"] == midnight_after(date(2026, 3, 17))


def test_respond_item_gets_a_new_period_when_a_closed_complaint_is_reopened() -> None:
    complaint = respond(an_investigated_complaint(), shanghai(3, 10))
    complaint.close(ctx(OFFICER, "zheng.qiang", shanghai(3, 11)), outcome=ComplaintOutcome.PARTLY_UPHELD)
    complaint.reopen(ctx(Role.SUPERVISOR, "boss", shanghai(4, 1)), reason="new evidence")
    history = events_of(complaint)

    open_items = items(history)
    row = only_row(ComplaintsView(), history)

    assert set(open_items) == {"respond to complaint"}
    assert open_items["respond to complaint"]["due_at"] == midnight_after(date(2026, 4, 16))
    assert (row["status"], row["responded_at"], row["on_time"]) == ("investigating", None, None)
    assert row["due_at"] == midnight_after(date(2026, 4, 16))


def test_callback_item_is_due_by_the_task_due_date_and_closes_when_completed() -> None:
    due_by = shanghai(3, 5, hour=0)
    task = a_survey_callback(due_by)
    history = events_of(task)
    created = items(history)
    task.attempt(
        ctx(Role.CALLBACK_AGENT, "he.ping"), channel=CallbackChannel.PHONE, outcome=AttemptOutcome.REACHED
    )
    history += events_of(task)
    attempted = items(history)
    task.complete(ctx(Role.CALLBACK_AGENT, "he.ping"), answers={"satisfied": "yes"})

    completed = items(history + events_of(task))

    assert (created["make callback"]["due_at"], created["make callback"]["assignee"]) == (due_by, None)
    assert created["make callback"]["rule_id"] == "CO-SURVEY-CALLBACK-2WD"
    assert created["make callback"]["related_case_id"] == UUID("00000000-0000-4000-8000-000000000009")
    assert attempted["make callback"]["assignee"] == "he.ping"
    assert completed == {}


def test_no_kind_of_work_item_opens_and_closes_on_the_same_event() -> None:
    for kind in KINDS:
        assert not set(kind.opened_by) & kind.closing_events(), kind.item


def test_work_item_colour_follows_the_share_of_time_used() -> None:
    due, amber, red = shanghai(3, 20), shanghai(3, 10), shanghai(3, 16)

    assert [colour(due, amber, red, at) for at in (shanghai(3, 1), amber, red, due)] == [
        "green",
        "amber",
        "red",
        "breached",
    ]
    assert colour(None, None, None, due) == "none"


# -------------------------------------------------------------------------------------------- all views


def a_busy_history() -> list[DomainEvent]:
    """A policy, a paid claim, a rejected claim, an answered complaint and a callback, in time order."""
    complaint = respond(an_investigated_complaint(), shanghai(3, 10))
    events = events_of(
        an_issued_policy(),
        paid(a_settled_claim()),
        a_decided_claim(ClaimOutcome.NOT_COVERED),
        complaint,
        a_survey_callback(shanghai(3, 5)),
    )
    return in_time_order(events)


def in_time_order(events: Sequence[DomainEvent]) -> list[DomainEvent]:
    """By recorded time, each case's events in version order: as one live consumer might see them."""
    return sorted(events, key=lambda e: (e.recorded_at, str(e.originator_id), e.originator_version))


def every_view() -> list[View]:
    return [view for projection in ALL_PROJECTIONS for view in projection.views]


def test_folding_the_same_history_twice_gives_identical_rows() -> None:
    history = a_busy_history()

    assert fold(every_view(), history) == fold(every_view(), list(history))


def test_every_row_has_exactly_its_table_columns_when_a_busy_history_is_folded() -> None:
    folded = fold(every_view(), a_busy_history())

    for view in every_view():
        for key, row in folded[view.table.name].items():
            assert set(row) == set(view.table.column_names())
            assert key == tuple(row[k] for k in view.table.key)


def test_rows_are_the_same_when_cases_interleave_differently() -> None:
    history = a_busy_history()
    # A rebuild reads the stores context by context and case by case; live topics interleave freely.
    case_by_case = sorted(
        history, key=lambda e: (type(e).__module__, str(e.originator_id), e.originator_version)
    )

    assert fold(every_view(), case_by_case) == fold(every_view(), history)


def test_a_redelivered_event_changes_no_row() -> None:
    history = a_busy_history()

    assert fold(every_view(), [*history, *history]) == fold(every_view(), history)


def test_projection_by_name_refuses_an_unknown_name() -> None:
    assert projection_by_name("claims").name == "claims"
    with pytest.raises(UnknownProjectionError, match="policies, claims"):
        projection_by_name("nonsense")
