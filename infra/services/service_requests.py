"""ServiceRequests (保全): the application service for policy service requests.

A request is taken against the policy's cover as it stands (in force or not, its sum insured, its customer)
and its product (whether a policy loan is allowed). The done request applies its change to the policy as
an ``EndorsementApplied`` numbered with the request's number: the policy is saved first, then the request;
a repeat after a failure between the two finds the endorsement already on the policy and only records the
request's completion, so the change is never applied twice.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID, uuid4

from pydantic import AwareDatetime, Field

from domain.policy import BeneficiaryChangedBy, EndorsementApplied, Policy
from domain.service_request import (
    IdentityCheck,
    PaymentMethod,
    Requester,
    ServiceChannel,
    ServiceItem,
    ServiceRequest,
    ServiceRequested,
)
from infra.clock import Clock
from infra.services.commands import Command, Fen, Name, Names, Reason, SignedFen, Text, examples
from infra.services.policies import Policies
from infra.store.eventstore import Caller, CaseApplication, CommandResult, ConcurrencyConflictError

# ------------------------------------------------------------------------------------------ commands


class RequestPolicyService(Command):
    """A customer's 保全 request as received: the item, who asks, and the change the item names."""

    model_config = examples(
        {
            "policy_id": "c4e2a8f6-1d3b-4a5c-9e7f-2b4d6f8a0c1e",
            "item": "address_change",
            "channel": "counter",
            "requested_by": "applicant",
            "requester_name": "张三",
            "received_at": "2026-03-09T10:00:00+08:00",
            "new_address": "上海市浦东新区世纪大道 100 号",
        },
        {
            "policy_id": "c4e2a8f6-1d3b-4a5c-9e7f-2b4d6f8a0c1e",
            "item": "beneficiary_change",
            "channel": "agent",
            "requested_by": "applicant",
            "requester_name": "张三",
            "received_at": "2026-03-09T10:00:00+08:00",
            "beneficiary_names": ["李四"],
            "beneficiary_id_numbers": ["110101199001011234"],
            "beneficiary_shares": [100],
            "insured_consent_ref": "CONSENT-2026-0042",
        },
        {
            "policy_id": "c4e2a8f6-1d3b-4a5c-9e7f-2b4d6f8a0c1e",
            "item": "policy_loan",
            "channel": "online",
            "requested_by": "applicant",
            "requester_name": "张三",
            "received_at": "2026-03-09T10:00:00+08:00",
            "loan_amount_fen": 2_000_000,
        },
    )

    policy_id: UUID
    item: ServiceItem
    channel: ServiceChannel
    requested_by: Requester
    requester_name: Name
    received_at: AwareDatetime
    new_phone: Name | None = None
    new_email: Name | None = None
    new_address: Name | None = None
    bank: Name | None = None
    bank_account_no: Name | None = None
    account_holder_name: Name | None = None
    beneficiary_names: Names | None = None
    beneficiary_id_numbers: Names | None = None
    beneficiary_shares: Annotated[list[Annotated[int, Field(ge=0, le=100)]], Field(max_length=100)] | None = (
        None
    )
    insured_consent_ref: Name | None = None
    new_sum_insured_fen: Fen | None = None
    premium_delta_fen: SignedFen | None = None
    payment_method: PaymentMethod | None = None
    loan_amount_fen: Fen | None = None
    inquiry_id: UUID | None = None
    """The inquiry (咨询) the request was transferred from, when it came from one."""

    def arguments(self) -> dict[str, Any]:
        """The domain's arguments, without the policy (the service reads its cover)."""
        arguments = super().arguments()
        del arguments["policy_id"]
        return arguments


class CheckServiceRequest(Command):
    """How the requester's identity was verified, and the documents on file."""

    model_config = examples(
        {"identity_check": "id_card_in_person", "documents": ["request_form", "id_copy", "bank_card_copy"]}
    )

    identity_check: IdentityCheck
    documents: Names


class ApproveServiceRequest(Command):
    """The review's approval (four-eyes for money items and beneficiary changes)."""

    model_config = examples({"note": "bank card matches the account holder"}, {})

    note: Text | None = None


class CompleteServiceRequest(Command):
    """The day the change takes effect on the policy."""

    model_config = examples({"effective_on": "2026-03-10"})

    effective_on: date


class RefuseServiceRequest(Command):
    """The reasons the request is refused, as the customer will be told them."""

    model_config = examples({"reasons": ["the signature on the request form does not match the proposal's"]})

    reasons: Annotated[list[Text], Field(min_length=1, max_length=20)]


class NotifyServiceCustomer(Command):
    """How the customer was told the outcome, and when (now if not given)."""

    model_config = examples(
        {"channel": "sms"}, {"channel": "letter", "notified_at": "2026-03-10T16:00:00+08:00"}
    )

    channel: Name
    notified_at: AwareDatetime | None = None


