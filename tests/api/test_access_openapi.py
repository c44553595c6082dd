"""The OpenAPI document describes both security schemes, the record scopes and the masking."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from projections.masking import MASKING_RULES
from projections.scopes import SCOPES


def _openapi(client: TestClient) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/openapi.json").json()
    return document


def test_both_security_schemes_are_described_with_the_identity_provider(client: TestClient) -> None:
    schemes = _openapi(client)["components"]["securitySchemes"]

    assert set(schemes) >= {"bearer", "apiKey"}
    assert "JWKS" in schemes["bearer"]["description"]
    assert "RS256" in schemes["bearer"]["description"]


def test_the_document_states_every_roles_scope_and_every_mask(client: TestClient) -> None:
    document = _openapi(client)
    description = document["info"]["description"]

    assert all(f"| {role.value} |" in description for role in SCOPES if role.value != "system")
    assert all(rule in description for rule in MASKING_RULES.values())
    assert (
        "masked"
        in document["components"]["schemas"]["PolicySummary"]["properties"]["applicant_name"]["description"]
    )
    assert "purpose" in str(document["paths"]["/policies/{policy_id}/personal-data"]["get"]["parameters"])
