"""保全 Policy service requests: requested → identity and documents checked → reviewed → done (the change
applied to the policy) or refused with reasons → customer notified; a request may be withdrawn before it is
done.

The items (``ServiceItem``): contact data and address changes, bank account change, beneficiary change,
sum or premium reduction (减保), payment-method change and policy loan. What each item needs is data
(``ITEM_TERMS``): the documents the handler checks, whether the review is four-eyes, and which fields of the
request carry the change. Its time standard is a row of ``domain.sla`` (``time_standard_rule``).

The rules a request keeps, each a named error below:

- only a policy in force is serviced (SVC-POLICY-IN-FORCE);
- a request carries the change its item names, and nothing else (SVC-CHANGE-COMPLETE);
- a beneficiary is named in personal insurance only (Insurance Law Art. 18 ¶3, IL18-BENEFICIARY-PERSONAL);
- Insurance Law Art. 41: the applicant changes the beneficiary only with the insured's written consent,
  whose reference is recorded; the insured may change it himself (IL41-BENEFICIARY-CONSENT, the Policy's
  own error, so the rule has one id wherever it is checked); the beneficiaries' shares add up to 100 %
  (SVC-BENEFICIARY-SHARES);
- a reduction lowers the sum insured and never raises the premium (SVC-REDUCTION-LOWERS);
- a policy loan only where the product allows one, a product attribute (``PRODUCT_TERMS``,
  SVC-LOAN-NOT-IN-PRODUCT);
- identity is verified and every document the item needs is on file before review (SVC-DOCUMENTS-COMPLETE);
- four-eyes for money items and beneficiary changes: the reviewer is not the handler who checked the
  request (SVC-FOUR-EYES);
- a refusal states its reasons (SVC-REFUSAL-REASONS); a business time never lies after its recording
  (SVC-BUSINESS-TIME).

回访: the brief's callback rules (new policy, survey, claim closure, mis-selling remediation) name no
callback for a policy service request, so none is opened here; the notice to the customer is the
closing step, and it has its own clock (CO-SVC-NOTICE-1WD).

Personal data: the new phone, e-mail, address, bank account and holder, and the beneficiaries' names and
identity numbers are personal fields of ``ServiceRequested`` (sealed per customer); the aggregate keeps none
of them, only the facts its rules need.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any
from uuid import UUID

from pydantic import Field

from domain.base import (
    PERSONAL,
    CaseAggregate,
    CaseCreated,
    Context,
    DomainError,
    DomainEvent,
    Fen,
    FourEyesError,
    PersonalStr,
    Role,
    require_status,
    taken_by,
)
from domain.cover import PolicyCover
from domain.policy import BeneficiaryChangeWithoutConsentError, Line
from domain.sla import ALL_RULES, SlaRule

_PERSONAL_SCHEMA = Field(json_schema_extra={"x-personal-data": True})
# The mark wraps the optional type: inside ``X | None`` the field's own metadata would lose it.
OptionalPersonalStr = Annotated[PersonalStr | None, PERSONAL, _PERSONAL_SCHEMA]
OptionalPersonalStrs = Annotated[tuple[PersonalStr, ...] | None, PERSONAL, _PERSONAL_SCHEMA]

REQUESTED_EVENT = "ServiceRequested"
"""The event whose SLA rows (``domain.sla``) are the items' time standards."""


class ServiceItem(StrEnum):
    """What the customer asks to change (保全项目)."""

    CONTACT_CHANGE = "contact_change"  # 联系方式变更
    ADDRESS_CHANGE = "address_change"  # 地址变更
    BANK_ACCOUNT_CHANGE = "bank_account_change"  # 银行账户变更
    BENEFICIARY_CHANGE = "beneficiary_change"  # 受益人变更
    REDUCTION = "reduction"  # 减保 (sum insured or premium)
    PAYMENT_METHOD_CHANGE = "payment_method_change"  # 交费方式变更
    POLICY_LOAN = "policy_loan"  # 保单贷款


class ServiceChannel(StrEnum):
    """Where the request was made."""

    COUNTER = "counter"
    HOTLINE = "hotline"
    ONLINE = "online"
    AGENT = "agent"


