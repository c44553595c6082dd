"""Small drivers that put a claim or a complaint through its steps over HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient

from domain.base import Role
from tests.api.conftest import as_, ok

HANDLER = Role.CLAIMS_HANDLER, "chen.jie.claims"
SURVEYOR = Role.SURVEYOR, "liu.yang.survey"
ADJUSTER = Role.ADJUSTER, "huang.min.adjust"
REVIEWER = Role.CLAIM_REVIEWER, "zhou.hui.review"
OFFICER = Role.COMPLAINTS_OFFICER, "wu.xia.complaints"


def report_claim(client: TestClient, policy_id: UUID, loss_at: datetime, **headers: str) -> dict[str, Any]:
    return ok(
        client.post(
            "/claims",
            json={
                "policy_id": str(policy_id),
                "loss_at": loss_at.isoformat(),
                "reporter_name": "张伟",
                "reporter_phone": "13800138000",
                "cause": "rear-end collision",
                "description": "hit from behind at a red light",
                "channel": "hotline 95500",
            },
            headers=as_(*HANDLER, **headers),
        )
    )


def step(
    client: TestClient, who: tuple[Role, str], path: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    return ok(client.post(path, json=body, headers=as_(*who)))


def complaint_body(received_at: datetime, subject: dict[str, str] | None = None) -> dict[str, Any]:
    """The body of ``POST /complaints``: a claims complaint about ``subject`` (by default a policy number
    caseledger does not hold: such a complaint is lodged, but not assigned), received five minutes earlier."""
    return {
        "received_at": (received_at - timedelta(minutes=5)).isoformat(),
        "category": "claims",
        "channel": "hotline",
        "subject_ref": subject or {"kind": "policy", "ref": "P-1"},
        "customer_id": "CUST-api",
        "complainant_name": "张伟",
        "complainant_phone": "13800138000",
        "facts": "the repair estimate left out the paint work",
        "demands": "pay the paint work",
    }


def lodge_complaint(
    client: TestClient, received_at: datetime, subject: dict[str, str] | None = None, **headers: str
) -> dict[str, Any]:
    """A claims complaint about ``subject`` (``complaint_body``), lodged by a complaints officer."""
    body = complaint_body(received_at, subject)
    return ok(client.post("/complaints", json=body, headers=as_(*OFFICER, **headers)))
