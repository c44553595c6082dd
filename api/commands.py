"""The command side of the API: one method per lifecycle step, each run once per Idempotency-Key."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from uuid import UUID, uuid4

import orjson
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import sql
from pydantic import BaseModel, ConfigDict

from api.auth import TokenVerifier
from api.bodies import (
    AcceptConditionalOffer,
    AcknowledgeComplaint,
    AcknowledgeReceipt,
    AdjustClaim,
    AgreeSettlement,
    ApplyEndorsement,
    AssessLoss,
    AssignComplaint,
    AttemptCallback,
    CancelInCoolingOff,
    CheckProposal,
    ClassifyComplaint,
    CloseComplaint,
    CommandBody,
    CompleteAppraisal,
    CompleteCallback,
    CreateCallbackTask,
    DecideClaim,
    DecideReview,
    DecideUnderwriting,
    EnterProposalData,
    EscalateComplaint,
    ExtendComplaint,
    FailCallback,
    IssuePayment,
    IssuePolicy,
    LapsePolicy,
    LodgeComplaint,
    PayAdvance,
    PrepareDocuments,
    RateRisk,
    Reason,
    ReceiveNewFacts,
    ReceivePremium,
    RecordCallbackIssue,
    RecordDisclosure,
    RecordExclusionsExplained,
    RecordProxySignature,
    RecordRescissionGround,
    RecordSurvey,
    RegisterClaim,
    ReinstatePolicy,
    RemedyMisSelling,
    RenewPolicy,
    ReportClaim,
    RequestDocuments,
    RequestReview,
    RescindPolicy,
    RespondToComplaint,
    ReviewClaim,
    ScheduleCallback,
    SealDocuments,
    SendRejectionNotice,
    StartAppraisal,
    SubmitProposal,
    SurrenderPolicy,
    WithdrawComplaint,
    WithdrawProposal,
)
from api.idempotency import IdempotencyStore, IdempotentRequest, KeyHold, StoredAnswer
from api.problems import AuthenticationRequiredError, InvalidApprovalError, is_final_rejection, problem_for
from domain.base import DomainEvent, Role
from domain.callback import CallbackTask
from domain.claim import Claim
from domain.complaint import Complaint, SubjectRef
from domain.policy import Policy
from infra.services.callbacks import Callbacks
from infra.services.claims import Claims
from infra.services.complaints import Complaints
from infra.services.policies import Policies
from infra.store.eventstore import Caller, CaseApplication, CommandResult, ConcurrencyConflictError


class CommandAccepted(BaseModel):
    """A command was stored: the case, its new version (the ETag) and the store position of its last event."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"case_id": "6f1c0f3e-7d2a-4c55-9f4e-1a2b3c4d5e6f", "version": 4, "position": 18452}]
        }
    )

    case_id: UUID
    version: int
    position: int


@dataclass(frozen=True)
class CommandCall:
    """One command request: who sends it (from the token), against which version, under which key.

    ``opening_id`` is the id a command that opens a case gives it: derived from the Idempotency-Key when
    there is one, so that a second run of the same request meets the first one's case at the store's
    unique constraint instead of opening a twin.
    """

    caller: Caller
    expected_version: int | None
    idempotency_key: str | None
    method: str
    path: str
    opening_id: UUID = field(default_factory=uuid4)


@dataclass(frozen=True)
class CommandTarget:
    """The case a command writes to, and the application whose store holds it."""

    app: CaseApplication[Any]
    case_id: UUID


@dataclass(frozen=True)
class CommandAnswer:
    """What the client is told: the first answer to its request, possibly replayed."""

    status: int
    body: dict[str, Any]
    replayed: bool = False


