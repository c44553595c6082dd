"""The law at the policy's edges (issue 13): the customer's windows roll over holidays and end where the
timer ends, long-term accident cover has a cooling-off period, CTPL is surrendered and rescinded only as its
regulation allows, a rescission's refund follows the applicant's fault, Art. 41 and Art. 36 apply as
written, and no request or knowledge is dated after it is recorded.

Dates are real 2026 calendar days (State Council notice): National Day 1–7 October, Spring Festival
15–23 February, and a month end on a weekend.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from pydantic import ValidationError

from consumers.timers import recorded_end, start_instant
from domain.base import SHANGHAI, Role
from domain.calendar import default_calendar
from domain.policy import (
    BeneficiaryChangedBy,
    BeneficiaryChangeWithoutConsentError,
    CoolingOffEnded,
    CoolingOffNotOverError,
    CoolingOffOverError,
    CtplCurePeriodNotOverError,
    CtplNonDisclosureCuredError,
    CtplRescissionWithoutNoticeError,
    CtplSurrenderGround,
    CtplSurrenderGroundRequiredError,
    CtplSurrenderProofMissingError,
    CureOutOfTimeError,
    DeliberateNonDisclosureRefundError,
    EndorsementApplied,
    FutureDatedRequestError,
    GroundKnownInFutureError,
    Line,
    NegligentNonDisclosureRefundTooLowError,
    NonDisclosureCured,
    NonDisclosureFault,
    NonDisclosureFaultNotStatedError,
    Policy,
    PolicyCancelledInCoolingOff,
    PolicyReceiptAcknowledged,
    PolicyRescinded,
    PolicyStatus,
    PolicySurrendered,
    RescissionGround,
    RescissionNoticeSent,
    SurrenderDatedBeforeIssueError,
    SurrenderInCoolingOffError,
    SurrenderNoticeReceived,
)
from domain.sla import SlaRule, rule_by_id
from domain.timer import SlaTimer, TimerAction, TimerStarted
from tests.gwt import ctx, expect, given
from tests.unit.test_policy_rules import (
    PREMIUM_FEN,
    SELLER_ID,
    SYSTEM,
    UNDERWRITER_ID,
    UW,
    Command,
    a_registration,
    an_in_force_life_policy,
    an_issued_ctpl_policy,
    an_issued_life_policy,
    an_issued_motor_policy,
    at,
    issued,
    ready_to_issue,
    submit,
)

ACCIDENT_PRODUCT = "ACC-LT-10"
HEALTH_PRODUCT = "HEALTH-CI-20"


def midnight(day: date) -> datetime:
    """00:00 Asia/Shanghai at the start of ``day``: 24:00 of the day before (Civil Code Art. 203 ¶2)."""
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)


def received(policy: Policy, on: date, cooling_off_days: int = 15) -> Policy:
    """The applicant's receipt arrives on ``on`` and is recorded that day."""
    policy.acknowledge_receipt(
        ctx(Role.SELLER, SELLER_ID, at=at(on)),
        received_on=on,
        method="paper-receipt",
        cooling_off_days=cooling_off_days,
    )
    return policy


def cancel_requested_on(day: date) -> Command:
    """The command: cancel on a request made on ``day``, processed that day."""
    return lambda p: p.cancel_in_cooling_off(ctx(UW, at=at(day)), requested_on=day)


def end_cooling_off_at(moment: datetime) -> Command:
    """The command: the system's timer ends the cooling-off period at ``moment``."""
    return lambda p: p.end_cooling_off(ctx(SYSTEM, at=moment))


# ----------------------------------------------------------------------- cooling-off rolls over a holiday

NATIONAL_DAY_RECEIPT = date(2026, 9, 16)  # Wed; day 15 is Thu 1 October (国庆 1–7 Oct) → Thu 8 October
NATIONAL_DAY_LAST_DAY = date(2026, 10, 8)


