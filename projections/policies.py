"""保单查询 Policy query: one row per proposal or policy, from submission to its end.

``applicant_name`` is personal data (PIPL): the row holds it so that staff can find a policy by the
applicant; erasing a customer's personal data must therefore reach this table too: ``PersonalDataErased``
names the customer's policies, whose ``applicant_name`` then reads as erased (as a rebuild would read it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import domain.policy as policy_module
from domain.base import DomainEvent
from domain.policy import (
    ConditionalOfferRejected,
    CoolingOffEnded,
    EndorsementApplied,
    ExclusionsExplained,
    PolicyCancelledInCoolingOff,
    PolicyDocumentsPrepared,
    PolicyDocumentsSealed,
    PolicyExpired,
    PolicyIssued,
    PolicyLapsed,
    PolicyReceiptAcknowledged,
    PolicyReinstated,
    PolicyRenewed,
    PolicyRescinded,
    PolicyStatus,
    PolicySurrendered,
    PolicyTerminatedAfterSuspension,
    PremiumReceived,
    PremiumReminderSent,
    PremiumScheduleAgreed,
    ProposalDataEntered,
    ProposalEntryVerified,
    ProposalPreliminaryChecked,
    ProposalSubmitted,
    ProposalWithdrawn,
    ProxySignatureDetected,
    RenewalPremiumBilled,
    RenewalPremiumPaid,
    RiskRated,
    SurrenderNoticeReceived,
    SurrenderRefundPaid,
    UnderwritingDecided,
    UnderwritingDecision,
)
from domain.privacy import ERASED, PersonalDataErased
from projections.base import Column, Key, Row, Table
from projections.columns import event_classes_named, event_name, text, utc

POLICIES = Table(
    name="policies",
    columns=(
        Column("policy_id", "uuid", nullable=False),
        Column("proposal_no", "text", nullable=False),
        Column("policy_no", "text"),
        Column("product_code", "text", nullable=False),
        Column("line", "text", nullable=False),
        Column("status", "text", nullable=False),
        Column("customer_id", "text", nullable=False),
        Column("seller_id", "text", nullable=False),
        Column("applicant_name", "text", nullable=False),
        Column("sum_insured_fen", "bigint", nullable=False),
        Column("premium_fen", "bigint", nullable=False),
        Column("premium_received_fen", "bigint", nullable=False),
        Column("effective_from", "date"),
        Column("effective_to", "date"),
        Column("cooling_off_ends_on", "date"),
        Column("exclusion_clause_ids", "jsonb", nullable=False),
        Column("explained_clause_ids", "jsonb", nullable=False),
        Column("proxy_signature_detected", "boolean", nullable=False),
        Column("exclusions_proven", "boolean", nullable=False),
        Column("callback_check_required", "boolean", nullable=False),
        Column("submitted_at", "timestamptz", nullable=False),
        Column("issued_at", "timestamptz"),
        Column("version", "integer", nullable=False),
        Column("updated_at", "timestamptz", nullable=False),
        # 续期: the premium schedule, the instalment due and its payment period, the suspension (Art. 36/37).
        Column("premium_frequency_months", "integer"),
        Column("instalments", "integer"),
        Column("instalments_paid", "integer"),
        Column("next_due_on", "date"),
        Column("next_due_fen", "bigint"),
        Column("payment_period_ends_at", "timestamptz"),
        Column("reminded_on", "date"),
        Column("suspended_at", "timestamptz"),
        Column("reinstatement_ends_at", "timestamptz"),
        # 退保: the notice, the refund computed, its due instant (Art. 47) and its payment.
        Column("surrender_received_on", "date"),
        Column("refund_due_at", "timestamptz"),
        Column("refund_fen", "bigint"),
        Column("refund_basis", "text"),
        Column("refund_paid_on", "date"),
    ),
    key=("policy_id",),
    indexes=(("customer_id",), ("status",), ("policy_no",), ("seller_id",)),
)

_RENEWAL_COLUMNS = tuple(
    column.name for column in POLICIES.columns[POLICIES.column_names().index("premium_frequency_months") :]
)
"""The 续期 and 退保 columns, added after the first version of the view (null until their events)."""

POLICY_EVENTS = event_classes_named(vars(policy_module), policy_module.__name__)

# Events that only move the lifecycle on: the status each one sets (the aggregates' own apply methods).
_STATUS_AFTER: dict[type[DomainEvent], PolicyStatus] = {
    ProposalDataEntered: PolicyStatus.DATA_ENTERED,
    ProposalEntryVerified: PolicyStatus.ENTRY_VERIFIED,
    RiskRated: PolicyStatus.RATED,
    ConditionalOfferRejected: PolicyStatus.OFFER_REJECTED,
    ProposalWithdrawn: PolicyStatus.WITHDRAWN,
    PolicyDocumentsPrepared: PolicyStatus.DOCUMENTS_PREPARED,
    PolicyDocumentsSealed: PolicyStatus.DOCUMENTS_SEALED,
    CoolingOffEnded: PolicyStatus.IN_FORCE,
    PolicyRescinded: PolicyStatus.RESCINDED,
    PolicyExpired: PolicyStatus.EXPIRED,
}


class PoliciesView:
    """保单查询: a policy's parties, cover, premium, cooling-off and exclusions evidence, by policy id."""

    @property
    def table(self) -> Table:
        return POLICIES

    def keys(self, event: DomainEvent) -> Sequence[Key]:
        """Every policy event changes its own policy's row; an erasure, every policy of the customer."""
        if isinstance(event, PersonalDataErased):
            return [(policy_id,) for policy_id in event.policy_ids]
        return [(event.originator_id,)] if event_name(event) in POLICY_EVENTS else []

    def evolve(self, key: Key, row: Row | None, event: DomainEvent) -> Row | None:
        """The policy's row after ``event``; a redelivered (older) event leaves it as it is."""
        if isinstance(event, ProposalSubmitted):
            return row if row is not None else _submitted(event)
        if isinstance(event, PersonalDataErased):
            # Only the personal column changes: version and times are the policy's own, as in a rebuild.
            return None if row is None else {**row, "applicant_name": ERASED}
        if row is None or event.originator_version <= row["version"]:
            return row
        new = {**row, **_changes(row, event), "version": event.originator_version}
        new["updated_at"] = utc(event.recorded_at)
        new["exclusions_proven"] = (
            set(new["exclusion_clause_ids"]) <= set(new["explained_clause_ids"])
            and not new["proxy_signature_detected"]
        )
        return new


