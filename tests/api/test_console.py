"""The staff console over HTTP (FastAPI's TestClient, real PostgreSQL): sign-in, CSRF, roles, a command
from a form. The browser tests (tests/browser/) drive the same pages in chromium."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from uuid import UUID, uuid4

import orjson
import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from api.app import create_app
from api.auth import issue_token
from api.console.commands import CommandCatalogue
from cli.operations_page import ConsumerOperations
from cli.scenarios import CALLBACK_AGENT, OFFICER, by, lodge_sample_complaint
from consumers.read_models import projection_handler
from domain.base import Role
from domain.inquiry import InquiryCategory, InquiryChannel, TransferTarget
from infra.audit.history import AuditTrail
from infra.bootstrap import System
from infra.clock import ControlledClock
from infra.services.inquiries import LogInquiry, TransferInquiry
from tests.api.conftest import token
from tests.feed import begin, project

pytestmark = pytest.mark.integration


def sign_in(client: TestClient, role: Role, actor_id: str | None = None) -> str:
    """Sign in through the form as ``role``; the session's CSRF token (read from a page's hidden field)."""
    form = client.get("/console/sign-in")
    signin_csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert signin_csrf is not None, form.text
    signed = client.post(
        "/console/sign-in",
        data={"csrf_token": signin_csrf.group(1), "credential": token(role, actor_id), "next": ""},
        follow_redirects=False,
    )
    assert signed.status_code == 303, signed.text
    page = client.get("/console/worklist")
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


@pytest.fixture
def complaint_id(system: System, clock: ControlledClock) -> UUID:
    case_id = uuid4()
    lodge_sample_complaint(system, by(OFFICER), case_id, clock.now(), uuid4())
    return case_id


def test_a_page_without_a_session_sends_the_browser_to_sign_in(client: TestClient) -> None:
    answer = client.get("/console/worklist?team=claims_handler", follow_redirects=False)

    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/sign-in?next=%2Fconsole%2Fworklist%3Fteam%3Dclaims_handler"


def test_sign_in_sets_an_http_only_same_site_strict_cookie_and_sign_out_ends_the_session(
    client: TestClient,
) -> None:
    form = client.get("/console/sign-in")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf is not None
    signed = client.post(
        "/console/sign-in",
        data={"csrf_token": csrf.group(1), "credential": token(Role.SUPERVISOR), "next": "/console/sla"},
        follow_redirects=False,
    )
    cookie = signed.headers["set-cookie"]
    session_cookie = client.cookies.get("caseledger_console")
    page = client.get("/console/worklist")
    page_csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert page_csrf is not None
    client.post("/console/sign-out", data={"csrf_token": page_csrf.group(1)}, follow_redirects=False)
    client.cookies.set("caseledger_console", session_cookie or "", path="/console")
    after = client.get("/console/worklist", follow_redirects=False)

    assert signed.headers["location"] == "/console/sla"
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "samesite=strict" in cookie.lower()
    assert "Secure" not in cookie  # plain http on the test client; https sets it
    assert after.status_code == 303  # the copied cookie died with the sign-out


def test_sign_in_refuses_a_token_signed_with_another_key(client: TestClient) -> None:
    form = client.get("/console/sign-in")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf is not None
    forged = issue_token(
        "another-secret-of-at-least-thirty-two-chars", "mallory", Role.SUPERVISOR, timedelta(hours=1)
    )

    refused = client.post(
        "/console/sign-in", data={"csrf_token": csrf.group(1), "credential": forged}, follow_redirects=False
    )

    assert refused.status_code == 401
    assert "caseledger_console=" not in refused.headers.get("set-cookie", "")


def test_a_post_without_the_session_csrf_token_is_refused(client: TestClient, complaint_id: UUID) -> None:
    sign_in(client, Role.COMPLAINTS_OFFICER)

    refused = client.post(
        f"/console/cases/{complaint_id}/commands/acknowledge_complaint",
        data={"csrf_token": "forged", "channel": "sms", "expected_version": "1"},
    )

    assert refused.status_code == 403
    assert "CSRF" in refused.text


def test_a_command_form_records_its_event_once_per_idempotency_key(
    client: TestClient, complaint_id: UUID, system: System
) -> None:
    csrf = sign_in(client, Role.COMPLAINTS_OFFICER, "wu.xia.complaints")
    form = {"csrf_token": csrf, "channel": "sms", "expected_version": "1", "idempotency_key": "console-ack-1"}

    first = client.post(f"/console/cases/{complaint_id}/commands/acknowledge_complaint", data=form)
    again = client.post(f"/console/cases/{complaint_id}/commands/acknowledge_complaint", data=form)

    assert first.status_code == 200, first.text
    assert "new version <strong>2</strong>" in first.text
    assert "new version <strong>2</strong>" in again.text
    history = system.complaints.history(complaint_id)
    assert [type(e).__name__ for e in history] == ["ComplaintLodged", "ComplaintAcknowledged"]
    assert history[-1].actor.id == "wu.xia.complaints"


def test_a_refused_command_shows_its_rule_id(client: TestClient, complaint_id: UUID) -> None:
    csrf = sign_in(client, Role.COMPLAINTS_OFFICER)

    refused = client.post(
        f"/console/cases/{complaint_id}/commands/extend_complaint",
        data={"csrf_token": csrf, "to_days": "30", "reason": "needs checking", "expected_version": "1",
              "idempotency_key": str(uuid4())},
    )  # fmt: skip

    assert refused.status_code == 409  # a step out of the lifecycle's order, as the API answers it
    assert 'data-testid="refused-rule">lifecycle-order<' in refused.text
    assert "extend complaint deadline is not allowed while the case is lodged" in refused.text


def test_a_stale_version_is_refused_as_a_conflict(client: TestClient, complaint_id: UUID) -> None:
    csrf = sign_in(client, Role.COMPLAINTS_OFFICER)

    refused = client.post(
        f"/console/cases/{complaint_id}/commands/acknowledge_complaint",
        data={"csrf_token": csrf, "channel": "sms", "expected_version": "7", "idempotency_key": str(uuid4())},
    )

    assert refused.status_code == 409
    assert "ConcurrencyConflictError" in refused.text


def test_an_auditor_sees_the_timeline_and_no_command_form(client: TestClient, complaint_id: UUID) -> None:
    sign_in(client, Role.AUDITOR)

    page = client.get(f"/console/cases/{complaint_id}")

    assert page.status_code == 200
    assert "complaint.lodged.v" in page.text
    assert 'data-testid="no-commands"' in page.text
    assert "/commands/" not in page.text


def test_an_auditor_may_not_run_a_command_by_posting_the_form_anyway(
    client: TestClient, complaint_id: UUID
) -> None:
    csrf = sign_in(client, Role.AUDITOR)

    refused = client.post(
        f"/console/cases/{complaint_id}/commands/acknowledge_complaint",
        data={"csrf_token": csrf, "channel": "sms", "expected_version": "1"},
    )

    assert refused.status_code == 403


def test_the_sla_page_shows_the_inquiry_first_contact_resolution_card(client: TestClient) -> None:
    sign_in(client, Role.SUPERVISOR)

    page = client.get("/console/sla")

    assert page.status_code == 200, page.text
    assert 'data-testid="fcr-rate"' in page.text
    assert 'id="inquiry-stats"' in page.text


def test_pages_admit_the_roles_their_api_admits(client: TestClient) -> None:
    sign_in(client, Role.CALLBACK_AGENT)

    assert client.get("/console/sla").status_code == 403
    assert client.get("/console/audit").status_code == 403
    assert client.get("/console/operations").status_code == 403


def test_every_case_command_route_has_a_form(client: TestClient) -> None:
    catalogue = CommandCatalogue.of(client.app)  # type: ignore[arg-type]

    commands = list(catalogue)

    assert len(commands) >= 63
    assert {c.context for c in commands} == {
        "policy",
        "claim",
        "complaint",
        "callback",
        "service_request",
        "inquiry",
        "service_order",
    }


@pytest.fixture
def operated(api_system: System) -> Iterator[TestClient]:
    """The API as `caseledger up` builds it: with the consumer groups' operations for the console."""
    with TestClient(create_app(api_system, ConsumerOperations(api_system))) as test_client:
        yield test_client