class CommandGateway:
    """Runs a command at most once per (actor, Idempotency-Key), and keeps its answer for the repeats."""

    def __init__(self, idempotency: IdempotencyStore) -> None:
        self._idempotency = idempotency

    def execute(
        self,
        call: CommandCall,
        status: int,
        body: BaseModel | None,
        target: CommandTarget,
        command: Callable[[], CommandResult],
    ) -> CommandAnswer:
        """Run ``command`` unless an earlier request with the same key already answered (or stored)."""
        if call.idempotency_key is None:
            return CommandAnswer(status, _accepted(command()))
        request = IdempotentRequest(
            actor_id=call.caller.actor.id,
            key=call.idempotency_key,
            method=call.method,
            path=call.path,
            request_hash=_fingerprint(call, body),
        )
        held = self._idempotency.claim(request)
        if isinstance(held, StoredAnswer):
            return CommandAnswer(held.status, held.body, replayed=True)
        if held.taken_over:
            # The attempt that held the key died: if it stored its events, its result is the answer.
            earlier = stored_by(target, call.caller)
            if earlier is not None:
                return self._keep(request, held, status, earlier, replayed=True)
        try:
            result = command()
        except ConcurrencyConflictError:
            # The writer that got in first may be this very request (a dead attempt, or an opening
            # command's key-derived id): then its result is the answer, not a conflict.
            earlier = stored_by(target, call.caller)
            if earlier is not None:
                return self._keep(request, held, status, earlier, replayed=True)
            self._idempotency.release(request, held)
            raise
        except Exception as exc:
            if is_final_rejection(exc):
                # The same request would be refused the same way: its repeats get this answer.
                problem, _ = problem_for(exc, call.path)
                self._idempotency.record(
                    request,
                    held,
                    StoredAnswer(problem.status, problem.model_dump(mode="json", exclude_none=True)),
                )
            else:
                # A failure before anything was stored: a retry with the same key runs again.
                self._idempotency.release(request, held)
            raise
        return self._keep(request, held, status, result)

    def _keep(
        self,
        request: IdempotentRequest,
        held: KeyHold,
        status: int,
        result: CommandResult,
        replayed: bool = False,
    ) -> CommandAnswer:
        answer = _accepted(result)
        self._idempotency.record(request, held, StoredAnswer(status, answer))
        return CommandAnswer(status, answer, replayed=replayed)


def stored_by(target: CommandTarget, caller: Caller) -> CommandResult | None:
    """What a command of this request (same correlation id and actor, no causing event) stored on the case.

    The case's events are few, and this runs only when a request meets a dead attempt or a conflict.
    """
    recorder = target.app.recorder
    if not isinstance(recorder, PostgresApplicationRecorder):
        raise TypeError("the API runs on the PostgreSQL event store")
    query = sql.SQL(
        "SELECT originator_version, topic, state, notification_id FROM {} "
        "WHERE originator_id = %s ORDER BY originator_version"
    ).format(sql.Identifier(recorder.datastore.schema, recorder.events_table_name))
    with recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute(query, (target.case_id,))
        rows = cursor.fetchall()
    found: CommandResult | None = None
    for row in rows:
        stored = StoredEvent(target.case_id, row["originator_version"], row["topic"], bytes(row["state"]))
        event = target.app.mapper.to_domain_event(stored)
        if (
            isinstance(event, DomainEvent)
            and event.correlation_id == caller.correlation_id
            and event.causation_id is None
            and event.actor.id == caller.actor.id
        ):
            found = CommandResult(target.case_id, event.originator_version, int(row["notification_id"]))
    return found


def _accepted(result: CommandResult) -> dict[str, Any]:
    return CommandAccepted(
        case_id=result.case_id, version=result.version, position=result.position
    ).model_dump(mode="json")


def _fingerprint(call: CommandCall, body: BaseModel | None) -> str:
    request = {
        "if_match": call.expected_version,
        "body": None if body is None else body.model_dump(mode="json"),
    }
    return hashlib.sha256(orjson.dumps(request, option=orjson.OPT_SORT_KEYS)).hexdigest()