def test_receipt_records_a_cooling_off_end_rolled_past_national_day_when_day_fifteen_is_1_october() -> None:
    then = given(an_issued_life_policy()).when(lambda p: received(p, NATIONAL_DAY_RECEIPT))

    then.events(
        expect(
            PolicyReceiptAcknowledged,
            received_on=NATIONAL_DAY_RECEIPT,
            cooling_off_days=15,
            cooling_off_ends_on=NATIONAL_DAY_LAST_DAY,
            cooling_off_ends_at=midnight(date(2026, 10, 9)),
            calendar_id=default_calendar().calendar_id,
            calendar_version=default_calendar().version,
        )
    )


def test_cancellation_is_recorded_when_requested_during_national_day_after_day_fifteen() -> None:
    policy = received(an_issued_life_policy(), NATIONAL_DAY_RECEIPT)

    given(policy).when(cancel_requested_on(date(2026, 10, 5))).events(
        expect(PolicyCancelledInCoolingOff, requested_on=date(2026, 10, 5), refund_fen=PREMIUM_FEN, fee_fen=0)
    )


def test_cancellation_is_recorded_when_requested_on_the_working_day_after_national_day() -> None:
    policy = received(an_issued_life_policy(), NATIONAL_DAY_RECEIPT)

    given(policy).when(cancel_requested_on(NATIONAL_DAY_LAST_DAY)).events(
        expect(
            PolicyCancelledInCoolingOff, requested_on=NATIONAL_DAY_LAST_DAY, refund_fen=PREMIUM_FEN, fee_fen=0
        )
    )


def test_cancellation_is_refused_when_requested_the_day_after_the_rolled_over_last_day() -> None:
    policy = received(an_issued_life_policy(), NATIONAL_DAY_RECEIPT)

    given(policy).when(cancel_requested_on(date(2026, 10, 9))).refused(CoolingOffOverError)


def test_cooling_off_end_is_refused_when_the_timer_fires_after_day_fifteen_but_inside_the_holiday() -> None:
    policy = received(an_issued_life_policy(), NATIONAL_DAY_RECEIPT)

    given(policy).when(end_cooling_off_at(midnight(date(2026, 10, 2)))).refused(CoolingOffNotOverError)


def test_cooling_off_ends_at_24_00_of_the_rolled_over_last_day() -> None:
    policy = received(an_issued_life_policy(), NATIONAL_DAY_RECEIPT)

    then = given(policy).when(end_cooling_off_at(midnight(date(2026, 10, 9))))

    then.events(expect(CoolingOffEnded, ended_on=NATIONAL_DAY_LAST_DAY))
    assert then.aggregate.status is PolicyStatus.IN_FORCE


def test_cancellation_is_recorded_after_spring_festival_when_day_fifteen_falls_in_it() -> None:
    # Mon 2 February 2026 + 15 = Tue 17 February (春节 15–23 February) → Tue 24 February.
    policy = received(an_issued_life_policy(), date(2026, 2, 2))

    given(policy).when(cancel_requested_on(date(2026, 2, 24))).events(
        expect(PolicyCancelledInCoolingOff, requested_on=date(2026, 2, 24), refund_fen=PREMIUM_FEN, fee_fen=0)
    )


def test_cancellation_is_recorded_on_the_monday_when_day_fifteen_is_the_last_saturday_of_january() -> None:
    # Fri 16 January 2026 + 15 = Sat 31 January, a rest day → Mon 2 February.
    policy = received(an_issued_life_policy(), date(2026, 1, 16))

    given(policy).when(cancel_requested_on(date(2026, 2, 2))).events(
        expect(PolicyCancelledInCoolingOff, requested_on=date(2026, 2, 2), refund_fen=PREMIUM_FEN, fee_fen=0)
    )


def test_cancellation_is_refused_when_the_request_is_dated_after_the_day_it_is_recorded() -> None:
    policy = received(an_issued_life_policy(), date(2026, 3, 5))

    given(policy).when(
        lambda p: p.cancel_in_cooling_off(ctx(UW, at=at(date(2026, 3, 6))), requested_on=date(2026, 3, 9))
    ).refused(FutureDatedRequestError)


