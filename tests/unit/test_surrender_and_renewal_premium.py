"""退保 and 续期 (issue #14 points 3 and 4): Given/When/Then for every rule of the surrender with its refund
and the Art. 47 clock, and of the renewal premium with its reminder, suspension, reinstatement and
termination (Insurance Law Arts. 15, 36, 37, 47; CTPL Arts. 16–17), with dated cases around holidays and
month ends. Every period is counted the Civil Code way (Arts. 201–203): the start day not counted, a last
day on a rest day or holiday moved to the next working day, the end at 24:00 (stored as 00:00 after).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from eventsourcing.domain import Snapshot

from consumers.timers import recorded_end, start_instant
from domain.base import SHANGHAI, DomainEvent, InvalidTransitionError, Role
from domain.calendar import default_calendar
from domain.claim import Claim, ClaimAdjusted, ClaimReported, ClaimReviewed, GracePremiumNotDeductedError
from domain.cover import GracePremium, PolicyCover
from domain.policy import (
    ArrearsNotPaidError,
    CashValueTableMissingError,
    CtplSurrenderGround,
    CtplSurrenderGroundRequiredError,
    GracePeriodNotOverError,
    LapseOnlyForPersonalInsuranceError,
    MedicalCheckCostError,
    NoPremiumDueError,
    PaidAfterGraceError,
    Policy,
    PolicyCancelledInCoolingOff,
    PolicyLapsed,
    PolicyReinstated,
    PolicyStatus,
    PolicySurrendered,
    PolicyTerminatedAfterSuspension,
    PremiumReminderSent,
    PremiumScheduleAgreed,
    PremiumScheduleError,
    ReinstatementPeriodEnded,
    ReinstatementPeriodNotOverError,
    ReinstatementTooLateError,
    ReminderBeforeDueDateError,
    RenewalPremiumBilled,
    RenewalPremiumMismatchError,
    RenewalPremiumPaid,
    SurrenderBasis,
    SurrenderByApplicantOnlyError,
    SurrenderNoticeReceived,
    SurrenderParty,
    SurrenderRefundMismatchError,
    SurrenderRefundPaid,
    add_months,
)
from domain.policy_cover import cover_over_time
from domain.sla import rule_by_id
from domain.timer import SlaTimer, TimerAction
from infra.store.mapper import _SNAPSHOT_ADAPTER, restore_aggregate_state
from projections.base import fold
from projections.claims import CLAIMS, ClaimsView
from projections.policies import POLICIES, PoliciesView
from projections.worklist import WORKLIST, WorklistView
from tests.gwt import ctx, expect, given
from tests.unit import test_claim_rules as claims
from tests.unit.test_policy_rules import (
    PREMIUM_FEN,
    RECEIVED_ON,
    SELLER_ID,
    UNDERWRITER_ID,
    a_ctpl_proposal,
    a_life_proposal,
    a_motor_proposal,
    ready_to_issue,
)

UW = Role.UNDERWRITER
SYSTEM = Role.SYSTEM
CASH_VALUES = (0, 300_000, 900_000, 1_600_000)  # the contract's table, by policy year


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


def midnight(day: date) -> datetime:
    """00:00 Asia/Shanghai at the start of ``day``: 24:00 of the day before (Civil Code Art. 203 ¶2)."""
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)


def a_life_policy_from(effective_from: date, years: int = 3) -> Policy:
    """An issued life policy (on Mon 2 March 2026, before any cooling-off) covering ``years`` years."""
    policy = ready_to_issue(a_life_proposal())
    policy.issue(
        ctx(UW, UNDERWRITER_ID),
        policy_no="P-2026-000777",
        effective_from=effective_from,
        effective_to=add_months(effective_from, 12 * years) - timedelta(days=1),
        terms_version="2026-01",
    )
    return policy


def on_schedule(policy: Policy, frequency_months: int = 1, instalments: int = 12) -> Policy:
    policy.agree_premium_schedule(ctx(UW), frequency_months=frequency_months, instalments=instalments)
    return policy


def history(case: Policy | Claim) -> list[DomainEvent]:
    return [e for e in given(case).history if isinstance(e, DomainEvent)]


def cover_of(policy: Policy) -> PolicyCover:
    return cover_over_time(policy, history(policy))


# ============================================================================ 续期 renewal premium (Art. 36)


def test_premium_schedule_bills_the_second_instalment_when_agreed() -> None:
    # Quarterly from Tue 3 March: the 2nd instalment falls due on Wed 3 June; + 60 days = Sun 2 August,
    # a rest day: the applicant may pay until 24:00 on Mon 3 August (Civil Code Art. 203).
    then = given(a_life_policy_from(date(2026, 3, 3))).when(
        lambda p: p.agree_premium_schedule(ctx(UW), frequency_months=3, instalments=4)
    )

    then.events(
        expect(
            PremiumScheduleAgreed,
            frequency_months=3,
            instalment_fen=PREMIUM_FEN,
            instalments=4,
            grace_days=60,
            first_due_on=date(2026, 3, 3),
        ),
        expect(
            RenewalPremiumBilled,
            instalment_no=2,
            due_on=date(2026, 6, 3),
            amount_fen=PREMIUM_FEN,
            suspends_at=midnight(date(2026, 8, 4)),
        ),
    )


def test_instalment_falls_due_on_the_last_day_of_a_shorter_month() -> None:
    # Monthly from Sat 31 January: February has no 31st, so the 2nd falls due on the 28th (Art. 202).
    then = given(a_life_policy_from(date(2026, 1, 31))).when(
        lambda p: p.agree_premium_schedule(ctx(UW), frequency_months=1, instalments=12)
    )

    billed = then.new_events[-1]
    assert isinstance(billed, RenewalPremiumBilled)
    assert billed.due_on == date(2026, 2, 28)


def test_premium_schedule_is_refused_when_the_policy_is_motor_cover() -> None:
    policy = ready_to_issue(a_motor_proposal())
    policy.issue(
        ctx(UW, UNDERWRITER_ID),
        policy_no="P-M-1",
        effective_from=date(2026, 3, 3),
        effective_to=date(2027, 3, 2),
        terms_version="2026-01",
    )

    given(policy).when(
        lambda p: p.agree_premium_schedule(ctx(UW), frequency_months=3, instalments=4)
    ).refused(LapseOnlyForPersonalInsuranceError)


def test_premium_schedule_is_refused_when_its_last_instalment_falls_after_the_cover() -> None:
    given(a_life_policy_from(date(2026, 3, 3), years=1)).when(
        lambda p: p.agree_premium_schedule(ctx(UW), frequency_months=12, instalments=2)
    ).refused(PremiumScheduleError)


def test_premium_schedule_is_refused_when_the_grace_period_is_shorter_than_sixty_days() -> None:
    given(a_life_policy_from(date(2026, 3, 3))).when(
        lambda p: p.agree_premium_schedule(ctx(UW), frequency_months=1, instalments=12, grace_days=30)
    ).refused(PremiumScheduleError)


def test_renewal_premium_paid_in_grace_keeps_the_policy_in_force_and_bills_the_next() -> None:
    policy = on_schedule(a_life_policy_from(date(2026, 3, 3)), frequency_months=3, instalments=4)

    then = given(policy).when(
        lambda p: p.pay_renewal_premium(
            ctx(SYSTEM, at=at(date(2026, 8, 3), hour=23)),
            amount_fen=PREMIUM_FEN,
            paid_on=date(2026, 8, 3),
            receipt_no="R-2",
        )
    )

    then.events(
        expect(RenewalPremiumPaid, instalment_no=2, amount_fen=PREMIUM_FEN, paid_on=date(2026, 8, 3)),
        expect(RenewalPremiumBilled, instalment_no=3, due_on=date(2026, 9, 3)),
    )
    assert then.aggregate.status is PolicyStatus.ISSUED
    assert then.aggregate.premium_paid_fen == 2 * PREMIUM_FEN


def test_renewal_premium_is_refused_when_paid_after_the_payment_period() -> None:
    policy = on_schedule(a_life_policy_from(date(2026, 3, 3)), frequency_months=3, instalments=4)

    given(policy).when(
        lambda p: p.pay_renewal_premium(
            ctx(SYSTEM, at=at(date(2026, 8, 4))),
            amount_fen=PREMIUM_FEN,
            paid_on=date(2026, 8, 4),
            receipt_no="R",
        )
    ).refused(PaidAfterGraceError)


def test_renewal_premium_is_refused_when_it_is_not_the_instalment_due() -> None:
    policy = on_schedule(a_life_policy_from(date(2026, 3, 3)), frequency_months=3, instalments=4)

    given(policy).when(
        lambda p: p.pay_renewal_premium(
            ctx(SYSTEM, at=at(date(2026, 6, 3))),
            amount_fen=PREMIUM_FEN - 1,
            paid_on=date(2026, 6, 3),
            receipt_no="R",
        )
    ).refused(RenewalPremiumMismatchError)


def test_renewal_premium_is_refused_when_the_schedule_is_fully_paid() -> None:
    policy = on_schedule(a_life_policy_from(date(2026, 3, 3)), frequency_months=6, instalments=2)
    policy.pay_renewal_premium(
        ctx(SYSTEM, at=at(date(2026, 9, 3))), amount_fen=PREMIUM_FEN, paid_on=date(2026, 9, 3), receipt_no="R"
    )

    given(policy).when(
        lambda p: p.pay_renewal_premium(
            ctx(SYSTEM, at=at(date(2026, 9, 4))),
            amount_fen=PREMIUM_FEN,
            paid_on=date(2026, 9, 4),
            receipt_no="R",
        )
    ).refused(NoPremiumDueError)


def test_reminder_is_refused_when_sent_before_the_due_date() -> None:
    policy = on_schedule(a_life_policy_from(date(2026, 3, 3)), frequency_months=3, instalments=4)

    given(policy).when(
        lambda p: p.send_premium_reminder(
            ctx(SYSTEM, at=at(date(2026, 6, 2))), reminded_on=date(2026, 6, 2), channel="sms"
        )
    ).refused(ReminderBeforeDueDateError)


def test_reminder_during_national_day_moves_the_suspension_to_after_the_holiday() -> None:
    # Monthly from 20 July: due Thu 20 August (60 days: Mon 19 October). A demand on Tue 1 September:
    # + 30 = Thu 1 October (国庆 1–7 Oct) → Thu 8 October, which comes first: suspended at 24:00 on 8 Oct.
    policy = on_schedule(a_life_policy_from(date(2026, 7, 20)))

    then = given(policy).when(
        lambda p: p.send_premium_reminder(
            ctx(SYSTEM, at=at(date(2026, 9, 1))), reminded_on=date(2026, 9, 1), channel="letter"
        )
    )

    then.events(
        expect(
            PremiumReminderSent,
            instalment_no=2,
            reminded_on=date(2026, 9, 1),
            channel="letter",
            suspends_at=midnight(date(2026, 10, 9)),
        )
    )


def test_lapse_is_refused_during_national_day_when_day_thirty_after_the_demand_is_1_october() -> None:
    policy = on_schedule(a_life_policy_from(date(2026, 7, 20)))
    policy.send_premium_reminder(
        ctx(SYSTEM, at=at(date(2026, 9, 1))), reminded_on=date(2026, 9, 1), channel="sms"
    )

    given(policy).when(lambda p: p.lapse(ctx(SYSTEM, at=midnight(date(2026, 10, 2))))).refused(
        GracePeriodNotOverError
    )


def test_policy_lapses_at_the_end_of_the_rolled_over_demand_period() -> None:
    policy = on_schedule(a_life_policy_from(date(2026, 7, 20)))
    policy.send_premium_reminder(
        ctx(SYSTEM, at=at(date(2026, 9, 1))), reminded_on=date(2026, 9, 1), channel="sms"
    )

    then = given(policy).when(lambda p: p.lapse(ctx(SYSTEM, at=midnight(date(2026, 10, 9)))))

    then.events(
        expect(
            PolicyLapsed,
            due_on=date(2026, 8, 20),
            reminded_on=date(2026, 9, 1),
            payment_period_ended_at=midnight(date(2026, 10, 9)),
            instalment_no=2,
            amount_due_fen=PREMIUM_FEN,
            # Two years from Fri 9 October 2026: Sat 9 October 2028 → Mon 11 October (2028 is not in the
            # calendar yet: weekends rolled over only).
            reinstatement_ends_at=midnight(date(2028, 10, 10)),
            reinstatement_calendar_version=None,
        )
    )
    assert not then.aggregate.cover().in_force


def test_lapse_is_refused_during_national_day_when_day_sixty_after_the_due_date_is_1_october() -> None:
    # Monthly from 2 July: due Sun 2 August + 60 = Thu 1 October: payable until 24:00 on 8 October.
    policy = on_schedule(a_life_policy_from(date(2026, 7, 2)))

    given(policy).when(lambda p: p.lapse(ctx(SYSTEM, at=midnight(date(2026, 10, 2))))).refused(
        GracePeriodNotOverError
    )


def test_policy_lapses_after_the_rolled_over_sixtieth_day() -> None:
    policy = on_schedule(a_life_policy_from(date(2026, 7, 2)))

    given(policy).when(lambda p: p.lapse(ctx(SYSTEM, at=midnight(date(2026, 10, 9))))).events(
        expect(
            PolicyLapsed,
            due_on=date(2026, 8, 2),
            reminded_on=None,
            payment_period_ended_at=midnight(date(2026, 10, 9)),
        )
    )


def test_lapse_is_refused_when_no_premium_is_due() -> None:
    given(a_life_policy_from(date(2026, 3, 3))).when(
        lambda p: p.lapse(ctx(SYSTEM, at=midnight(date(2026, 10, 9))))
    ).refused(NoPremiumDueError)


def lapsed_on_14_october() -> Policy:
    """Monthly from 14 July: due Fri 14 August; + 60 = Tue 13 October: suspended from 00:00 on 14 October;
    two years on, Sat 14 October 2028, is a rest day: the applicant may reinstate until 24:00 on Mon 16."""
    policy = on_schedule(a_life_policy_from(date(2026, 7, 14)))
    policy.lapse(ctx(SYSTEM, at=midnight(date(2026, 10, 14))))
    return policy


def test_reinstatement_is_recorded_on_the_monday_after_the_second_anniversary_on_a_saturday() -> None:
    then = given(lapsed_on_14_october()).when(
        lambda p: p.reinstate(
            ctx(UW, at=at(date(2028, 10, 16), hour=23)), arrears_paid_fen=PREMIUM_FEN, agreement_ref="FX-9"
        )
    )

    then.events(
        expect(PolicyReinstated, arrears_paid_fen=PREMIUM_FEN, agreement_ref="FX-9", instalment_no=2),
        expect(RenewalPremiumBilled, instalment_no=3, due_on=date(2026, 9, 14)),
    )
    assert then.aggregate.status is PolicyStatus.IN_FORCE


def test_reinstatement_is_refused_after_the_two_years() -> None:
    given(lapsed_on_14_october()).when(
        lambda p: p.reinstate(
            ctx(UW, at=midnight(date(2028, 10, 17))), arrears_paid_fen=PREMIUM_FEN, agreement_ref="FX-9"
        )
    ).refused(ReinstatementTooLateError)


def test_reinstatement_is_refused_when_the_arrears_are_not_paid() -> None:
    given(lapsed_on_14_october()).when(
        lambda p: p.reinstate(ctx(UW, at=at(date(2027, 1, 4))), arrears_paid_fen=100, agreement_ref="FX-9")
    ).refused(ArrearsNotPaidError)


def test_reinstatement_period_end_is_refused_before_the_two_years() -> None:
    given(lapsed_on_14_october()).when(
        lambda p: p.end_reinstatement_period(ctx(SYSTEM, at=at(date(2028, 10, 16), hour=23)))
    ).refused(ReinstatementPeriodNotOverError)


def test_reinstatement_period_ends_at_24_00_of_the_rolled_over_last_day() -> None:
    given(lapsed_on_14_october()).when(
        lambda p: p.end_reinstatement_period(ctx(SYSTEM, at=midnight(date(2028, 10, 17))))
    ).events(expect(ReinstatementPeriodEnded, ended_at=midnight(date(2028, 10, 17))))


def test_insurer_terminates_after_the_two_years_without_cash_value_when_under_two_years_was_paid() -> None:
    policy = lapsed_on_14_october()
    policy.record_cash_value_table(ctx(UW), table_ref="CV-LIFE-WL-20", cash_values_fen=CASH_VALUES)
    policy.end_reinstatement_period(ctx(SYSTEM, at=midnight(date(2028, 10, 17))))

    then = given(policy).when(
        lambda p: p.terminate_after_suspension(ctx(UW, at=at(date(2028, 10, 20))), notice_ref="TN-1")
    )

    then.events(expect(PolicyTerminatedAfterSuspension, cash_value_fen=0, premium_years_paid=0))
    assert then.aggregate.status is PolicyStatus.TERMINATED


def test_termination_is_refused_before_the_reinstatement_period_ended() -> None:
    given(lapsed_on_14_october()).when(
        lambda p: p.terminate_after_suspension(ctx(UW, at=at(date(2028, 10, 20))), notice_ref="TN-1")
    ).refused(ReinstatementPeriodNotOverError)


def test_reinstatement_window_timer_ends_where_the_reinstatement_guard_does() -> None:
    policy = lapsed_on_14_october()
    lapsed = history(policy)[-1]
    assert isinstance(lapsed, PolicyLapsed)
    rule = rule_by_id("IL37-REINSTATE-2Y")

    timer = SlaTimer.start(
        ctx(SYSTEM),
        rule=rule,
        case_id=lapsed.originator_id,
        case_context="policy",
        cycle=lapsed.originator_version,
        start_at=start_instant(rule, lapsed),
        calendar=default_calendar(),
        cause_event="PolicyLapsed",
        cause_event_id=lapsed.event_id,
        ends_at=recorded_end(rule, lapsed),
    )

    assert timer.next_fire() == (midnight(date(2028, 10, 17)), TimerAction.CLOSE_WINDOW)


def test_grace_window_timer_closes_where_the_lapse_guard_opens() -> None:
    policy = on_schedule(a_life_policy_from(date(2026, 7, 2)))
    billed = history(policy)[-1]
    assert isinstance(billed, RenewalPremiumBilled)
    rule = rule_by_id("IL36-GRACE-60D")

    timer = SlaTimer.start(
        ctx(SYSTEM),
        rule=rule,
        case_id=billed.originator_id,
        case_context="policy",
        cycle=billed.originator_version,
        start_at=start_instant(rule, billed),
        calendar=default_calendar(),
        cause_event="RenewalPremiumBilled",
        cause_event_id=billed.event_id,
        ends_at=recorded_end(rule, billed),
    )

    assert timer.next_fire() == (midnight(date(2026, 10, 9)), TimerAction.CLOSE_WINDOW)
    assert rule.on_breach.records == "PolicyLapsed"


# ============================================================================ cover: suspension and grace


def test_a_loss_in_the_grace_period_is_covered_less_the_premium_due() -> None:
    # Quarterly from Tue 31 March: the 2nd instalment falls due on Tue 30 June (Art. 202: no 31 June).
    policy = on_schedule(a_life_policy_from(date(2026, 3, 31)), frequency_months=3, instalments=4)

    cover = cover_of(policy)
    grace = cover.premium_due_at(at(date(2026, 7, 10)))

    assert cover.gap_at(at(date(2026, 7, 10))) is None
    assert grace is not None
    assert (grace.due_on, grace.amount_fen) == (date(2026, 6, 30), PREMIUM_FEN)
    assert cover.premium_due_at(at(date(2026, 6, 29))) is None


def test_a_loss_after_the_instalment_was_paid_owes_no_deduction() -> None:
    policy = on_schedule(a_life_policy_from(date(2026, 3, 31)), frequency_months=3, instalments=4)
    policy.pay_renewal_premium(
        ctx(SYSTEM, at=at(date(2026, 7, 5))), amount_fen=PREMIUM_FEN, paid_on=date(2026, 7, 5), receipt_no="R"
    )

    assert cover_of(policy).premium_due_at(at(date(2026, 7, 10))) is None


def test_cover_records_the_art36_suspension_from_the_end_of_the_demand_period_at_a_month_end() -> None:
    # Due Tue 30 June; demand on 15 July: + 30 = Fri 14 August, before the 60 days: suspended from 15 Aug.
    policy = on_schedule(a_life_policy_from(date(2026, 3, 31)), frequency_months=3, instalments=4)
    policy.send_premium_reminder(
        ctx(SYSTEM, at=at(date(2026, 7, 15))), reminded_on=date(2026, 7, 15), channel="sms"
    )
    policy.lapse(ctx(SYSTEM, at=midnight(date(2026, 8, 15))))

    cover = cover_of(policy)

    assert cover.gap_at(at(date(2026, 8, 14), hour=23)) is None
    assert cover.gap_at(midnight(date(2026, 8, 15))) is not None
    assert cover.premium_due_at(at(date(2026, 8, 14), hour=23)) is not None


GRACE_DUE_FEN = 100_000


def a_claim_adjusted_in_grace() -> Claim:
    """A loss on Fri 27 February 2026 while the instalment due on 20 February (100,000 fen) was unpaid,
    surveyed, assessed, its documents complete, adjusted at the benefit before the deduction."""
    grace = GracePremium(
        instalment_no=2,
        due_on=date(2026, 2, 20),
        amount_fen=GRACE_DUE_FEN,
        suspends_at=midnight(date(2026, 4, 21)),
    )
    claim = claims.report(claims.a_cover(grace_premiums=(grace,)))
    claim.register(ctx(Role.CLAIMS_HANDLER), claim_no="CLM-G-1", coverages=("death",), reserve_fen=1_500_000)
    claim.record_survey(ctx(Role.SURVEYOR), findings="hospital record", liability_view="covered")
    claim.assess_loss(ctx(Role.SURVEYOR), items=("benefit",), amount_fen=claims.ASSESSED_FEN)
    claims.with_application(claim)
    claim.complete_documents(ctx(Role.CLAIMS_HANDLER))
    claim.adjust(
        ctx(Role.ADJUSTER, actor=claims.ADJUSTER_ID),
        proposed_amount_fen=claims.PROPOSED_FEN,
        deductible_fen=0,
        calculation="benefit 12,000.00",
    )
    return claim


def test_a_claim_for_a_loss_in_grace_records_the_premium_due_and_its_adjustment_shows_the_deduction() -> None:
    claim = a_claim_adjusted_in_grace()

    reported, *_, adjusted = history(claim)
    assert isinstance(reported, ClaimReported)
    assert (reported.premium_due_fen, reported.premium_due_on) == (GRACE_DUE_FEN, date(2026, 2, 20))
    assert isinstance(adjusted, ClaimAdjusted)
    assert adjusted.premium_due_deducted_fen == GRACE_DUE_FEN


def test_a_grace_claims_approval_is_refused_when_it_does_not_deduct_the_premium_due() -> None:
    given(a_claim_adjusted_in_grace()).when(
        lambda c: c.review(
            ctx(Role.CLAIM_REVIEWER, actor=claims.REVIEWER_ID), approved_amount_fen=claims.PROPOSED_FEN
        )
    ).refused(GracePremiumNotDeductedError)


def test_a_grace_claim_is_approved_at_the_benefit_less_the_premium_due() -> None:
    given(a_claim_adjusted_in_grace()).when(
        lambda c: c.review(
            ctx(Role.CLAIM_REVIEWER, actor=claims.REVIEWER_ID),
            approved_amount_fen=claims.PROPOSED_FEN - GRACE_DUE_FEN,
        )
    ).events(expect(ClaimReviewed, approved_amount_fen=claims.PROPOSED_FEN - GRACE_DUE_FEN))


# ============================================================================ 退保 surrender (Arts. 15, 47)


def a_life_policy_in_force() -> Policy:
    """Issued Mon 2 March 2026 from 3 March; receipt 5 March; cooling-off to 24:00 on 20 March, ended."""
    policy = a_life_policy_from(date(2026, 3, 3))
    policy.acknowledge_receipt(ctx(Role.SELLER, SELLER_ID), received_on=RECEIVED_ON, method="paper-receipt")
    policy.end_cooling_off(ctx(SYSTEM, at=midnight(date(2026, 3, 21))))
    return policy


def notice_on(day: date, given_by: SurrenderParty = SurrenderParty.APPLICANT) -> Callable[[Policy], None]:
    return lambda p: p.receive_surrender_notice(ctx(UW, at=at(day)), received_on=day, given_by=given_by)


def test_surrender_notice_during_national_day_makes_the_refund_due_after_the_holiday() -> None:
    # Received Tue 1 September: + 30 = Thu 1 October (国庆 1–7 Oct) → Thu 8 October, 24:00 (Art. 203).
    then = given(a_life_policy_in_force()).when(notice_on(date(2026, 9, 1)))

    then.events(
        expect(
            SurrenderNoticeReceived,
            received_on=date(2026, 9, 1),
            given_by=SurrenderParty.APPLICANT,
            in_cooling_off=False,
            refund_due_at=midnight(date(2026, 10, 9)),
        )
    )
    assert then.aggregate.status is PolicyStatus.SURRENDER_REQUESTED


def test_surrender_notice_at_a_month_end_makes_the_refund_due_after_the_weekend() -> None:
    # Received Thu 30 April: + 30 = Sat 30 May, a rest day → Mon 1 June, 24:00.
    given(a_life_policy_in_force()).when(notice_on(date(2026, 4, 30))).events(
        expect(SurrenderNoticeReceived, refund_due_at=midnight(date(2026, 6, 2)))
    )


def test_surrender_notice_is_refused_when_the_insured_gives_it() -> None:
    given(a_life_policy_in_force()).when(notice_on(date(2026, 9, 1), SurrenderParty.INSURED)).refused(
        SurrenderByApplicantOnlyError
    )


def test_surrender_notice_is_refused_when_one_is_already_on_record() -> None:
    policy = a_life_policy_in_force()
    policy.receive_surrender_notice(ctx(UW, at=at(date(2026, 9, 1))), received_on=date(2026, 9, 1))

    given(policy).when(notice_on(date(2026, 9, 2))).refused(InvalidTransitionError)


def test_surrender_after_cooling_off_refunds_the_cash_value_of_the_notices_policy_year() -> None:
    policy = a_life_policy_in_force()
    policy.record_cash_value_table(ctx(UW), table_ref="CV-LIFE-WL-20", cash_values_fen=CASH_VALUES)
    # 3 March 2027 starts the second policy year.
    policy.receive_surrender_notice(ctx(UW, at=at(date(2027, 3, 3))), received_on=date(2027, 3, 3))

    then = given(policy).when(lambda p: p.compute_surrender_value(ctx(UW, at=at(date(2027, 3, 4)))))

    then.events(
        expect(
            PolicySurrendered,
            requested_on=date(2027, 3, 3),
            cash_value_fen=300_000,
            basis=SurrenderBasis.CASH_VALUE,
            policy_year=2,
            table_ref="CV-LIFE-WL-20",
        )
    )


def test_surrender_value_is_refused_when_no_cash_value_table_is_on_record() -> None:
    policy = a_life_policy_in_force()
    policy.receive_surrender_notice(ctx(UW, at=at(date(2026, 9, 1))), received_on=date(2026, 9, 1))

    given(policy).when(lambda p: p.compute_surrender_value(ctx(UW))).refused(CashValueTableMissingError)


def test_surrender_in_cooling_off_refunds_the_premium_less_the_medical_check() -> None:
    policy = a_life_policy_from(date(2026, 3, 3))
    policy.acknowledge_receipt(ctx(Role.SELLER, SELLER_ID), received_on=RECEIVED_ON, method="paper-receipt")
    policy.receive_surrender_notice(ctx(UW, at=at(date(2026, 3, 20))), received_on=date(2026, 3, 20))

    then = given(policy).when(
        lambda p: p.compute_surrender_value(ctx(UW, at=at(date(2026, 3, 23))), medical_check_fen=35_000)
    )

    then.events(
        expect(
            PolicyCancelledInCoolingOff,
            requested_on=date(2026, 3, 20),
            refund_fen=PREMIUM_FEN - 35_000,
            fee_fen=0,
            medical_check_fen=35_000,
        )
    )


def test_medical_check_deduction_is_refused_after_cooling_off() -> None:
    policy = a_life_policy_in_force()
    policy.record_cash_value_table(ctx(UW), table_ref="CV", cash_values_fen=CASH_VALUES)
    policy.receive_surrender_notice(ctx(UW, at=at(date(2026, 9, 1))), received_on=date(2026, 9, 1))

    given(policy).when(lambda p: p.compute_surrender_value(ctx(UW), medical_check_fen=1)).refused(
        MedicalCheckCostError
    )


def an_issued_ctpl_policy() -> Policy:
    policy = ready_to_issue(a_ctpl_proposal())
    policy.issue(
        ctx(UW, UNDERWRITER_ID),
        policy_no="P-CTPL-1",
        effective_from=date(2026, 3, 3),
        effective_to=date(2027, 3, 2),
        terms_version="2026-01",
    )
    return policy


def test_ctpl_surrender_notice_is_refused_without_a_ctpl_ground() -> None:
    given(an_issued_ctpl_policy()).when(notice_on(date(2026, 9, 1))).refused(CtplSurrenderGroundRequiredError)


def test_ctpl_surrender_refunds_the_premium_of_the_days_left() -> None:
    policy = an_issued_ctpl_policy()
    policy.receive_surrender_notice(
        ctx(UW, at=at(date(2026, 9, 1))),
        received_on=date(2026, 9, 1),
        ctpl_ground=CtplSurrenderGround.VEHICLE_LOST,
        proof_ref="PSB-2026-0912",
    )

    then = given(policy).when(lambda p: p.compute_surrender_value(ctx(UW)))

    # 365 days of cover; 1 September ends the contract; 182 days (2 Sept to 2 March) are refunded.
    quoted = policy.quoted_premium_fen
    then.events(
        expect(
            PolicySurrendered,
            cash_value_fen=quoted * 182 // 365,
            basis=SurrenderBasis.UNEARNED_PREMIUM,
            ctpl_ground=CtplSurrenderGround.VEHICLE_LOST,
        )
    )


def surrendered_for_300_000() -> Policy:
    policy = a_life_policy_in_force()
    policy.record_cash_value_table(ctx(UW), table_ref="CV", cash_values_fen=CASH_VALUES)
    policy.receive_surrender_notice(ctx(UW, at=at(date(2027, 3, 3))), received_on=date(2027, 3, 3))
    policy.compute_surrender_value(ctx(UW, at=at(date(2027, 3, 4))))
    return policy


def test_surrender_refund_is_paid_as_its_own_event() -> None:
    then = given(surrendered_for_300_000()).when(
        lambda p: p.pay_surrender_refund(
            ctx(UW, at=at(date(2027, 3, 10))),
            amount_fen=300_000,
            paid_on=date(2027, 3, 10),
            payment_ref="PAY-1",
        )
    )

    then.events(
        expect(SurrenderRefundPaid, amount_fen=300_000, paid_on=date(2027, 3, 10), payment_ref="PAY-1")
    )
    assert then.aggregate.refund_paid


def test_surrender_refund_is_refused_when_it_is_not_the_value_computed() -> None:
    given(surrendered_for_300_000()).when(
        lambda p: p.pay_surrender_refund(
            ctx(UW, at=at(date(2027, 3, 10))),
            amount_fen=299_999,
            paid_on=date(2027, 3, 10),
            payment_ref="PAY-1",
        )
    ).refused(SurrenderRefundMismatchError)


def test_surrender_refund_is_refused_when_already_paid() -> None:
    policy = surrendered_for_300_000()
    policy.pay_surrender_refund(
        ctx(UW, at=at(date(2027, 3, 10))), amount_fen=300_000, paid_on=date(2027, 3, 10), payment_ref="PAY-1"
    )

    given(policy).when(
        lambda p: p.pay_surrender_refund(
            ctx(UW, at=at(date(2027, 3, 11))),
            amount_fen=300_000,
            paid_on=date(2027, 3, 11),
            payment_ref="PAY-2",
        )
    ).refused(SurrenderRefundMismatchError)


def test_art47_refund_clock_ends_where_the_notice_recorded_and_warns_at_half_and_four_fifths() -> None:
    policy = a_life_policy_in_force()
    policy.receive_surrender_notice(ctx(UW, at=at(date(2026, 9, 1))), received_on=date(2026, 9, 1))
    notice = history(policy)[-1]
    assert isinstance(notice, SurrenderNoticeReceived)
    rule = rule_by_id("IL47-SURRENDER-30D")

    timer = SlaTimer.start(
        ctx(SYSTEM),
        rule=rule,
        case_id=notice.originator_id,
        case_context="policy",
        cycle=notice.originator_version,
        start_at=start_instant(rule, notice),
        calendar=default_calendar(),
        cause_event="SurrenderNoticeReceived",
        cause_event_id=notice.event_id,
        ends_at=recorded_end(rule, notice),
    )

    assert timer.due_at == midnight(date(2026, 10, 9))
    # 38 days from 00:00 on 1 September to 24:00 on 8 October: half of them have run at 00:00 on 20 Sept.
    assert timer.next_fire() == (midnight(date(2026, 9, 20)), TimerAction.WARNING)
    assert [warning.fraction for warning in timer.warnings] == [0.5, 0.8]
    assert rule.satisfied_by == ("SurrenderRefundPaid",)
    assert rule.on_breach.regulator_reportable


def test_one_step_surrender_also_starts_the_refund_clock() -> None:
    policy = a_life_policy_in_force()

    then = given(policy).when(
        lambda p: p.surrender(
            ctx(UW, at=at(date(2026, 9, 1))), requested_on=date(2026, 9, 1), cash_value_fen=10
        )
    )

    then.events(
        expect(
            SurrenderNoticeReceived, received_on=date(2026, 9, 1), refund_due_at=midnight(date(2026, 10, 9))
        ),
        expect(PolicySurrendered, cash_value_fen=10, basis=SurrenderBasis.STATED),
    )


# ============================================================================ the policy view (保单查询)


def policy_row(policy: Policy) -> dict[str, object]:
    [row] = dict(fold([PoliciesView()], history(policy))[POLICIES.name]).values()
    return row


def test_policy_view_shows_the_instalment_due_and_its_payment_period() -> None:
    policy = on_schedule(a_life_policy_from(date(2026, 7, 20)))
    policy.send_premium_reminder(
        ctx(SYSTEM, at=at(date(2026, 9, 1))), reminded_on=date(2026, 9, 1), channel="sms"
    )

    row = policy_row(policy)

    assert (row["premium_frequency_months"], row["instalments"], row["instalments_paid"]) == (1, 12, 1)
    assert (row["next_due_on"], row["next_due_fen"]) == (date(2026, 8, 20), PREMIUM_FEN)
    assert (row["reminded_on"], row["payment_period_ends_at"]) == (
        date(2026, 9, 1),
        midnight(date(2026, 10, 9)),
    )


def test_policy_view_shows_the_suspension_and_the_end_of_the_two_years_to_reinstate() -> None:
    row = policy_row(lapsed_on_14_october())

    assert row["status"] == "lapsed"
    assert row["suspended_at"] == midnight(date(2026, 10, 14))
    assert row["reinstatement_ends_at"] == midnight(date(2028, 10, 17))


def test_policy_view_shows_the_surrender_refund_due_computed_and_paid() -> None:
    policy = surrendered_for_300_000()
    policy.pay_surrender_refund(
        ctx(UW, at=at(date(2027, 3, 10))), amount_fen=300_000, paid_on=date(2027, 3, 10), payment_ref="PAY-1"
    )

    row = policy_row(policy)

    assert (row["status"], row["surrender_received_on"]) == ("surrendered", date(2027, 3, 3))
    assert (row["refund_fen"], row["refund_basis"], row["refund_paid_on"]) == (
        300_000,
        "cash_value",
        date(2027, 3, 10),
    )
    assert row["refund_due_at"] == midnight(date(2027, 4, 3))


# ============================================================================ the worklist (我的待办)


def open_items(policy: Policy) -> set[str]:
    table = fold([WorklistView()], history(policy))[WORKLIST.name]
    return {row["item"] for row in table.values()}


def test_worklist_asks_for_the_surrender_value_and_the_refund_when_a_notice_is_received() -> None:
    policy = a_life_policy_in_force()
    policy.record_cash_value_table(ctx(UW), table_ref="CV", cash_values_fen=CASH_VALUES)
    policy.receive_surrender_notice(ctx(UW, at=at(date(2026, 9, 1))), received_on=date(2026, 9, 1))

    assert {"compute surrender value", "pay surrender refund"} <= open_items(policy)


def test_worklist_keeps_only_the_refund_once_the_value_is_computed() -> None:
    items = open_items(surrendered_for_300_000())

    assert "compute surrender value" not in items
    assert "pay surrender refund" in items


def test_worklist_asks_for_a_premium_reminder_when_an_instalment_is_billed() -> None:
    assert "send premium reminder" in open_items(on_schedule(a_life_policy_from(date(2026, 7, 20))))


def test_worklist_drops_the_premium_reminder_when_it_is_sent() -> None:
    policy = on_schedule(a_life_policy_from(date(2026, 7, 20)))
    policy.send_premium_reminder(
        ctx(SYSTEM, at=at(date(2026, 9, 1))), reminded_on=date(2026, 9, 1), channel="sms"
    )

    assert "send premium reminder" not in open_items(policy)


# ============================================================================ snapshots


def test_a_policy_with_an_instalment_due_restores_from_its_snapshot_state() -> None:
    policy = lapsed_on_14_october()
    policy.record_cash_value_table(ctx(UW), table_ref="CV", cash_values_fen=CASH_VALUES)
    dumped = _SNAPSHOT_ADAPTER.dump_python(Snapshot.take(policy).state, mode="json")
    restored = restore_aggregate_state(Policy, dumped)

    assert restored["billed"] == policy.billed
    assert restored["cash_values_fen"] == CASH_VALUES
    assert restored["reinstatement_ends_at"] == policy.reinstatement_ends_at


def test_claim_view_shows_the_premium_due_of_a_loss_in_grace() -> None:
    claim = a_claim_adjusted_in_grace()

    [row] = dict(fold([ClaimsView()], history(claim))[CLAIMS.name]).values()

    assert row["premium_due_fen"] == GRACE_DUE_FEN


def test_a_loss_after_the_notice_day_is_not_covered_before_the_value_is_computed() -> None:
    policy = a_life_policy_in_force()
    policy.receive_surrender_notice(ctx(UW, at=at(date(2026, 9, 30))), received_on=date(2026, 9, 30))

    cover = cover_of(policy)

    assert cover.gap_at(at(date(2026, 9, 30), hour=22)) is None
    assert cover.gap_at(at(date(2026, 10, 1), hour=9)) is not None
    assert cover.ended_by == "SurrenderNoticeReceived"


def test_a_renewed_motor_policys_surrender_refunds_the_unearned_part_of_the_renewal_premium() -> None:
    policy = ready_to_issue(a_motor_proposal())
    policy.issue(
        ctx(UW, UNDERWRITER_ID),
        policy_no="P-M-2",
        effective_from=date(2026, 3, 3),
        effective_to=date(2027, 3, 2),
        terms_version="2026-01",
    )
    policy.renew(
        ctx(UW),
        effective_from=date(2027, 3, 3),
        effective_to=date(2028, 3, 2),
        premium_fen=366_000,
        terms_version="2027",
    )
    policy.receive_surrender_notice(ctx(UW, at=at(date(2027, 3, 3))), received_on=date(2027, 3, 3))

    then = given(policy).when(lambda p: p.compute_surrender_value(ctx(UW, at=at(date(2027, 3, 4)))))

    # 366 days from 3 March 2027 to 2 March 2028 (29 February included); 365 of them after the notice's day.
    then.events(expect(PolicySurrendered, cash_value_fen=365_000, basis=SurrenderBasis.UNEARNED_PREMIUM))
