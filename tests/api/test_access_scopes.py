"""Record-level scopes and masking: each role reads what its task needs, and nothing else exists for it.

Tokens of two sellers, a surveyor, a callback agent, a complaints officer, a supervisor and an auditor read
the same book of cases (tests/api/access_fixtures.py): in scope 200 with personal fields masked, out of
scope 404 (as for an id that does not exist), and lists filtered by the same rule.
"""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from domain.base import Role
from tests.api.access_fixtures import (
    AUDITOR,
    CALLBACK_AGENT,
    OFFICER,
    SELLER_A,
    SELLER_B,
    SUPERVISOR,
    SURVEYOR,
    Book,
    body,
    book,
)
from tests.api.conftest import as_

pytestmark = [
    pytest.mark.integration,
    pytest.mark.isolated("compares whole lists, which the cases of every other test would join"),
]
__all__ = ["book"]  # the fixture, imported for pytest


def _status(client: TestClient, who: tuple[Role, str], path: str) -> int:
    status: int = client.get(path, headers=as_(*who)).status_code
    return status


def _reads(client: TestClient, who: tuple[Role, str], book: Book) -> dict[str, int]:
    return {
        "policy_a": _status(client, who, f"/policies/{book.policy_a}"),
        "policy_b": _status(client, who, f"/policies/{book.policy_b}"),
        "customer_a": _status(client, who, f"/customers/{book.customer_a}"),
        "customer_b": _status(client, who, f"/customers/{book.customer_b}"),
        "claim": _status(client, who, f"/claims/{book.claim}"),
        "complaint": _status(client, who, f"/complaints/{book.complaint_about_b}"),
    }


def test_a_seller_reads_the_policies_they_sold_and_those_customers_only(
    client: TestClient, book: Book
) -> None:
    seller_a = _reads(client, SELLER_A, book)
    seller_b = _reads(client, SELLER_B, book)

    assert seller_a == {
        "policy_a": 200,
        "policy_b": 404,
        "customer_a": 200,
        "customer_b": 404,
        "claim": 404,
        "complaint": 404,
    }
    assert seller_b == {
        "policy_a": 404,
        "policy_b": 200,
        "customer_a": 404,
        "customer_b": 200,
        "claim": 404,
        "complaint": 404,
    }


def test_an_out_of_scope_case_answers_exactly_like_one_that_does_not_exist(
    client: TestClient, book: Book
) -> None:
    hidden = client.get(f"/policies/{book.policy_b}", headers=as_(*SELLER_A))
    absent = client.get(f"/policies/{uuid4()}", headers=as_(*SELLER_A))

    assert hidden.status_code == absent.status_code == 404
    assert hidden.json()["title"] == absent.json()["title"]
    assert hidden.headers["content-type"] == absent.headers["content-type"] == "application/problem+json"


def test_a_sellers_view_of_their_customer_lists_only_the_cases_they_may_see(
    client: TestClient, book: Book
) -> None:
    customer = body(client.get(f"/customers/{book.customer_a}", headers=as_(*SELLER_A)))
    full = body(client.get(f"/customers/{book.customer_a}", headers=as_(*AUDITOR)))

    assert customer["policy_ids"] == [str(book.policy_a)]
    assert customer["claim_ids"] == []  # the claim on their policy is claims staff's
    assert full["claim_ids"] == [str(book.claim)]


def test_personal_fields_read_masked_by_default_for_every_role(client: TestClient, book: Book) -> None:
    by_seller = body(client.get(f"/policies/{book.policy_a}", headers=as_(*SELLER_A)))
    by_auditor = body(client.get(f"/policies/{book.policy_a}", headers=as_(*AUDITOR)))
    by_seller_b = body(client.get(f"/policies/{book.policy_b}", headers=as_(*SELLER_B)))

    assert by_seller["applicant_name"] == by_auditor["applicant_name"] == "张*"
    assert by_seller_b["applicant_name"] == "王**"


def test_the_personal_data_view_masks_name_identity_number_and_phone(client: TestClient, book: Book) -> None:
    fields = body(client.get(f"/policies/{book.policy_b}/personal-data", headers=as_(*SELLER_B)))["fields"]

    assert fields["applicant_name"] == "王**"
    assert fields["applicant_id_number"] == "**************1234"
    assert fields["applicant_phone"] == "139****5678"


def test_claims_staff_read_claims_and_the_policies_claimed_on(client: TestClient, book: Book) -> None:
    assert _reads(client, SURVEYOR, book) == {
        "policy_a": 200,
        "policy_b": 404,
        "customer_a": 404,
        "customer_b": 404,
        "claim": 200,
        "complaint": 404,
    }


def test_complaints_officers_read_complaints_and_the_cases_complained_about(
    client: TestClient, book: Book
) -> None:
    reads = _reads(client, OFFICER, book)
    other = _status(client, OFFICER, f"/complaints/{book.complaint_elsewhere}")

    assert reads == {
        "policy_a": 404,
        "policy_b": 200,
        "customer_a": 404,
        "customer_b": 404,
        "claim": 404,
        "complaint": 200,
    }
    assert other == 200


def test_a_callback_agent_reads_their_callbacks_and_the_policy_called_about_only(
    client: TestClient, book: Book
) -> None:
    reads = _reads(client, CALLBACK_AGENT, book)
    work = body(client.get("/worklist", params={"limit": 500}, headers=as_(*CALLBACK_AGENT)))
    callbacks = body(client.get("/callbacks/worklist", headers=as_(*CALLBACK_AGENT)))

    assert reads == {
        "policy_a": 200,
        "policy_b": 404,
        "customer_a": 404,
        "customer_b": 404,
        "claim": 404,
        "complaint": 404,
    }
    assert {item["role"] for item in work} == {"callback_agent"}
    assert str(book.callback_task) in {item["case_id"] for item in work}
    assert {item["case_id"] for item in callbacks} == {str(book.callback_task)}


def test_supervisors_and_auditors_read_everything(client: TestClient, book: Book) -> None:
    names = ("policy_a", "policy_b", "customer_a", "customer_b", "claim", "complaint")
    everything = dict.fromkeys(names, 200)

    assert _reads(client, SUPERVISOR, book) == everything
    assert _reads(client, AUDITOR, book) == everything


def test_lists_hold_only_what_the_reader_may_see(client: TestClient, book: Book) -> None:
    def cases(who: tuple[Role, str]) -> set[UUID]:
        items = body(client.get("/worklist", params={"limit": 500}, headers=as_(*who)))
        return {UUID(item["case_id"]) for item in items}

    everything = cases(SUPERVISOR)
    surveyor = body(client.get("/worklist", params={"limit": 500}, headers=as_(*SURVEYOR)))
    officer = body(client.get("/worklist", params={"limit": 500}, headers=as_(*OFFICER)))
    seller_b = cases(SELLER_B)

    assert {book.claim, book.complaint_about_b, book.callback_task} <= everything
    assert {item["role"] for item in surveyor} <= {"surveyor"}
    assert {item["role"] for item in officer} == {"complaints_officer"}
    assert book.claim not in {UUID(i["case_id"]) for i in officer}
    assert seller_b <= {book.policy_b}
    assert cases(AUDITOR) == everything


def test_timer_lists_hold_only_the_readers_cases(client: TestClient, book: Book) -> None:
    seller_b = body(client.get("/timers", params={"limit": 500}, headers=as_(*SELLER_B)))

    assert {UUID(t["case_id"]) for t in seller_b} <= {book.policy_b}