def test_a_supervisor_skips_a_dead_letter_from_the_operations_page_recording_who_and_why(
    operated: TestClient, system: System
) -> None:
    schema = system.settings.db_schema
    with psycopg.connect(system.database_url, autocommit=True) as conn:
        row = conn.execute(
            sql.SQL(
                """INSERT INTO {}.dead_letters (group_id, topic, partition, kafka_offset, headers, value,
                       error, status) VALUES (%s, 'caseledger.claim', 0, 7, '{{}}', %s, 'not JSON', 'parked')
                   RETURNING id"""
            ).format(sql.Identifier(schema)),
            (f"{system.settings.topic_prefix}.projections", b"\x00garbage"),
        ).fetchone()
    assert row is not None
    csrf = sign_in(operated, Role.SUPERVISOR, "li.ming.supervisor")

    page = operated.get("/console/operations")
    skipped = operated.post(
        f"/console/operations/dead-letters/{row[0]}/skip",
        data={"csrf_token": csrf, "reason": "a test message, never a real event"},
    )

    assert "not JSON" in page.text
    assert skipped.status_code == 200, skipped.text
    assert 'data-testid="resolution"' in skipped.text
    with psycopg.connect(system.database_url) as conn:
        status = conn.execute(
            sql.SQL(
                "SELECT status, resolved_by, resolution_reason FROM {}.dead_letters WHERE id = %s"
            ).format(sql.Identifier(schema)),
            (row[0],),
        ).fetchone()
    assert status == ("skipped", "li.ming.supervisor", "a test message, never a real event")


