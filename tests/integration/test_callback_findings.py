"""What a new-policy callback finds, on real PostgreSQL through the ``callbacks`` consumer: a "no" to signing
personally opens the remediation and marks the policy with the proxy signature, once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from datetime import timedelta
from uuid import UUID

import pytest

from cli.scenarios import CALLBACK_AGENT, SELLER, a_policy, by, register_demo_seller
from consumers.callbacks import CALLBACKS_GROUP, callbacks_handler
from domain.base import SHANGHAI, Role
from domain.callback import (
    AttemptOutcome,
    CallbackChannel,
    CallbackIssue,
    CallbackIssueFound,
    CallbackStatus,
    CallbackTask,
    CallbackType,
    NewPolicyCheck,
)
from domain.policy import Line, PolicyReceiptAcknowledged, ProxySignatureDetected
from infra.bootstrap import System
from infra.clock import ControlledClock
from infra.services.callbacks import AttemptCallback, CompleteCallback
from infra.services.policies import AcknowledgeReceipt
from tests.feed import Group

pytestmark = pytest.mark.integration


@pytest.fixture
def consumer(system: System) -> Iterator[Group]:
    """The ``callbacks`` group, fed the policy and callback topics."""
    with closing(
        Group(system, CALLBACKS_GROUP, callbacks_handler, (system.policies, system.callbacks))
    ) as group:
        yield group


def a_called_life_policy(system: System, clock: ControlledClock, consumer: Group) -> tuple[UUID, UUID]:
    """A life policy received, its new-policy task opened by the group, the customer reached on the phone."""
    register_demo_seller(system, clock.now().astimezone(SHANGHAI).date())
    policy_id = a_policy(system, Line.LIFE)
    clock.advance(timedelta(days=2))
    system.policies.acknowledge_receipt(
        policy_id,
        AcknowledgeReceipt(received_on=clock.now().astimezone(SHANGHAI).date(), method="e-receipt"),
        by(SELLER),
    )
    receipt = system.policies.history(policy_id)[-1]
    assert isinstance(receipt, PolicyReceiptAcknowledged)
    consumer.consume()
    task_id = CallbackTask.task_id_for(CallbackType.NEW_POLICY, receipt.event_id)
    clock.advance(timedelta(hours=2))
    system.callbacks.attempt(
        task_id,
        AttemptCallback(channel=CallbackChannel.PHONE, outcome=AttemptOutcome.REACHED, recording_ref="REC-7"),
        by(CALLBACK_AGENT),
    )
    return policy_id, task_id


def proxy_marks(system: System, policy_id: UUID) -> list[ProxySignatureDetected]:
    return [e for e in system.policies.history(policy_id) if isinstance(e, ProxySignatureDetected)]


def test_a_no_to_signing_personally_marks_the_policy_and_opens_the_remediation(
    system: System, clock: ControlledClock, consumer: Group
) -> None:
    policy_id, task_id = a_called_life_policy(system, clock, consumer)
    answers = {check.value: "yes" for check in NewPolicyCheck}
    answers[NewPolicyCheck.BOUGHT_AND_SIGNED_PERSONALLY.value] = "no"

    system.callbacks.complete(task_id, CompleteCallback(answers=answers), by(CALLBACK_AGENT))
    consumer.consume()

    issue = system.callbacks.history(task_id)[-1]
    assert isinstance(issue, CallbackIssueFound)
    assert issue.issue is CallbackIssue.PROXY_SIGNATURE
    assert system.callbacks.load(task_id).status is CallbackStatus.ATTEMPTED
    [mark] = proxy_marks(system, policy_id)
    assert (mark.actor.role, mark.causation_id) == (Role.SYSTEM, issue.event_id)
    assert str(task_id) in mark.evidence
    assert issue.remediation_task_id is not None
    remediation = system.callbacks.load(issue.remediation_task_id)
    assert remediation.task_type is CallbackType.MIS_SELLING_REMEDIATION
    assert system.policies.load(policy_id).proxy_signature_detected is True


def test_a_redelivered_finding_marks_the_policy_once(
    system: System, clock: ControlledClock, consumer: Group
) -> None:
    policy_id, task_id = a_called_life_policy(system, clock, consumer)
    answers = {check.value: "yes" for check in NewPolicyCheck}
    answers[NewPolicyCheck.BOUGHT_AND_SIGNED_PERSONALLY.value] = "否"
    system.callbacks.complete(task_id, CompleteCallback(answers=answers), by(CALLBACK_AGENT))
    consumer.consume()

    consumer.forget_progress()
    consumer.consume()

    assert len(proxy_marks(system, policy_id)) == 1
