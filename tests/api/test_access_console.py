"""The staff console reads through the same scopes and masks as the API: a case out of the signed-in role's
scope is not found, linked cases out of scope are not listed, and personal fields show masked."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.access_fixtures import AUDITOR, B_ID_NUMBER, B_NAME, SELLER_A, SELLER_B, SURVEYOR, Book, book
from tests.api.test_console import sign_in

pytestmark = pytest.mark.integration
__all__ = ["book"]


def test_a_seller_opens_only_the_case_files_of_the_policies_they_sold(client: TestClient, book: Book) -> None:
    sign_in(client, *SELLER_B)

    own = client.get(f"/console/cases/{book.policy_b}")
    other = client.get(f"/console/cases/{book.policy_a}")
    claim = client.get(f"/console/cases/{book.claim}")

    assert own.status_code == 200
    assert other.status_code == claim.status_code == 404
    assert "王**" in own.text
    assert B_NAME not in own.text


def test_a_case_file_lists_only_the_linked_cases_in_scope(client: TestClient, book: Book) -> None:
    sign_in(client, *SURVEYOR)

    policy = client.get(f"/console/cases/{book.policy_a}")
    sign_in(client, *AUDITOR)
    everything = client.get(f"/console/cases/{book.policy_a}")

    assert policy.status_code == 200
    assert f"/console/cases/{book.claim}" in policy.text  # the claim on it: claims staff's own
    assert f"/console/cases/{book.callback_task}" not in policy.text  # the callback agents' task
    assert f"/console/cases/{book.callback_task}" in everything.text


def test_the_auditors_timeline_payloads_are_masked(client: TestClient, book: Book) -> None:
    sign_in(client, *AUDITOR)

    page = client.get(f"/console/cases/{book.policy_b}")

    assert page.status_code == 200
    assert B_ID_NUMBER not in page.text
    assert "1234" in page.text


def test_a_sellers_console_worklist_holds_only_their_policies_work(client: TestClient, book: Book) -> None:
    sign_in(client, *SELLER_A)

    page = client.get("/console/worklist", params={"team": ""})

    assert page.status_code == 200
    assert str(book.claim) not in page.text
    assert str(book.complaint_about_b) not in page.text