def _submitted(event: ProposalSubmitted) -> Row:
    return {
        "policy_id": event.originator_id,
        "proposal_no": event.proposal_no,
        "policy_no": None,
        "product_code": event.product_code,
        "line": text(event.line),
        "status": text(PolicyStatus.SUBMITTED),
        "customer_id": event.customer_id,
        "seller_id": event.seller_id,
        "applicant_name": event.applicant_name,
        "sum_insured_fen": event.sum_insured_fen,
        "premium_fen": event.quoted_premium_fen,
        "premium_received_fen": 0,
        "effective_from": None,
        "effective_to": None,
        "cooling_off_ends_on": None,
        "exclusion_clause_ids": list(dict.fromkeys(event.exclusion_clause_ids)),
        "explained_clause_ids": [],
        "proxy_signature_detected": False,
        # Nothing explained yet: proven only when there are no exclusion clauses at all.
        "exclusions_proven": not event.exclusion_clause_ids,
        "callback_check_required": False,
        "submitted_at": utc(event.recorded_at),
        "issued_at": None,
        "version": event.originator_version,
        "updated_at": utc(event.recorded_at),
        **dict.fromkeys(_RENEWAL_COLUMNS),
    }


def _changes(row: Row, event: DomainEvent) -> dict[str, Any]:
    if type(event) in _STATUS_AFTER:
        return {"status": text(_STATUS_AFTER[type(event)])}
    if isinstance(event, ProposalPreliminaryChecked):
        return {"status": text(PolicyStatus.PRELIMINARY_CHECKED)} if event.passed else {}
    if isinstance(event, ProxySignatureDetected):
        return {"proxy_signature_detected": True, "callback_check_required": True}
    if isinstance(event, ExclusionsExplained):
        explained = list(dict.fromkeys([*row["explained_clause_ids"], *event.clause_ids]))
        return {"explained_clause_ids": explained}
    if isinstance(event, UnderwritingDecided):
        declined = event.decision is UnderwritingDecision.DECLINED
        return {"status": text(PolicyStatus.DECLINED if declined else PolicyStatus.DECIDED)}
    if isinstance(event, PremiumReceived):
        return {"premium_received_fen": row["premium_received_fen"] + event.amount_fen}
    if isinstance(event, PolicyIssued):
        return {
            "status": text(PolicyStatus.ISSUED),
            "policy_no": event.policy_no,
            "effective_from": event.effective_from,
            "effective_to": event.effective_to,
            "issued_at": utc(event.recorded_at),
        }
    if isinstance(event, PolicyReceiptAcknowledged):
        cooling = event.cooling_off_ends_on is not None
        return {
            "status": text(PolicyStatus.IN_COOLING_OFF if cooling else PolicyStatus.IN_FORCE),
            "cooling_off_ends_on": event.cooling_off_ends_on,
        }
    if isinstance(event, EndorsementApplied):
        changes: dict[str, Any] = {"premium_fen": row["premium_fen"] + event.premium_delta_fen}
        if event.sum_insured_fen is not None:
            changes["sum_insured_fen"] = event.sum_insured_fen
        return changes
    renewal = _renewal_changes(row, event)
    if renewal is not None:
        return renewal
    if isinstance(event, PolicyRenewed):
        return {
            "status": text(PolicyStatus.IN_FORCE),
            "effective_from": event.effective_from,
            "effective_to": event.effective_to,
            "premium_fen": event.premium_fen,
        }
    # Disclosure, rescission grounds and the like change nothing this view shows; version still moves.
    return {}