class Requester(StrEnum):
    """Who asks: the applicant (policyholder) or the insured (Art. 41 tells them apart)."""

    APPLICANT = "applicant"
    INSURED = "insured"


class PaymentMethod(StrEnum):
    """How renewal premium is paid."""

    BANK_DEBIT = "bank_debit"
    BANK_TRANSFER = "bank_transfer"
    CASH = "cash"
    ONLINE = "online"


class IdentityCheck(StrEnum):
    """How the requester's identity was verified."""

    ID_CARD_IN_PERSON = "id_card_in_person"
    ONLINE_FACE_MATCH = "online_face_match"
    VERIFIED_CALL = "verified_call"


class ServiceRequestStatus(StrEnum):
    """Where a policy service request stands."""

    REQUESTED = "requested"
    CHECKED = "checked"
    APPROVED = "approved"
    DONE = "done"
    REFUSED = "refused"
    CLOSED = "closed"  # done or refused, and the customer notified
    WITHDRAWN = "withdrawn"


class ServiceOutcome(StrEnum):
    """How the request ended."""

    DONE = "done"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class ItemTerms:
    """What one item needs: its change fields, the documents checked, and whether review is four-eyes."""

    change_fields: frozenset[str]
    """The ``ServiceRequested`` fields that carry this item's change; at least one must be given."""
    required_fields: frozenset[str]
    """Those of them that must all be given."""
    documents: frozenset[str]
    four_eyes: bool
    """Money items and beneficiary changes are reviewed by someone other than the handler."""


_CONTACT_FIELDS = frozenset({"new_phone", "new_email"})
ITEM_TERMS: Mapping[ServiceItem, ItemTerms] = MappingProxyType(
    {
        ServiceItem.CONTACT_CHANGE: ItemTerms(
            change_fields=_CONTACT_FIELDS,
            required_fields=frozenset(),
            documents=frozenset({"request_form"}),
            four_eyes=False,
        ),
        ServiceItem.ADDRESS_CHANGE: ItemTerms(
            change_fields=frozenset({"new_address"}),
            required_fields=frozenset({"new_address"}),
            documents=frozenset({"request_form"}),
            four_eyes=False,
        ),
        ServiceItem.BANK_ACCOUNT_CHANGE: ItemTerms(
            change_fields=frozenset({"bank", "bank_account_no", "account_holder_name"}),
            required_fields=frozenset({"bank", "bank_account_no", "account_holder_name"}),
            documents=frozenset({"request_form", "id_copy", "bank_card_copy"}),
            four_eyes=True,
        ),
        ServiceItem.BENEFICIARY_CHANGE: ItemTerms(
            change_fields=frozenset({"beneficiary_names", "beneficiary_id_numbers", "beneficiary_shares"}),
            required_fields=frozenset({"beneficiary_names", "beneficiary_id_numbers", "beneficiary_shares"}),
            documents=frozenset({"request_form", "id_copy", "beneficiary_id_copies"}),
            four_eyes=True,
        ),
        ServiceItem.REDUCTION: ItemTerms(
            change_fields=frozenset({"new_sum_insured_fen", "premium_delta_fen"}),
            required_fields=frozenset({"new_sum_insured_fen", "premium_delta_fen"}),
            documents=frozenset({"request_form", "id_copy"}),
            four_eyes=True,
        ),
        ServiceItem.PAYMENT_METHOD_CHANGE: ItemTerms(
            change_fields=frozenset({"payment_method"}),
            required_fields=frozenset({"payment_method"}),
            documents=frozenset({"request_form", "id_copy"}),
            four_eyes=True,
        ),
        ServiceItem.POLICY_LOAN: ItemTerms(
            change_fields=frozenset({"loan_amount_fen"}),
            required_fields=frozenset({"loan_amount_fen"}),
            documents=frozenset({"request_form", "id_copy", "bank_card_copy"}),
            four_eyes=True,
        ),
    }
)
"""Per item, as data: its change fields, the documents the handler checks, four-eyes or not."""