class _CaseCommands:
    def __init__(self, app: CaseApplication[Any], gateway: CommandGateway) -> None:
        self._app = app
        self._gateway = gateway

    def _run(
        self,
        call: CommandCall,
        case_id: UUID,
        body: CommandBody | None,
        command: Callable[..., object],
        **arguments: Any,
    ) -> CommandAnswer:
        args = {**(body.arguments() if body is not None else {}), **arguments}
        return self._gateway.execute(
            call,
            HTTPStatus.OK,
            body,
            CommandTarget(self._app, case_id),
            lambda: self._app.run(case_id, call.caller, call.expected_version, command, **args),
        )


class ClaimCommands(_CaseCommands):
    """Every step of a claim's lifecycle."""

    def __init__(self, claims: Claims, gateway: CommandGateway) -> None:
        super().__init__(claims, gateway)
        self._claims = claims

    def report(self, call: CommandCall, body: ReportClaim) -> CommandAnswer:
        """Open a claim under a new id."""
        claim_id = call.opening_id
        return self._gateway.execute(
            call,
            HTTPStatus.CREATED,
            body,
            CommandTarget(self._claims, claim_id),
            lambda: self._claims.report_claim(call.caller, claim_id=claim_id, **body.arguments()),
        )

    def register(self, call: CommandCall, claim_id: UUID, body: RegisterClaim) -> CommandAnswer:
        return self._run(call, claim_id, body, Claim.register)

    def record_survey(self, call: CommandCall, claim_id: UUID, body: RecordSurvey) -> CommandAnswer:
        return self._run(call, claim_id, body, Claim.record_survey)

    def assess_loss(self, call: CommandCall, claim_id: UUID, body: AssessLoss) -> CommandAnswer:
        return self._run(call, claim_id, body, Claim.assess_loss)

    def request_documents(self, call: CommandCall, claim_id: UUID, body: RequestDocuments) -> CommandAnswer:
        return self._run(call, claim_id, body, Claim.request_documents)

    def receive_document(self, call: CommandCall, claim_id: UUID, doc_type: str) -> CommandAnswer:
        return self._run(call, claim_id, None, Claim.receive_document, doc_type=doc_type)

    def complete_documents(self, call: CommandCall, claim_id: UUID) -> CommandAnswer:
        return self._run(call, claim_id, None, Claim.complete_documents)

    def adjust(self, call: CommandCall, claim_id: UUID, body: AdjustClaim) -> CommandAnswer:
        return self._run(call, claim_id, body, Claim.adjust)

    def review(self, call: CommandCall, claim_id: UUID, body: ReviewClaim) -> CommandAnswer:
        return self._run(call, claim_id, body, Claim.review)

    def decide(self, call: CommandCall, claim_id: UUID, body: DecideClaim) -> CommandAnswer:
        return self._run(call, claim_id, body, Claim.decide)

    def send_rejection_notice(
        self, call: CommandCall, claim_id: UUID, body: SendRejectionNotice
    ) -> CommandAnswer:
        return self._run(call, claim_id, body, Claim.send_rejection_notice)

    def agree_settlement(self, call: CommandCall, claim_id: UUID, body: AgreeSettlement) -> CommandAnswer:
        return self._run(call, claim_id, body, Claim.agree_settlement)

    def pay_advance(self, call: CommandCall, claim_id: UUID, body: PayAdvance) -> CommandAnswer:
        return self._run(call, claim_id, body, Claim.pay_advance)

    def issue_payment(self, call: CommandCall, claim_id: UUID, body: IssuePayment) -> CommandAnswer:
        return self._run(call, claim_id, body, Claim.issue_payment)

    def close(self, call: CommandCall, claim_id: UUID) -> CommandAnswer:
        return self._run(call, claim_id, None, Claim.close)

    def reopen(self, call: CommandCall, claim_id: UUID, body: Reason) -> CommandAnswer:
        return self._run(call, claim_id, body, Claim.reopen)

    def withdraw(self, call: CommandCall, claim_id: UUID, body: Reason) -> CommandAnswer:
        return self._run(call, claim_id, body, Claim.withdraw)