def test_an_old_receipt_without_the_end_instant_still_loads_and_ends_the_old_way() -> None:
    # A receipt stored before cooling_off_ends_at existed: its last day was counted without the roll-over.
    policy = an_issued_life_policy()
    policy._record(
        PolicyReceiptAcknowledged,
        ctx(Role.SELLER, SELLER_ID, at=at(NATIONAL_DAY_RECEIPT)),
        received_on=NATIONAL_DAY_RECEIPT,
        method="paper-receipt",
        cooling_off_days=15,
        cooling_off_ends_on=date(2026, 10, 1),
    )

    then = given(policy).when(end_cooling_off_at(midnight(date(2026, 10, 2))))

    then.events(expect(CoolingOffEnded, ended_on=date(2026, 10, 1)))


# ------------------------------------------------------------------- a longer contract period and its timer


def a_twenty_day_cooling_off() -> Policy:
    """Receipt Thu 5 March 2026 under a contract granting 20 days: the last day is Wed 25 March."""
    return received(an_issued_life_policy(), date(2026, 3, 5), cooling_off_days=20)


def the_receipt(policy: Policy) -> PolicyReceiptAcknowledged:
    receipt = given(policy).history[-1]
    assert isinstance(receipt, PolicyReceiptAcknowledged)
    return receipt


def a_timer_started_by(receipt: PolicyReceiptAcknowledged, rule_id: str) -> SlaTimer:
    """The timer the timers consumer starts for ``rule_id`` on this receipt."""
    rule = rule_by_id(rule_id)
    return SlaTimer.start(
        ctx(SYSTEM),
        rule=rule,
        case_id=receipt.originator_id,
        case_context="policy",
        cycle=receipt.originator_version,
        start_at=start_instant(rule, receipt),
        calendar=default_calendar(),
        cause_event="PolicyReceiptAcknowledged",
        cause_event_id=receipt.event_id,
        ends_at=recorded_end(rule, receipt),
    )


def test_cooling_off_timer_closes_at_24_00_of_day_twenty_when_the_contract_grants_twenty_days() -> None:
    timer = a_timer_started_by(the_receipt(a_twenty_day_cooling_off()), "LIFE-COOLOFF-15D")

    assert timer.next_fire() == (midnight(date(2026, 3, 26)), TimerAction.CLOSE_WINDOW)
    assert timer.due_at == a_twenty_day_cooling_off().cooling_off_end


def test_cooling_off_end_is_recorded_when_the_timer_closes_a_twenty_day_window() -> None:
    timer = a_timer_started_by(the_receipt(a_twenty_day_cooling_off()), "LIFE-COOLOFF-15D")
    assert timer.due_at is not None

    given(a_twenty_day_cooling_off()).when(end_cooling_off_at(timer.due_at)).events(
        expect(CoolingOffEnded, ended_on=date(2026, 3, 25))
    )


def test_cooling_off_end_is_refused_after_fifteen_days_when_the_contract_grants_twenty() -> None:
    given(a_twenty_day_cooling_off()).when(end_cooling_off_at(midnight(date(2026, 3, 21)))).refused(
        CoolingOffNotOverError
    )


def test_new_policy_callback_is_due_at_the_recorded_end_of_a_twenty_day_cooling_off() -> None:
    timer = a_timer_started_by(the_receipt(a_twenty_day_cooling_off()), "LIFE-CALLBACK-15D")

    assert timer.due_at == midnight(date(2026, 3, 26))
    assert timer.warning_at(0.5) is not None


# --------------------------------------------------------------------- long-term personal lines


def a_long_term(line: Line, product_code: str, term_months: int = 120) -> Policy:
    seller = a_registration(authorised_products=frozenset({product_code}))
    return issued(
        ready_to_issue(submit(line=line, product_code=product_code, term_months=term_months, seller=seller))
    )