_ALL_CHANGE_FIELDS = frozenset().union(*(terms.change_fields for terms in ITEM_TERMS.values()))


@dataclass(frozen=True)
class ProductServiceTerms:
    """What a product's contract allows by way of policy service."""

    allows_policy_loan: bool


PRODUCT_TERMS: Mapping[str, ProductServiceTerms] = MappingProxyType(
    {
        "LIFE-WL-20": ProductServiceTerms(allows_policy_loan=True),  # whole life: it has a cash value
        "MOTOR-COMM-2026": ProductServiceTerms(allows_policy_loan=False),
    }
)
"""The product attributes policy service reads; a product not listed allows no policy loan."""


def product_terms(product_code: str) -> ProductServiceTerms:
    """The service terms of a product (none listed: no policy loan)."""
    return PRODUCT_TERMS.get(product_code, ProductServiceTerms(allows_policy_loan=False))


def time_standard_rule(item: ServiceItem) -> SlaRule:
    """The SLA row (``domain.sla``) that times a request for ``item``: exactly one applies to each item."""
    rules = [
        rule
        for rule in ALL_RULES
        if REQUESTED_EVENT in rule.starts_on and rule.applies({"service_item": item.value})
    ]
    if len(rules) != 1:
        raise ValueError(f"{len(rules)} time standards apply to {item.value}; the rule table needs one")
    return rules[0]


# ---------------------------------------------------------------------------------------------- errors


class ServicePolicyNotInForceError(DomainError):
    """Only a policy in force is serviced: a proposal, or an ended policy, has nothing to change."""

    rule = "SVC-POLICY-IN-FORCE"


class ServiceChangeIncompleteError(DomainError):
    """A request carries the change its item names (every required field), and no other item's change."""

    rule = "SVC-CHANGE-COMPLETE"


class BeneficiaryOnlyInPersonalInsuranceError(DomainError):
    """Art. 18 ¶3: a beneficiary is named in personal insurance (life, health, accident) only."""

    rule = "IL18-BENEFICIARY-PERSONAL"


class BeneficiarySharesError(DomainError):
    """Each named beneficiary has an identity number and a share, and the shares add up to 100 %."""

    rule = "SVC-BENEFICIARY-SHARES"


class ReductionMustLowerError(DomainError):
    """减保 lowers the sum insured below the current one and never raises the premium."""

    rule = "SVC-REDUCTION-LOWERS"


class PolicyLoanNotInProductError(DomainError):
    """A policy loan is granted only where the product's contract allows one."""

    rule = "SVC-LOAN-NOT-IN-PRODUCT"


class ServiceDocumentsIncompleteError(DomainError):
    """The handler checks the requester's identity and every document the item needs before review."""

    rule = "SVC-DOCUMENTS-COMPLETE"


class ServiceReviewerIsHandlerError(FourEyesError):
    """Four-eyes for money items and beneficiary changes: the reviewer is not the handler who checked it."""

    rule = "SVC-FOUR-EYES"


class ServiceRefusalWithoutReasonsError(DomainError):
    """A refused request states its reasons, which the notice to the customer carries."""

    rule = "SVC-REFUSAL-REASONS"


class ServiceTimeInFutureError(DomainError):
    """A business time (receipt, notice) cannot lie after the server recorded it: it would move a clock."""

    rule = "SVC-BUSINESS-TIME"


# ---------------------------------------------------------------------------------------------- events


