"""Staff at work in the console, in a real browser against the running demo system."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DemoSystem, Staff, screenshot, sign_in, timed_goto

pytestmark = pytest.mark.browser

PAGE_SECONDS = 1.0
"""Every page answers well under a second on the demo data; a second is the bound the test holds."""

NEVER_ACKNOWLEDGED = "lodged, never acknowledged"
LODGED_YESTERDAY = "lodged yesterday"
ASSIGNED = "acknowledged and assigned, answer due"


def test_a_complaints_officer_sees_the_demo_cases_in_deadline_order(demo: DemoSystem, staff: Staff) -> None:
    page = sign_in(staff, demo, "complaints_officer")
    took = timed_goto(page, f"{demo.base_url}/console/worklist")

    rows = page.locator("#worklist tbody tr[data-case-id]")
    dues = [datetime.fromisoformat(d) for d in rows.evaluate_all("rs => rs.map(r => r.dataset.due)") if d]
    cases = set(rows.evaluate_all("rs => rs.map(r => r.dataset.caseId)"))
    colours = set(rows.evaluate_all("rs => rs.map(r => r.dataset.colour)"))
    screenshot(page, "worklist")

    assert took < PAGE_SECONDS
    assert dues == sorted(dues)
    assert len(dues) >= 4
    assert {demo.open_cases[NEVER_ACKNOWLEDGED], demo.open_cases[ASSIGNED]} <= cases
    assert "breached" in colours
    assert colours & {"amber", "red"}
    expect(page.get_by_text("已超时 Breached").first).to_be_visible()


def test_one_click_on_a_worklist_line_opens_the_case_with_its_timeline_and_deadline_explanation(
    demo: DemoSystem, staff: Staff
) -> None:
    case_id = demo.open_cases[ASSIGNED]
    page = sign_in(staff, demo, "complaints_officer")

    page.locator(f'#worklist tr[data-case-id="{case_id}"] a').first.click()
    page.wait_for_url(f"**/console/cases/{case_id}")
    screenshot(page, "case-file")

    timeline = page.locator("#timeline tbody tr")
    expect(timeline).to_have_count(3)
    expect(timeline.nth(0)).to_contain_text("complaint.lodged.v1")
    expect(timeline.nth(0)).to_contain_text("wu.xia.complaints")
    expect(timeline.nth(0)).to_contain_text("CBIRC Order 2020 No. 3")
    expect(timeline.nth(2)).to_contain_text("ComplaintAssigned")
    explanation = page.get_by_test_id("explanation")
    # The timers group starts the case's clocks from the topics on its own: the page shows them once it has.
    deadline = time.monotonic() + 30
    while "rule CMP-DECIDE-15D" not in explanation.inner_text() and time.monotonic() < deadline:
        page.wait_for_timeout(500)
        page.reload()
    expect(explanation).to_contain_text("rule CMP-DECIDE-15D")
    expect(explanation).to_contain_text("Civil Code Art. 201")
    expect(page.get_by_role("heading", name="关联案件 Linked cases")).to_be_visible()


def test_a_command_submitted_from_its_form_records_the_event_and_the_page_shows_the_new_version(
    demo: DemoSystem, staff: Staff
) -> None:
    case_id = demo.open_cases[LODGED_YESTERDAY]
    page = sign_in(staff, demo, "complaints_officer")
    page.goto(f"{demo.base_url}/console/cases/{case_id}")
    expect(page.get_by_test_id("case-version")).to_have_text("版本 Version 1")

    form = page.locator('details[data-command="acknowledge_complaint"]')
    form.locator("summary").click()
    form.get_by_label("channel").fill("sms")
    form.get_by_role("button").click()
    page.wait_for_url(f"**/console/cases/{case_id}?recorded=2**")
    screenshot(page, "command-recorded")

    expect(page.get_by_test_id("recorded")).to_contain_text("new version 2")
    expect(page.get_by_test_id("case-version")).to_have_text("版本 Version 2")
    expect(page.locator("#timeline tbody tr").nth(1)).to_contain_text("complaint.acknowledged.v1")
    expect(page.locator("#timeline tbody tr").nth(1)).to_contain_text("demo.complaints_officer")


def test_a_refused_command_shows_the_rule_it_broke(demo: DemoSystem, staff: Staff) -> None:
    case_id = demo.open_cases[NEVER_ACKNOWLEDGED]
    page = sign_in(staff, demo, "complaints_officer")
    page.goto(f"{demo.base_url}/console/cases/{case_id}")

    form = page.locator('details[data-command="close_complaint"]')
    form.locator("summary").click()
    form.get_by_label("outcome").select_option("upheld")
    form.get_by_role("button").click()
    screenshot(page, "command-refused")

    expect(page.get_by_test_id("refused")).to_contain_text("409")
    expect(page.get_by_test_id("refused-rule")).to_have_text("lifecycle-order")
    expect(page.get_by_test_id("case-version")).to_have_text("版本 Version 1")


def test_an_auditor_reads_the_case_and_its_history_but_sees_no_command_form(
    demo: DemoSystem, staff: Staff
) -> None:
    case_id = demo.closed_complaint
    page = sign_in(staff, demo, "auditor")
    page.goto(f"{demo.base_url}/console/cases/{case_id}")

    expect(page.get_by_test_id("no-commands")).to_be_visible()
    expect(page.locator("details.command")).to_have_count(0)
    expect(page.locator("#timeline tbody tr")).to_have_count(7)

    took = timed_goto(page, f"{demo.base_url}/console/audit?case_id={case_id}&version=3")
    expect(page.get_by_test_id("as-of")).to_contain_text("version 3")
    page.get_by_role("button", name="校验 Verify", exact=True).click()
    expect(page.get_by_test_id("chain-verdict")).to_contain_text("every chain holds")
    screenshot(page, "audit")
    assert took < PAGE_SECONDS


def test_a_supervisor_sees_the_sla_board_and_the_operations_page(demo: DemoSystem, staff: Staff) -> None:
    page = sign_in(staff, demo, "supervisor")

    board_took = timed_goto(page, f"{demo.base_url}/console/sla")
    expect(page.locator("#sla-board tbody tr").first).to_be_visible()
    expect(page.locator("#sla-board")).to_contain_text("CMP-DECIDE-15D")
    expect(page.locator("svg.chart").first).to_be_visible()
    expect(page.locator("#callback-rate")).to_contain_text("LIFE-CALLBACK-15D")
    screenshot(page, "sla-board")
    operations_took = timed_goto(page, f"{demo.base_url}/console/operations")
    expect(page.locator("#relay-lag")).to_contain_text("投诉 Complaint")
    expect(page.locator("#group-lag")).to_contain_text("projections")
    expect(page.get_by_test_id("timer-backlog")).to_be_visible()
    screenshot(page, "operations")

    assert board_took < PAGE_SECONDS
    assert operations_took < PAGE_SECONDS


def test_the_api_docs_render_with_no_request_leaving_the_machine(demo: DemoSystem, staff: Staff) -> None:
    page = staff.page

    page.goto(f"{demo.base_url}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("caseledger")
    expect(page.locator(".opblock-tag-section").first).to_be_visible()
    screenshot(page, "docs", full_page=False)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{demo.base_url}/redoc")
    # ReDoc lays out the whole document (every operation) before it shows the title.
    expect(page.locator("h1").first).to_contain_text("caseledger", timeout=30_000)
    assert errors == []
    screenshot(page, "redoc", full_page=False)
    # The staff fixture fails the test if any request above went to another host.
