"""保全 Policy service requests on real PostgreSQL: the done change lands on the policy once, the new
personal data is stored sealed, the request's row and its 保全 work items follow it, its time standard's
timer starts and is met."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg import sql

from cli.scenarios import (
    OPS_HANDLER,
    OPS_REVIEWER,
    SELLER,
    WANG_FANG,
    ZHANG_WEI,
    a_policy,
    address_change_story,
    beneficiary_change_story,
    by,
    drive,
    register_demo_seller,
    service_steps,
    today,
)
from consumers.timers import timers_handler
from domain.base import SHANGHAI, InvalidTransitionError
from domain.calendar import Deadline, default_calendar
from domain.policy import BeneficiaryChangedBy, EndorsementApplied, Line
from domain.service_request import (
    IdentityCheck,
    PaymentMethod,
    PolicyLoanNotInProductError,
    Requester,
    ServiceChannel,
    ServiceItem,
    ServiceRequested,
    ServiceReviewerIsHandlerError,
)
from domain.sla import rule_by_id
from domain.timer import TimerState
from infra.bootstrap import System
from infra.clock import ControlledClock
from infra.services.explain import explain
from infra.services.service_requests import (
    ApproveServiceRequest,
    CheckServiceRequest,
    CompleteServiceRequest,
    RequestPolicyService,
)
from projections.schema import read_schema
from tests.cases import the_timer
from tests.feed import Group, begin, project

pytestmark = pytest.mark.integration


def a_life_policy(system: System) -> UUID:
    register_demo_seller(system, today(system))
    return a_policy(system, Line.LIFE)


def endorsements(system: System, policy_id: UUID) -> list[EndorsementApplied]:
    return [e for e in system.policies.history(policy_id) if isinstance(e, EndorsementApplied)]


def test_a_done_beneficiary_change_applies_the_new_beneficiaries_to_the_policy_once(
    system: System, clock: ControlledClock
) -> None:
    policy_id = a_life_policy(system)
    request_id = beneficiary_change_story(system, clock, policy_id)

    request = system.service_requests.load(request_id)
    (endorsement,) = endorsements(system, policy_id)
    assert endorsement.endorsement_no == request.request_no
    assert endorsement.beneficiary_names == (WANG_FANG.name,)
    assert endorsement.insured_consent_ref == "CONSENT-2026-0042"
    assert endorsement.beneficiary_changed_by is BeneficiaryChangedBy.APPLICANT
    with pytest.raises(InvalidTransitionError):
        system.service_requests.complete(
            request_id, CompleteServiceRequest(effective_on=today(system)), by(OPS_REVIEWER)
        )
    assert len(endorsements(system, policy_id)) == 1


def test_the_handler_may_not_approve_a_bank_account_change_he_checked(
    system: System, clock: ControlledClock
) -> None:
    policy_id = a_life_policy(system)
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
    system.service_requests.check(
        request_id,
        CheckServiceRequest(
            identity_check=IdentityCheck.ID_CARD_IN_PERSON,
            documents=["request_form", "id_copy", "bank_card_copy"],
        ),
        by(OPS_HANDLER),
    )

    with pytest.raises(ServiceReviewerIsHandlerError):
        system.service_requests.approve(request_id, ApproveServiceRequest(), by(OPS_HANDLER))


def test_a_policy_loan_on_a_motor_policy_is_refused_with_its_rule(
    system: System, clock: ControlledClock
) -> None:
    register_demo_seller(system, today(system))
    policy_id = a_policy(system, Line.MOTOR_COMMERCIAL)

    with pytest.raises(PolicyLoanNotInProductError):
        system.service_requests.request(
            RequestPolicyService(
                policy_id=policy_id,
                item=ServiceItem.POLICY_LOAN,
                channel=ServiceChannel.ONLINE,
                requested_by=Requester.APPLICANT,
                requester_name=ZHANG_WEI.name,
                received_at=clock.now(),
                loan_amount_fen=1_000_000,
            ),
            by(SELLER),
        )


def test_the_new_bank_account_is_stored_sealed_and_reads_back_in_full(
    system: System, clock: ControlledClock
) -> None:
    policy_id = a_life_policy(system)
    request_id = system.service_requests.request(
        RequestPolicyService(
            policy_id=policy_id,
            item=ServiceItem.BANK_ACCOUNT_CHANGE,
            channel=ServiceChannel.COUNTER,
            requested_by=Requester.INSURED,
            requester_name=ZHANG_WEI.name,
            received_at=clock.now(),
            bank="ICBC",
            bank_account_no=WANG_FANG.account,
            account_holder_name=ZHANG_WEI.name,
        ),
        by(SELLER),
    ).case_id

    app = system.service_requests
    rows = app.read_events(
        sql.SQL("SELECT state FROM {} WHERE originator_id = %s").format(app.events_table()), (request_id,)
    )
    stored = b"".join(bytes(row["state"]) for row in rows)
    assert WANG_FANG.account.encode() not in stored
    assert ZHANG_WEI.name.encode() not in stored
    requested = app.history(request_id)[0]
    assert isinstance(requested, ServiceRequested)
    assert requested.bank_account_no == WANG_FANG.account


def test_the_request_row_and_its_work_items_follow_the_request_and_the_policy_lists_it(
    system: System, clock: ControlledClock
) -> None:
    policy_id = a_life_policy(system)
    begin(system)
    request_id = address_change_story(system, clock, policy_id)
    project(system)

    schema = read_schema(system.settings.db_schema)
    with psycopg.connect(system.database_url) as conn:
        row = conn.execute(
            sql.SQL(
                "SELECT status, outcome, item, time_standard, handler_id, policy_id "
                "FROM {} WHERE request_id = %s"
            ).format(sql.Identifier(schema, "service_requests")),
            (request_id,),
        ).fetchone()
        items = conn.execute(
            sql.SQL("SELECT item FROM {} WHERE case_id = %s").format(sql.Identifier(schema, "worklist")),
            (request_id,),
        ).fetchall()
    assert row == ("closed", "done", "address_change", "CO-SVC-CONTACT-1WD", OPS_HANDLER[1], policy_id)
    assert items == []


def test_the_time_standard_timer_starts_on_the_request_and_is_met_when_it_is_done(
    system: System, clock: ControlledClock
) -> None:
    policy_id = a_life_policy(system)
    begin(system)
    request_id = address_change_story(system, clock, policy_id)
    group = Group(system, "timers-svc", timers_handler, (system.service_requests,))
    try:
        group.consume()
    finally:
        group.close()

    timer = the_timer(system, "CO-SVC-CONTACT-1WD", request_id)
    assert timer.state is TimerState.SATISFIED
    notice = the_timer(system, "CO-SVC-NOTICE-1WD", request_id)
    assert notice.state is TimerState.SATISFIED
    requested = system.service_requests.history(request_id)[0]
    assert isinstance(requested, ServiceRequested)
    expected = rule_by_id("CO-SVC-CONTACT-1WD").deadline(requested.received_at, default_calendar())
    assert isinstance(expected, Deadline)
    assert timer.due_at == expected.due_at


def test_timers_explain_tells_the_time_standard_of_a_request_in_working_days(
    system: System, clock: ControlledClock
) -> None:
    policy_id = a_life_policy(system)
    begin(system)
    request_id = address_change_story(system, clock, policy_id)
    group = Group(system, "timers-svc", timers_handler, (system.service_requests,))
    try:
        group.consume()
    finally:
        group.close()

    told = explain(system, request_id)

    assert "CO-SVC-CONTACT-1WD" in told
    assert "working_days" in told
    assert "CO-SVC-NOTICE-1WD" in told


def test_a_done_reduction_lowers_the_policys_sum_insured_and_records_the_premium_refund(
    system: System, clock: ControlledClock
) -> None:
    policy_id = a_life_policy(system)
    before = system.policies.load(policy_id).sum_insured_fen
    request_id = system.service_requests.request(
        RequestPolicyService(
            policy_id=policy_id,
            item=ServiceItem.REDUCTION,
            channel=ServiceChannel.COUNTER,
            requested_by=Requester.APPLICANT,
            requester_name=ZHANG_WEI.name,
            received_at=clock.now(),
            new_sum_insured_fen=before // 2,
            premium_delta_fen=-300_000,
        ),
        by(SELLER),
    ).case_id
    drive(service_steps(system, request_id, ["request_form", "id_copy"], four_eyes=True))

    (endorsement,) = endorsements(system, policy_id)
    assert system.policies.load(policy_id).sum_insured_fen == before // 2
    assert (endorsement.change_type, endorsement.premium_delta_fen) == ("reduction", -300_000)


@pytest.mark.parametrize(
    ("received", "item", "change", "rule_id", "due"),
    [
        # National Day 1-7 Oct; Thu 8, Fri 9 and the make-up Saturday 10 Oct are the three working days.
        (
            datetime(2026, 9, 30, 10, tzinfo=SHANGHAI),
            ServiceItem.PAYMENT_METHOD_CHANGE,
            {"payment_method": PaymentMethod.BANK_DEBIT},
            "CO-SVC-MONEY-3WD",
            datetime(2026, 10, 11, tzinfo=SHANGHAI),
        ),
        # A month-end Friday: five working days run to Fri 7 Aug, due at its 24:00.
        (
            datetime(2026, 7, 31, 16, tzinfo=SHANGHAI),
            ServiceItem.BENEFICIARY_CHANGE,
            {
                "beneficiary_names": [WANG_FANG.name],
                "beneficiary_id_numbers": [WANG_FANG.id_number],
                "beneficiary_shares": [100],
            },
            "CO-SVC-CHANGE-5WD",
            datetime(2026, 8, 8, tzinfo=SHANGHAI),
        ),
    ],
    ids=["money item before National Day", "beneficiary change at a month end"],
)
def test_the_time_standard_timer_counts_working_days_on_the_holiday_calendar(
    system: System,
    clock: ControlledClock,
    received: datetime,
    item: ServiceItem,
    change: dict[str, Any],
    rule_id: str,
    due: datetime,
) -> None:
    clock.set(received)
    policy_id = a_life_policy(system)
    begin(system)
    request_id = system.service_requests.request(
        RequestPolicyService(
            policy_id=policy_id,
            item=item,
            channel=ServiceChannel.COUNTER,
            requested_by=Requester.INSURED,
            requester_name=ZHANG_WEI.name,
            received_at=received,
            **change,
        ),
        by(SELLER),
    ).case_id
    group = Group(system, "timers-svc", timers_handler, (system.service_requests,))
    try:
        group.consume()
    finally:
        group.close()

    timer = the_timer(system, rule_id, request_id)
    assert timer.state is TimerState.RUNNING
    assert timer.due_at == due