class ServiceRequested(CaseCreated):
    """保全申请: the customer asked for a change to a policy in force; ``received_at`` starts its clock."""

    TOPIC = "service_request.requested.v1"

    request_no: str = Field(min_length=1)
    policy_id: UUID
    policy_no: str = Field(min_length=1)
    product_code: str = Field(min_length=1)
    customer_id: str = Field(min_length=1)
    item: ServiceItem
    channel: ServiceChannel
    requested_by: Requester
    requester_name: PersonalStr
    received_at: datetime
    four_eyes: bool
    time_standard: str = Field(description="the SLA rule id of the item's time standard")
    new_phone: OptionalPersonalStr = None
    new_email: OptionalPersonalStr = None
    new_address: OptionalPersonalStr = None
    bank: str | None = None
    bank_account_no: OptionalPersonalStr = None
    account_holder_name: OptionalPersonalStr = None
    beneficiary_names: OptionalPersonalStrs = None
    beneficiary_id_numbers: OptionalPersonalStrs = None
    beneficiary_shares: tuple[int, ...] | None = None
    insured_consent_ref: str | None = None
    new_sum_insured_fen: Fen | None = None
    premium_delta_fen: int | None = Field(
        default=None, description="premium change in fen (0.01 CNY); negative is a refund"
    )
    payment_method: PaymentMethod | None = None
    loan_amount_fen: Fen | None = None
    inquiry_id: UUID | None = None
    """The inquiry (咨询) this request was transferred from, if any: the link back to it."""

    def apply(self, request: ServiceRequest) -> None:
        request.status = ServiceRequestStatus.REQUESTED
        request.request_no = self.request_no
        request.policy_id = self.policy_id
        request.policy_no = self.policy_no
        request.customer_id = self.customer_id
        request.item = self.item
        request.four_eyes = self.four_eyes
        request.received_at = self.received_at
        request.inquiry_id = self.inquiry_id


class ServiceRequestChecked(DomainEvent):
    """The handler verified the requester's identity and found every document the item needs."""

    TOPIC = "service_request.checked.v1"

    identity_check: IdentityCheck
    documents: tuple[str, ...]

    def apply(self, request: ServiceRequest) -> None:
        request.status = ServiceRequestStatus.CHECKED
        request.handler_id = self.actor.id


class ServiceRequestApproved(DomainEvent):
    """The request was reviewed and approved (by a second person where the item is four-eyes)."""

    TOPIC = "service_request.approved.v1"

    note: str | None = None

    def apply(self, request: ServiceRequest) -> None:
        request.status = ServiceRequestStatus.APPROVED
        request.reviewer_id = self.actor.id


class ServiceRequestCompleted(DomainEvent):
    """保全完成: the change took effect on the policy, under the endorsement number named here."""

    TOPIC = "service_request.completed.v1"

    endorsement_no: str = Field(min_length=1)
    effective_on: date

    def apply(self, request: ServiceRequest) -> None:
        request.status = ServiceRequestStatus.DONE
        request.outcome = ServiceOutcome.DONE


class ServiceRequestRefused(DomainEvent):
    """The request was refused, with the reasons the customer is told."""

    TOPIC = "service_request.refused.v1"

    reasons: tuple[str, ...]

    def apply(self, request: ServiceRequest) -> None:
        request.status = ServiceRequestStatus.REFUSED
        request.outcome = ServiceOutcome.REFUSED


class ServiceCustomerNotified(DomainEvent):
    """The customer was told the outcome (done, or refused with reasons); ``occurred_at`` is the notice."""

    TOPIC = "service_request.customer-notified.v1"

    channel: str = Field(min_length=1)
    outcome: ServiceOutcome

    def apply(self, request: ServiceRequest) -> None:
        request.status = ServiceRequestStatus.CLOSED


class ServiceRequestWithdrawn(DomainEvent):
    """The customer withdrew the request before it was done."""

    TOPIC = "service_request.withdrawn.v1"

    reason: str = Field(min_length=1)

    def apply(self, request: ServiceRequest) -> None:
        request.status = ServiceRequestStatus.WITHDRAWN
        request.outcome = ServiceOutcome.WITHDRAWN


# ---------------------------------------------------------------------------------------------- aggregate

_PERSONAL_LINES = frozenset({Line.LIFE, Line.HEALTH, Line.ACCIDENT})
_STAFF = (Role.UNDERWRITER, Role.SUPERVISOR)  # no 保全 clerk role in domain.base: operations staff do it
_OPEN = (ServiceRequestStatus.REQUESTED, ServiceRequestStatus.CHECKED, ServiceRequestStatus.APPROVED)


