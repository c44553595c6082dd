"""保全 Policy service request rules, as Given / When / Then: the items and the change each carries, Art. 41
consent, reductions, policy loans by product, documents and identity, four-eyes review, refusal with
reasons, notice, withdrawal; and the time standards as SLA rows counted on working days."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from domain.base import ActorRoleError, Context, InvalidTransitionError, Role
from domain.calendar import Deadline, default_calendar
from domain.cover import PolicyCover
from domain.policy import BeneficiaryChangeWithoutConsentError, Line
from domain.service_request import (
    ITEM_TERMS,
    BeneficiaryOnlyInPersonalInsuranceError,
    BeneficiarySharesError,
    IdentityCheck,
    PaymentMethod,
    PolicyLoanNotInProductError,
    ReductionMustLowerError,
    Requester,
    ServiceChangeIncompleteError,
    ServiceChannel,
    ServiceCustomerNotified,
    ServiceDocumentsIncompleteError,
    ServiceItem,
    ServiceOutcome,
    ServicePolicyNotInForceError,
    ServiceRefusalWithoutReasonsError,
    ServiceRequest,
    ServiceRequestApproved,
    ServiceRequestChecked,
    ServiceRequestCompleted,
    ServiceRequested,
    ServiceRequestRefused,
    ServiceRequestStatus,
    ServiceRequestWithdrawn,
    ServiceReviewerIsHandlerError,
    ServiceTimeInFutureError,
    time_standard_rule,
)
from domain.sla import ALL_RULES, rule_by_id
from tests.gwt import T0, ctx, expect, given

SHANGHAI = ZoneInfo("Asia/Shanghai")
HANDLER = "wang.fang.ops"
REVIEWER = "li.na.ops"
SUM_INSURED = 50_000_000


def cover(*, in_force: bool = True) -> PolicyCover:
    return PolicyCover(
        policy_id=uuid4(),
        policy_no="P-2026-0001",
        customer_id="CUST-1",
        in_force=in_force,
        effective_from=date(2026, 1, 1),
        effective_to=date(2045, 12, 31),
        sum_insured_fen=SUM_INSURED,
        ctpl=False,
    )


def staff(actor: str = HANDLER, at: datetime = T0) -> Context:
    return ctx(Role.UNDERWRITER, actor, at)


CHANGES: dict[ServiceItem, dict[str, Any]] = {
    ServiceItem.CONTACT_CHANGE: {"new_phone": "13900139000"},
    ServiceItem.ADDRESS_CHANGE: {"new_address": "上海市浦东新区世纪大道 100 号"},
    ServiceItem.BANK_ACCOUNT_CHANGE: {
        "bank": "ICBC",
        "bank_account_no": "6222020200112233445",
        "account_holder_name": "张三",
    },
    ServiceItem.BENEFICIARY_CHANGE: {
        "beneficiary_names": ("李四", "王五"),
        "beneficiary_id_numbers": ("110101199001011234", "110101199202022345"),
        "beneficiary_shares": (60, 40),
    },
    ServiceItem.REDUCTION: {"new_sum_insured_fen": 30_000_000, "premium_delta_fen": -120_000},
    ServiceItem.PAYMENT_METHOD_CHANGE: {"payment_method": PaymentMethod.BANK_DEBIT},
    ServiceItem.POLICY_LOAN: {"loan_amount_fen": 2_000_000},
}


def request(
    item: ServiceItem = ServiceItem.ADDRESS_CHANGE,
    *,
    by: Requester = Requester.INSURED,
    product_code: str = "LIFE-WL-20",
    line: Line = Line.LIFE,
    policy: PolicyCover | None = None,
    received_at: datetime = T0,
    at: datetime = T0,
    **change: Any,
) -> ServiceRequest:
    return ServiceRequest.request(
        ctx(Role.SELLER, "seller-7", at),
        request_id=uuid4(),
        request_no="SR-0001",
        cover=policy or cover(),
        product_code=product_code,
        line=line,
        item=item,
        channel=ServiceChannel.COUNTER,
        requested_by=by,
        requester_name="张三",
        received_at=received_at,
        **(change or CHANGES[item]),
    )


def checked(item: ServiceItem = ServiceItem.ADDRESS_CHANGE) -> ServiceRequest:
    service = request(item)
    service.check(
        staff(), identity_check=IdentityCheck.ID_CARD_IN_PERSON, documents=tuple(ITEM_TERMS[item].documents)
    )
    return service


def approved(item: ServiceItem = ServiceItem.ADDRESS_CHANGE) -> ServiceRequest:
    service = checked(item)
    service.approve(staff(REVIEWER))
    return service


def done(item: ServiceItem = ServiceItem.ADDRESS_CHANGE) -> ServiceRequest:
    service = approved(item)
    service.complete(staff(REVIEWER), effective_on=date(2026, 3, 3))
    return service


def notified(item: ServiceItem = ServiceItem.ADDRESS_CHANGE) -> ServiceRequest:
    service = done(item)
    service.notify_customer(staff(), channel="sms")
    return service


def refused_and_withdrawn_bank_change() -> ServiceRequest:
    """A bank account change the customer withdrew (the schema tests read its events)."""
    service = request(ServiceItem.BANK_ACCOUNT_CHANGE)
    service.withdraw(staff(), reason="the customer keeps the old account")
    return service


# ------------------------------------------------------------------------------------------ request


@pytest.mark.parametrize("item", list(ServiceItem))
def test_a_request_records_its_item_change_and_time_standard_when_every_item_is_asked_for(
    item: ServiceItem,
) -> None:
    service = request(item)

    assert service.status is ServiceRequestStatus.REQUESTED
    (event,) = [e for e in service.collect_events() if isinstance(e, ServiceRequested)]
    assert event.item is item
    assert event.time_standard == time_standard_rule(item).rule_id
    assert event.four_eyes is ITEM_TERMS[item].four_eyes
    for name, value in CHANGES[item].items():
        assert getattr(event, name) == value


def test_a_request_is_refused_when_the_policy_is_not_in_force() -> None:
    with pytest.raises(ServicePolicyNotInForceError):
        request(policy=cover(in_force=False))


def test_a_request_is_refused_when_it_lacks_a_field_its_item_needs() -> None:
    with pytest.raises(ServiceChangeIncompleteError, match="bank_account_no"):
        request(ServiceItem.BANK_ACCOUNT_CHANGE, bank="ICBC", account_holder_name="张三")


def test_a_request_is_refused_when_it_carries_another_items_change() -> None:
    with pytest.raises(ServiceChangeIncompleteError, match="new_phone"):
        request(ServiceItem.ADDRESS_CHANGE, new_address="北京市", new_phone="13900139000")


def test_a_contact_change_is_refused_when_it_gives_neither_phone_nor_email() -> None:
    with pytest.raises(ServiceChangeIncompleteError):
        request(ServiceItem.CONTACT_CHANGE, insured_consent_ref=None, new_phone=None)


def test_a_request_is_refused_when_received_after_its_recording() -> None:
    with pytest.raises(ServiceTimeInFutureError):
        request(received_at=T0 + timedelta(hours=1))


def test_a_seller_may_take_a_request_but_a_claims_handler_may_not() -> None:
    with pytest.raises(ActorRoleError):
        ServiceRequest.request(
            ctx(Role.CLAIMS_HANDLER),
            request_id=uuid4(),
            request_no="SR-1",
            cover=cover(),
            product_code="LIFE-WL-20",
            line=Line.LIFE,
            item=ServiceItem.ADDRESS_CHANGE,
            channel=ServiceChannel.HOTLINE,
            requested_by=Requester.APPLICANT,
            requester_name="张三",
            received_at=T0,
            new_address="北京市",
        )


# ------------------------------------------------------------------------------------------ Art. 41


def test_a_beneficiary_change_by_the_applicant_is_refused_without_the_insureds_written_consent() -> None:
    with pytest.raises(BeneficiaryChangeWithoutConsentError) as refused:
        request(
            ServiceItem.BENEFICIARY_CHANGE, by=Requester.APPLICANT, **CHANGES[ServiceItem.BENEFICIARY_CHANGE]
        )

    assert refused.value.rule == "IL41-BENEFICIARY-CONSENT"


def test_a_beneficiary_change_by_the_applicant_records_the_consent_when_the_insured_consented() -> None:
    service = request(
        ServiceItem.BENEFICIARY_CHANGE,
        by=Requester.APPLICANT,
        insured_consent_ref="CONSENT-2026-0042",
        **CHANGES[ServiceItem.BENEFICIARY_CHANGE],
    )

    (event,) = service.collect_events()
    assert isinstance(event, ServiceRequested)
    assert event.insured_consent_ref == "CONSENT-2026-0042"
    assert event.requested_by is Requester.APPLICANT


def test_the_insured_changes_the_beneficiary_himself_without_anyones_consent() -> None:
    service = request(ServiceItem.BENEFICIARY_CHANGE, by=Requester.INSURED)

    assert service.status is ServiceRequestStatus.REQUESTED


def test_a_beneficiary_change_is_refused_on_a_motor_policy_which_names_no_beneficiary() -> None:
    with pytest.raises(BeneficiaryOnlyInPersonalInsuranceError) as refused:
        request(ServiceItem.BENEFICIARY_CHANGE, product_code="MOTOR-COMM-2026", line=Line.MOTOR_COMMERCIAL)

    assert refused.value.rule == "IL18-BENEFICIARY-PERSONAL"


@pytest.mark.parametrize(
    "shares", [(60, 30), (100,), (0, 100)], ids=["short of 100", "one share for two", "a zero share"]
)
def test_a_beneficiary_change_is_refused_when_the_shares_do_not_add_up(shares: tuple[int, ...]) -> None:
    change = {**CHANGES[ServiceItem.BENEFICIARY_CHANGE], "beneficiary_shares": shares}
    with pytest.raises(BeneficiarySharesError):
        request(ServiceItem.BENEFICIARY_CHANGE, **change)


# ------------------------------------------------------------------------------------------ money items


def test_a_reduction_is_refused_when_it_does_not_lower_the_sum_insured() -> None:
    with pytest.raises(ReductionMustLowerError):
        request(ServiceItem.REDUCTION, new_sum_insured_fen=SUM_INSURED, premium_delta_fen=-1)


def test_a_reduction_is_refused_when_it_raises_the_premium() -> None:
    with pytest.raises(ReductionMustLowerError):
        request(ServiceItem.REDUCTION, new_sum_insured_fen=1_000, premium_delta_fen=500)


def test_a_policy_loan_is_refused_with_its_rule_when_the_product_allows_none() -> None:
    with pytest.raises(PolicyLoanNotInProductError) as refused:
        request(ServiceItem.POLICY_LOAN, product_code="MOTOR-COMM-2026")

    assert refused.value.rule == "SVC-LOAN-NOT-IN-PRODUCT"


def test_a_policy_loan_is_refused_when_the_product_is_not_listed() -> None:
    with pytest.raises(PolicyLoanNotInProductError):
        request(ServiceItem.POLICY_LOAN, product_code="HEALTH-UNKNOWN")


# ------------------------------------------------------------------------------------------ check and review


def test_the_check_records_identity_and_documents_when_every_document_is_on_file() -> None:
    documents = ("request_form", "id_copy", "bank_card_copy")
    given(request(ServiceItem.BANK_ACCOUNT_CHANGE)).when(
        lambda s: s.check(staff(), identity_check=IdentityCheck.ONLINE_FACE_MATCH, documents=documents)
    ).events(
        expect(
            ServiceRequestChecked,
            identity_check=IdentityCheck.ONLINE_FACE_MATCH,
            documents=documents,
            actor=staff().actor,
        )
    )


def test_the_check_is_refused_when_a_document_the_item_needs_is_missing() -> None:
    given(request(ServiceItem.BANK_ACCOUNT_CHANGE)).when(
        lambda s: s.check(
            staff(), identity_check=IdentityCheck.ID_CARD_IN_PERSON, documents=("request_form",)
        )
    ).refused(ServiceDocumentsIncompleteError, match="bank_card_copy")


@pytest.mark.parametrize("item", [item for item in ServiceItem if ITEM_TERMS[item].four_eyes])
def test_the_handler_may_not_review_a_money_or_beneficiary_request_he_checked(item: ServiceItem) -> None:
    given(checked(item)).when(lambda s: s.approve(staff(HANDLER))).refused(ServiceReviewerIsHandlerError)


@pytest.mark.parametrize("item", [item for item in ServiceItem if ITEM_TERMS[item].four_eyes])
def test_a_second_person_approves_a_money_or_beneficiary_request(item: ServiceItem) -> None:
    given(checked(item)).when(lambda s: s.approve(staff(REVIEWER), note="ok")).events(
        expect(ServiceRequestApproved, note="ok", actor=staff(REVIEWER).actor)
    )


def test_the_handler_may_approve_a_contact_data_change_he_checked() -> None:
    given(checked(ServiceItem.ADDRESS_CHANGE)).when(lambda s: s.approve(staff(HANDLER))).events(
        expect(ServiceRequestApproved, note=None, actor=staff(HANDLER).actor)
    )


def test_review_is_refused_before_the_identity_and_documents_check() -> None:
    given(request()).when(lambda s: s.approve(staff(REVIEWER))).refused(InvalidTransitionError)


def test_a_seller_may_not_review_a_request() -> None:
    given(checked()).when(lambda s: s.approve(ctx(Role.SELLER))).refused(ActorRoleError)


# ------------------------------------------------------------------------------------------ outcome


def test_completion_records_the_endorsement_number_and_effective_day_when_approved() -> None:
    given(approved()).when(lambda s: s.complete(staff(), effective_on=date(2026, 3, 3))).events(
        expect(ServiceRequestCompleted, endorsement_no="SR-0001", effective_on=date(2026, 3, 3))
    )


def test_completion_is_refused_before_approval() -> None:
    given(checked()).when(lambda s: s.complete(staff(), effective_on=date(2026, 3, 3))).refused(
        InvalidTransitionError
    )


def test_a_refusal_records_its_reasons() -> None:
    given(checked()).when(lambda s: s.refuse(staff(), reasons=(" signature does not match ",))).events(
        expect(ServiceRequestRefused, reasons=("signature does not match",))
    )


def test_a_refusal_is_refused_when_it_states_no_reason() -> None:
    given(checked()).when(lambda s: s.refuse(staff(), reasons=(" ",))).refused(
        ServiceRefusalWithoutReasonsError
    )


def test_the_customer_is_told_the_outcome_of_a_done_request_and_the_request_closes() -> None:
    then = given(done()).when(lambda s: s.notify_customer(staff(), channel="sms"))

    then.events(expect(ServiceCustomerNotified, channel="sms", outcome=ServiceOutcome.DONE, occurred_at=T0))
    assert then.aggregate.status is ServiceRequestStatus.CLOSED


def test_the_customer_is_told_the_refusal() -> None:
    service = checked()
    service.refuse(staff(), reasons=("no signature",))
    given(service).when(lambda s: s.notify_customer(staff(), channel="letter")).events(
        expect(ServiceCustomerNotified, channel="letter", outcome=ServiceOutcome.REFUSED)
    )


def test_a_notice_is_refused_while_the_request_is_undecided() -> None:
    given(approved()).when(lambda s: s.notify_customer(staff(), channel="sms")).refused(
        InvalidTransitionError
    )


def test_a_request_may_be_withdrawn_before_it_is_done_but_not_after() -> None:
    given(approved()).when(lambda s: s.withdraw(staff(), reason="changed my mind")).events(
        expect(ServiceRequestWithdrawn, reason="changed my mind")
    )
    given(done()).when(lambda s: s.withdraw(staff(), reason="too late")).refused(InvalidTransitionError)


# ------------------------------------------------------------------------------------------ time standards


def test_every_item_has_exactly_one_time_standard_row() -> None:
    service_rules = [r for r in ALL_RULES if "ServiceRequested" in r.starts_on]
    for item in ServiceItem:
        assert sum(r.applies({"service_item": item.value}) for r in service_rules) == 1


def test_money_items_take_longer_than_contact_data_when_the_standards_are_compared() -> None:
    contact = time_standard_rule(ServiceItem.CONTACT_CHANGE)
    for item in (ServiceItem.BANK_ACCOUNT_CHANGE, ServiceItem.POLICY_LOAN, ServiceItem.REDUCTION):
        assert time_standard_rule(item).duration > contact.duration


def _due(rule_id: str, received: datetime) -> datetime:
    deadline = rule_by_id(rule_id).deadline(received, default_calendar())
    assert isinstance(deadline, Deadline)
    return deadline.due_at


def _shanghai(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=SHANGHAI)


def test_a_money_request_received_before_national_day_counts_the_make_up_saturday() -> None:
    # 2026-10-01..07 are holidays; Thu 8, Fri 9 and the make-up Saturday 10 are the three working days.
    assert _due("CO-SVC-MONEY-3WD", _shanghai(2026, 9, 30, 10)) == _shanghai(2026, 10, 11)


def test_a_contact_change_received_before_may_day_is_due_at_the_end_of_the_first_working_day_after() -> None:
    assert _due("CO-SVC-CONTACT-1WD", _shanghai(2026, 4, 30, 16)) == _shanghai(2026, 5, 7)


def test_a_contact_change_received_on_the_friday_before_spring_festival_is_due_on_the_make_up_saturday() -> (
    None
):
    assert _due("CO-SVC-CONTACT-1WD", _shanghai(2026, 2, 13, 11)) == _shanghai(2026, 2, 15)


def test_a_beneficiary_change_received_on_a_month_end_friday_runs_five_working_days_into_the_next_month() -> (
    None
):
    assert _due("CO-SVC-CHANGE-5WD", _shanghai(2026, 7, 31, 9)) == _shanghai(2026, 8, 8)


def test_the_customer_notice_is_due_the_working_day_after_the_outcome() -> None:
    # Outcome on Friday 2026-03-06: the weekend is not counted, Monday 9 is the working day.
    rule = rule_by_id("CO-SVC-NOTICE-1WD")
    assert rule.starts_on == ("ServiceRequestCompleted", "ServiceRequestRefused")
    assert _due("CO-SVC-NOTICE-1WD", _shanghai(2026, 3, 6, 15)) == _shanghai(2026, 3, 10)


def test_a_request_transferred_from_an_inquiry_records_the_link_back() -> None:
    inquiry = uuid4()
    service = ServiceRequest.request(
        ctx(Role.UNDERWRITER),
        request_id=uuid4(),
        request_no="SR-2",
        cover=cover(),
        product_code="LIFE-WL-20",
        line=Line.LIFE,
        item=ServiceItem.CONTACT_CHANGE,
        channel=ServiceChannel.HOTLINE,
        requested_by=Requester.APPLICANT,
        requester_name="张三",
        received_at=T0,
        inquiry_id=inquiry,
        new_email="zhang.san@example.com",
    )

    (event,) = service.collect_events()
    assert isinstance(event, ServiceRequested)
    assert event.inquiry_id == inquiry
    assert service.inquiry_id == inquiry
