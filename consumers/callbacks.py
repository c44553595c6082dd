"""The ``callbacks`` group's handler: open the callback tasks (回访) that policy and claim events call
for, and cancel a policy's open new-policy callback when the policy ends early.

Choices, each made so that a redelivered or replayed event changes nothing twice:

- **One task per (type, source event).** ``Callbacks.create_task`` derives the task id from the type and
  the source event id (``event_id_for(case, version)``, the same on every delivery) and returns the stored
  task on a second create. The task is written through the callback store (another pooled connection),
  like the timers' events; a crash before the consumer commits is repaired by the redelivery, which finds
  the task.
- **Which events open a task.**
  ``PolicyReceiptAcknowledged`` of a life, health or accident policy over one year (the event carries
  ``cooling_off_ends_on`` and the policy at that version says ``cooling_off_applies``): a NEW_POLICY task
  due at the cooling-off end the receipt recorded (24:00 Asia/Shanghai of the last day, rolled past a
  holiday), where LIFE-CALLBACK-15D ends too: inside the cooling-off period.
  ``SurveyDone``: a SURVEY task due as CO-SURVEY-CALLBACK-2WD computes (2 working days after the survey
  day, holidays and make-up days of the default calendar counted). ``ClaimClosed``: a CLAIM_CLOSURE task
  due as CO-CLOSURE-CALLBACK-7D computes (7 days after the closing day). Both start where the timers start
  their clocks (``consumers.timers.start_instant``), so task and timer agree.
- **Customer and seller.** No policy or claim event here carries them, so they are read from the case
  *as it stood at this event's version* (a replay decides as the live run did). A claim has no seller of its
  own: its seller is the seller of its policy, read at the policy's first version (``ProposalSubmitted``
  names the seller and nothing changes it), so that the caller-is-seller check holds for claim callbacks too.
- **Remediation.** ``CallbackIssueFound`` with a ``remediation_task_id`` (mis-selling, proxy signature,
  exclusions unknown) opens a MIS_SELLING_REMEDIATION task with exactly that id: its source event is the
  issue's ``issue_id``, its source case the policy, its seller the policy's (who may not remedy it), and it
  is due as LIFE-MISSELL-15WD computes (15 working days from the issue's recorded time). The event carries
  all of it, so nothing else is read. The group therefore reads the callback topic too.
- **Proxy signature.** ``CallbackIssueFound`` of a proxy signature (代签: the customer says they did not sign
  personally) also marks the policy: the policy records ``ProxySignatureDetected`` by its own command
  (``Policies.record_proxy_signature``), by the system actor, caused by the issue's event, so its exclusions
  evidence is unproven from then on; the remediation task above is its follow-up. The policy is the task's
  source case, or the policy of the claim a survey or closure callback was opened for. Once: a policy that
  already records a proxy signature caused by this event records nothing again.
- **First call.** A task the group opens gets its first call proposed at once, by the system, for the
  instant it was opened (``CallbackScheduled``): ``CallbackTask.schedule`` moves a system slot in quiet hours
  (21:00-09:00 Asia/Shanghai) to 09:00, so a task opened at 22:30 is proposed for 09:00 the next day. Only
  a task with no slot yet is planned: a redelivery, or an agent who planned it first, changes nothing.
- **Cancellation.** ``PolicyCancelledInCoolingOff``, ``PolicyRescinded`` and ``PolicySurrendered`` cancel the
  policy's open NEW_POLICY tasks. No table is kept: the tasks are found by deriving their ids from the
  policy's earlier ``PolicyReceiptAcknowledged`` events (the only events that open a policy's callback), so
  a task opened elsewhere with the same id (the demo's) is found too. A task that does not exist, or is no
  longer open (completed, cancelled by an earlier delivery), is left as it is. Mis-selling remediation
  tasks are not cancelled: the conduct issue they remedy stands whether or not the policy does.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any, Protocol
from uuid import UUID

from psycopg import Connection

from consumers.timers import start_instant
from domain.base import SHANGHAI, Actor, DomainEvent, Role, event_id_for
from domain.calendar import Deadline, compute_deadline, default_calendar
from domain.callback import (
    CallbackIssue,
    CallbackIssueFound,
    CallbackStatus,
    CallbackTask,
    CallbackType,
)
from domain.claim import Claim, ClaimClosed, SurveyDone
from domain.policy import (
    Policy,
    PolicyCancelledInCoolingOff,
    PolicyReceiptAcknowledged,
    PolicyRescinded,
    PolicySurrendered,
    ProxySignatureDetected,
)
from domain.service_order import CALLBACK_RULE_ID as SERVICE_CALLBACK_RULE
from domain.service_order import ServiceOrderCompleted
from domain.sla import rule_by_id
from infra.messaging.contract import ReceivedEvent
from infra.services.callbacks import Callbacks, CancelCallbackTask, CreateCallbackTask, ScheduleCallback
from infra.services.claims import Claims
from infra.services.policies import Policies, RecordProxySignature
from infra.services.service_orders import ServiceOrders
from infra.store.eventstore import Caller, CaseNotFoundError

CALLBACKS_GROUP = "callbacks"
"""The consumer group's name (``caseledger consume --group callbacks``)."""

