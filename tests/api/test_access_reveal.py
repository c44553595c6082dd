"""A full personal field is shown only through a reveal, by a role whose task needs it, with a purpose;
each one shown leaves one row in the personal-data access log, which auditors query."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from domain.base import Role
from tests.api.access_fixtures import (
    AUDITOR,
    B_ID_NUMBER,
    B_PHONE,
    OFFICER,
    SELLER_A,
    SELLER_B,
    SUPERVISOR,
    SURVEYOR,
    UNDERWRITER,
    Book,
    body,
    book,
)
from tests.api.conftest import as_

pytestmark = [
    pytest.mark.integration,
    pytest.mark.isolated(
        "reads the access log of whole data subjects, which every test's reveals would share"
    ),
]
__all__ = ["book"]


def _log(client: TestClient, **params: str) -> list[dict[str, object]]:
    entries: list[dict[str, object]] = body(
        client.get("/audit/access-log", params=params, headers=as_(*AUDITOR))
    )
    return entries


def test_a_reveal_by_an_allowed_role_shows_the_full_value_and_leaves_one_access_log_row(
    client: TestClient, book: Book
) -> None:
    answer = client.get(
        f"/policies/{book.policy_b}/personal-data",
        params={"reveal": "applicant_id_number", "purpose": "underwriting the proposal"},
        headers=as_(*UNDERWRITER, X_Request_ID="req-underwrite-1"),
    )

    fields = body(answer)["fields"]
    assert fields["applicant_id_number"] == B_ID_NUMBER
    assert fields["applicant_phone"] == "139****5678"  # not asked for: still masked
    assert answer.headers["X-Request-ID"] == "req-underwrite-1"
    [entry] = _log(client, subject=book.customer_b)
    assert entry["actor_id"] == UNDERWRITER[1]
    assert entry["role"] == "underwriter"
    assert entry["kind"] == "reveal"
    assert entry["field"] == "applicant_id_number"
    assert entry["purpose"] == "underwriting the proposal"
    assert entry["request_id"] == "req-underwrite-1"
    assert entry["case_id"] == str(book.policy_b)


def test_a_role_whose_task_does_not_need_the_field_gets_403_and_nothing_is_logged(
    client: TestClient, book: Book
) -> None:
    surveyor = client.get(
        f"/policies/{book.policy_a}/personal-data",
        params={"reveal": "applicant_id_number", "purpose": "curiosity"},
        headers=as_(*SURVEYOR),
    )
    supervisor = client.get(
        f"/policies/{book.policy_b}/personal-data",
        params={"reveal": "applicant_phone", "purpose": "checking"},
        headers=as_(*SUPERVISOR),
    )

    assert surveyor.status_code == supervisor.status_code == 403
    assert surveyor.headers["content-type"] == "application/problem+json"
    assert _log(client) == []


def test_a_reveal_without_a_purpose_is_403(client: TestClient, book: Book) -> None:
    answer = client.get(
        f"/policies/{book.policy_b}/personal-data",
        params={"reveal": "applicant_phone"},
        headers=as_(*SELLER_B),
    )

    assert answer.status_code == 403
    assert "purpose" in answer.json()["detail"]
    assert _log(client) == []


def test_a_reveal_out_of_scope_is_404_and_logs_nothing(client: TestClient, book: Book) -> None:
    answer = client.get(
        f"/policies/{book.policy_b}/personal-data",
        params={"reveal": "applicant_phone", "purpose": "calling the customer"},
        headers=as_(*SELLER_A),
    )

    assert answer.status_code == 404
    assert _log(client) == []


def test_a_data_subjects_access_history_lists_every_reveal_of_their_data(
    client: TestClient, book: Book
) -> None:
    body(
        client.get(
            f"/policies/{book.policy_b}/personal-data",
            params={"reveal": ["applicant_phone", "applicant_name"], "purpose": "confirming the proposal"},
            headers=as_(*SELLER_B),
        )
    )
    phone = body(
        client.get(
            f"/complaints/{book.complaint_about_b}/personal-data",
            params={"reveal": "complainant_phone", "purpose": "calling back the complainant"},
            headers=as_(*OFFICER),
        )
    )["fields"]["complainant_phone"]

    history = _log(client, subject=book.customer_b)
    elsewhere = _log(client, subject="CUST-api")

    assert phone == "13800138000"
    assert [(e["actor_id"], e["field"]) for e in history] == [
        (SELLER_B[1], "applicant_name"),
        (SELLER_B[1], "applicant_phone"),
    ]
    assert [(e["actor_id"], e["field"]) for e in elsewhere] == [(OFFICER[1], "complainant_phone")]
    assert B_PHONE not in str(history)  # the log says which field, never its value


def test_only_auditors_query_the_access_log(client: TestClient, book: Book) -> None:
    refused = {
        role: client.get("/audit/access-log", headers=as_(role)).status_code
        for role in (Role.SUPERVISOR, Role.SELLER, Role.COMPLAINTS_OFFICER)
    }

    assert set(refused.values()) == {403}


def test_audit_histories_show_personal_fields_masked(client: TestClient, book: Book) -> None:
    history = body(client.get(f"/audit/cases/{book.policy_b}/events", headers=as_(*AUDITOR)))
    submitted = history["events"][0]["payload"]

    assert submitted["applicant_id_number"] == "**************1234"
    assert B_ID_NUMBER not in str(history)


def test_a_reveal_of_a_field_that_is_not_personal_is_422(client: TestClient, book: Book) -> None:
    answer = client.get(
        f"/policies/{book.policy_b}/personal-data",
        params={"reveal": "premium_fen", "purpose": "curiosity"},
        headers=as_(*AUDITOR),
    )

    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
