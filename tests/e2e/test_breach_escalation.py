"""A deadline running out in the running system: `up --demo --time-scale` lets the open complaint's
15-day clock run out, and the breach shows up in the worklist, over HTTP, for the role its rule
escalates to."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from domain.base import Role
from tests.api.conftest import SECRET, as_
from tests.kafka_fixtures import free_port

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def test_a_breached_complaint_deadline_reaches_the_senior_managers_worklist(
    database_url: str, schema: str, tmp_path: Path
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASELEDGER_")} | {
        "CASELEDGER_DATABASE_URL": database_url,
        "CASELEDGER_DB_SCHEMA": schema,
        "CASELEDGER_BROKER_PORT": str(free_port()),
        "CASELEDGER_API_PORT": str(port),
        "CASELEDGER_JWT_SECRET": SECRET,
        "PYTHONPATH": str(REPO),
    }
    # 40,000 times faster: the complaint's 15 days pass in about 32 seconds. (Whether the 50 % and 80 %
    # warnings come first depends on how soon the timers group has caught up with the demo's backlog, so
    # only the breach is asserted.)
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "up", "--demo", "--time-scale", "40000"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 150
        complaint: re.Match[str] | None = None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            complaint = complaint or re.search(r"Complaint (\S+) is open", line)
            # The demo's other open complaints breach too: wait for this one's.
            if complaint and "CMP-DECIDE-15D: BREACH" in line and complaint.group(1) in line:
                break
        text = "".join(lines)
        assert complaint is not None, text
        breaches = [line for line in lines if "CMP-DECIDE-15D: BREACH" in line]
        assert any(f"(case {complaint.group(1)})" in line for line in breaches), text

        items: list[dict[str, object]] = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as api:
            for _ in range(120):  # the breach travels relay → Kafka → projections
                answer = api.get(
                    "/worklist", params={"role": "senior_manager"}, headers=as_(Role.AUDITOR, "e2e.auditor")
                )
                assert answer.status_code == 200, answer.text
                items = [i for i in answer.json() if i["case_id"] == complaint.group(1)]
                if items:
                    break
                time.sleep(0.5)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)

    assert [i["item"] for i in items] == ["escalation: CMP-DECIDE-15D"]
    assert items[0]["role"] == "senior_manager"