CALLBACKS_CONTEXTS: tuple[str, ...] = (
    Policies.bounded_context,
    Claims.bounded_context,
    Callbacks.bounded_context,
    ServiceOrders.bounded_context,
)
"""The bounded contexts whose topics the group reads."""

SYSTEM_ACTOR = Actor(id="caseledger", role=Role.SYSTEM)

SURVEY_RULE = "CO-SURVEY-CALLBACK-2WD"
CLOSURE_RULE = "CO-CLOSURE-CALLBACK-7D"
REMEDIATION_RULE = "LIFE-MISSELL-15WD"

OPEN_STATUSES = frozenset(
    {CallbackStatus.CREATED, CallbackStatus.SCHEDULED, CallbackStatus.ATTEMPTED, CallbackStatus.FAILED}
)
"""A task in one of these can still be cancelled (``CallbackTask.cancel``)."""

ENDS_POLICY = (PolicyCancelledInCoolingOff, PolicyRescinded, PolicySurrendered)


class CallbackHandler:
    """Opens and cancels callback tasks through the callback store, in the order of each case's events."""

    def __init__(
        self,
        callbacks: Callbacks,
        policies: Policies,
        claims: Claims,
        service_orders: ServiceOrders | None = None,
    ) -> None:
        self.callbacks = callbacks
        self.policies = policies
        self.claims = claims
        self.service_orders = service_orders

    def handle(self, conn: Connection[Any], event: DomainEvent, received: ReceivedEvent) -> None:
        """Open the task this event calls for, or cancel the tasks it ends; other events change nothing."""
        if isinstance(event, PolicyReceiptAcknowledged):
            self._new_policy(event, received)
        elif isinstance(event, SurveyDone):
            self._claim_callback(CallbackType.SURVEY, SURVEY_RULE, event, received)
        elif isinstance(event, ClaimClosed):
            self._claim_callback(CallbackType.CLAIM_CLOSURE, CLOSURE_RULE, event, received)
        elif isinstance(event, ServiceOrderCompleted):
            self._service_callback(event, received)
        elif isinstance(event, ENDS_POLICY):
            self._cancel_new_policy_tasks(event, received)
        elif isinstance(event, CallbackIssueFound):
            if event.remediation_task_id is not None:
                self._remediation(event)
            if event.issue is CallbackIssue.PROXY_SIGNATURE:
                self._mark_proxy_signature(event, received)

    def _mark_proxy_signature(self, issue: CallbackIssueFound, received: ReceivedEvent) -> None:
        task = self.callbacks.load(received.case_id, version=received.version)
        policy_id = task.source_case_id
        if task.task_type in (CallbackType.SURVEY, CallbackType.CLAIM_CLOSURE):
            policy_id = self.claims.load(task.source_case_id).policy_id
        marked = any(
            isinstance(earlier, ProxySignatureDetected) and earlier.causation_id == issue.event_id
            for earlier in self.policies.history(policy_id)
        )
        if marked:
            return
        self.policies.record_proxy_signature(
            policy_id,
            RecordProxySignature(
                document="proposal and declarations, signed on the applicant's behalf",
                evidence=f"{task.task_type.value} callback {task.id}: {issue.details}",
            ),
            self._caller(issue),
        )

    def _remediation(self, issue: CallbackIssueFound) -> None:
        result = self.callbacks.create_task(
            CreateCallbackTask(
                task_type=CallbackType.MIS_SELLING_REMEDIATION,
                source_event_id=issue.issue_id,
                source_case_id=issue.source_case_id,
                customer_id=issue.customer_id,
                due_by=rule_due_by(REMEDIATION_RULE, issue),
                seller_id=issue.seller_id,
            ),
            self._caller(issue),
        )
        # The timers key LIFE-MISSELL-15WD by the id the issue named: both must be the same task.
        assert result.case_id == issue.remediation_task_id
        self._propose_first_call(result.case_id, issue)

    def _new_policy(self, event: PolicyReceiptAcknowledged, received: ReceivedEvent) -> None:
        if event.cooling_off_ends_on is None:
            return
        policy = self.policies.load(received.case_id, version=received.version)
        if not policy.cooling_off_applies:
            return
        result = self.callbacks.create_task(
            CreateCallbackTask(
                task_type=CallbackType.NEW_POLICY,
                source_event_id=event.event_id,
                source_case_id=received.case_id,
                customer_id=policy.customer_id,
                due_by=new_policy_due_by(event),
                seller_id=policy.seller_id,
            ),
            self._caller(event),
        )
        self._propose_first_call(result.case_id, event)

    def _claim_callback(
        self, task_type: CallbackType, rule_id: str, event: DomainEvent, received: ReceivedEvent
    ) -> None:
        claim = self.claims.load(received.case_id, version=received.version)
        result = self.callbacks.create_task(
            CreateCallbackTask(
                task_type=task_type,
                source_event_id=event.event_id,
                source_case_id=received.case_id,
                customer_id=claim.customer_id,
                due_by=rule_due_by(rule_id, event),
                seller_id=self._seller_of_policy(claim),
            ),
            self._caller(event),
        )
        self._propose_first_call(result.case_id, event)

    def _service_callback(self, event: ServiceOrderCompleted, received: ReceivedEvent) -> None:
        """A done value-added service order opens its callback task, due as CO-VAS-CALLBACK-3WD computes;
        the customer is read from the order as it stood at this event's version."""
        if self.service_orders is None:
            return
        order = self.service_orders.load(received.case_id, version=received.version)
        result = self.callbacks.create_task(
            CreateCallbackTask(
                task_type=CallbackType.VALUE_ADDED_SERVICE,
                source_event_id=event.event_id,
                source_case_id=received.case_id,
                customer_id=order.customer_id,
                due_by=rule_due_by(SERVICE_CALLBACK_RULE, event),
            ),
            self._caller(event),
        )
        self._propose_first_call(result.case_id, event)

    def _propose_first_call(self, task_id: UUID, event: DomainEvent) -> None:
        """Plan a new task's first call for when it was opened, moved out of quiet hours (21:00-09:00).

        The system proposes, the agent may re-plan (``CallbackTask.schedule`` moves a system slot to 09:00
        Asia/Shanghai). Once: a task already planned (a redelivery, or an agent was quicker) keeps its slot.
        """
        task = self.callbacks.load(task_id)
        if task.slot is not None or task.status is not CallbackStatus.CREATED:
            return
        opened_at = task.created_on
        self.callbacks.schedule(task_id, ScheduleCallback(slot=opened_at), self._caller(event), task.version)

    def _seller_of_policy(self, claim: Claim) -> str | None:
        try:
            policy: Policy = self.policies.load(claim.policy_id, version=1)
        except CaseNotFoundError:
            return None
        return policy.seller_id

    def _cancel_new_policy_tasks(self, event: DomainEvent, received: ReceivedEvent) -> None:
        reason = f"{type(event).__name__}: the policy ended, no new-policy callback is due"
        for task_id in self.new_policy_task_ids(received.case_id, received.version):
            try:
                task = self.callbacks.load(task_id)
            except CaseNotFoundError:
                continue
            if task.status not in OPEN_STATUSES:
                continue
            self.callbacks.cancel(task_id, CancelCallbackTask(reason=reason), self._caller(event))

    def new_policy_task_ids(self, policy_id: UUID, before_version: int) -> list[UUID]:
        """The ids of the NEW_POLICY tasks the policy's receipts before ``before_version`` opened."""
        return [
            CallbackTask.task_id_for(
                CallbackType.NEW_POLICY, event_id_for(policy_id, earlier.originator_version)
            )
            for earlier in self.policies.history(policy_id)
            if isinstance(earlier, PolicyReceiptAcknowledged)
            and earlier.cooling_off_ends_on is not None
            and earlier.originator_version < before_version
        ]

    @staticmethod
    def _caller(event: DomainEvent) -> Caller:
        return Caller(SYSTEM_ACTOR, event.correlation_id, event.event_id)


