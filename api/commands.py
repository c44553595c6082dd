"""Pass-throughs still to be replaced by the services' named use cases (see api/gateway.py)."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any
from uuid import UUID

from api.gateway import CommandAnswer, CommandCall, CommandGateway, CommandTarget
from domain.callback import CallbackTask
from domain.claim import Claim
from domain.policy import Policy
from infra.services.callbacks import (
    AttemptCallback,
    Callbacks,
    CompleteCallback,
    CreateCallbackTask,
    FailCallback,
    RecordCallbackIssue,
    RemedyMisSelling,
    ScheduleCallback,
)
from infra.services.claims import (
    AdjustClaim,
    AgreeSettlement,
    AssessLoss,
    Claims,
    DecideClaim,
    IssuePayment,
    PayAdvance,
    RecordSurvey,
    RegisterClaim,
    ReportClaim,
    RequestDocuments,
    ReviewClaim,
    SendRejectionNotice,
)
from infra.services.commands import Command as CommandBody
from infra.services.commands import Reason
from infra.services.policies import (
    AcceptConditionalOffer,
    AcknowledgeReceipt,
    ApplyEndorsement,
    CancelInCoolingOff,
    CheckProposal,
    DecideUnderwriting,
    EnterProposalData,
    IssuePolicy,
    LapsePolicy,
    Policies,
    PrepareDocuments,
    RateRisk,
    ReceivePremium,
    RecordDisclosure,
    RecordExclusionsExplained,
    RecordProxySignature,
    RecordRescissionGround,
    ReinstatePolicy,
    RenewPolicy,
    RescindPolicy,
    SealDocuments,
    SubmitProposal,
    SurrenderPolicy,
    WithdrawProposal,
)
from infra.store.eventstore import CaseApplication


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
