"""A command's log lines say which case and which correlation they belong to, and how it ended."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
import structlog
from fastapi.testclient import TestClient

from cli.logs import LogFormat, configure_logging
from infra.clock import ControlledClock
from tests.api.claim_driver import HANDLER, report_claim, step
from tests.api.conftest import as_

pytestmark = pytest.mark.integration


@pytest.fixture
def logged() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    configure_logging("INFO", LogFormat.JSON, stream)
    yield stream
    root.handlers[:] = before[0]
    root.setLevel(before[1])
    structlog.reset_defaults()


def command_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [r for r in records if r.get("logger") == "api.gateway"]


def test_an_accepted_and_a_refused_command_log_their_case_correlation_and_outcome(
    client: TestClient, clock: ControlledClock, policy_id: UUID, logged: io.StringIO
) -> None:
    claim = report_claim(client, policy_id, clock.now() - timedelta(hours=1), **{"Idempotency-Key": "k-1"})
    report_claim(client, policy_id, clock.now() - timedelta(hours=1), **{"Idempotency-Key": "k-1"})
    path = f"/claims/{claim['case_id']}/registration"
    step(client, HANDLER, path, {"claim_no": "LP1", "coverages": ["a"], "reserve_fen": 1})
    refused = client.post(
        path, json={"claim_no": "LP1", "coverages": ["a"], "reserve_fen": 1}, headers=as_(*HANDLER)
    )

    reported, repeated, registered, refusal = command_lines(logged)
    assert refused.status_code == 409
    assert {line["case_id"] for line in (reported, repeated, registered, refusal)} == {claim["case_id"]}
    # A repeat with the same Idempotency-Key is the same correlation; another request is another one.
    assert reported["correlation_id"] == repeated["correlation_id"] != registered["correlation_id"]
    assert reported["event"] == "POST /claims answered 201, case version 1"
    assert repeated["event"].endswith("(a repeat: nothing recorded again)")
    assert refusal["event"] == f"POST {path} refused by rule {refused.json()['rule']}"
    assert refusal["level"] == "info"
