"""保全 read models as pure folds: the request's row, and the 保全 work items it opens and closes."""

from __future__ import annotations

from datetime import date

from domain.base import DomainEvent
from domain.service_request import ServiceItem, ServiceRequest
from projections.base import fold
from projections.service_requests import SERVICE_REQUESTS, ServiceRequestsView
from projections.worklist import WORKLIST, WorklistView
from tests.unit.test_service_request_rules import (
    HANDLER,
    REVIEWER,
    approved,
    checked,
    done,
    notified,
    request,
    staff,
)


def events_of(service: ServiceRequest) -> list[DomainEvent]:
    return [e for e in service.collect_events() if isinstance(e, DomainEvent)]


def work_items(service: ServiceRequest) -> dict[str, str | None]:
    rows = fold([WorklistView()], events_of(service))[WORKLIST.name]
    return {item: row["rule_id"] for (_, item), row in rows.items()}


def test_the_row_follows_a_beneficiary_change_to_its_notice() -> None:
    service = notified(ServiceItem.BENEFICIARY_CHANGE)

    (row,) = fold([ServiceRequestsView()], events_of(service))[SERVICE_REQUESTS.name].values()

    assert (row["status"], row["outcome"], row["item"]) == ("closed", "done", "beneficiary_change")
    assert (row["handler_id"], row["reviewer_id"]) == (HANDLER, REVIEWER)
    assert row["time_standard"] == "CO-SVC-CHANGE-5WD"
    assert row["effective_on"] == date(2026, 3, 3)
    assert row["sla_clocks"] == []
    assert row["version"] == 5


def test_a_new_request_runs_its_items_time_standard_and_keeps_no_personal_field() -> None:
    (row,) = (
        fold([ServiceRequestsView()], events_of(request(ServiceItem.BANK_ACCOUNT_CHANGE)))
        .get(SERVICE_REQUESTS.name, {})
        .values()
    )

    assert row["next_deadline_rule"] == "CO-SVC-MONEY-3WD"
    assert row["next_deadline"] is not None
    assert not {"bank_account_no", "account_holder_name", "requester_name"} & set(row)


def test_the_refusal_keeps_its_reasons_on_the_row() -> None:
    service = checked()
    service.refuse(staff(), reasons=("no signature",))

    (row,) = fold([ServiceRequestsView()], events_of(service))[SERVICE_REQUESTS.name].values()

    assert (row["status"], row["refusal_reasons"]) == ("refused", ["no signature"])
    assert row["next_deadline_rule"] == "CO-SVC-NOTICE-1WD"


def test_the_work_items_move_from_handling_to_review_to_notice_and_close() -> None:
    assert work_items(request(ServiceItem.POLICY_LOAN)) == {
        "handle policy service request": "CO-SVC-MONEY-3WD"
    }
    assert work_items(checked(ServiceItem.POLICY_LOAN)) == {
        "handle policy service request": "CO-SVC-MONEY-3WD",
        "review policy service request": None,
    }
    assert work_items(approved(ServiceItem.POLICY_LOAN)) == {
        "handle policy service request": "CO-SVC-MONEY-3WD"
    }
    assert work_items(done(ServiceItem.POLICY_LOAN)) == {
        "notify policy service customer": "CO-SVC-NOTICE-1WD"
    }
    assert work_items(notified(ServiceItem.POLICY_LOAN)) == {}


def test_the_handling_item_is_assigned_to_the_handler_who_checked_the_request() -> None:
    rows = fold([WorklistView()], events_of(checked(ServiceItem.ADDRESS_CHANGE)))[WORKLIST.name]

    handling = next(row for (_, item), row in rows.items() if item == "handle policy service request")
    assert handling["assignee"] == HANDLER
    assert handling["rule_id"] == "CO-SVC-CONTACT-1WD"