class ComplaintCommands(_CaseCommands):
    """Every step of a complaint's lifecycle."""

    def __init__(self, complaints: Complaints, gateway: CommandGateway, verifier: TokenVerifier) -> None:
        super().__init__(complaints, gateway)
        self._complaints = complaints
        self._verifier = verifier

    def lodge(self, call: CommandCall, body: LodgeComplaint) -> CommandAnswer:
        """Open a complaint under a new id."""
        complaint_id = call.opening_id
        args = body.arguments()
        args["subject_ref"] = SubjectRef(kind=body.subject_ref.kind, ref=body.subject_ref.ref)
        args["involved_staff"] = frozenset(body.involved_staff)
        return self._gateway.execute(
            call,
            HTTPStatus.CREATED,
            body,
            CommandTarget(self._complaints, complaint_id),
            lambda: self._complaints.open_case(
                call.caller, Complaint.lodge, complaint_id=complaint_id, **args
            ),
        )

    def acknowledge(self, call: CommandCall, complaint_id: UUID, body: AcknowledgeComplaint) -> CommandAnswer:
        return self._run(call, complaint_id, body, Complaint.acknowledge)

    def assign(self, call: CommandCall, complaint_id: UUID, body: AssignComplaint) -> CommandAnswer:
        involved = frozenset(body.involved_staff)
        return self._run(call, complaint_id, body, Complaint.assign, involved_staff=involved)

    def classify(self, call: CommandCall, complaint_id: UUID, body: ClassifyComplaint) -> CommandAnswer:
        return self._run(call, complaint_id, body, Complaint.classify)

    def start_appraisal(self, call: CommandCall, complaint_id: UUID, body: StartAppraisal) -> CommandAnswer:
        return self._run(call, complaint_id, body, Complaint.start_appraisal)

    def complete_appraisal(
        self, call: CommandCall, complaint_id: UUID, body: CompleteAppraisal
    ) -> CommandAnswer:
        return self._run(call, complaint_id, body, Complaint.complete_appraisal)

    def receive_new_facts(
        self, call: CommandCall, complaint_id: UUID, body: ReceiveNewFacts
    ) -> CommandAnswer:
        return self._run(call, complaint_id, body, Complaint.receive_new_facts)

    def extend(self, call: CommandCall, complaint_id: UUID, body: ExtendComplaint) -> CommandAnswer:
        """Extend the period; a senior manager's approval is their own token, checked like any other."""
        approver = None
        if body.approver_token is not None:
            try:
                approver = self._verifier.actor(body.approver_token)
            except AuthenticationRequiredError as error:
                raise InvalidApprovalError(error.detail) from None
            if approver.role is not Role.SENIOR_MANAGER:
                raise InvalidApprovalError("approver_token is not a senior manager's token")
        return self._run(call, complaint_id, body, Complaint.extend, approver=approver)

    def respond(self, call: CommandCall, complaint_id: UUID, body: RespondToComplaint) -> CommandAnswer:
        return self._run(call, complaint_id, body, Complaint.respond)

    def request_review(self, call: CommandCall, complaint_id: UUID, body: RequestReview) -> CommandAnswer:
        return self._run(call, complaint_id, body, Complaint.request_review)

    def decide_review(self, call: CommandCall, complaint_id: UUID, body: DecideReview) -> CommandAnswer:
        return self._run(call, complaint_id, body, Complaint.decide_review)

    def withdraw(self, call: CommandCall, complaint_id: UUID, body: WithdrawComplaint) -> CommandAnswer:
        return self._run(call, complaint_id, body, Complaint.withdraw)

    def close(self, call: CommandCall, complaint_id: UUID, body: CloseComplaint) -> CommandAnswer:
        return self._run(call, complaint_id, body, Complaint.close)

    def reopen(self, call: CommandCall, complaint_id: UUID, body: Reason) -> CommandAnswer:
        return self._run(call, complaint_id, body, Complaint.reopen)

    def escalate_externally(
        self, call: CommandCall, complaint_id: UUID, body: EscalateComplaint
    ) -> CommandAnswer:
        return self._run(call, complaint_id, body, Complaint.escalate_externally)