def test_receipt_starts_cooling_off_when_an_accident_policy_runs_over_a_year() -> None:
    then = given(a_long_term(Line.ACCIDENT, ACCIDENT_PRODUCT)).when(lambda p: received(p, date(2026, 3, 5)))

    then.events(
        expect(
            PolicyReceiptAcknowledged,
            cooling_off_days=15,
            cooling_off_ends_on=date(2026, 3, 20),
            cooling_off_ends_at=midnight(date(2026, 3, 21)),
        )
    )
    assert then.aggregate.status is PolicyStatus.IN_COOLING_OFF
    assert then.aggregate.cooling_off_applies


def test_receipt_starts_cooling_off_when_a_health_policy_runs_over_a_year() -> None:
    then = given(a_long_term(Line.HEALTH, HEALTH_PRODUCT)).when(lambda p: received(p, date(2026, 3, 5)))

    then.events(expect(PolicyReceiptAcknowledged, cooling_off_days=15, cooling_off_ends_on=date(2026, 3, 20)))
    assert then.aggregate.status is PolicyStatus.IN_COOLING_OFF


def test_receipt_puts_a_one_year_accident_policy_in_force_without_cooling_off() -> None:
    policy = a_long_term(Line.ACCIDENT, ACCIDENT_PRODUCT, term_months=12)

    then = given(policy).when(lambda p: received(p, date(2026, 3, 5)))

    then.events(expect(PolicyReceiptAcknowledged, cooling_off_days=None, cooling_off_ends_at=None))
    assert then.aggregate.status is PolicyStatus.IN_FORCE


# ------------------------------------------------------------------------------------------- surrender


def surrender_requested_on(
    day: date,
    recorded_on: date | None = None,
    ctpl_ground: CtplSurrenderGround | None = None,
    proof_ref: str | None = None,
) -> Command:
    """The command: surrender on a request dated ``day``, recorded on ``recorded_on`` (that day)."""
    return lambda p: p.surrender(
        ctx(UW, at=at(recorded_on or day)),
        requested_on=day,
        cash_value_fen=0,
        ctpl_ground=ctpl_ground,
        proof_ref=proof_ref,
    )


def test_ctpl_surrender_is_refused_when_no_regulation_ground_is_given() -> None:
    given(an_issued_ctpl_policy()).when(surrender_requested_on(date(2026, 6, 1))).refused(
        CtplSurrenderGroundRequiredError
    )


def test_ctpl_surrender_is_recorded_when_the_vehicle_is_laid_up_and_the_certificate_is_on_file() -> None:
    command = surrender_requested_on(
        date(2026, 6, 1), ctpl_ground=CtplSurrenderGround.VEHICLE_LAID_UP, proof_ref="DMV-STOP-0001"
    )

    given(an_issued_ctpl_policy()).when(command).events(
        expect(SurrenderNoticeReceived, received_on=date(2026, 6, 1), proof_ref="DMV-STOP-0001"),
        expect(
            PolicySurrendered,
            requested_on=date(2026, 6, 1),
            ctpl_ground=CtplSurrenderGround.VEHICLE_LAID_UP,
            proof_ref="DMV-STOP-0001",
        ),
    )


def test_ctpl_surrender_is_refused_when_a_lost_vehicle_has_no_police_certificate() -> None:
    command = surrender_requested_on(date(2026, 6, 1), ctpl_ground=CtplSurrenderGround.VEHICLE_LOST)

    error = given(an_issued_ctpl_policy()).when(command).refused(CtplSurrenderProofMissingError)

    assert "police" in str(error)


def test_commercial_motor_surrender_is_recorded_without_a_ctpl_ground() -> None:
    given(an_issued_motor_policy()).when(surrender_requested_on(date(2026, 6, 1))).events(
        expect(SurrenderNoticeReceived, received_on=date(2026, 6, 1), ctpl_ground=None),
        expect(PolicySurrendered, requested_on=date(2026, 6, 1), ctpl_ground=None),
    )


