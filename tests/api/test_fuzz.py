"""A bounded property-based fuzz of the whole API from its own OpenAPI document (schemathesis).

Every operation gets generated requests with a supervisor's token (most routes let a supervisor in, so the
requests reach validation, the domain and the read models): valid ones (positive mode) and ones that break
the schema (negative mode: wrong types, out-of-range numbers, missing fields, odd characters). No request
may produce a 5xx, 503 included: the relay and the projections consumer group run for real, so a
read-your-writes bound that the store holds is met within the wait, and one it does not hold (an unknown
case's ``min_version``, a position beyond the store's head) is refused at once. Every response must match
what the OpenAPI document declares.

The examples are derandomized and bounded per operation, so the run is the same in every CI run and takes
well under a minute.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import uuid4

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.app import create_app
from cli.runtime import serve
from domain.base import Role
from infra.bootstrap import System
from tests.api.conftest import token

pytestmark = pytest.mark.integration

EXAMPLES_PER_OPERATION = {GenerationMode.POSITIVE: 4, GenerationMode.NEGATIVE: 4}


@pytest.fixture
def live_system(api_system: System, kafka_bootstrap: str, read_models: None) -> Iterator[System]:
    """The API's system with the relay and the projections group running for real, on topics of its own."""
    settings = api_system.settings.model_copy(
        update={"topic_prefix": f"t{uuid4().hex[:8]}", "api_read_wait_seconds": 15.0}
    )
    system = dataclasses.replace(api_system, settings=settings)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    with ThreadPoolExecutor(max_workers=1) as executor:
        running = executor.submit(
            loop.run_until_complete,
            serve(system, kafka_bootstrap, stop, relay=True, groups=("projections",)),
        )
        yield system
        loop.call_soon_threadsafe(stop.set)
        running.result(timeout=30)  # re-raises whatever stopped the pipeline early
    loop.close()


# The relay and the consumer in their thread draw from `random` while hypothesis generates: it notes that
# as if a strategy had used it, which none here does.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
@pytest.mark.parametrize("mode", list(EXAMPLES_PER_OPERATION), ids=lambda mode: mode.value)
def test_every_operation_answers_generated_requests_without_a_server_error_and_within_its_schema(
    live_system: System, mode: GenerationMode
) -> None:
    app = create_app(live_system)
    authorization = f"Bearer {token(Role.SUPERVISOR)}"
    checked = 0
    with TestClient(app):  # runs the app's lifespan: its connection pool is open while we fuzz
        api = schemathesis.openapi.from_asgi("/openapi.json", app)
        for found in api.get_all_operations():
            assert isinstance(found, Ok), f"the OpenAPI document has an invalid operation: {found}"
            operation = found.ok()

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES_PER_OPERATION[mode],
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
                derandomize=True,  # the same requests in every CI run: a failure is reproducible
            )
            def answers_without_a_server_error(case: Any) -> None:
                case.headers = {**(case.headers or {}), "Authorization": authorization}
                response = case.call()
                checks: list[CheckFunction] = [not_a_server_error]
                if mode is GenerationMode.POSITIVE or response.status_code < 400:
                    checks.append(response_schema_conformance)
                case.validate_response(response, checks=checks)
                if response.status_code >= 400:
                    # schemathesis keeps every value of a header, as a list
                    assert response.headers["content-type"] == ["application/problem+json"], (
                        f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
                    )

            try:
                answers_without_a_server_error()
            except Unsatisfiable:
                # Negative mode only: an operation without parameters or body has no invalid form.
                assert mode is GenerationMode.NEGATIVE, f"{operation.label}: no request could be generated"
                continue
            checked += 1
    assert checked > (70 if mode is GenerationMode.POSITIVE else 50)  # every route of the API was fuzzed