def _renewal_changes(row: Row, event: DomainEvent) -> dict[str, Any] | None:
    """The changes of a 退保 or 续期 event (None: the event is neither)."""
    if isinstance(event, PremiumScheduleAgreed):
        return {
            "premium_frequency_months": event.frequency_months,
            "instalments": event.instalments,
            "instalments_paid": 1,
        }
    if isinstance(event, RenewalPremiumBilled):
        return {
            "next_due_on": event.due_on,
            "next_due_fen": event.amount_fen,
            "payment_period_ends_at": utc(event.suspends_at),
            "reminded_on": None,
        }
    if isinstance(event, PremiumReminderSent):
        return {"reminded_on": event.reminded_on, "payment_period_ends_at": utc(event.suspends_at)}
    if isinstance(event, RenewalPremiumPaid):
        return _instalment_paid(event.instalment_no)
    if isinstance(event, PolicyLapsed):
        suspended_at = event.payment_period_ended_at
        return {
            "status": text(PolicyStatus.LAPSED),
            "suspended_at": None if suspended_at is None else utc(suspended_at),
            "reinstatement_ends_at": None
            if event.reinstatement_ends_at is None
            else utc(event.reinstatement_ends_at),
        }
    if isinstance(event, PolicyReinstated):
        paid = {} if event.instalment_no is None else _instalment_paid(event.instalment_no)
        return {**paid, "status": text(PolicyStatus.IN_FORCE), "reinstatement_ends_at": None}
    if isinstance(event, PolicyTerminatedAfterSuspension):
        return _refund(PolicyStatus.TERMINATED, event.cash_value_fen, "cash_value_art37")
    if isinstance(event, SurrenderNoticeReceived):
        return {
            "status": text(PolicyStatus.SURRENDER_REQUESTED),
            "surrender_received_on": event.received_on,
            "refund_due_at": utc(event.refund_due_at),
        }
    if isinstance(event, PolicySurrendered):
        return _refund(PolicyStatus.SURRENDERED, event.cash_value_fen, event.basis.value)
    if isinstance(event, PolicyCancelledInCoolingOff):
        return _refund(PolicyStatus.CANCELLED_IN_COOLING_OFF, event.refund_fen, "cooling_off")
    if isinstance(event, SurrenderRefundPaid):
        return {"refund_paid_on": event.paid_on}
    return None


def _instalment_paid(instalment_no: int) -> dict[str, Any]:
    return {
        "instalments_paid": instalment_no,
        "next_due_on": None,
        "next_due_fen": None,
        "payment_period_ends_at": None,
        "reminded_on": None,
    }


def _refund(status: PolicyStatus, refund_fen: int, basis: str) -> dict[str, Any]:
    return {"status": text(status), "refund_fen": refund_fen, "refund_basis": basis}