class WithdrawServiceRequest(Reason):
    """The customer's withdrawal of a request not yet done, with the reason."""


# ------------------------------------------------------------------------------------------- service


def request_no_for(request_id: UUID) -> str:
    """The request's number, which also numbers the endorsement it applies (批单号)."""
    return f"SR{request_id.hex[:10].upper()}"


class ServiceRequests(CaseApplication[ServiceRequest]):
    """ServiceRequests (保全): one method per use case, each taking its command model."""

    aggregate_class = ServiceRequest
    kind = "service_request"
    bounded_context = "service_request"

    def __init__(
        self, env: dict[str, str], clock: Clock, policies: Policies, snapshot_interval: int = 50
    ) -> None:
        super().__init__(env, clock, snapshot_interval)
        self.policies = policies

    def request(
        self, command: RequestPolicyService, by: Caller, request_id: UUID | None = None
    ) -> CommandResult:
        """Take a customer's request for a change to a policy in force; its time standard starts."""
        new_id = request_id or uuid4()
        policy = self.policies.load(command.policy_id)
        return self.open_case(
            by,
            ServiceRequest.request,
            request_id=new_id,
            request_no=request_no_for(new_id),
            cover=self.policies.cover(command.policy_id),
            product_code=policy.product_code,
            line=policy.line,
            **command.arguments(),
        )

    def check(
        self, request_id: UUID, command: CheckServiceRequest, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Verify the requester's identity and the documents the item needs."""
        return self.run(request_id, by, expected_version, ServiceRequest.check, **command.arguments())

    def approve(
        self,
        request_id: UUID,
        command: ApproveServiceRequest,
        by: Caller,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Review and approve: for money items and beneficiary changes, by someone other than the handler."""
        return self.run(request_id, by, expected_version, ServiceRequest.approve, **command.arguments())

    def complete(
        self,
        request_id: UUID,
        command: CompleteServiceRequest,
        by: Caller,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Apply the approved change to the policy (an endorsement numbered with the request), then record
        the request done."""
        service = self.load(request_id)
        if expected_version is not None and service.version != expected_version:
            raise ConcurrencyConflictError(request_id, expected_version, service.version)
        loaded = service.version
        ctx = self.context(by)
        service.complete(ctx, **command.arguments())
        requested = self.history(request_id)[0]
        assert isinstance(requested, ServiceRequested)
        if not self._already_applied(service.policy_id, service.request_no):
            # The policy's own rules (in force, Art. 41) are checked again by its command.
            self.policies.run(
                service.policy_id,
                by,
                None,
                Policy.apply_endorsement,
                **endorsement_of(requested, command.effective_on),
            )
        return self._save(service, expected_version=loaded)

    def refuse(
        self, request_id: UUID, command: RefuseServiceRequest, by: Caller, expected_version: int | None = None
    ) -> CommandResult:
        """Refuse the request, with the reasons the customer is told."""
        return self.run(request_id, by, expected_version, ServiceRequest.refuse, **command.arguments())

    def notify_customer(
        self,
        request_id: UUID,
        command: NotifyServiceCustomer,
        by: Caller,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Tell the customer the outcome; the request closes."""
        return self.run(
            request_id, by, expected_version, ServiceRequest.notify_customer, **command.arguments()
        )

    def withdraw(
        self,
        request_id: UUID,
        command: WithdrawServiceRequest,
        by: Caller,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Record the customer's withdrawal of a request not yet done."""
        return self.run(request_id, by, expected_version, ServiceRequest.withdraw, **command.arguments())

    def _already_applied(self, policy_id: UUID, endorsement_no: str) -> bool:
        return any(
            isinstance(event, EndorsementApplied) and event.endorsement_no == endorsement_no
            for event in self.policies.history(policy_id)
        )


_BENEFICIARY_CHANGED_BY = {
    Requester.APPLICANT: BeneficiaryChangedBy.APPLICANT,
    Requester.INSURED: BeneficiaryChangedBy.INSURED,
}


def endorsement_of(requested: ServiceRequested, effective_on: date) -> dict[str, Any]:
    """The policy endorsement a done request applies: the contract's own terms (sum insured, premium,
    beneficiaries) change on the policy; contact, bank and payment data stay with the request, sealed."""
    arguments: dict[str, Any] = {
        "endorsement_no": requested.request_no,
        "change_type": requested.item.value,
        "description": f"保全 {requested.request_no}: {requested.item.value.replace('_', ' ')}",
        "effective_on": effective_on,
        "premium_delta_fen": requested.premium_delta_fen or 0,
        "sum_insured_fen": requested.new_sum_insured_fen,
    }
    if requested.item is ServiceItem.BENEFICIARY_CHANGE:
        arguments["beneficiary_names"] = requested.beneficiary_names
        arguments["insured_consent_ref"] = requested.insured_consent_ref
        arguments["beneficiary_changed_by"] = _BENEFICIARY_CHANGED_BY[requested.requested_by]
    return arguments