def test_surrender_is_refused_when_the_request_is_dated_after_the_day_it_is_recorded() -> None:
    command = surrender_requested_on(date(2026, 6, 30), recorded_on=date(2026, 6, 1))

    given(an_issued_motor_policy()).when(command).refused(FutureDatedRequestError)


def test_surrender_is_refused_when_the_request_is_dated_before_the_policy_was_issued() -> None:
    command = surrender_requested_on(date(2026, 2, 27), recorded_on=date(2026, 6, 1))

    given(an_issued_motor_policy()).when(command).refused(SurrenderDatedBeforeIssueError)


def test_surrender_is_refused_when_the_request_is_dated_inside_the_cooling_off_period() -> None:
    # Cooling-off ran to 20 March: a request of that day is a cancellation with the premium refunded.
    command = surrender_requested_on(date(2026, 3, 20), recorded_on=date(2026, 4, 2))

    given(an_in_force_life_policy()).when(command).refused(SurrenderInCoolingOffError)


# ------------------------------------------------------------------------------------------- rescission

KNOWN_ON = date(2026, 9, 1)


def with_ground_known(policy: Policy, on: date = KNOWN_ON) -> Policy:
    policy.record_rescission_ground(
        ctx(Role.CLAIMS_HANDLER, at=at(on, hour=15)),
        ground=RescissionGround.NON_DISCLOSURE_ART16,
        known_at=at(on),
        evidence="hospital record of hypertension treated since 2024",
    )
    return policy


def rescind(
    on: date, refund_fen: int, fault: NonDisclosureFault | None = NonDisclosureFault.DELIBERATE
) -> Command:
    return lambda p: p.rescind(
        ctx(UW, UNDERWRITER_ID, at=at(on)),
        ground=RescissionGround.NON_DISCLOSURE_ART16,
        refund_fen=refund_fen,
        notice_ref="RESC-1",
        fault=fault,
    )


def test_rescission_ground_is_refused_when_known_at_is_after_the_recording() -> None:
    given(an_in_force_life_policy()).when(
        lambda p: p.record_rescission_ground(
            ctx(Role.CLAIMS_HANDLER, at=at(KNOWN_ON)),
            ground=RescissionGround.NON_DISCLOSURE_ART16,
            known_at=at(KNOWN_ON) + timedelta(days=3),
            evidence="a later-dated letter",
        )
    ).refused(GroundKnownInFutureError)


def test_rescission_for_deliberate_non_disclosure_is_recorded_without_a_refund() -> None:
    given(with_ground_known(an_in_force_life_policy())).when(rescind(KNOWN_ON, refund_fen=0)).events(
        expect(PolicyRescinded, fault=NonDisclosureFault.DELIBERATE, refund_fen=0)
    )


def test_rescission_for_deliberate_non_disclosure_is_refused_when_it_refunds_premium() -> None:
    given(with_ground_known(an_in_force_life_policy())).when(
        rescind(KNOWN_ON, refund_fen=PREMIUM_FEN)
    ).refused(DeliberateNonDisclosureRefundError)


def test_rescission_for_gross_negligence_is_recorded_when_the_premium_is_refunded() -> None:
    command = rescind(KNOWN_ON, refund_fen=PREMIUM_FEN, fault=NonDisclosureFault.GROSS_NEGLIGENCE)

    given(with_ground_known(an_in_force_life_policy())).when(command).events(
        expect(PolicyRescinded, fault=NonDisclosureFault.GROSS_NEGLIGENCE, refund_fen=PREMIUM_FEN)
    )


def test_rescission_for_gross_negligence_is_refused_when_the_premium_is_not_refunded() -> None:
    command = rescind(KNOWN_ON, refund_fen=0, fault=NonDisclosureFault.GROSS_NEGLIGENCE)

    given(with_ground_known(an_in_force_life_policy())).when(command).refused(
        NegligentNonDisclosureRefundTooLowError
    )


