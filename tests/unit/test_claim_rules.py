"""The rules a claim keeps: for each guard of ``domain/claim.py`` and ``domain/cover.py`` one case it lets
through and one it refuses with the named error (``.refused`` also proves nothing was recorded)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

import domain.claim as claim_module
from domain.base import SHANGHAI, Actor, ActorRoleError, DomainEvent, InvalidTransitionError, Role
from domain.claim import (
    AdvanceBasis,
    AdvancePaymentIssued,
    ApprovedAmountExceedsCoverError,
    Claim,
    ClaimAdjusted,
    ClaimApplicationAlreadyReceivedError,
    ClaimApplicationNotReceivedError,
    ClaimApplicationReceived,
    ClaimBusinessTimeError,
    ClaimClosed,
    ClaimDecided,
    ClaimDocumentReceived,
    ClaimDocumentsCompleted,
    ClaimDocumentsRequestDelivered,
    ClaimDocumentsRequested,
    ClaimNotFullyPaidError,
    ClaimOutcome,
    ClaimRegistered,
    ClaimReopened,
    ClaimReported,
    ClaimReviewed,
    ClaimStatus,
    ClaimWithdrawn,
    ClosureOutcome,
    DocumentsAlreadyCompleteError,
    DocumentsAlreadyRequestedError,
    DocumentsRequestNotOpenError,
    DocumentsStillMissingError,
    LossAssessed,
    NonDisclosureRefusalWithoutRescissionError,
    PaymentBeforeApprovalError,
    PaymentExceedsApprovedAmountError,
    PaymentIssued,
    RefusalGround,
    RejectionNoticeNotSentError,
    RejectionNoticeSent,
    RejectionWithoutReasonsError,
    ReviewerIsAdjusterError,
    SettlementAgreed,
    SettlementExceedsApprovedAmountError,
    SurveyDone,
)
from domain.cover import CoverPeriod, CoverSuspension, PolicyCover
from domain.policy import Policy
from domain.policy_cover import cover_over_time
from tests.gwt import T0, Expected, Then, ctx, expect, given, refuses
from tests.unit import test_policy_rules as policies

REPO_ROOT = Path(__file__).resolve().parents[2]

HANDLER = Role.CLAIMS_HANDLER
SURVEYOR = Role.SURVEYOR
ADJUSTER = Role.ADJUSTER
REVIEWER = Role.CLAIM_REVIEWER

ADJUSTER_ID = "wang.fang"
REVIEWER_ID = "li.na"

SUM_INSURED_FEN = 20_000_000  # 200,000.00 CNY
ASSESSED_FEN = 1_250_000
PROPOSED_FEN = 1_200_000
APPROVED_FEN = 1_150_000

LOSS_AT = datetime(2026, 2, 27, 1, 30, tzinfo=UTC)  # Friday 09:30 in Shanghai
APPLIED_AT = T0 - timedelta(hours=1)  # Monday 2 March 09:00 in Shanghai, an hour before it is recorded
DOCS_AT = T0 - timedelta(minutes=30)
MISSING_DOCS = ("police_report", "repair_invoice")
NOT_COVERED_REASONS = ("drunk driving: exclusion clause 7.3",)


# -------------------------------------------------------------------------------------------------- builders


def shanghai(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def given_events_are(events: Sequence[DomainEvent], *expected: Expected) -> None:
    """The events a creating command recorded are exactly ``expected`` (Then.events for a new case)."""
    Then(aggregate=replay(events), new_events=list(events), error=None).events(*expected)


def a_cover(**overrides: Any) -> PolicyCover:
    """A motor policy in force for calendar year 2026 (Shanghai dates), not CTPL."""
    fields: dict[str, Any] = {
        "policy_id": UUID("00000000-0000-4000-8000-000000000001"),
        "policy_no": "PDAA2026310000000001",
        "customer_id": "cust-0001",
        "in_force": True,
        "effective_from": date(2026, 1, 1),
        "effective_to": date(2026, 12, 31),
        "sum_insured_fen": SUM_INSURED_FEN,
        "ctpl": False,
    }
    fields.update(overrides)
    return PolicyCover(**fields)


def report(cover: PolicyCover | None = None, loss_at: datetime = LOSS_AT, role: Role = HANDLER) -> Claim:
    return Claim.report(
        ctx(role),
        claim_id=uuid4(),
        cover=cover or a_cover(),
        loss_at=loss_at,
        reporter_name="张伟",
        reporter_phone="13800138000",
        cause="collision",
        description="rear-ended at a red light",
        channel="phone-95500",
    )


def a_reported_claim(*, ctpl: bool = False) -> Claim:
    return report(a_cover(ctpl=ctpl))


def a_registered_claim(*, ctpl: bool = False) -> Claim:
    claim = a_reported_claim(ctpl=ctpl)
    claim.register(
        ctx(HANDLER), claim_no="CLM-2026-000123", coverages=("vehicle_damage",), reserve_fen=1_500_000
    )
    return claim


def a_surveyed_claim() -> Claim:
    claim = a_registered_claim()
    claim.record_survey(
        ctx(SURVEYOR), findings="rear bumper and boot lid", liability_view="third party at fault"
    )
    return claim


def with_application(claim: Claim, received_at: datetime = APPLIED_AT) -> Claim:
    """The claim application (索赔申请) reached the insurer at ``received_at``."""
    claim.receive_application(
        ctx(HANDLER, at=max(received_at, T0)), received_at=received_at, documents=("claim form",)
    )
    return claim


def an_assessed_claim() -> Claim:
    """Surveyed and assessed, with the claim application received."""
    claim = a_surveyed_claim()
    claim.assess_loss(ctx(SURVEYOR), items=("rear bumper", "boot lid"), amount_fen=ASSESSED_FEN)
    return with_application(claim)


def a_claim_awaiting_documents() -> Claim:
    """Assessed, with the one complete list of missing documents sent and nothing received yet."""
    claim = an_assessed_claim()
    claim.request_documents(ctx(HANDLER), required_docs=MISSING_DOCS, notice_ref="NTC-22-0001")
    return claim


def a_claim_with_documents_complete() -> Claim:
    claim = received_all_documents(a_claim_awaiting_documents())
    claim.complete_documents(ctx(HANDLER))
    return claim


def an_adjusted_claim(*, adjuster: str = ADJUSTER_ID) -> Claim:
    claim = a_claim_with_documents_complete()
    claim.adjust(
        ctx(ADJUSTER, actor=adjuster),
        proposed_amount_fen=PROPOSED_FEN,
        deductible_fen=50_000,
        calculation="assessed 12,500.00 less deductible 500.00",
    )
    return claim


def a_reviewed_claim(*, approved_fen: int = APPROVED_FEN) -> Claim:
    claim = an_adjusted_claim()
    claim.review(ctx(REVIEWER, actor=REVIEWER_ID), approved_amount_fen=approved_fen)
    return claim


def a_covered_claim() -> Claim:
    """Reviewed and decided as covered: ready for settlement."""
    claim = a_reviewed_claim()
    claim.decide(ctx(REVIEWER, actor=REVIEWER_ID), outcome=ClaimOutcome.COVERED)
    return claim


def a_rejected_claim() -> Claim:
    """Decided as not covered straight after registration (a clear exclusion); no notice sent yet."""
    claim = a_registered_claim()
    claim.decide(
        ctx(REVIEWER, actor=REVIEWER_ID), outcome=ClaimOutcome.NOT_COVERED, reasons=NOT_COVERED_REASONS
    )
    return claim


def a_rejected_claim_with_notice_sent() -> Claim:
    claim = a_rejected_claim()
    claim.send_rejection_notice(
        ctx(HANDLER), reasons=NOT_COVERED_REASONS, notice_ref="REJ-24-0001", channel="registered-mail"
    )
    return claim


def a_settled_claim(*, amount_fen: int = APPROVED_FEN) -> Claim:
    claim = a_covered_claim()
    claim.agree_settlement(
        ctx(HANDLER), amount_fen=amount_fen, payee_name="张伟", payee_account="6222000011112222"
    )
    return claim


def a_paid_claim() -> Claim:
    claim = a_settled_claim()
    claim.issue_payment(ctx(HANDLER), amount_fen=APPROVED_FEN, reference="PAY-0001")
    return claim


def a_closed_claim() -> Claim:
    claim = a_paid_claim()
    claim.close(ctx(HANDLER))
    return claim


def received_all_documents(claim: Claim, at: datetime = DOCS_AT) -> Claim:
    for doc in MISSING_DOCS:
        claim.receive_document(ctx(HANDLER, at=max(at, T0)), doc_type=doc, received_at=at)
    return claim


def replay(events: Sequence[DomainEvent]) -> Claim:
    aggregate: Any = None
    for event in events:
        aggregate = event.mutate(aggregate)
    assert isinstance(aggregate, Claim)
    return aggregate


def claim_event_classes() -> list[type[DomainEvent]]:
    return [
        obj
        for obj in vars(claim_module).values()
        if isinstance(obj, type) and issubclass(obj, DomainEvent) and obj.__module__ == claim_module.__name__
    ]


# ------------------------------------------------------------------------------------------- cover (Art. 14)


def test_report_records_the_claim_when_policy_is_in_force_and_loss_is_inside_cover() -> None:
    claim = report()

    [event] = claim.collect_events()
    assert isinstance(event, ClaimReported)
    assert event.occurred_at == LOSS_AT
    assert (event.policy_no, event.ctpl, event.sum_insured_fen) == (
        "PDAA2026310000000001",
        False,
        SUM_INSURED_FEN,
    )
    assert claim.status is ClaimStatus.REPORTED


def outside_cover(reason: str) -> Expected:
    """The decision ``report`` records for a loss the policy did not cover then."""
    return expect(
        ClaimDecided,
        outcome=ClaimOutcome.NOT_COVERED,
        reasons=(reason,),
        grounds=(RefusalGround.OUTSIDE_COVER,),
    )


def reported(loss_at: datetime) -> Expected:
    return expect(ClaimReported, occurred_at=loss_at, policy_no="PDAA2026310000000001")


def when_reported(cover: PolicyCover, loss_at: datetime) -> list[DomainEvent]:
    return [e for e in report(cover, loss_at=loss_at).collect_events() if isinstance(e, DomainEvent)]


SURRENDERED = a_cover(
    in_force=False,
    # Surrendered on a request of Saturday 28 February (the month's last day): the day is still covered.
    ended_at=shanghai(2026, 3, 1, 0),
    ended_by="PolicySurrendered",
)


def test_report_is_recorded_and_left_to_the_handlers_when_the_loss_preceded_a_later_surrender() -> None:
    claim = report(SURRENDERED, loss_at=shanghai(2026, 2, 28, 23, 30))

    then = given(claim)

    assert [type(e) for e in then.history] == [ClaimReported]
    assert then.aggregate.status is ClaimStatus.REPORTED


def test_report_is_recorded_and_decided_not_covered_when_the_loss_followed_the_surrender() -> None:
    events = when_reported(SURRENDERED, shanghai(2026, 3, 1, 8))

    reason = (
        "the loss at 2026-03-01T08:00+08:00 is after policy PDAA2026310000000001 ended "
        "(PolicySurrendered at 2026-03-01T00:00+08:00)"
    )
    given_events_are(events, reported(shanghai(2026, 3, 1, 8)), outside_cover(reason))


def test_report_is_recorded_when_the_policy_is_no_longer_in_force_but_covered_the_loss_date() -> None:
    # Lapsed or expired since: what counts is the cover on the loss date, not the policy's state today.
    claim = report(a_cover(in_force=False))

    assert [type(e) for e in claim.collect_events()] == [ClaimReported]


def test_report_is_decided_not_covered_when_loss_is_on_the_shanghai_day_before_cover_starts() -> None:
    # 2025-12-31T15:59Z is 23:59 on 31 December in Shanghai.
    loss_at = datetime(2025, 12, 31, 15, 59, tzinfo=UTC)

    given_events_are(
        when_reported(a_cover(), loss_at),
        reported(loss_at),
        outside_cover(
            "the loss on 2025-12-31 (Asia/Shanghai) is outside the cover of policy PDAA2026310000000001 "
            "(2026-01-01 to 2026-12-31): Insurance Law Art. 14"
        ),
    )


def test_report_is_accepted_when_loss_is_on_the_first_shanghai_day_of_cover_but_still_last_year_in_utc() -> (
    None
):
    claim = report(loss_at=datetime(2025, 12, 31, 16, 0, tzinfo=UTC))  # 2026-01-01 00:00 in Shanghai

    assert [type(e) for e in claim.collect_events()] == [ClaimReported]


def test_report_is_accepted_when_loss_is_on_the_last_shanghai_day_of_cover() -> None:
    claim = report(loss_at=datetime(2026, 12, 31, 15, 59, tzinfo=UTC))  # 2026-12-31 23:59 in Shanghai

    assert [type(e) for e in claim.collect_events()] == [ClaimReported]


def test_report_is_decided_not_covered_when_loss_is_already_new_year_in_shanghai_after_cover_ends() -> None:
    # 2026-12-31T17:00Z is 2027-01-01 01:00 in Shanghai: outside a cover ending 2026-12-31.
    claim = report(loss_at=datetime(2026, 12, 31, 17, 0, tzinfo=UTC))

    [_, decided] = claim.collect_events()
    assert isinstance(decided, ClaimDecided)
    assert "2027-01-01" in decided.reasons[0]
    assert (claim.status, claim.outcome) == (ClaimStatus.DECIDED, ClaimOutcome.NOT_COVERED)


# A policy suspended for the premium due on 30 June 2026 (Art. 36: from 30 August, day 61), reinstated on
# Thursday 8 October, the first working day after the National Day holiday.
SUSPENDED = a_cover(
    suspensions=(
        CoverSuspension(suspended_from=shanghai(2026, 8, 30, 0), reinstated_at=shanghai(2026, 10, 8, 10)),
    )
)


def test_report_is_decided_not_covered_when_the_loss_fell_while_the_cover_was_suspended() -> None:
    loss_at = shanghai(2026, 10, 5, 15)  # National Day holiday, still suspended

    given_events_are(
        when_reported(SUSPENDED, loss_at),
        reported(loss_at),
        outside_cover(
            "the loss at 2026-10-05T15:00+08:00 falls while policy PDAA2026310000000001 was suspended for "
            "unpaid premium (from 2026-08-30T00:00+08:00, reinstated at 2026-10-08T10:00+08:00): "
            "Insurance Law Arts. 36-37"
        ),
    )


@pytest.mark.parametrize(
    "loss_at",
    [
        pytest.param(shanghai(2026, 8, 29, 23, 59), id="last-day-of-the-grace-period"),
        pytest.param(shanghai(2026, 10, 8, 10), id="the-instant-of-reinstatement"),
    ],
)
def test_report_is_left_to_the_handlers_when_the_loss_fell_outside_the_suspension(loss_at: datetime) -> None:
    assert [type(e) for e in when_reported(SUSPENDED, loss_at)] == [ClaimReported]


# Renewed for 2027: the current period is 2027, and 2026 is still one of the policy's periods.
RENEWED_WITH_A_GAP = a_cover(
    effective_from=date(2027, 1, 3),
    effective_to=date(2027, 12, 31),
    periods=(
        CoverPeriod(effective_from=date(2026, 1, 1), effective_to=date(2026, 12, 31)),
        CoverPeriod(effective_from=date(2027, 1, 3), effective_to=date(2027, 12, 31)),
    ),
)


def test_report_is_left_to_the_handlers_when_the_loss_fell_in_a_period_before_the_renewal() -> None:
    assert [type(e) for e in when_reported(RENEWED_WITH_A_GAP, shanghai(2026, 12, 31, 22))] == [ClaimReported]


def test_report_is_decided_not_covered_when_the_loss_fell_between_two_periods() -> None:
    [_, decided] = when_reported(RENEWED_WITH_A_GAP, shanghai(2027, 1, 2, 12))

    assert isinstance(decided, ClaimDecided)
    assert decided.reasons == (
        "the loss on 2027-01-02 (Asia/Shanghai) is outside the cover of policy PDAA2026310000000001 "
        "(2026-01-01 to 2026-12-31; 2027-01-03 to 2027-12-31): Insurance Law Art. 14",
    )


def test_rejection_notice_is_sent_and_the_claim_closed_when_the_loss_was_outside_cover() -> None:
    loss_at = shanghai(2026, 3, 1, 8)
    claim = report(SURRENDERED, loss_at=loss_at)
    reason = SURRENDERED.gap_at(loss_at)
    assert reason is not None
    claim.send_rejection_notice(ctx(HANDLER), reasons=(reason,), notice_ref="REJ-24-0002", channel="letter")

    given(claim).when(lambda c: c.close(ctx(HANDLER))).events(
        expect(ClaimClosed, outcome=ClosureOutcome.REJECTED)
    )


# ------------------------------------------------------------------------------- the cover over the history


def cover_of(policy: Policy) -> PolicyCover:
    """What ``Policies.cover`` hands a claim: the policy folded with its whole history."""
    return cover_over_time(policy, [e for e in policy.collect_events() if isinstance(e, DomainEvent)])


def a_surrendered_life_policy() -> Policy:
    """In force from 3 March 2026; surrender requested on Wed 30 September, processed on Fri 9 October."""
    policy = policies.an_in_force_life_policy()
    policy.surrender(
        ctx(Role.UNDERWRITER, at=shanghai(2026, 10, 9)),
        requested_on=date(2026, 9, 30),
        cash_value_fen=400_000,
    )
    return policy


def test_claim_is_reported_and_left_open_when_the_loss_came_before_a_surrender_recorded_since() -> None:
    cover = cover_of(a_surrendered_life_policy())
    claim = report(cover, loss_at=shanghai(2026, 9, 30, 22))

    assert not cover.in_force
    assert (cover.ended_at, cover.ended_by) == (shanghai(2026, 10, 1, 0), "PolicySurrendered")
    assert [type(e) for e in claim.collect_events()] == [ClaimReported]


def test_claim_is_decided_not_covered_when_the_loss_came_on_national_day_after_the_surrender_request() -> (
    None
):
    claim = report(cover_of(a_surrendered_life_policy()), loss_at=shanghai(2026, 10, 1, 9))

    assert (claim.status, claim.outcome) == (ClaimStatus.DECIDED, ClaimOutcome.NOT_COVERED)


def test_claim_is_reported_and_left_open_when_the_loss_was_on_the_last_day_before_expiry() -> None:
    policy = policies.an_issued_motor_policy()  # 3 March 2026 to 2 March 2027
    policy.expire(ctx(Role.SYSTEM, at=shanghai(2027, 3, 3, 0)))

    claim = report(cover_of(policy), loss_at=shanghai(2027, 3, 2, 23, 50))

    assert [type(e) for e in claim.collect_events()] == [ClaimReported]


def test_cover_records_the_art36_suspension_and_its_reinstatement_when_the_policy_lapsed() -> None:
    policy = policies.ready_to_issue(policies.a_life_proposal())
    policy.issue(
        ctx(Role.UNDERWRITER, policies.UNDERWRITER_ID),
        policy_no="P-2026-000778",
        effective_from=date(2026, 3, 31),
        effective_to=date(2029, 3, 30),
        terms_version="2026-01",
    )
    policy.agree_premium_schedule(ctx(Role.UNDERWRITER), frequency_months=3, instalments=12)
    # Premium due on Tue 30 June (a month's end), a payment demand on 15 July: 30 days after it run
    # before the 60 days after the due date, so the cover is suspended from Sat 15 August.
    policy.send_premium_reminder(
        ctx(Role.SYSTEM, at=shanghai(2026, 7, 15)), reminded_on=date(2026, 7, 15), channel="letter"
    )
    policy.lapse(ctx(Role.SYSTEM, at=shanghai(2026, 8, 15, 0)))
    policy.reinstate(
        ctx(Role.UNDERWRITER, at=shanghai(2026, 10, 8)), arrears_paid_fen=1_200_000, agreement_ref="FX-1"
    )

    cover = cover_of(policy)

    assert cover.suspensions == (
        CoverSuspension(suspended_from=shanghai(2026, 8, 15, 0), reinstated_at=shanghai(2026, 10, 8)),
    )
    assert cover.gap_at(shanghai(2026, 8, 14, 23, 59)) is None
    assert cover.gap_at(shanghai(2026, 10, 3)) is not None
    assert cover.gap_at(shanghai(2026, 10, 8, 10)) is None


def test_cover_keeps_every_period_when_the_policy_was_renewed() -> None:
    policy = policies.an_issued_motor_policy()
    policy.renew(
        ctx(Role.UNDERWRITER),
        effective_from=date(2027, 3, 3),
        effective_to=date(2028, 3, 2),
        premium_fen=480_000,
        terms_version="2027-01",
    )

    cover = cover_of(policy)

    assert cover.cover_periods() == (
        CoverPeriod(effective_from=date(2026, 3, 3), effective_to=date(2027, 3, 2)),
        CoverPeriod(effective_from=date(2027, 3, 3), effective_to=date(2028, 3, 2)),
    )
    assert cover.gap_at(shanghai(2026, 5, 1)) is None


def test_cover_names_the_rescission_ground_when_the_policy_was_rescinded() -> None:
    policy = policies.with_ground(policies.an_in_force_life_policy(), date(2026, 9, 1))
    policies.rescind_on(date(2026, 9, 11))(policy)

    cover = cover_of(policy)

    assert (cover.rescission_ground, cover.ended_by) == ("non_disclosure_art16", "PolicyRescinded")
    assert cover.ended_at == shanghai(2026, 9, 12, 0)


def test_report_is_refused_when_loss_time_has_no_timezone() -> None:
    naive_loss = datetime(2026, 6, 1, 12, 0)  # noqa: DTZ001 - the naive datetime is the input under test
    with refuses(ValueError):
        report(loss_at=naive_loss)


def test_report_is_refused_when_actor_may_not_report_claims() -> None:
    with refuses(ActorRoleError) as refusal:
        report(role=Role.SELLER)
    assert refusal.value.step == "report claim"


# -------------------------------------------------------------------------------------------- role and order

Command = Callable[[Claim, Role], None]

# Each case: the claim in the state the command needs, the command, the role that takes it, the event it
# records with the values given to the command, a role that may not take the step, and the step's name.
COMMANDS: list[Any] = [
    pytest.param(
        a_reported_claim,
        lambda c, r: c.register(ctx(r), claim_no="CLM-1", coverages=("vehicle_damage",), reserve_fen=1),
        HANDLER,
        expect(ClaimRegistered, claim_no="CLM-1", coverages=("vehicle_damage",), initial_reserve_fen=1),
        SURVEYOR,
        "register claim",
        id="register",
    ),
    pytest.param(
        a_registered_claim,
        lambda c, r: c.record_survey(ctx(r), findings="dent", liability_view="clear"),
        SURVEYOR,
        expect(SurveyDone, findings="dent", liability_view="clear"),
        HANDLER,
        "record survey",
        id="record_survey",
    ),
    pytest.param(
        a_surveyed_claim,
        lambda c, r: c.assess_loss(ctx(r), items=("bumper",), amount_fen=ASSESSED_FEN),
        ADJUSTER,
        expect(LossAssessed, items=("bumper",), amount_fen=ASSESSED_FEN),
        HANDLER,
        "assess loss",
        id="assess_loss",
    ),
    pytest.param(
        an_assessed_claim,
        lambda c, r: c.request_documents(ctx(r), required_docs=MISSING_DOCS, notice_ref="NTC-1"),
        HANDLER,
        expect(
            ClaimDocumentsRequested,
            required_docs=MISSING_DOCS,
            notice_ref="NTC-1",
            new_facts=False,
            reason=None,
        ),
        ADJUSTER,
        "request documents",
        id="request_documents",
    ),
    pytest.param(
        a_surveyed_claim,
        lambda c, r: c.receive_application(ctx(r), received_at=APPLIED_AT, documents=("claim form",)),
        HANDLER,
        expect(
            ClaimApplicationReceived,
            received_at=APPLIED_AT,
            documents=("claim form",),
            occurred_at=APPLIED_AT,
        ),
        SURVEYOR,
        "receive claim application",
        id="receive_application",
    ),
    pytest.param(
        a_claim_awaiting_documents,
        lambda c, r: c.record_request_delivery(ctx(r), delivered_at=T0, notice_ref="NTC-22-0001"),
        HANDLER,
        expect(ClaimDocumentsRequestDelivered, delivered_at=T0, notice_ref="NTC-22-0001", occurred_at=T0),
        ADJUSTER,
        "record documents request delivery",
        id="record_request_delivery",
    ),
    pytest.param(
        a_claim_awaiting_documents,
        lambda c, r: c.receive_document(ctx(r), doc_type="police_report", received_at=DOCS_AT),
        HANDLER,
        expect(ClaimDocumentReceived, doc_type="police_report", received_at=DOCS_AT, occurred_at=DOCS_AT),
        Role.CALLBACK_AGENT,
        "receive document",
        id="receive_document",
    ),
    pytest.param(
        lambda: received_all_documents(a_claim_awaiting_documents()),
        lambda c, r: c.complete_documents(ctx(r)),
        HANDLER,
        ClaimDocumentsCompleted,
        Role.AUDITOR,
        "complete documents",
        id="complete_documents",
    ),
    pytest.param(
        a_claim_with_documents_complete,
        lambda c, r: c.adjust(ctx(r), proposed_amount_fen=PROPOSED_FEN, deductible_fen=0, calculation="x"),
        ADJUSTER,
        expect(ClaimAdjusted, proposed_amount_fen=PROPOSED_FEN, deductible_fen=0, calculation="x"),
        REVIEWER,
        "adjust claim",
        id="adjust",
    ),
    pytest.param(
        an_adjusted_claim,
        lambda c, r: c.review(ctx(r), approved_amount_fen=APPROVED_FEN),
        REVIEWER,
        expect(ClaimReviewed, approved_amount_fen=APPROVED_FEN, comment=""),
        Role.SUPERVISOR,
        "review claim",
        id="review",
    ),
    pytest.param(
        a_reviewed_claim,
        lambda c, r: c.decide(ctx(r), outcome=ClaimOutcome.COVERED),
        REVIEWER,
        expect(ClaimDecided, outcome=ClaimOutcome.COVERED, reasons=(), grounds=()),
        HANDLER,
        "decide claim",
        id="decide",
    ),
    pytest.param(
        a_rejected_claim,
        lambda c, r: c.send_rejection_notice(
            ctx(r), reasons=NOT_COVERED_REASONS, notice_ref="R-1", channel="mail"
        ),
        HANDLER,
        expect(
            RejectionNoticeSent,
            reasons=NOT_COVERED_REASONS,
            notice_ref="R-1",
            channel="mail",
            outcome=ClaimOutcome.NOT_COVERED,
        ),
        REVIEWER,
        "send rejection notice",
        id="send_rejection_notice",
    ),
    pytest.param(
        a_covered_claim,
        lambda c, r: c.agree_settlement(
            ctx(r), amount_fen=APPROVED_FEN, payee_name="张伟", payee_account="6222"
        ),
        HANDLER,
        expect(SettlementAgreed, amount_fen=APPROVED_FEN, payee_name="张伟", payee_account="6222"),
        ADJUSTER,
        "agree settlement",
        id="agree_settlement",
    ),
    pytest.param(
        lambda: a_reported_claim(ctpl=True),
        lambda c, r: c.pay_advance(
            ctx(r), amount_fen=300_000, basis=AdvanceBasis.CTPL_RESCUE, reference="A-1"
        ),
        HANDLER,
        expect(AdvancePaymentIssued, amount_fen=300_000, basis=AdvanceBasis.CTPL_RESCUE, reference="A-1"),
        SURVEYOR,
        "pay advance",
        id="pay_advance",
    ),
    pytest.param(
        a_settled_claim,
        lambda c, r: c.issue_payment(ctx(r), amount_fen=APPROVED_FEN, reference="PAY-1"),
        HANDLER,
        expect(PaymentIssued, amount_fen=APPROVED_FEN, reference="PAY-1"),
        Role.AUDITOR,
        "issue payment",
        id="issue_payment",
    ),
    pytest.param(
        a_paid_claim,
        lambda c, r: c.close(ctx(r)),
        HANDLER,
        expect(ClaimClosed, outcome=ClosureOutcome.PAID),
        Role.AUDITOR,
        "close claim",
        id="close",
    ),
    pytest.param(
        a_closed_claim,
        lambda c, r: c.reopen(ctx(r), reason="new medical invoice"),
        Role.SUPERVISOR,
        expect(ClaimReopened, reason="new medical invoice"),
        Role.SYSTEM,
        "reopen claim",
        id="reopen",
    ),
    pytest.param(
        a_registered_claim,
        lambda c, r: c.withdraw(ctx(r), reason="claimant settled privately"),
        HANDLER,
        expect(ClaimWithdrawn, reason="claimant settled privately"),
        Role.SELLER,
        "withdraw claim",
        id="withdraw",
    ),
]


@pytest.mark.parametrize(("build", "command", "role", "expected", "wrong_role", "step"), COMMANDS)
def test_command_records_its_event_when_role_and_state_fit(
    build: Callable[[], Claim],
    command: Command,
    role: Role,
    expected: Expected | type[DomainEvent],
    wrong_role: Role,
    step: str,
) -> None:
    given(build()).when(lambda c: command(c, role)).events(expected)


@pytest.mark.parametrize(("build", "command", "role", "expected", "wrong_role", "step"), COMMANDS)
def test_command_is_refused_when_actor_role_may_not_take_the_step(
    build: Callable[[], Claim],
    command: Command,
    role: Role,
    expected: Expected | type[DomainEvent],
    wrong_role: Role,
    step: str,
) -> None:
    error = given(build()).when(lambda c: command(c, wrong_role)).refused(ActorRoleError)

    assert isinstance(error, ActorRoleError)
    assert (error.step, error.role) == (step, wrong_role)


# Each case: a claim in a state the command does not fit, the command (by a role that may take it), and
# the state the refusal names.
OUT_OF_ORDER: list[Any] = [
    pytest.param(
        a_registered_claim,
        lambda c: c.register(ctx(HANDLER), claim_no="CLM-2", coverages=(), reserve_fen=0),
        "registered",
        id="register-twice",
    ),
    pytest.param(
        a_reported_claim,
        lambda c: c.record_survey(ctx(SURVEYOR), findings="dent", liability_view="clear"),
        "reported",
        id="survey-before-registration",
    ),
    pytest.param(
        a_registered_claim,
        lambda c: c.assess_loss(ctx(SURVEYOR), items=("bumper",), amount_fen=1),
        "registered",
        id="assess-before-survey",
    ),
    pytest.param(
        a_reviewed_claim,
        lambda c: c.request_documents(
            ctx(HANDLER), required_docs=("x",), notice_ref="N", new_facts=True, reason="r"
        ),
        "reviewed",
        id="request-documents-after-review",
    ),
    pytest.param(
        a_surveyed_claim,
        lambda c: c.adjust(ctx(ADJUSTER), proposed_amount_fen=1, deductible_fen=0, calculation="x"),
        "surveyed",
        id="adjust-before-assessment",
    ),
    pytest.param(
        a_claim_with_documents_complete,
        lambda c: c.review(ctx(REVIEWER), approved_amount_fen=1),
        "assessed",
        id="review-before-adjustment",
    ),
    pytest.param(
        an_adjusted_claim,
        lambda c: c.decide(ctx(REVIEWER), outcome=ClaimOutcome.COVERED),
        "adjusted",
        id="decide-covered-before-review",
    ),
    pytest.param(
        a_settled_claim,
        lambda c: c.decide(ctx(REVIEWER), outcome=ClaimOutcome.NOT_COVERED, reasons=NOT_COVERED_REASONS),
        "settled",
        id="reject-after-settlement",
    ),
    pytest.param(
        a_registered_claim,
        lambda c: c.send_rejection_notice(
            ctx(HANDLER), reasons=NOT_COVERED_REASONS, notice_ref="R", channel="m"
        ),
        "registered",
        id="rejection-notice-before-decision",
    ),
    pytest.param(
        a_reviewed_claim,
        lambda c: c.agree_settlement(ctx(HANDLER), amount_fen=1, payee_name="张伟", payee_account="6222"),
        "reviewed",
        id="settle-before-decision",
    ),
    pytest.param(
        a_settled_claim,
        lambda c: c.pay_advance(ctx(HANDLER), amount_fen=1, basis=AdvanceBasis.IL25_ADVANCE, reference="A"),
        "settled",
        id="advance-after-settlement",
    ),
    pytest.param(a_reviewed_claim, lambda c: c.close(ctx(HANDLER)), "reviewed", id="close-open-claim"),
    pytest.param(a_closed_claim, lambda c: c.close(ctx(HANDLER)), "closed", id="close-twice"),
    pytest.param(
        a_paid_claim, lambda c: c.reopen(ctx(HANDLER), reason="r"), "paid", id="reopen-unclosed-claim"
    ),
    pytest.param(
        a_covered_claim, lambda c: c.withdraw(ctx(HANDLER), reason="r"), "decided", id="withdraw-decided"
    ),
]


@pytest.mark.parametrize(("build", "command", "state"), OUT_OF_ORDER)
def test_command_is_refused_when_claim_is_not_in_a_state_it_fits(
    build: Callable[[], Claim], command: Callable[[Claim], None], state: str
) -> None:
    error = given(build()).when(command).refused(InvalidTransitionError)

    assert isinstance(error, InvalidTransitionError)
    assert error.state == state


# --------------------------------------------------------------------------------------- documents (Art. 22)


def test_documents_request_records_the_one_complete_list_when_none_was_sent_before() -> None:
    then = given(an_assessed_claim()).when(
        lambda c: c.request_documents(ctx(HANDLER), required_docs=MISSING_DOCS, notice_ref="NTC-22-0001")
    )

    then.events(
        expect(
            ClaimDocumentsRequested,
            required_docs=MISSING_DOCS,
            notice_ref="NTC-22-0001",
            new_facts=False,
            reason=None,
        )
    )
    assert then.aggregate.outstanding_docs == set(MISSING_DOCS)
    assert then.aggregate.documents_complete is False


def test_second_documents_request_is_refused_when_there_are_no_new_facts() -> None:
    given(a_claim_awaiting_documents()).when(
        lambda c: c.request_documents(
            ctx(HANDLER), required_docs=("medical_report",), notice_ref="NTC-22-0002"
        )
    ).refused(DocumentsAlreadyRequestedError, match="Art. 22")


def test_second_documents_request_is_refused_when_new_facts_have_no_reason() -> None:
    given(a_claim_awaiting_documents()).when(
        lambda c: c.request_documents(
            ctx(HANDLER), required_docs=("medical_report",), notice_ref="NTC-22-0002", new_facts=True
        )
    ).refused(DocumentsAlreadyRequestedError)


def test_second_documents_request_adds_to_the_list_when_new_facts_are_stated_with_a_reason() -> None:
    then = given(a_claim_awaiting_documents()).when(
        lambda c: c.request_documents(
            ctx(HANDLER),
            required_docs=("medical_report",),
            notice_ref="NTC-22-0002",
            new_facts=True,
            reason="survey found the passenger was injured",
        )
    )

    then.events(
        expect(
            ClaimDocumentsRequested,
            required_docs=("medical_report",),
            notice_ref="NTC-22-0002",
            new_facts=True,
            reason="survey found the passenger was injured",
        )
    )
    assert then.aggregate.outstanding_docs == {*MISSING_DOCS, "medical_report"}
    assert then.aggregate.documents_requested == 2


def test_receiving_a_document_removes_it_from_the_list_when_it_was_requested() -> None:
    then = given(a_claim_awaiting_documents()).when(
        lambda c: c.receive_document(ctx(HANDLER), doc_type="police_report", received_at=DOCS_AT)
    )

    then.events(expect(ClaimDocumentReceived, doc_type="police_report", received_at=DOCS_AT))
    assert then.aggregate.outstanding_docs == {"repair_invoice"}


def test_receiving_a_document_is_refused_when_it_is_not_on_the_list() -> None:
    given(a_claim_awaiting_documents()).when(
        lambda c: c.receive_document(ctx(HANDLER), doc_type="birth_certificate", received_at=DOCS_AT)
    ).refused(DocumentsStillMissingError, match="'birth_certificate'")


def test_receiving_a_document_is_refused_when_its_arrival_is_later_than_its_recording() -> None:
    given(a_claim_awaiting_documents()).when(
        lambda c: c.receive_document(
            ctx(HANDLER), doc_type="police_report", received_at=T0 + timedelta(minutes=1)
        )
    ).refused(ClaimBusinessTimeError, match="later than its recording")


def test_receiving_a_document_is_refused_when_it_arrived_before_the_claim_application() -> None:
    given(a_claim_awaiting_documents()).when(
        lambda c: c.receive_document(
            ctx(HANDLER), doc_type="police_report", received_at=APPLIED_AT - timedelta(minutes=1)
        )
    ).refused(ClaimBusinessTimeError, match="claim application")


def test_documents_completion_is_refused_when_items_are_still_missing() -> None:
    claim = a_claim_awaiting_documents()
    claim.receive_document(ctx(HANDLER), doc_type="police_report", received_at=DOCS_AT)

    given(claim).when(lambda c: c.complete_documents(ctx(HANDLER))).refused(
        DocumentsStillMissingError, match="repair_invoice"
    )


def test_documents_completion_is_refused_when_they_were_declared_complete_already() -> None:
    given(a_claim_with_documents_complete()).when(lambda c: c.complete_documents(ctx(HANDLER))).refused(
        DocumentsAlreadyCompleteError
    )


def test_documents_completion_is_refused_when_no_claim_application_is_on_record() -> None:
    claim = a_surveyed_claim()
    claim.assess_loss(ctx(SURVEYOR), items=("rear bumper",), amount_fen=ASSESSED_FEN)

    given(claim).when(lambda c: c.complete_documents(ctx(HANDLER))).refused(ClaimApplicationNotReceivedError)


def test_documents_are_complete_on_receipt_when_the_application_brought_them_all() -> None:
    # Nothing to ask for: the completion dates from the application's receipt, so Art. 25 and CTPL29 run
    # from there and the Art. 22 notice is owed no more (reviewer's IL22 false breach).
    then = given(an_assessed_claim()).when(lambda c: c.complete_documents(ctx(HANDLER)))

    then.events(expect(ClaimDocumentsCompleted, occurred_at=APPLIED_AT))
    assert then.aggregate.documents_complete is True


def test_documents_completion_dates_from_the_last_arrival_when_it_is_declared_later() -> None:
    # Documents arrive on Wed 30 September and on Thu 8 October, after the National Day holiday; staff
    # declare them complete on Fri 9 October. The Art. 23 clock resumes from the arrival, not the declaration.
    claim = with_application(a_surveyed_claim(), shanghai(2026, 9, 25, 9))
    claim.request_documents(
        ctx(HANDLER, at=shanghai(2026, 9, 25, 15)), required_docs=MISSING_DOCS, notice_ref="NTC-22-0005"
    )
    claim.receive_document(
        ctx(HANDLER, at=shanghai(2026, 9, 30, 17)),
        doc_type="police_report",
        received_at=shanghai(2026, 9, 30, 11),
    )
    claim.receive_document(
        ctx(HANDLER, at=shanghai(2026, 10, 9, 9)),
        doc_type="repair_invoice",
        received_at=shanghai(2026, 10, 8, 16),
    )

    given(claim).when(lambda c: c.complete_documents(ctx(HANDLER, at=shanghai(2026, 10, 9, 10)))).events(
        expect(ClaimDocumentsCompleted, occurred_at=shanghai(2026, 10, 8, 16))
    )


def test_documents_completion_dates_from_the_recorded_arrival_when_a_claim_predates_applications() -> None:
    # A history recorded before applications and arrival times were: the request has no application and
    # the receipt no received_at. It still completes, dated by the receipt's recording as it was then.
    claim = a_registered_claim()
    claim._record(ClaimDocumentsRequested, ctx(HANDLER), required_docs=("police_report",), notice_ref="N-0")
    arrived_then = T0 + timedelta(days=2)
    claim._record(ClaimDocumentReceived, ctx(HANDLER, at=arrived_then), doc_type="police_report")

    given(claim).when(lambda c: c.complete_documents(ctx(HANDLER, at=T0 + timedelta(days=3)))).events(
        expect(ClaimDocumentsCompleted, occurred_at=arrived_then)
    )


def test_documents_completion_is_recorded_when_every_requested_item_arrived() -> None:
    then = given(received_all_documents(a_claim_awaiting_documents())).when(
        lambda c: c.complete_documents(ctx(HANDLER))
    )

    then.events(expect(ClaimDocumentsCompleted, occurred_at=DOCS_AT))
    assert then.aggregate.documents_complete is True


# -------------------------------------------------------------------------- application, delivery (Art. 23)


def test_claim_application_is_recorded_with_its_receipt_when_stated() -> None:
    then = given(a_registered_claim()).when(
        lambda c: c.receive_application(
            ctx(HANDLER), received_at=APPLIED_AT, documents=("claim form", "id card")
        )
    )

    then.events(
        expect(
            ClaimApplicationReceived,
            received_at=APPLIED_AT,
            documents=("claim form", "id card"),
            occurred_at=APPLIED_AT,
        )
    )
    assert then.aggregate.application_received_at == APPLIED_AT


def test_claim_application_is_refused_when_one_was_received_already() -> None:
    given(an_assessed_claim()).when(
        lambda c: c.receive_application(ctx(HANDLER), received_at=APPLIED_AT)
    ).refused(ClaimApplicationAlreadyReceivedError)


@pytest.mark.parametrize(
    ("received_at", "match"),
    [
        pytest.param(T0 + timedelta(seconds=1), "later than its recording", id="after-its-recording"),
        pytest.param(LOSS_AT - timedelta(minutes=1), "before the loss", id="before-the-loss"),
    ],
)
def test_claim_application_is_refused_when_its_receipt_cannot_be_true(
    received_at: datetime, match: str
) -> None:
    given(a_registered_claim()).when(
        lambda c: c.receive_application(ctx(HANDLER), received_at=received_at)
    ).refused(ClaimBusinessTimeError, match=match)


def test_documents_request_is_refused_when_no_claim_application_is_on_record() -> None:
    claim = a_surveyed_claim()
    claim.assess_loss(ctx(SURVEYOR), items=("rear bumper",), amount_fen=ASSESSED_FEN)

    given(claim).when(
        lambda c: c.request_documents(ctx(HANDLER), required_docs=MISSING_DOCS, notice_ref="NTC-1")
    ).refused(ClaimApplicationNotReceivedError, match="Art. 22")


def test_request_delivery_is_recorded_when_the_open_request_reached_the_claimant() -> None:
    claim = with_application(a_surveyed_claim(), shanghai(2026, 9, 25, 9))
    claim.request_documents(
        ctx(HANDLER, at=shanghai(2026, 9, 25, 15)), required_docs=MISSING_DOCS, notice_ref="NTC-22-0005"
    )
    delivered_at = shanghai(2026, 9, 28, 11)  # Monday: the registered letter was signed for

    then = given(claim).when(
        lambda c: c.record_request_delivery(
            ctx(HANDLER, at=shanghai(2026, 9, 29, 9)), delivered_at=delivered_at, notice_ref="NTC-22-0005"
        )
    )

    then.events(
        expect(
            ClaimDocumentsRequestDelivered,
            delivered_at=delivered_at,
            notice_ref="NTC-22-0005",
            occurred_at=delivered_at,
        )
    )
    assert then.aggregate.request_delivered is True


def test_request_delivery_is_refused_when_it_is_stated_before_the_request_was_sent() -> None:
    given(a_claim_awaiting_documents()).when(
        lambda c: c.record_request_delivery(
            ctx(HANDLER, at=T0 + timedelta(days=1)), delivered_at=T0 - timedelta(minutes=1), notice_ref="N"
        )
    ).refused(ClaimBusinessTimeError, match="request was sent")


def test_request_delivery_is_refused_when_no_request_was_sent() -> None:
    given(an_assessed_claim()).when(
        lambda c: c.record_request_delivery(ctx(HANDLER), delivered_at=T0, notice_ref="N")
    ).refused(DocumentsRequestNotOpenError, match="nothing to deliver")


def test_request_delivery_is_refused_when_the_documents_are_complete_already() -> None:
    # A late delivery would stop a clock that nothing would start again.
    given(a_claim_with_documents_complete()).when(
        lambda c: c.record_request_delivery(ctx(HANDLER), delivered_at=T0, notice_ref="N")
    ).refused(DocumentsRequestNotOpenError)


def test_request_delivery_is_refused_when_it_is_on_record_already() -> None:
    claim = a_claim_awaiting_documents()
    claim.record_request_delivery(ctx(HANDLER), delivered_at=T0, notice_ref="NTC-22-0001")

    given(claim).when(
        lambda c: c.record_request_delivery(ctx(HANDLER), delivered_at=T0, notice_ref="NTC-22-0001")
    ).refused(DocumentsRequestNotOpenError, match="already on record")


def test_request_delivery_is_recorded_again_when_a_second_request_on_new_facts_was_sent() -> None:
    claim = a_claim_awaiting_documents()
    claim.record_request_delivery(ctx(HANDLER), delivered_at=T0, notice_ref="NTC-22-0001")
    claim.request_documents(
        ctx(HANDLER),
        required_docs=("medical_report",),
        notice_ref="NTC-22-0002",
        new_facts=True,
        reason="injury",
    )

    given(claim).when(
        lambda c: c.record_request_delivery(ctx(HANDLER), delivered_at=T0, notice_ref="NTC-22-0002")
    ).events(expect(ClaimDocumentsRequestDelivered, delivered_at=T0, notice_ref="NTC-22-0002"))


def test_adjustment_is_refused_when_documents_are_missing() -> None:
    given(a_claim_awaiting_documents()).when(
        lambda c: c.adjust(ctx(ADJUSTER), proposed_amount_fen=PROPOSED_FEN, deductible_fen=0, calculation="x")
    ).refused(DocumentsStillMissingError, match="police_report, repair_invoice")


def test_adjustment_records_the_adjuster_when_documents_are_complete() -> None:
    then = given(a_claim_with_documents_complete()).when(
        lambda c: c.adjust(
            ctx(ADJUSTER, actor=ADJUSTER_ID),
            proposed_amount_fen=PROPOSED_FEN,
            deductible_fen=0,
            calculation="x",
        )
    )

    then.events(
        expect(
            ClaimAdjusted,
            proposed_amount_fen=PROPOSED_FEN,
            deductible_fen=0,
            calculation="x",
            actor=Actor(id=ADJUSTER_ID, role=ADJUSTER),
        )
    )
    assert (then.aggregate.adjuster_id, then.aggregate.proposed_fen) == (ADJUSTER_ID, PROPOSED_FEN)


# ---------------------------------------------------------------------------------------- review (four-eyes)


def test_review_is_refused_when_reviewer_is_the_adjuster() -> None:
    given(an_adjusted_claim(adjuster="zhao.lei")).when(
        lambda c: c.review(ctx(REVIEWER, actor="zhao.lei"), approved_amount_fen=APPROVED_FEN)
    ).refused(ReviewerIsAdjusterError, match="zhao.lei")


def test_review_approves_the_amount_when_reviewer_is_not_the_adjuster() -> None:
    then = given(an_adjusted_claim(adjuster="zhao.lei")).when(
        lambda c: c.review(ctx(REVIEWER, actor="li.na"), approved_amount_fen=APPROVED_FEN)
    )

    then.events(
        expect(ClaimReviewed, approved_amount_fen=APPROVED_FEN, actor=Actor(id="li.na", role=REVIEWER))
    )
    assert then.aggregate.approved_fen == APPROVED_FEN


def test_review_is_refused_when_approved_amount_exceeds_sum_insured() -> None:
    given(an_adjusted_claim()).when(
        lambda c: c.review(ctx(REVIEWER, actor=REVIEWER_ID), approved_amount_fen=SUM_INSURED_FEN + 1)
    ).refused(ApprovedAmountExceedsCoverError)


def test_review_approves_the_amount_when_it_equals_sum_insured() -> None:
    then = given(an_adjusted_claim()).when(
        lambda c: c.review(ctx(REVIEWER, actor=REVIEWER_ID), approved_amount_fen=SUM_INSURED_FEN)
    )

    then.events(expect(ClaimReviewed, approved_amount_fen=SUM_INSURED_FEN))
    assert then.aggregate.approved_fen == SUM_INSURED_FEN


# ------------------------------------------------------------------------------------ decision (Art. 23, 24)


@pytest.mark.parametrize("outcome", [ClaimOutcome.PARTIAL, ClaimOutcome.NOT_COVERED])
def test_decision_is_refused_when_partial_or_not_covered_has_no_reasons(outcome: ClaimOutcome) -> None:
    given(a_reviewed_claim()).when(lambda c: c.decide(ctx(REVIEWER), outcome=outcome)).refused(
        RejectionWithoutReasonsError, match=outcome.value
    )


def test_partial_decision_is_recorded_when_it_states_reasons() -> None:
    then = given(a_reviewed_claim()).when(
        lambda c: c.decide(ctx(REVIEWER), outcome=ClaimOutcome.PARTIAL, reasons=("depreciation 20 %",))
    )

    then.events(expect(ClaimDecided, outcome=ClaimOutcome.PARTIAL, reasons=("depreciation 20 %",)))
    assert then.aggregate.outcome is ClaimOutcome.PARTIAL


def test_not_covered_decision_sets_approved_amount_to_zero_when_it_states_reasons() -> None:
    then = given(a_reviewed_claim()).when(
        lambda c: c.decide(ctx(REVIEWER), outcome=ClaimOutcome.NOT_COVERED, reasons=NOT_COVERED_REASONS)
    )

    then.events(expect(ClaimDecided, outcome=ClaimOutcome.NOT_COVERED, reasons=NOT_COVERED_REASONS))
    assert (then.aggregate.status, then.aggregate.approved_fen) == (ClaimStatus.DECIDED, 0)


def test_rejection_notice_is_refused_when_claim_was_decided_as_covered() -> None:
    given(a_covered_claim()).when(
        lambda c: c.send_rejection_notice(
            ctx(HANDLER), reasons=NOT_COVERED_REASONS, notice_ref="R", channel="m"
        )
    ).refused(RejectionNoticeNotSentError, match="not covered")


def test_rejection_notice_is_refused_when_it_has_no_reasons() -> None:
    given(a_rejected_claim()).when(
        lambda c: c.send_rejection_notice(ctx(HANDLER), reasons=(), notice_ref="R", channel="m")
    ).refused(RejectionWithoutReasonsError)


def test_rejection_notice_is_recorded_when_claim_is_not_covered_and_notice_has_reasons() -> None:
    then = given(a_rejected_claim()).when(
        lambda c: c.send_rejection_notice(
            ctx(HANDLER), reasons=NOT_COVERED_REASONS, notice_ref="REJ-24-0001", channel="registered-mail"
        )
    )

    then.events(
        expect(
            RejectionNoticeSent,
            reasons=NOT_COVERED_REASONS,
            notice_ref="REJ-24-0001",
            channel="registered-mail",
        )
    )
    assert then.aggregate.rejection_notice_sent is True


def a_partly_covered_claim() -> Claim:
    """Reviewed and decided as partly covered: the part not paid is refused."""
    claim = a_reviewed_claim()
    claim.decide(ctx(REVIEWER, actor=REVIEWER_ID), outcome=ClaimOutcome.PARTIAL, reasons=PARTIAL_REASONS)
    return claim


PARTIAL_REASONS = ("paint damage predates the policy: not an insured event",)


def test_rejection_notice_is_recorded_for_the_part_refused_when_the_decision_is_partial() -> None:
    then = given(a_partly_covered_claim()).when(
        lambda c: c.send_rejection_notice(
            ctx(HANDLER), reasons=PARTIAL_REASONS, notice_ref="REJ-24-0003", channel="registered-mail"
        )
    )

    then.events(
        expect(
            RejectionNoticeSent,
            reasons=PARTIAL_REASONS,
            notice_ref="REJ-24-0003",
            channel="registered-mail",
            outcome=ClaimOutcome.PARTIAL,
        )
    )
    assert then.aggregate.rejection_notice_sent is True


def test_rejection_notice_is_recorded_for_the_part_refused_when_the_paid_part_was_settled_first() -> None:
    claim = a_partly_covered_claim()
    claim.agree_settlement(ctx(HANDLER), amount_fen=APPROVED_FEN, payee_name="张伟", payee_account="6222")

    given(claim).when(
        lambda c: c.send_rejection_notice(ctx(HANDLER), reasons=PARTIAL_REASONS, notice_ref="R", channel="m")
    ).events(expect(RejectionNoticeSent, outcome=ClaimOutcome.PARTIAL, reasons=PARTIAL_REASONS))


def test_closing_is_refused_when_a_partly_covered_claim_is_paid_without_the_notice_of_the_part_refused() -> (
    None
):
    claim = a_partly_covered_claim()
    claim.agree_settlement(ctx(HANDLER), amount_fen=APPROVED_FEN, payee_name="张伟", payee_account="6222")
    claim.issue_payment(ctx(HANDLER), amount_fen=APPROVED_FEN, reference="PAY-0001")

    given(claim).when(lambda c: c.close(ctx(HANDLER))).refused(
        RejectionNoticeNotSentError, match="part refused"
    )


def test_closing_records_payment_when_a_partly_covered_claim_is_paid_and_its_notice_sent() -> None:
    claim = a_partly_covered_claim()
    claim.send_rejection_notice(ctx(HANDLER), reasons=PARTIAL_REASONS, notice_ref="R", channel="m")
    claim.agree_settlement(ctx(HANDLER), amount_fen=APPROVED_FEN, payee_name="张伟", payee_account="6222")
    claim.issue_payment(ctx(HANDLER), amount_fen=APPROVED_FEN, reference="PAY-0001")

    given(claim).when(lambda c: c.close(ctx(HANDLER))).events(
        expect(ClaimClosed, outcome=ClosureOutcome.PAID)
    )


# ----------------------------------------------------------------------- non-disclosure (JI-II Art. 8)

NON_DISCLOSURE_REASONS = ("hypertension treated in 2025-11 was not disclosed when asked",)


def decide_non_disclosure(cover: PolicyCover | None) -> Callable[[Claim], None]:
    return lambda c: c.decide(
        ctx(REVIEWER, actor=REVIEWER_ID),
        outcome=ClaimOutcome.NOT_COVERED,
        reasons=NON_DISCLOSURE_REASONS,
        grounds=(RefusalGround.NON_DISCLOSURE,),
        cover=cover,
    )


def test_refusal_for_non_disclosure_is_refused_when_the_policy_was_not_rescinded() -> None:
    given(a_registered_claim()).when(decide_non_disclosure(a_cover())).refused(
        NonDisclosureRefusalWithoutRescissionError, match="Judicial Interpretation II Art. 8"
    )


def test_refusal_for_non_disclosure_is_refused_when_the_policy_was_rescinded_on_another_ground() -> None:
    rescinded_for_fraud = a_cover(
        in_force=False, ended_at=T0, ended_by="PolicyRescinded", rescission_ground="fraud_art27"
    )

    given(a_registered_claim()).when(decide_non_disclosure(rescinded_for_fraud)).refused(
        NonDisclosureRefusalWithoutRescissionError
    )


def test_partial_refusal_for_non_disclosure_is_refused_when_the_policy_was_not_rescinded() -> None:
    given(a_reviewed_claim()).when(
        lambda c: c.decide(
            ctx(REVIEWER, actor=REVIEWER_ID),
            outcome=ClaimOutcome.PARTIAL,
            reasons=NON_DISCLOSURE_REASONS,
            grounds=(RefusalGround.NON_DISCLOSURE,),
            cover=a_cover(),
        )
    ).refused(NonDisclosureRefusalWithoutRescissionError)


def test_refusal_for_non_disclosure_is_recorded_with_its_ground_when_the_policy_was_rescinded_for_it() -> (
    None
):
    rescinded = a_cover(
        in_force=False, ended_at=T0, ended_by="PolicyRescinded", rescission_ground="non_disclosure_art16"
    )

    given(a_registered_claim()).when(decide_non_disclosure(rescinded)).events(
        expect(
            ClaimDecided,
            outcome=ClaimOutcome.NOT_COVERED,
            reasons=NON_DISCLOSURE_REASONS,
            grounds=(RefusalGround.NON_DISCLOSURE,),
        )
    )


def test_refusal_on_an_exclusion_is_recorded_when_the_policy_is_in_force() -> None:
    given(a_registered_claim()).when(
        lambda c: c.decide(
            ctx(REVIEWER, actor=REVIEWER_ID),
            outcome=ClaimOutcome.NOT_COVERED,
            reasons=NOT_COVERED_REASONS,
            grounds=(RefusalGround.EXCLUSION,),
            cover=a_cover(),
        )
    ).events(
        expect(
            ClaimDecided,
            outcome=ClaimOutcome.NOT_COVERED,
            reasons=NOT_COVERED_REASONS,
            grounds=(RefusalGround.EXCLUSION,),
        )
    )


# ------------------------------------------------------------------------------------ settlement and payment


def test_settlement_is_refused_when_it_exceeds_the_approved_amount() -> None:
    given(a_covered_claim()).when(
        lambda c: c.agree_settlement(
            ctx(HANDLER), amount_fen=APPROVED_FEN + 1, payee_name="张伟", payee_account="6222"
        )
    ).refused(SettlementExceedsApprovedAmountError)


def test_settlement_is_agreed_when_it_equals_the_approved_amount() -> None:
    then = given(a_covered_claim()).when(
        lambda c: c.agree_settlement(
            ctx(HANDLER), amount_fen=APPROVED_FEN, payee_name="张伟", payee_account="6222"
        )
    )

    then.events(expect(SettlementAgreed, amount_fen=APPROVED_FEN, payee_name="张伟", payee_account="6222"))
    assert (then.aggregate.status, then.aggregate.agreed_fen) == (ClaimStatus.SETTLED, APPROVED_FEN)


def test_settlement_is_refused_when_claim_was_decided_as_not_covered() -> None:
    given(a_rejected_claim()).when(
        lambda c: c.agree_settlement(ctx(HANDLER), amount_fen=1, payee_name="张伟", payee_account="6222")
    ).refused(PaymentBeforeApprovalError)


def test_payment_is_refused_when_claim_is_approved_but_not_settled() -> None:
    given(a_covered_claim()).when(
        lambda c: c.issue_payment(ctx(HANDLER), amount_fen=APPROVED_FEN, reference="PAY-0001")
    ).refused(PaymentBeforeApprovalError, match="decided")


def test_payment_is_refused_when_claim_is_not_yet_reviewed() -> None:
    given(an_adjusted_claim()).when(
        lambda c: c.issue_payment(ctx(HANDLER), amount_fen=1, reference="PAY-0001")
    ).refused(PaymentBeforeApprovalError)


def test_second_payment_is_refused_when_the_total_would_exceed_the_agreed_amount() -> None:
    claim = a_settled_claim()
    claim.issue_payment(ctx(HANDLER), amount_fen=1_000_000, reference="PAY-0001")

    given(claim).when(
        lambda c: c.issue_payment(ctx(HANDLER), amount_fen=APPROVED_FEN - 1_000_000 + 1, reference="PAY-0002")
    ).refused(PaymentExceedsApprovedAmountError, match="after 1000000 fen")


def test_second_payment_marks_the_claim_paid_when_it_completes_the_agreed_amount() -> None:
    claim = a_settled_claim()
    claim.issue_payment(ctx(HANDLER), amount_fen=1_000_000, reference="PAY-0001")

    then = given(claim).when(
        lambda c: c.issue_payment(ctx(HANDLER), amount_fen=APPROVED_FEN - 1_000_000, reference="PAY-0002")
    )

    then.events(expect(PaymentIssued, amount_fen=APPROVED_FEN - 1_000_000, reference="PAY-0002"))
    assert (then.aggregate.status, then.aggregate.paid_fen) == (ClaimStatus.PAID, APPROVED_FEN)


def test_first_payment_keeps_the_claim_settled_when_it_is_only_part_of_the_agreed_amount() -> None:
    then = given(a_settled_claim()).when(
        lambda c: c.issue_payment(ctx(HANDLER), amount_fen=1_000_000, reference="PAY-0001")
    )

    then.events(expect(PaymentIssued, amount_fen=1_000_000, reference="PAY-0001"))
    assert (then.aggregate.status, then.aggregate.paid_fen) == (ClaimStatus.SETTLED, 1_000_000)


# ------------------------------------------------------------------------------------------ advance payments


def test_rescue_advance_is_refused_when_claim_is_not_ctpl() -> None:
    given(a_reported_claim(ctpl=False)).when(
        lambda c: c.pay_advance(
            ctx(HANDLER), amount_fen=300_000, basis=AdvanceBasis.CTPL_RESCUE, reference="A-1"
        )
    ).refused(PaymentBeforeApprovalError, match="CTPL")


def test_rescue_advance_is_paid_when_claim_is_ctpl() -> None:
    then = given(a_reported_claim(ctpl=True)).when(
        lambda c: c.pay_advance(
            ctx(HANDLER), amount_fen=300_000, basis=AdvanceBasis.CTPL_RESCUE, reference="A-1"
        )
    )

    then.events(
        expect(AdvancePaymentIssued, amount_fen=300_000, basis=AdvanceBasis.CTPL_RESCUE, reference="A-1")
    )
    assert (then.aggregate.status, then.aggregate.paid_fen) == (ClaimStatus.REPORTED, 300_000)


def test_art25_advance_is_refused_when_the_claim_was_only_reported() -> None:
    # Art. 25 counts from the receipt of the claim and its documents: a fresh report has neither.
    given(a_reported_claim()).when(
        lambda c: c.pay_advance(
            ctx(HANDLER), amount_fen=500_000, basis=AdvanceBasis.IL25_ADVANCE, reference="A-1"
        )
    ).refused(PaymentBeforeApprovalError, match="documents")


def test_art25_advance_is_refused_when_the_application_came_but_its_documents_are_not_judged() -> None:
    given(an_assessed_claim()).when(
        lambda c: c.pay_advance(
            ctx(HANDLER), amount_fen=500_000, basis=AdvanceBasis.IL25_ADVANCE, reference="A-1"
        )
    ).refused(PaymentBeforeApprovalError, match="documents")


def test_art25_advance_is_refused_when_documents_are_incomplete() -> None:
    given(a_claim_awaiting_documents()).when(
        lambda c: c.pay_advance(
            ctx(HANDLER), amount_fen=500_000, basis=AdvanceBasis.IL25_ADVANCE, reference="A-1"
        )
    ).refused(PaymentBeforeApprovalError, match="documents")


def test_art25_advance_is_paid_when_documents_are_complete() -> None:
    then = given(a_claim_with_documents_complete()).when(
        lambda c: c.pay_advance(
            ctx(HANDLER), amount_fen=500_000, basis=AdvanceBasis.IL25_ADVANCE, reference="A-1"
        )
    )

    then.events(
        expect(AdvancePaymentIssued, amount_fen=500_000, basis=AdvanceBasis.IL25_ADVANCE, reference="A-1")
    )
    assert then.aggregate.paid_fen == 500_000


def test_advance_is_refused_when_total_advances_would_exceed_sum_insured() -> None:
    claim = a_reported_claim(ctpl=True)
    claim.pay_advance(
        ctx(HANDLER), amount_fen=SUM_INSURED_FEN - 100, basis=AdvanceBasis.CTPL_RESCUE, reference="A-1"
    )

    given(claim).when(
        lambda c: c.pay_advance(ctx(HANDLER), amount_fen=101, basis=AdvanceBasis.CTPL_RESCUE, reference="A-2")
    ).refused(PaymentExceedsApprovedAmountError)


def test_review_is_refused_when_approved_amount_is_below_the_art25_advance_already_paid() -> None:
    claim = a_claim_with_documents_complete()
    claim.pay_advance(ctx(HANDLER), amount_fen=800_000, basis=AdvanceBasis.IL25_ADVANCE, reference="A-1")
    claim.adjust(
        ctx(ADJUSTER, actor=ADJUSTER_ID), proposed_amount_fen=500_000, deductible_fen=0, calculation="x"
    )

    given(claim).when(
        lambda c: c.review(ctx(REVIEWER, actor=REVIEWER_ID), approved_amount_fen=500_000)
    ).refused(PaymentExceedsApprovedAmountError)


# ---------------------------------------------------------------------------------------- closing, reopening


def test_closing_is_refused_when_rejected_claim_has_no_notice_sent() -> None:
    given(a_rejected_claim()).when(lambda c: c.close(ctx(HANDLER))).refused(
        RejectionNoticeNotSentError, match="before closing"
    )


def test_closing_records_a_rejection_when_the_notice_was_sent() -> None:
    then = given(a_rejected_claim_with_notice_sent()).when(lambda c: c.close(ctx(HANDLER)))

    then.events(expect(ClaimClosed, outcome=ClosureOutcome.REJECTED))
    assert then.aggregate.status is ClaimStatus.CLOSED


def test_closing_is_refused_when_settled_claim_is_not_fully_paid() -> None:
    claim = a_settled_claim()
    claim.issue_payment(ctx(HANDLER), amount_fen=1_000_000, reference="PAY-0001")

    given(claim).when(lambda c: c.close(ctx(HANDLER))).refused(
        ClaimNotFullyPaidError, match=f"paid 1000000 of the agreed {APPROVED_FEN}"
    )


def test_closing_records_payment_when_the_agreed_amount_is_paid() -> None:
    given(a_paid_claim()).when(lambda c: c.close(ctx(HANDLER))).events(
        expect(ClaimClosed, outcome=ClosureOutcome.PAID)
    )


def test_closing_records_payment_when_an_advance_already_covers_the_agreed_amount() -> None:
    claim = a_claim_with_documents_complete()
    claim.pay_advance(ctx(HANDLER), amount_fen=APPROVED_FEN, basis=AdvanceBasis.IL25_ADVANCE, reference="A-1")
    claim.adjust(
        ctx(ADJUSTER, actor=ADJUSTER_ID), proposed_amount_fen=APPROVED_FEN, deductible_fen=0, calculation="x"
    )
    claim.review(ctx(REVIEWER, actor=REVIEWER_ID), approved_amount_fen=APPROVED_FEN)
    claim.decide(ctx(REVIEWER, actor=REVIEWER_ID), outcome=ClaimOutcome.COVERED)
    claim.agree_settlement(ctx(HANDLER), amount_fen=APPROVED_FEN, payee_name="张伟", payee_account="6222")

    given(claim).when(lambda c: c.close(ctx(HANDLER))).events(
        expect(ClaimClosed, outcome=ClosureOutcome.PAID)
    )


def test_reopening_returns_the_claim_to_registered_when_it_was_closed() -> None:
    then = given(a_closed_claim()).when(
        lambda c: c.reopen(ctx(Role.SUPERVISOR), reason="new medical invoice")
    )

    then.events(expect(ClaimReopened, reason="new medical invoice"))
    assert (then.aggregate.status, then.aggregate.closure, then.aggregate.outcome) == (
        ClaimStatus.REGISTERED,
        None,
        None,
    )


def test_closing_is_refused_when_reopened_claim_is_rejected_again_without_a_new_notice() -> None:
    claim = a_rejected_claim_with_notice_sent()
    claim.close(ctx(HANDLER))
    claim.reopen(ctx(Role.SUPERVISOR), reason="claimant disputes the exclusion")
    claim.decide(ctx(REVIEWER), outcome=ClaimOutcome.NOT_COVERED, reasons=("exclusion confirmed on review",))

    given(claim).when(lambda c: c.close(ctx(HANDLER))).refused(RejectionNoticeNotSentError)


def test_withdrawal_ends_the_claim_when_it_is_still_open() -> None:
    then = given(an_adjusted_claim()).when(
        lambda c: c.withdraw(ctx(HANDLER), reason="claimant settled privately")
    )

    then.events(expect(ClaimWithdrawn, reason="claimant settled privately"))
    assert then.aggregate.status is ClaimStatus.WITHDRAWN


def test_withdrawal_is_refused_when_claim_is_already_closed() -> None:
    given(a_closed_claim()).when(lambda c: c.withdraw(ctx(HANDLER), reason="r")).refused(
        InvalidTransitionError, match="closed"
    )


# ------------------------------------------------------------------------------------------- whole lifecycle


def test_claim_goes_from_report_to_closed_when_every_step_keeps_its_rule() -> None:
    claim = a_settled_claim()
    claim.issue_payment(ctx(HANDLER), amount_fen=1_000_000, reference="PAY-0001")
    claim.issue_payment(ctx(HANDLER), amount_fen=APPROVED_FEN - 1_000_000, reference="PAY-0002")
    claim.close(ctx(HANDLER))

    events = claim.collect_events()

    assert [type(e) for e in events] == [
        ClaimReported,
        ClaimRegistered,
        SurveyDone,
        LossAssessed,
        ClaimApplicationReceived,
        ClaimDocumentsRequested,
        ClaimDocumentReceived,
        ClaimDocumentReceived,
        ClaimDocumentsCompleted,
        ClaimAdjusted,
        ClaimReviewed,
        ClaimDecided,
        SettlementAgreed,
        PaymentIssued,
        PaymentIssued,
        ClaimClosed,
    ]
    assert [e.originator_version for e in events] == list(range(1, len(events) + 1))
    assert {e.originator_id for e in events} == {claim.id}
    assert (claim.status, claim.closure, claim.outcome) == (
        ClaimStatus.CLOSED,
        ClosureOutcome.PAID,
        ClaimOutcome.COVERED,
    )
    assert (claim.approved_fen, claim.agreed_fen, claim.paid_fen) == (
        APPROVED_FEN,
        APPROVED_FEN,
        APPROVED_FEN,
    )


def test_event_records_the_command_envelope_when_a_command_succeeds() -> None:
    envelope = ctx(REVIEWER, actor=REVIEWER_ID, at=datetime(2026, 3, 9, 6, 15, tzinfo=UTC))

    given(an_adjusted_claim()).when(lambda c: c.review(envelope, approved_amount_fen=APPROVED_FEN)).events(
        expect(
            ClaimReviewed,
            approved_amount_fen=APPROVED_FEN,
            actor=envelope.actor,
            recorded_at=envelope.recorded_at,
            correlation_id=envelope.correlation_id,
            causation_id=None,
        )
    )


def test_replay_rebuilds_identical_state_when_a_whole_history_is_replayed_twice() -> None:
    claim = a_closed_claim()
    claim.reopen(ctx(Role.SUPERVISOR), reason="new medical invoice")
    history = [e for e in claim.collect_events() if isinstance(e, DomainEvent)]

    first, second = replay(history), replay(history)

    assert first is not second
    assert first.version == len(history) == 16
    assert first.__dict__ == second.__dict__
    assert first.__dict__ == claim.__dict__


# -------------------------------------------------------------------------------------------- event contract


def test_every_claim_event_has_its_own_versioned_wire_name_when_the_module_is_loaded() -> None:
    events = claim_event_classes()
    topics = [cls.__dict__.get("TOPIC") for cls in events]

    assert len(events) == 19
    assert all(isinstance(t, str) and re.fullmatch(r"claim\.[a-z0-9-]+\.v[0-9]+", t) for t in topics), topics
    assert len(set(topics)) == len(topics)


def test_personal_data_is_marked_when_an_event_carries_it() -> None:
    assert ClaimReported.personal_fields() == ("reporter_name", "reporter_phone")
    assert SettlementAgreed.personal_fields() == ("payee_name", "payee_account")
    assert PaymentIssued.personal_fields() == ()


def test_every_claim_topic_resolves_to_its_class_when_a_fresh_process_only_reads() -> None:
    code = (
        "import domain.claim as m\n"
        "from eventsourcing.utils import resolve_topic\n"
        "from domain.base import DomainEvent\n"
        "for cls in vars(m).values():\n"
        "    if isinstance(cls, type) and issubclass(cls, DomainEvent) and cls.__module__ == m.__name__:\n"
        "        assert resolve_topic(cls.TOPIC) is cls, cls.TOPIC\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr
