"""Cases of different staff for the access tests: two sellers' policies, a claim, complaints, a callback."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from domain.base import SHANGHAI, Actor, Role
from domain.callback import CallbackType
from domain.policy import Line, SellerRegistration
from infra.bootstrap import System
from infra.clock import ControlledClock
from infra.services.callbacks import CreateCallbackTask
from infra.services.policies import SubmitProposal
from infra.store.eventstore import Caller
from tests.api.claim_driver import lodge_complaint, report_claim
from tests.feed import project

SELLER_A = Role.SELLER, "li.na.seller"
"""The seller of the API tests' issued policy (the ``policy_id`` fixture)."""
SELLER_B = Role.SELLER, "wang.fang.seller"
SURVEYOR = Role.SURVEYOR, "liu.yang.survey"
CALLBACK_AGENT = Role.CALLBACK_AGENT, "sun.li.callback"
OFFICER = Role.COMPLAINTS_OFFICER, "wu.xia.complaints"
SUPERVISOR = Role.SUPERVISOR, "zhao.lei.supervisor"
AUDITOR = Role.AUDITOR, "qian.yu.audit"
UNDERWRITER = Role.UNDERWRITER, "he.ping.underwriting"

B_NAME, B_ID_NUMBER, B_PHONE = "王小明", "310101198805051234", "13912345678"


@dataclass(frozen=True)
class Book:
    """What the access tests read: ``policy_a`` (seller A, claimed on, called back about), ``policy_b``
    (seller B, complained about), the claim on A, the complaint about B, the callback task on A."""

    policy_a: UUID
    customer_a: str
    policy_b: UUID
    customer_b: str
    claim: UUID
    complaint_about_b: UUID
    complaint_elsewhere: UUID
    callback_task: UUID


def _caller(role: Role, actor_id: str) -> Caller:
    return Caller(actor=Actor(id=actor_id, role=role), correlation_id=uuid4())


def submit_for_seller_b(system: System, clock: ControlledClock) -> UUID:
    """A proposal submitted by seller B (registered for the motor product) for customer B."""
    today = clock.now().astimezone(SHANGHAI).date()
    system.sellers.register(
        SellerRegistration(
            registration_no="REG-WANG-FANG",
            seller_id=SELLER_B[1],
            valid_from=today - timedelta(days=365),
            valid_to=today + timedelta(days=365),
            authorised_products=frozenset({"MOTOR-COMM-2026"}),
        )
    )
    policy_id = uuid4()
    system.policies.submit(
        SubmitProposal(
            proposal_no=f"TB{policy_id.hex[:10].upper()}",
            product_code="MOTOR-COMM-2026",
            line=Line.MOTOR_COMMERCIAL,
            customer_id="CUST-B",
            applicant_name=B_NAME,
            applicant_id_number=B_ID_NUMBER,
            applicant_phone=B_PHONE,
            insured_name=B_NAME,
            beneficiary_names=[],
            sum_insured_fen=20_000_000,
            term_months=12,
            quoted_premium_fen=300_000,
            exclusion_clause_ids=["EXCL-DRUNK-DRIVING"],
            seller_registration_no="REG-WANG-FANG",
            channel="agency",
        ),
        _caller(*SELLER_B),
        policy_id=policy_id,
    )
    return policy_id


@pytest.fixture
def book(
    client: TestClient, system: System, clock: ControlledClock, policy_id: UUID, read_models: None
) -> Book:
    policy_b = submit_for_seller_b(system, clock)
    claim = report_claim(client, policy_id, clock.now() - timedelta(hours=1))
    about_b = lodge_complaint(client, clock.now(), {"kind": "policy", "ref": str(policy_b)})
    elsewhere = lodge_complaint(client, clock.now())
    task = system.callbacks.create_task(
        CreateCallbackTask(
            task_type=CallbackType.NEW_POLICY,
            source_event_id=uuid4(),
            source_case_id=policy_id,
            customer_id="CUST-callback",
            due_by=clock.now() + timedelta(days=10),
            seller_id=SELLER_A[1],
        ),
        _caller(Role.SYSTEM, "system.callbacks"),
    )
    project(system)
    customer_a = system.policies.load(policy_id).customer_id
    return Book(
        policy_a=policy_id,
        customer_a=customer_a,
        policy_b=policy_b,
        customer_b="CUST-B",
        claim=UUID(claim["case_id"]),
        complaint_about_b=UUID(about_b["case_id"]),
        complaint_elsewhere=UUID(elsewhere["case_id"]),
        callback_task=task.case_id,
    )


def body(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()
