"""`caseledger up --demo` left running, driven as a client would: over HTTP with the printed tokens."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.demo_process import demo_process

pytestmark = pytest.mark.e2e


@dataclass
class RunningSystem:
    base_url: str
    tokens: dict[str, str]
    motor_policy_id: str
    claim_id: str

    def headers(self, role: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}", **extra}


@pytest.fixture
def running(database_url: str, schema: str, tmp_path: Path) -> Iterator[RunningSystem]:
    with demo_process(database_url, schema, tmp_path, wait_s=120) as demo:
        text = demo.output
        tokens = demo.tokens()
        motor = re.search(r"^== Policy (\S+) \(motor\)", text, flags=re.MULTILINE)
        claim = re.search(r"^== Claim (\S+)", text, flags=re.MULTILINE)
        assert motor is not None, text
        assert claim is not None, text
        assert tokens, text
        yield RunningSystem(demo.base_url, tokens, motor.group(1), claim.group(1))


def test_running_system_serves_the_read_models_and_takes_commands_over_http(running: RunningSystem) -> None:
    with httpx.Client(base_url=running.base_url, timeout=10) as http:
        claim = http.get(f"/claims/{running.claim_id}", headers=running.headers("auditor"))
        reported = http.post(
            "/claims",
            headers=running.headers("claims_handler", **{"Idempotency-Key": "e2e-report-1"}),
            json={
                "policy_id": running.motor_policy_id,
                "loss_at": datetime.now(UTC).isoformat(),
                "reporter_name": "李娜",
                "reporter_phone": "13700137000",
                "cause": "hail",
                "description": "dents on the bonnet",
                "channel": "app",
            },
        )
        new_claim = reported.json()
        # Read your writes: the query waits until the projections consumer has applied version 1.
        projected = http.get(
            f"/claims/{new_claim['case_id']}",
            params={"min_version": new_claim["version"]},
            headers=running.headers("claims_handler"),
        )
        refused = http.post("/claims", headers=running.headers("auditor"), json={})

    assert claim.status_code == 200
    assert claim.json()["status"] == "closed"
    assert reported.status_code == 201, reported.text
    assert projected.status_code == 200, projected.text
    assert projected.json()["status"] == "reported"
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