def test_rescission_for_non_disclosure_is_refused_when_the_fault_is_not_stated() -> None:
    given(with_ground_known(an_in_force_life_policy())).when(rescind(KNOWN_ON, 0, fault=None)).refused(
        NonDisclosureFaultNotStatedError
    )


def notified(policy: Policy, received_on: date) -> Policy:
    """The applicant received the insurer's written notice (CTPL Art. 14) on ``received_on``."""
    policy.send_rescission_notice(
        ctx(UW, at=at(received_on)),
        ground=RescissionGround.NON_DISCLOSURE_ART16,
        notice_ref="CTPL-N-1",
        received_on=received_on,
    )
    return policy


def test_ctpl_rescission_is_refused_when_no_written_notice_was_sent() -> None:
    given(with_ground_known(an_issued_ctpl_policy())).when(rescind(date(2026, 9, 20), 0)).refused(
        CtplRescissionWithoutNoticeError
    )


def test_ctpl_notice_records_a_cure_period_rolled_past_national_day() -> None:
    # Mon 28 September + 5 = Sat 3 October (国庆 1–7 Oct) → Thu 8 October, ending at 24:00.
    policy = with_ground_known(an_issued_ctpl_policy(), on=date(2026, 9, 25))

    given(policy).when(lambda p: notified(p, date(2026, 9, 28))).events(
        expect(
            RescissionNoticeSent,
            ground=RescissionGround.NON_DISCLOSURE_ART16,
            received_on=date(2026, 9, 28),
            cure_days=5,
            cure_ends_at=midnight(date(2026, 10, 9)),
        )
    )


def test_ctpl_rescission_is_refused_inside_the_cure_period_when_day_five_is_a_holiday() -> None:
    policy = notified(with_ground_known(an_issued_ctpl_policy(), on=date(2026, 9, 25)), date(2026, 9, 28))

    given(policy).when(rescind(date(2026, 10, 8), 0)).refused(CtplCurePeriodNotOverError)


def test_ctpl_rescission_is_recorded_once_the_cure_period_has_run_out() -> None:
    policy = notified(with_ground_known(an_issued_ctpl_policy(), on=date(2026, 9, 25)), date(2026, 9, 28))

    given(policy).when(rescind(date(2026, 10, 9), 0)).events(
        expect(
            PolicyRescinded, ground=RescissionGround.NON_DISCLOSURE_ART16, fault=NonDisclosureFault.DELIBERATE
        )
    )


def test_ctpl_rescission_is_refused_when_the_applicant_disclosed_within_the_five_days() -> None:
    policy = notified(with_ground_known(an_issued_ctpl_policy()), date(2026, 9, 2))
    policy.record_non_disclosure_cure(
        ctx(UW, at=at(date(2026, 9, 7))),
        ground=RescissionGround.NON_DISCLOSURE_ART16,
        disclosed_on=date(2026, 9, 7),
        evidence_ref="DISCLOSURE-0001",
    )

    given(policy).when(rescind(date(2026, 9, 10), 0)).refused(CtplNonDisclosureCuredError)


def test_ctpl_cure_is_recorded_when_the_applicant_discloses_on_day_five() -> None:
    policy = notified(with_ground_known(an_issued_ctpl_policy()), date(2026, 9, 2))

    given(policy).when(
        lambda p: p.record_non_disclosure_cure(
            ctx(UW, at=at(date(2026, 9, 7))),
            ground=RescissionGround.NON_DISCLOSURE_ART16,
            disclosed_on=date(2026, 9, 7),
            evidence_ref="DISCLOSURE-0001",
        )
    ).events(
        expect(
            NonDisclosureCured,
            ground=RescissionGround.NON_DISCLOSURE_ART16,
            disclosed_on=date(2026, 9, 7),
            evidence_ref="DISCLOSURE-0001",
        )
    )