class ServiceRequest(CaseAggregate):
    """A policy service request (保全): its lifecycle and the rules each step keeps."""

    TOPIC = "service_request.aggregate"
    """Explicit, so that stored events and snapshots never name a Python import path."""

    class Created(CaseAggregate.Created):
        """The library's generic creation event: unused here, but it must carry a topic too."""

        TOPIC = "service_request.library-created"

    status: ServiceRequestStatus
    request_no: str
    policy_id: UUID
    policy_no: str
    customer_id: str
    item: ServiceItem
    four_eyes: bool
    received_at: datetime
    handler_id: str | None
    reviewer_id: str | None
    outcome: ServiceOutcome | None
    inquiry_id: UUID | None = None
    """The inquiry (咨询) the request was opened for: only that inquiry is transferred to it."""

    def __init__(self) -> None:
        # Called by the library when ServiceRequested is replayed; its apply method then sets the facts.
        self.handler_id = None
        self.reviewer_id = None
        self.outcome = None

    @classmethod
    @taken_by("request policy service", Role.SELLER, *_STAFF)
    def request(
        cls,
        ctx: Context,
        /,
        *,
        request_id: UUID,
        request_no: str,
        cover: PolicyCover,
        product_code: str,
        line: Line,
        item: ServiceItem,
        channel: ServiceChannel,
        requested_by: Requester,
        requester_name: str,
        received_at: datetime,
        inquiry_id: UUID | None = None,
        **change: Any,
    ) -> ServiceRequest:
        """Record a customer's request for a change to a policy in force, with the change it asks for."""
        _check_not_after_recording("received_at", received_at, ctx)
        if not cover.in_force:
            raise ServicePolicyNotInForceError(f"policy {cover.policy_no} is not in force")
        given = {name: value for name, value in change.items() if value is not None}
        unknown = set(given) - _ALL_CHANGE_FIELDS - {"insured_consent_ref"}
        if unknown:
            raise TypeError(f"unknown change fields {sorted(unknown)}")
        terms = ITEM_TERMS[item]
        foreign = set(given) - terms.change_fields - {"insured_consent_ref"}
        if foreign:
            raise ServiceChangeIncompleteError(
                f"a {item.value} request does not carry {', '.join(sorted(foreign))}"
            )
        missing = terms.required_fields - set(given)
        if missing or not set(given) & terms.change_fields:
            names = ", ".join(sorted(missing or terms.change_fields))
            raise ServiceChangeIncompleteError(f"a {item.value} request gives {names}")
        if item is ServiceItem.BENEFICIARY_CHANGE:
            if line not in _PERSONAL_LINES:
                raise BeneficiaryOnlyInPersonalInsuranceError(
                    f"a {line.value} policy names no beneficiary: only personal insurance does"
                )
            _check_beneficiaries(requested_by, given)
        if item is ServiceItem.REDUCTION:
            _check_reduction(cover, given)
        if item is ServiceItem.POLICY_LOAN and not product_terms(product_code).allows_policy_loan:
            raise PolicyLoanNotInProductError(f"product {product_code} allows no policy loan")
        return cls._open(
            ServiceRequested,
            request_id,
            ctx,
            occurred_at=received_at,
            request_no=request_no,
            policy_id=cover.policy_id,
            policy_no=cover.policy_no,
            product_code=product_code,
            customer_id=cover.customer_id,
            item=item,
            channel=channel,
            requested_by=requested_by,
            requester_name=requester_name,
            received_at=received_at,
            four_eyes=terms.four_eyes,
            time_standard=time_standard_rule(item).rule_id,
            inquiry_id=inquiry_id,
            **given,
        )

    @taken_by("check policy service request", *_STAFF)
    def check(self, ctx: Context, *, identity_check: IdentityCheck, documents: tuple[str, ...]) -> None:
        """Verify the requester's identity and that every document the item needs is on file."""
        require_status("check policy service request", self.status, ServiceRequestStatus.REQUESTED)
        missing = ITEM_TERMS[self.item].documents - set(documents)
        if missing:
            raise ServiceDocumentsIncompleteError(
                f"a {self.item.value} request still lacks {', '.join(sorted(missing))}"
            )
        self._record(
            ServiceRequestChecked,
            ctx,
            identity_check=identity_check,
            documents=tuple(dict.fromkeys(documents)),
        )

    @taken_by("review policy service request", *_STAFF)
    def approve(self, ctx: Context, *, note: str | None = None) -> None:
        """Review and approve a checked request: four-eyes for money items and beneficiary changes."""
        require_status("review policy service request", self.status, ServiceRequestStatus.CHECKED)
        if self.four_eyes and ctx.actor.id == self.handler_id:
            raise ServiceReviewerIsHandlerError(
                f"{ctx.actor.id} checked this {self.item.value} request and may not review it"
            )
        self._record(ServiceRequestApproved, ctx, note=note)

    @taken_by("complete policy service request", *_STAFF)
    def complete(self, ctx: Context, *, effective_on: date) -> None:
        """Record that the approved change took effect on the policy, under the request's number."""
        require_status("complete policy service request", self.status, ServiceRequestStatus.APPROVED)
        self._record(ServiceRequestCompleted, ctx, endorsement_no=self.request_no, effective_on=effective_on)

    @taken_by("refuse policy service request", *_STAFF)
    def refuse(self, ctx: Context, *, reasons: tuple[str, ...]) -> None:
        """Refuse the request with the reasons the customer will be told."""
        require_status("refuse policy service request", self.status, *_OPEN)
        stated = tuple(reason.strip() for reason in reasons if reason.strip())
        if not stated:
            raise ServiceRefusalWithoutReasonsError("a refusal states its reasons")
        self._record(ServiceRequestRefused, ctx, reasons=stated)

    @taken_by("notify policy service customer", *_STAFF, Role.SYSTEM)
    def notify_customer(self, ctx: Context, *, channel: str, notified_at: datetime | None = None) -> None:
        """Tell the customer the outcome: the change done, or the refusal with its reasons."""
        require_status(
            "notify policy service customer",
            self.status,
            ServiceRequestStatus.DONE,
            ServiceRequestStatus.REFUSED,
        )
        at = notified_at or ctx.recorded_at
        _check_not_after_recording("notified_at", at, ctx)
        assert self.outcome is not None  # DONE and REFUSED set it
        self._record(ServiceCustomerNotified, ctx, occurred_at=at, channel=channel, outcome=self.outcome)

    @taken_by("withdraw policy service request", Role.SELLER, *_STAFF)
    def withdraw(self, ctx: Context, *, reason: str) -> None:
        """Record the customer's withdrawal of a request not yet done."""
        require_status("withdraw policy service request", self.status, *_OPEN)
        self._record(ServiceRequestWithdrawn, ctx, reason=reason)