class PolicyCommands(_CaseCommands):
    """Every step of a proposal's and a policy's lifecycle."""

    def __init__(self, policies: Policies, gateway: CommandGateway) -> None:
        super().__init__(policies, gateway)
        self._policies = policies

    def submit(self, call: CommandCall, body: SubmitProposal) -> CommandAnswer:
        """Open a proposal under a new id; the seller's registration is looked up by the service."""
        policy_id = call.opening_id
        return self._gateway.execute(
            call,
            HTTPStatus.CREATED,
            body,
            CommandTarget(self._policies, policy_id),
            lambda: self._policies.submit_proposal(call.caller, policy_id=policy_id, **body.arguments()),
        )

    def record_proxy_signature(
        self, call: CommandCall, policy_id: UUID, body: RecordProxySignature
    ) -> CommandAnswer:
        return self._run(call, policy_id, body, Policy.record_proxy_signature)

    def check(self, call: CommandCall, policy_id: UUID, body: CheckProposal) -> CommandAnswer:
        return self._run(call, policy_id, body, Policy.check_proposal)

    def enter_data(self, call: CommandCall, policy_id: UUID, body: EnterProposalData) -> CommandAnswer:
        return self._run(call, policy_id, body, Policy.enter_data)

    def verify_entry(self, call: CommandCall, policy_id: UUID) -> CommandAnswer:
        return self._run(call, policy_id, None, Policy.verify_entry)

    def record_disclosure(self, call: CommandCall, policy_id: UUID, body: RecordDisclosure) -> CommandAnswer:
        return self._run(call, policy_id, body, Policy.record_disclosure)

    def record_exclusions_explained(
        self, call: CommandCall, policy_id: UUID, body: RecordExclusionsExplained
    ) -> CommandAnswer:
        return self._run(call, policy_id, body, Policy.record_exclusions_explained)

    def rate_risk(self, call: CommandCall, policy_id: UUID, body: RateRisk) -> CommandAnswer:
        return self._run(call, policy_id, body, Policy.rate_risk)

    def decide(self, call: CommandCall, policy_id: UUID, body: DecideUnderwriting) -> CommandAnswer:
        return self._run(call, policy_id, body, Policy.decide_underwriting)

    def accept_conditional_offer(
        self, call: CommandCall, policy_id: UUID, body: AcceptConditionalOffer
    ) -> CommandAnswer:
        return self._run(call, policy_id, body, Policy.accept_conditional_offer)

    def reject_conditional_offer(self, call: CommandCall, policy_id: UUID, body: Reason) -> CommandAnswer:
        return self._run(call, policy_id, body, Policy.reject_conditional_offer)

    def withdraw(self, call: CommandCall, policy_id: UUID, body: WithdrawProposal) -> CommandAnswer:
        return self._run(call, policy_id, body, Policy.withdraw_proposal)

    def prepare_documents(self, call: CommandCall, policy_id: UUID, body: PrepareDocuments) -> CommandAnswer:
        return self._run(call, policy_id, body, Policy.prepare_documents)

    def seal_documents(self, call: CommandCall, policy_id: UUID, body: SealDocuments) -> CommandAnswer:
        return self._run(call, policy_id, body, Policy.seal_documents)

    def receive_premium(self, call: CommandCall, policy_id: UUID, body: ReceivePremium) -> CommandAnswer:
        return self._run(call, policy_id, body, Policy.receive_premium)

    def issue(self, call: CommandCall, policy_id: UUID, body: IssuePolicy) -> CommandAnswer:
        return self._run(call, policy_id, body, Policy.issue)

    def acknowledge_receipt(
        self, call: CommandCall, policy_id: UUID, body: AcknowledgeReceipt
    ) -> CommandAnswer:
        return self._run(call, policy_id, body, Policy.acknowledge_receipt)

    def end_cooling_off(self, call: CommandCall, policy_id: UUID) -> CommandAnswer:
        return self._run(call, policy_id, None, Policy.end_cooling_off)

    def cancel_in_cooling_off(
        self, call: CommandCall, policy_id: UUID, body: CancelInCoolingOff
    ) -> CommandAnswer:
        return self._run(call, policy_id, body, Policy.cancel_in_cooling_off)

    def apply_endorsement(self, call: CommandCall, policy_id: UUID, body: ApplyEndorsement) -> CommandAnswer:
        return self._run(call, policy_id, body, Policy.apply_endorsement)

    def record_rescission_ground(
        self, call: CommandCall, policy_id: UUID, body: RecordRescissionGround
    ) -> CommandAnswer:
        return self._run(call, policy_id, body, Policy.record_rescission_ground)

    def rescind(self, call: CommandCall, policy_id: UUID, body: RescindPolicy) -> CommandAnswer:
        return self._run(call, policy_id, body, Policy.rescind)

    def surrender(self, call: CommandCall, policy_id: UUID, body: SurrenderPolicy) -> CommandAnswer:
        return self._run(call, policy_id, body, Policy.surrender)

    def lapse(self, call: CommandCall, policy_id: UUID, body: LapsePolicy) -> CommandAnswer:
        return self._run(call, policy_id, body, Policy.lapse)

    def reinstate(self, call: CommandCall, policy_id: UUID, body: ReinstatePolicy) -> CommandAnswer:
        return self._run(call, policy_id, body, Policy.reinstate)

    def renew(self, call: CommandCall, policy_id: UUID, body: RenewPolicy) -> CommandAnswer:
        return self._run(call, policy_id, body, Policy.renew)

    def expire(self, call: CommandCall, policy_id: UUID) -> CommandAnswer:
        return self._run(call, policy_id, None, Policy.expire)