def test_ctpl_cure_is_refused_when_the_applicant_discloses_after_the_five_days() -> None:
    policy = notified(with_ground_known(an_issued_ctpl_policy()), date(2026, 9, 2))

    given(policy).when(
        lambda p: p.record_non_disclosure_cure(
            ctx(UW, at=at(date(2026, 9, 9))),
            ground=RescissionGround.NON_DISCLOSURE_ART16,
            disclosed_on=date(2026, 9, 8),
            evidence_ref="DISCLOSURE-0002",
        )
    ).refused(CureOutOfTimeError)


# ----------------------------------------------------------------------------- beneficiary change (Art. 41)


def change_beneficiary(by: BeneficiaryChangedBy, consent_ref: str | None) -> Command:
    return lambda p: p.apply_endorsement(
        ctx(UW, at=at(date(2026, 6, 1))),
        endorsement_no="PQ-0003",
        change_type="beneficiary",
        description="beneficiary changed to the insured's daughter",
        effective_on=date(2026, 6, 1),
        beneficiary_names=("张小红",),
        insured_consent_ref=consent_ref,
        beneficiary_changed_by=by,
    )


def test_beneficiary_change_is_applied_when_the_insured_changes_it_without_a_consent_form() -> None:
    given(an_in_force_life_policy()).when(change_beneficiary(BeneficiaryChangedBy.INSURED, None)).events(
        expect(
            EndorsementApplied,
            beneficiary_names=("张小红",),
            insured_consent_ref=None,
            beneficiary_changed_by=BeneficiaryChangedBy.INSURED,
        )
    )


def test_beneficiary_change_is_refused_when_the_applicant_changes_it_without_the_insureds_consent() -> None:
    given(an_in_force_life_policy()).when(change_beneficiary(BeneficiaryChangedBy.APPLICANT, None)).refused(
        BeneficiaryChangeWithoutConsentError
    )


# The Art. 36 lapse periods (National Day roll-over of the 60 and the 30 days) are proven on the premium
# schedule in tests/unit/test_surrender_and_renewal_premium.py.


# ---------------------------------------------------------------------------- windows the case records


def test_cooling_off_timer_steps_name_the_receipt_field_its_end_was_read_from() -> None:
    timer = a_timer_started_by(the_receipt(a_twenty_day_cooling_off()), "LIFE-COOLOFF-15D")

    started = given(timer).history[0]

    assert isinstance(started, TimerStarted)
    details = " ".join(step.detail for step in started.steps)
    assert "PolicyReceiptAcknowledged.cooling_off_ends_at" in details
    assert "24:00 on 2026-03-25" in details


def test_ctpl_cure_timer_ends_where_the_rescission_guard_does_when_day_five_is_in_national_day() -> None:
    policy = notified(with_ground_known(an_issued_ctpl_policy(), on=date(2026, 9, 25)), date(2026, 9, 28))
    notice = given(policy).history[-1]
    assert isinstance(notice, RescissionNoticeSent)
    rule = rule_by_id("CTPL14-CURE-5D")

    timer = SlaTimer.start(
        ctx(SYSTEM),
        rule=rule,
        case_id=notice.originator_id,
        case_context="policy",
        cycle=notice.originator_version,
        start_at=start_instant(rule, notice),
        calendar=default_calendar(),
        cause_event="RescissionNoticeSent",
        cause_event_id=notice.event_id,
        ends_at=recorded_end(rule, notice),
    )

    assert timer.next_fire() == (midnight(date(2026, 10, 9)), TimerAction.CLOSE_WINDOW)


def test_a_rule_is_refused_when_its_clock_ends_at_a_recorded_instant_and_also_pauses() -> None:
    cooling_off = rule_by_id("LIFE-COOLOFF-15D")

    with pytest.raises(ValidationError, match="never pauses or moves"):
        SlaRule.model_validate(
            {
                **cooling_off.model_dump(),
                "pauses_on": ("PolicyLapsed",),
                "resumes_on": ("PolicyReinstated",),
            }
        )