def _check_beneficiaries(requested_by: Requester, given: Mapping[str, Any]) -> None:
    if requested_by is Requester.APPLICANT and not given.get("insured_consent_ref"):
        raise BeneficiaryChangeWithoutConsentError(
            "the applicant changes the beneficiaries only with the insured's written consent (Art. 41); "
            "the insured may change them himself (requested_by=insured)"
        )
    names, ids, shares = (
        given["beneficiary_names"],
        given["beneficiary_id_numbers"],
        given["beneficiary_shares"],
    )
    if not names or len(names) != len(ids) or len(names) != len(shares):
        raise BeneficiarySharesError("each beneficiary is named with an identity number and a share")
    if any(share <= 0 for share in shares) or sum(shares) != 100:
        raise BeneficiarySharesError(f"the shares {list(shares)} do not add up to 100 %")


def _check_reduction(cover: PolicyCover, given: Mapping[str, Any]) -> None:
    new_sum: int = given["new_sum_insured_fen"]
    if new_sum >= cover.sum_insured_fen:
        raise ReductionMustLowerError(
            f"the new sum insured {new_sum} fen is not below the current {cover.sum_insured_fen} fen"
        )
    if given["premium_delta_fen"] > 0:
        raise ReductionMustLowerError("a reduction never raises the premium")


def _check_not_after_recording(name: str, value: datetime, ctx: Context) -> None:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    if value > ctx.recorded_at:
        raise ServiceTimeInFutureError(
            f"{name} {value.isoformat()} is later than its recording at {ctx.recorded_at.isoformat()}"
        )
