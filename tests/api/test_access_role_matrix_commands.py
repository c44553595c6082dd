"""The role matrix with real commands: every command route is sent its command model's own example body
(ids pointing at real cases of the right kind), by every role. The roles the API admits must never meet
the domain's ``ActorRoleError`` (the domain would refuse a role the API let through), and every other role
gets 403 before anything runs. Empty bodies would stop at validation and prove nothing about the domain."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from domain.base import Actor, Role, roles_of
from domain.callback import CallbackType
from infra.bootstrap import System
from infra.clock import ControlledClock
from infra.services.callbacks import CreateCallbackTask
from infra.store.eventstore import Caller
from tests.api.claim_driver import lodge_complaint, report_claim
from tests.api.conftest import as_
from tests.api.test_roles_declared_once import _command_routes, _step_of

pytestmark = pytest.mark.integration


def _example(route: APIRoute) -> dict[str, Any] | None:
    body = route.body_field
    if body is None:
        return None  # a command without a body (its step needs nothing but the case)
    model = body.field_info.annotation
    schema = model.model_json_schema()  # type: ignore[union-attr]
    examples = schema.get("examples") or [{}]
    example: dict[str, Any] = dict(examples[0])
    return example


def _pointed(body: dict[str, Any] | None, ids: dict[str, str]) -> dict[str, Any] | None:
    """The example with its case ids replaced by the test's real cases."""
    return None if body is None else {key: ids.get(key, value) for key, value in body.items()}


def test_every_admitted_role_reaches_the_domain_step_and_is_not_refused_there(
    client: TestClient, system: System, clock: ControlledClock, policy_id: UUID, read_models: None
) -> None:
    claim = report_claim(client, policy_id, clock.now() - timedelta(hours=1))["case_id"]
    complaint = lodge_complaint(client, clock.now(), {"kind": "policy", "ref": str(policy_id)})["case_id"]
    task = system.callbacks.create_task(
        CreateCallbackTask(
            # A remediation task: the one type every role the callback routes admit may work (a
            # new-policy callback narrows them in the domain, by the task's type, as the routes say).
            task_type=CallbackType.MIS_SELLING_REMEDIATION,
            source_event_id=uuid4(),
            source_case_id=policy_id,
            customer_id="CUST-matrix",
            due_by=clock.now() + timedelta(days=10),
            seller_id="li.na.seller",
        ),
        Caller(actor=Actor(id="system.callbacks", role=Role.SYSTEM), correlation_id=uuid4()),
    ).case_id
    ids = {
        "policy_id": str(policy_id),
        "claim_id": claim,
        "complaint_id": complaint,
        "task_id": str(task),
        "source_case_id": str(policy_id),
        "subject_case_id": str(policy_id),
    }
    refused_by_domain, admitted_but_403, outsiders_let_in, server_errors = [], [], [], []
    reached = 0
    routes = list(_command_routes())
    for route in routes:
        step = _step_of(route.dependant)
        assert step is not None
        path = route.path
        for name, value in (*ids.items(), ("doc_type", "invoice")):
            path = path.replace("{" + name + "}", value)
        body = _pointed(_example(route), ids)
        for role in Role:
            answer = client.post(path, json=body, headers=as_(role, f"matrix.{role.value}"))
            problem = (
                answer.json() if answer.headers.get("content-type") == "application/problem+json" else {}
            )
            if answer.status_code >= 500:
                server_errors.append((path, role.value, answer.status_code))
            elif role in roles_of(step):
                if problem.get("title") == "ActorRoleError":
                    refused_by_domain.append((path, role.value))
                elif answer.status_code == 403:
                    admitted_but_403.append((path, role.value))
                elif answer.status_code < 300 or "rule" in problem:
                    reached += 1
            elif answer.status_code != 403:
                outsiders_let_in.append((path, role.value, answer.status_code))

    assert refused_by_domain == []
    assert admitted_but_403 == []
    assert outsiders_let_in == []
    assert server_errors == []
    assert len(routes) >= 67
    # Every admitted (route, role) pair ran its domain step: a success, or a business rule's refusal.
    admitted = sum(len(roles_of(step)) for route in routes if (step := _step_of(route.dependant)))
    assert reached == admitted
