"""Every role against every route: the declared roles never get 403, the others always do."""

from __future__ import annotations

from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from domain.base import Role
from tests.api.conftest import as_

pytestmark = pytest.mark.integration

PATH_VALUES = {
    "{claim_id}": str(uuid4()),
    "{complaint_id}": str(uuid4()),
    "{policy_id}": str(uuid4()),
    "{task_id}": str(uuid4()),
    "{customer_id}": "CUST-nobody",
    "{doc_type}": "invoice",
    "{case_id}": str(uuid4()),
    "{request_id}": str(uuid4()),
}


def operations(client: TestClient) -> list[tuple[str, str, frozenset[str]]]:
    found = []
    for path, methods in client.app.openapi()["paths"].items():  # type: ignore[attr-defined]
        for method, operation in methods.items():
            if "x-roles" in operation:
                concrete = path
                for name, value in PATH_VALUES.items():
                    concrete = concrete.replace(name, value)
                found.append((method, concrete, frozenset(operation["x-roles"])))
    return found


def test_every_route_admits_exactly_its_declared_roles(client: TestClient, read_models: None) -> None:
    routes = operations(client)
    # 74 + two audit queries + five timer and callback views + CTPL notice and cure + a claim's application
    # and its documents request's delivery + a senior manager's extension approval
    # + three personal-data reveals and the access log + nine surrender and renewal premium steps
    # + eleven 保全 routes (seven steps, three reads and the request's personal-data reveal)
    # + inquiries (five commands, four queries) and service orders (five commands, one query, its
    # personal data)
    assert len(routes) == 126
    wrong = []
    for method, path, allowed in routes:
        for role in Role:
            response = client.request(method, path, json={} if method == "post" else None, headers=as_(role))
            refused = response.status_code == 403
            if refused == (role.value in allowed) or response.status_code >= 500:
                wrong.append((method, path, role.value, response.status_code))
    assert wrong == []


def test_the_auditor_may_read_everything_and_write_nothing(client: TestClient) -> None:
    routes = operations(client)

    writes = {path for method, path, allowed in routes if method == "post" and "auditor" in allowed}
    reads = {path for method, path, allowed in routes if method == "get" and "auditor" not in allowed}

    assert writes == set()
    assert reads == set()


def test_a_request_without_a_valid_token_is_refused_with_401(client: TestClient) -> None:
    missing = client.get(f"/claims/{uuid4()}")
    forged = client.get(f"/claims/{uuid4()}", headers={"Authorization": "Bearer not.a.jwt"})

    assert missing.status_code == forged.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