def new_policy_due_by(event: PolicyReceiptAcknowledged) -> datetime:
    """The end of the cooling-off period that ``event`` started, as the policy recorded it (the instant its
    guard and LIFE-CALLBACK-15D read); a receipt recorded before that instant existed: 24:00 Asia/Shanghai
    of its last day."""
    if event.cooling_off_ends_at is not None:
        return event.cooling_off_ends_at
    assert event.cooling_off_ends_on is not None
    return datetime.combine(event.cooling_off_ends_on + timedelta(days=1), time(0), SHANGHAI)


def rule_due_by(rule_id: str, event: DomainEvent) -> datetime:
    """The deadline ``rule_id`` gives a clock started by ``event``, on the default calendar."""
    rule = rule_by_id(rule_id)
    deadline = compute_deadline(rule, start_instant(rule, event), default_calendar())
    assert isinstance(deadline, Deadline)  # no pauses given: never a paused clock
    return deadline.due_at


class CallbackSystem(Protocol):
    """What the callbacks group's handler uses: the task service, and the cases the tasks serve."""

    @property
    def callbacks(self) -> Callbacks: ...

    @property
    def policies(self) -> Policies: ...

    @property
    def claims(self) -> Claims: ...

    @property
    def service_orders(self) -> ServiceOrders: ...


def callbacks_handler(system: CallbackSystem, conn: Connection[Any]) -> CallbackHandler:
    """The handler of the ``callbacks`` group; it keeps no table of its own."""
    return CallbackHandler(system.callbacks, system.policies, system.claims, system.service_orders)
