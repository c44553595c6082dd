"""个人信息 Retention rules, as Given / When / Then: a customer's personal data is erased only once every
retention clock has run out (open cases, sales records 5/10 years, complaint files 3 years, payment
vouchers 30 years, holds placed by hand), and only once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from domain.base import ActorRoleError, Role
from domain.privacy import (
    DISPUTE_RULE,
    LEGAL_HOLD_RULE,
    OPEN_CASE_RULE,
    CaseKind,
    CaseRecord,
    DataSubject,
    DataSubjectOpened,
    HoldGround,
    HoldNotPlacedError,
    PersonalDataAlreadyErasedError,
    PersonalDataErased,
    RetentionHoldAppliesError,
    RetentionHoldPlaced,
    RetentionHoldReleased,
    add_years,
    subject_id_for,
)
from tests.gwt import T0, Then, ctx, expect, given

CUSTOMER = "cust-0042"
MANAGER = Role.SENIOR_MANAGER


def at(day: date) -> datetime:
    """10:00 in Shanghai on ``day``."""
    return datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)


def a_subject() -> DataSubject:
    return DataSubject.open(ctx(MANAGER), customer_id=CUSTOMER)


def policy(ended_on: date | None, term_months: int) -> CaseRecord:
    return CaseRecord(CaseKind.POLICY, uuid4(), ended_on, term_months=term_months)


def complaint(closed_on: date | None) -> CaseRecord:
    return CaseRecord(CaseKind.COMPLAINT, uuid4(), closed_on)


def claim(closed_on: date | None, *, paid: bool) -> CaseRecord:
    return CaseRecord(CaseKind.CLAIM, uuid4(), closed_on, money_paid=paid)


def erase_on(day: date, *cases: CaseRecord) -> Callable[[DataSubject], None]:
    def erase(subject: DataSubject) -> None:
        subject.erase(ctx(MANAGER, "mgr-1", at(day)), reason="customer asked (PIPL Art. 47)", cases=cases)

    return erase


def refused_rule(then: Then[DataSubject]) -> str:
    error = then.refused(RetentionHoldAppliesError)
    assert isinstance(error, RetentionHoldAppliesError)
    return error.retention_rule


# ---------------------------------------------------------------------------------------------- the clocks


def test_erasure_is_refused_while_a_case_is_open() -> None:
    then = given(a_subject()).when(erase_on(date(2040, 1, 1), policy(None, 12)))
    assert refused_rule(then) == OPEN_CASE_RULE


def test_erasure_is_refused_within_5_years_of_the_end_of_a_one_year_contract() -> None:
    then = given(a_subject()).when(erase_on(date(2031, 6, 29), policy(date(2026, 6, 30), 12)))
    assert refused_rule(then) == "RET-SALES-5Y"


def test_erasure_is_performed_on_the_day_5_years_after_a_one_year_contract_ended() -> None:
    ended = policy(date(2026, 6, 30), 12)
    then = given(a_subject()).when(erase_on(date(2031, 6, 30), ended))
    (erased,) = then.events(
        expect(
            PersonalDataErased,
            customer_id=CUSTOMER,
            reason="customer asked (PIPL Art. 47)",
            erased_on=date(2031, 6, 30),
            policy_ids=(ended.case_id,),
            claim_ids=(),
            complaint_ids=(),
        )
    )
    assert isinstance(erased, PersonalDataErased)
    assert [h.rule for h in erased.holds_checked] == ["RET-SALES-5Y"]
    assert erased.holds_checked[0].until == date(2031, 6, 30)


def test_erasure_is_refused_within_10_years_of_the_end_of_a_longer_contract() -> None:
    then = given(a_subject()).when(erase_on(date(2035, 1, 1), policy(date(2026, 6, 30), 240)))
    assert refused_rule(then) == "RET-SALES-10Y"


def test_erasure_is_refused_within_3_years_of_a_complaint_closing() -> None:
    then = given(a_subject()).when(erase_on(date(2029, 3, 1), complaint(date(2026, 3, 2))))
    assert refused_rule(then) == "RET-COMPLAINT-3Y"


def test_erasure_is_performed_3_years_after_the_last_complaint_closed() -> None:
    closed = complaint(date(2026, 3, 2))
    then = given(a_subject()).when(erase_on(date(2029, 3, 2), closed))
    (erased,) = then.events(
        expect(PersonalDataErased, erased_on=date(2029, 3, 2), complaint_ids=(closed.case_id,), policy_ids=())
    )
    assert isinstance(erased, PersonalDataErased)
    assert [(h.rule, h.until) for h in erased.holds_checked] == [("RET-COMPLAINT-3Y", date(2029, 3, 2))]


def test_erasure_is_refused_for_30_years_after_a_claim_paid_money() -> None:
    then = given(a_subject()).when(erase_on(date(2050, 1, 1), claim(date(2026, 5, 1), paid=True)))
    assert refused_rule(then) == "RET-VOUCHER-30Y"


def test_an_unpaid_closed_claim_keeps_nothing_once_closed() -> None:
    unpaid = claim(date(2026, 5, 1), paid=False)
    then = given(a_subject()).when(erase_on(date(2026, 5, 2), unpaid))
    then.events(
        expect(PersonalDataErased, erased_on=date(2026, 5, 2), claim_ids=(unpaid.case_id,), holds_checked=())
    )


def test_the_longest_clock_decides_when_a_customer_has_several_cases() -> None:
    cases = (complaint(date(2026, 1, 1)), policy(date(2026, 1, 1), 24))
    then = given(a_subject()).when(erase_on(date(2030, 1, 1), *cases))
    error = then.refused(RetentionHoldAppliesError)
    assert isinstance(error, RetentionHoldAppliesError)
    assert {h.rule for h in error.holds} == {"RET-SALES-10Y"}


def test_a_leap_day_clock_runs_out_on_the_28th_of_february() -> None:
    assert add_years(date(2028, 2, 29), 5) == date(2033, 2, 28)


# ---------------------------------------------------------------------------------------------- holds by hand


def test_a_legal_hold_refuses_erasure_until_it_is_released() -> None:
    subject = a_subject()
    subject.place_hold(ctx(MANAGER), hold_id="LIT-1", ground=HoldGround.LEGAL, reason="court case 2026-17")
    then = given(subject).when(erase_on(date(2040, 1, 1)))
    assert refused_rule(then) == LEGAL_HOLD_RULE


def test_a_released_legal_hold_no_longer_refuses_erasure() -> None:
    subject = a_subject()
    subject.place_hold(ctx(MANAGER), hold_id="LIT-1", ground=HoldGround.LEGAL, reason="court case 2026-17")
    subject.release_hold(ctx(MANAGER, at=at(date(2027, 1, 1))), hold_id="LIT-1", reason="judgment final")
    then = given(subject).when(erase_on(date(2027, 1, 2)))
    (erased,) = then.events(
        expect(PersonalDataErased, erased_on=date(2027, 1, 2), policy_ids=(), claim_ids=())
    )
    assert isinstance(erased, PersonalDataErased)
    assert [(h.rule, h.until) for h in erased.holds_checked] == [(LEGAL_HOLD_RULE, date(2027, 1, 1))]


def test_a_dispute_keeps_the_data_2_years_after_it_ended() -> None:
    subject = a_subject()
    subject.place_hold(ctx(MANAGER), hold_id="D-1", ground=HoldGround.DISPUTE, reason="mis-selling dispute")
    subject.release_hold(ctx(MANAGER, at=at(date(2027, 1, 1))), hold_id="D-1", reason="settled")
    then = given(subject).when(erase_on(date(2028, 12, 31)))
    assert refused_rule(then) == DISPUTE_RULE


def test_a_hold_is_released_only_when_placed() -> None:
    then = given(a_subject()).when(lambda s: s.release_hold(ctx(MANAGER), hold_id="nope", reason="x"))
    then.refused(HoldNotPlacedError)


def test_placing_a_hold_records_it_with_its_ground() -> None:
    then = given(a_subject()).when(
        lambda s: s.place_hold(
            ctx(Role.COMPLAINTS_OFFICER), hold_id="D-2", ground=HoldGround.DISPUTE, reason="r"
        )
    )
    then.events(expect(RetentionHoldPlaced, hold_id="D-2", ground=HoldGround.DISPUTE, reason="r"))


# ---------------------------------------------------------------------------------------- who, how often


def test_only_a_senior_manager_erases_personal_data() -> None:
    then = given(a_subject()).when(lambda s: s.erase(ctx(Role.SUPERVISOR), reason="asked", cases=()))
    then.refused(ActorRoleError)


def test_personal_data_is_erased_only_once() -> None:
    subject = a_subject()
    subject.erase(ctx(MANAGER), reason="asked", cases=())
    then = given(subject).when(erase_on(date(2030, 1, 1)))
    then.refused(PersonalDataAlreadyErasedError)


def test_no_hold_can_be_placed_after_the_erasure() -> None:
    subject = a_subject()
    subject.erase(ctx(MANAGER), reason="asked", cases=())
    then = given(subject).when(
        lambda s: s.place_hold(ctx(MANAGER), hold_id="L", ground=HoldGround.LEGAL, reason="late")
    )
    then.refused(PersonalDataAlreadyErasedError)


def test_a_customer_has_one_data_subject_id_everywhere() -> None:
    assert subject_id_for(CUSTOMER) == a_subject().id
    assert subject_id_for(CUSTOMER) != subject_id_for("cust-0043")
    assert isinstance(subject_id_for(CUSTOMER), UUID)


# ---------------------------------------------------------------------------------------- for other tests


def an_erased_subject() -> DataSubject:
    """A data subject with a dispute hold placed, released, and the erasure after it ran out."""
    subject = DataSubject.open(ctx(MANAGER), customer_id=CUSTOMER)
    subject.place_hold(ctx(MANAGER), hold_id="D-9", ground=HoldGround.DISPUTE, reason="dispute")
    subject.release_hold(ctx(MANAGER), hold_id="D-9", reason="settled")
    later = T0 + timedelta(days=3 * 366)
    subject.erase(ctx(MANAGER, at=later), reason="asked", cases=(complaint(date(2026, 1, 5)),))
    return subject


def test_an_erased_subject_records_its_whole_history() -> None:
    events = [type(e) for e in an_erased_subject().collect_events()]
    assert events == [DataSubjectOpened, RetentionHoldPlaced, RetentionHoldReleased, PersonalDataErased]


@pytest.mark.parametrize("role", [Role.SELLER, Role.AUDITOR])
def test_a_data_subject_is_not_opened_by_staff_without_privacy_duties(role: Role) -> None:
    with pytest.raises(ActorRoleError):
        DataSubject.open(ctx(role), customer_id=CUSTOMER)
