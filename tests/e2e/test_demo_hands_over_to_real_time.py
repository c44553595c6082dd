"""`caseledger up --demo` tells its story on a past clock, then records real time: a command sent "now" is
taken as now, and the worklist shows no breach that the story did not cause."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.base import SHANGHAI
from tests.demo_process import demo_process

pytestmark = pytest.mark.e2e


@dataclass
class AfterTheStory:
    base_url: str
    tokens: dict[str, str]
    story_ended_at: datetime
    """The instant the story's clock stood at when it handed over to real time (to the minute, as printed)."""
    left_open: frozenset[str]
    """The cases the story leaves open on purpose, for the worklist: their deadlines are the story's own."""

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture
def after_the_story(database_url: str, schema: str, tmp_path: Path) -> Iterator[AfterTheStory]:
    with demo_process(database_url, schema, tmp_path) as demo:
        text = demo.output
        tokens = demo.tokens()
        told_until = re.search(r"told on a past clock up to (\d{4}-\d\d-\d\d \d\d:\d\d)", text)
        assert tokens, text
        assert told_until, text
        story_end = datetime.strptime(told_until.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)
        left_open = frozenset(re.findall(r"^  open \w+\s+([0-9a-f-]{36})\s", text, flags=re.MULTILINE))
        yield AfterTheStory(demo.base_url, tokens, story_end + timedelta(minutes=1), left_open)


def complaint_received(at: datetime) -> dict[str, Any]:
    return {
        "received_at": at.isoformat(),
        "category": "claims",
        "channel": "hotline",
        "subject_ref": {"kind": "policy", "ref": "P-after-the-demo"},
        "customer_id": "CUST-after-demo",
        "complainant_name": "李娜",
        "complainant_phone": "13700137000",
        "facts": "the garage was not paid",
        "demands": "pay the garage",
    }


def test_a_complaint_received_now_is_accepted_after_the_demo_story(after_the_story: AfterTheStory) -> None:
    now = datetime.now(UTC)
    with httpx.Client(base_url=after_the_story.base_url, timeout=10) as http:
        lodged = http.post(
            "/complaints", json=complaint_received(now), headers=after_the_story.headers("complaints_officer")
        )

    assert lodged.status_code == 201, lodged.text
    # The story was told on a past clock that caught up with real time, never ran ahead of it (the printed
    # instant is to the minute, and the fixture adds that minute).
    assert after_the_story.story_ended_at - timedelta(minutes=1) <= now


def test_the_worklist_after_the_demo_shows_no_breach_the_story_did_not_cause(
    after_the_story: AfterTheStory,
) -> None:
    with httpx.Client(base_url=after_the_story.base_url, timeout=10) as http:
        work = http.get("/worklist", params={"limit": 500}, headers=after_the_story.headers("supervisor"))
        timers = http.get("/timers", params={"limit": 500}, headers=after_the_story.headers("supervisor"))
    now = datetime.now(UTC)

    assert work.status_code == 200, work.text
    assert timers.status_code == 200, timers.text
    # The cases the story leaves open fall due when the story says (a complaint it never acknowledged):
    # those breaches the story caused. Nothing may fall due in the gap between its end and now.
    assert after_the_story.left_open
    overdue = [
        item
        for item in work.json()
        if item["due_at"] is not None and datetime.fromisoformat(item["due_at"]) < now
    ]
    breached = [timer for timer in timers.json() if timer["colour"] == "breached"]
    # Whatever is past due fell due while the story ran: nothing fell due between its end and now unseen.
    assert [i for i in overdue if datetime.fromisoformat(i["due_at"]) > after_the_story.story_ended_at] == []
    assert [
        t
        for t in breached
        if t["due_at"] is not None and datetime.fromisoformat(t["due_at"]) > after_the_story.story_ended_at
    ] == []
    # And the timers' colours are told at real time, not at the story's end.
    assert all(
        datetime.fromisoformat(t["due_at"]) > now
        for t in timers.json()
        if t["colour"] in ("green", "amber", "red") and t["due_at"] is not None
    )
