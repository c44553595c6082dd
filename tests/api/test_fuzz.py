"""A bounded property-based fuzz of the whole API from its own OpenAPI document (schemathesis).

Every operation gets a few generated requests, with a supervisor's token (most routes let a supervisor
in, so the bodies reach validation and the domain): no request may produce a 5xx (but the designed 503 of
a read-your-writes wait), and every response must match the schema the OpenAPI document declares for it.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.app import create_app
from domain.base import Role
from infra.bootstrap import System
from tests.api.conftest import token

pytestmark = pytest.mark.integration


def test_every_operation_answers_generated_requests_without_a_server_error_and_within_its_schema(
    api_system: System, read_models: None
) -> None:
    app = create_app(api_system)
    authorization = f"Bearer {token(Role.SUPERVISOR)}"
    checked = 0
    with TestClient(app):  # runs the app's lifespan: its connection pool is open while we fuzz
        api = schemathesis.openapi.from_asgi("/openapi.json", app)
        for found in api.get_all_operations():
            assert isinstance(found, Ok), f"the OpenAPI document has an invalid operation: {found}"
            operation = found.ok()

            @given(case=operation.as_strategy())
            @settings(
                max_examples=3,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
                derandomize=True,  # the same requests in every CI run: a failure is reproducible
            )
            def answers_within_schema(case: Any) -> None:
                case.headers = {**(case.headers or {}), "Authorization": authorization}
                response = case.call()
                # 503 is the designed answer of a read that asks for a version the read model lacks yet.
                behind = response.status_code == 503 and "projection-behind" in response.text
                assert response.status_code < 500 or behind, (
                    f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
                )
                case.validate_response(response, checks=(response_schema_conformance,))

            answers_within_schema()
            checked += 1
    assert checked > 70  # every route of the API was fuzzed