def test_an_inquiry_s_case_file_links_the_complaint_it_went_to_and_the_complaint_links_back(
    client: TestClient, system: System, clock: ControlledClock, complaint_id: UUID
) -> None:
    with system.database.connection() as conn:
        projection_handler(system, conn)  # the read models' tables (the bootstrap made the others)
    begin(system)
    inquiry_id = system.inquiries.log_inquiry(
        LogInquiry(
            contacted_at=clock.now(),
            channel=InquiryChannel.COUNTER,
            category=InquiryCategory.CLAIM_PROGRESS,
            question="why is my claim late?",
            customer_id="CUST-demo",
        ),
        by(CALLBACK_AGENT),
    ).case_id
    system.inquiries.transfer(
        inquiry_id,
        TransferInquiry(target_kind=TransferTarget.COMPLAINT, target_id=complaint_id),
        by(CALLBACK_AGENT),
    )
    project(system)
    sign_in(client, Role.SUPERVISOR)

    inquiry_page = client.get(f"/console/cases/{inquiry_id}")
    complaint_page = client.get(f"/console/cases/{complaint_id}")

    assert inquiry_page.status_code == 200, inquiry_page.text
    assert str(complaint_id) in inquiry_page.text
    assert complaint_page.status_code == 200, complaint_page.text
    assert str(inquiry_id) in complaint_page.text


def test_an_auditor_uploads_an_export_and_reads_whether_it_verifies(
    client: TestClient, system: System, complaint_id: UUID, tmp_path: Path
) -> None:
    key = "the-auditors-key"
    export = tmp_path / "export.jsonl"
    AuditTrail(system).export(export, key.encode(), complaint_id)
    csrf = sign_in(client, Role.AUDITOR)

    def verdict(content: bytes) -> str:
        page = client.post(
            "/console/audit/verify-export",
            data={"csrf_token": csrf, "key": key},
            files={"export": ("export.jsonl", content, "application/jsonl")},
        )
        assert page.status_code == 200, page.text
        text: str = page.text
        return text

    assert "VERIFIED: signature valid" in verdict(export.read_bytes())
    # One digit of the signature changed, the file still well-formed: signed by someone without the key.
    *lines, last = export.read_bytes().splitlines()
    trailer = orjson.loads(last)
    trailer["mac"] = ("0" if trailer["mac"][0] != "0" else "1") + trailer["mac"][1:]
    tampered = b"\n".join([*lines, orjson.dumps(trailer)]) + b"\n"
    page = verdict(tampered)
    assert "NOT VERIFIED" in page
    assert "signature" in page.split("NOT VERIFIED", 1)[1]