class CallbackCommands(_CaseCommands):
    """Every step of a callback task's lifecycle."""

    def __init__(self, callbacks: Callbacks, gateway: CommandGateway) -> None:
        super().__init__(callbacks, gateway)
        self._callbacks = callbacks

    def create(self, call: CommandCall, body: CreateCallbackTask) -> CommandAnswer:
        """Open the task its source event calls for (or answer with the one it already opened)."""
        task_id = CallbackTask.task_id_for(body.task_type, body.source_event_id)
        return self._gateway.execute(
            call,
            HTTPStatus.CREATED,
            body,
            CommandTarget(self._callbacks, task_id),
            lambda: self._callbacks.create_task(call.caller, **body.arguments()),
        )

    def schedule(self, call: CommandCall, task_id: UUID, body: ScheduleCallback) -> CommandAnswer:
        return self._run(call, task_id, body, CallbackTask.schedule)

    def attempt(self, call: CommandCall, task_id: UUID, body: AttemptCallback) -> CommandAnswer:
        return self._run(call, task_id, body, CallbackTask.attempt)

    def complete(self, call: CommandCall, task_id: UUID, body: CompleteCallback) -> CommandAnswer:
        return self._run(call, task_id, body, CallbackTask.complete)

    def fail(self, call: CommandCall, task_id: UUID, body: FailCallback) -> CommandAnswer:
        return self._run(call, task_id, body, CallbackTask.fail)

    def find_issue(self, call: CommandCall, task_id: UUID, body: RecordCallbackIssue) -> CommandAnswer:
        return self._run(call, task_id, body, CallbackTask.find_issue)

    def remedy(self, call: CommandCall, task_id: UUID, body: RemedyMisSelling) -> CommandAnswer:
        return self._run(call, task_id, body, CallbackTask.remedy)

    def cancel(self, call: CommandCall, task_id: UUID, body: Reason) -> CommandAnswer:
        return self._run(call, task_id, body, CallbackTask.cancel)
