"""我的待办 Worklist: the open work items of every case type, with who does them and by when.

An item opens on the event that creates the work and is deleted by the event that completes (or makes
pointless) it. Where an SLA rule governs the work, the item carries that rule's clock and its ``due_at`` is
the rule's deadline (null while the clock is paused, e.g. a claim decision while documents are awaited);
``amber_at`` and ``red_at`` are the rule's 50 % and 80 % warnings, for the green / amber / red colour;
``provisional`` says the deadline rests on a year whose holiday notice is not out yet (2027 for now). When a
timer records ``TimerDeadlineRecomputed`` (a newer calendar version was published), the items its rule
dates on that case are dated again on the newest calendar.

Items, per lifecycle: item (role) — opened by → closed by [due]. An SLA item is also closed by the
events that satisfy or cancel its rules.

Policy (承保)
  underwrite proposal (underwriter) — ProposalSubmitted → UnderwritingDecided, ProposalWithdrawn
  issue policy (underwriter) — UnderwritingDecided standard / preferential, ConditionalOfferAccepted
      → PolicyIssued, ProposalWithdrawn
  send premium reminder (underwriter) — RenewalPremiumBilled → PremiumReminderSent, RenewalPremiumPaid;
      cancelled by the suspension or the contract's end [CO-PREMIUM-REMIND-15D, from the due date]
  decide on suspended policy (underwriter) — ReinstatementPeriodEnded → PolicyTerminatedAfterSuspension,
      PolicyReinstated, SurrenderNoticeReceived
  compute surrender value (underwriter) — SurrenderNoticeReceived → PolicySurrendered,
      PolicyCancelledInCoolingOff
  pay surrender refund (underwriter) — SurrenderNoticeReceived → SurrenderRefundPaid [IL47-SURRENDER-30D]
Claim (理赔)
  register claim (claims_handler) — ClaimReported → ClaimRegistered, ClaimDecided, ClaimWithdrawn
  send documents list (claims_handler) — ClaimReported → ClaimDocumentsRequested; cancelled by
      ClaimDocumentsCompleted, ClaimDecided, ClaimWithdrawn [IL22-ONE-TIME-NOTICE-1WD | CTPL28-DOCLIST-1D]
  survey (surveyor) — ClaimRegistered, ClaimReopened → SurveyDone, ClaimDecided, ClaimWithdrawn
  assess loss (surveyor) — SurveyDone → LossAssessed, ClaimDecided, ClaimWithdrawn
  collect documents (claims_handler) — ClaimDocumentsRequested → ClaimDocumentsCompleted, ClaimDecided,
      ClaimWithdrawn
  adjust claim (adjuster) — LossAssessed → ClaimAdjusted, ClaimDecided, ClaimWithdrawn
  review claim (claim_reviewer) — ClaimAdjusted → ClaimReviewed, ClaimDecided, ClaimWithdrawn
  decide claim (claim_reviewer) — ClaimReported, ClaimReviewed → ClaimDecided, ClaimWithdrawn
      [IL23-DETERMINE-30D, paused while documents are awaited | CTPL29-DECIDE-5D]
  send rejection notice (claims_handler) — ClaimDecided not covered / partial → RejectionNoticeSent
      [IL24-REJECT-3D]
  agree settlement (claims_handler) — ClaimDecided covered / partial → SettlementAgreed
  pay settlement (claims_handler) — SettlementAgreed → PaymentIssued, ClaimWithdrawn [IL23-PAY-10D]
  close claim (claims_handler) — PaymentIssued, RejectionNoticeSent not covered, ClaimWithdrawn → ClaimClosed
Complaint (投诉)
  acknowledge complaint (complaints_officer) — ComplaintLodged → ComplaintAcknowledged,
      ComplaintResponded, ComplaintWithdrawn [CO-CMP-ACK-1WD]
  assign complaint (complaints_officer) — ComplaintAcknowledged → ComplaintAssigned, ComplaintWithdrawn
  respond to complaint (complaints_officer) — ComplaintLodged, ComplaintReopened → ComplaintResponded,
      ComplaintWithdrawn [CMP-DECIDE-15D: extended, paused by appraisal, restarted by new facts]
  close complaint (complaints_officer) — ComplaintResponded, ComplaintReviewDecided → ComplaintClosed,
      ComplaintReviewRequested, ComplaintWithdrawn
  decide complaint review (supervisor) — ComplaintReviewRequested → ComplaintReviewDecided,
      ComplaintWithdrawn [CMP-REVIEW-DECIDE-30D]
Policy service (保全)
  handle policy service request (underwriter) — ServiceRequested → ServiceRequestCompleted,
      ServiceRequestRefused, ServiceRequestWithdrawn [CO-SVC-CONTACT-1WD | CO-SVC-MONEY-3WD |
      CO-SVC-CHANGE-5WD, by item]; assigned to the handler who checked it
  review policy service request (underwriter) — ServiceRequestChecked → ServiceRequestApproved,
      ServiceRequestRefused, ServiceRequestWithdrawn
  notify policy service customer (underwriter) — ServiceRequestCompleted, ServiceRequestRefused
      → ServiceCustomerNotified [CO-SVC-NOTICE-1WD]
Callback (回访)
  make callback (callback_agent) — CallbackTaskCreated new policy / survey / closure → CallbackCompleted,
      CallbackFailed, CallbackCancelled [the task's due_by]
  remedy mis-selling (callback_agent) — CallbackTaskCreated remediation → MisSellingRemedied,
      CallbackCancelled [the task's due_by]
  (make callback also opens for a done value-added service order's task [CO-VAS-CALLBACK-3WD])
Inquiry (咨询)
  answer inquiry (callback_agent) — InquiryLogged → InquiryAnswered, InquiryDeferred, InquiryTransferred
  reply to inquiry (callback_agent) — InquiryDeferred → InquiryAnswered, InquiryTransferred [INQ-REPLY-1WD]
  close inquiry (callback_agent) — InquiryAnswered, InquiryTransferred → InquiryClosed
Service order (其他)
  dispatch service order (callback_agent) — ServiceOrderRequested → ServiceOrderDispatched,
      ServiceOrderCancelled
  provider arrival (callback_agent) — ServiceOrderRequested → ServiceProviderArrived, ServiceOrderCancelled
      [VAS-ARRIVE-RESCUE-1H | VAS-ARRIVE-DRIVER-1H | VAS-ARRIVE-PREVENTION-3WD, by the order's kind]
  complete service order (callback_agent) — ServiceProviderArrived → ServiceOrderCompleted,
      ServiceOrderCancelled

Assignee: the actor of the opening event when they hold the item's role (the handler who asked for the
documents collects them); a complaint's handler from ComplaintAssigned; a callback's agent from the last
scheduling or attempt by staff. "close claim" opens on the first payment even if more instalments follow.
A reopened claim's decision item has no deadline: no rule starts a clock on reopening.
The Art. 25 advance (IL25-ADVANCE-60D) is not an item: it runs on every claim with complete documents
until settlement and belongs on the ageing report (day 45+), not on each handler's list.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from domain.base import SHANGHAI, DomainEvent, Role
from domain.calendar import default_calendar
from domain.callback import (
    CallbackAttempted,
    CallbackScheduled,
    CallbackTaskCreated,
    CallbackType,
)
from domain.claim import ClaimDecided, ClaimOutcome, ClaimReported, RejectionNoticeSent
from domain.complaint import ComplaintAssigned
from domain.policy import UnderwritingDecided, UnderwritingDecision
from domain.service_order import ServiceOrderRequested
from domain.service_request import ServiceRequestChecked, ServiceRequested
from domain.sla import FactValue, SlaRule, rule_by_id
from domain.timer import TimerBreached, TimerCancelled, TimerDeadlineRecomputed, TimerSatisfied
from projections import clocks
from projections.base import Column, Key, Row, Table
from projections.columns import JsonObject, event_name, utc

WORKLIST = Table(
    name="worklist",
    columns=(
        Column("case_id", "uuid", nullable=False),
        Column("item", "text", nullable=False),
        Column("case_type", "text", nullable=False),
        Column("role", "text", nullable=False),
        Column("assignee", "text"),
        Column("due_at", "timestamptz"),
        Column("rule_id", "text"),
        Column("amber_at", "timestamptz"),
        Column("red_at", "timestamptz"),
        Column("paused", "boolean", nullable=False),
        Column("provisional", "boolean"),
        Column("opened_at", "timestamptz", nullable=False),
        Column("related_case_id", "uuid"),
        Column("case_facts", "jsonb", nullable=False),
        Column("sla_clocks", "jsonb", nullable=False),
        Column("version", "integer", nullable=False),
        Column("updated_at", "timestamptz", nullable=False),
    ),
    key=("case_id", "item"),
    indexes=(("role", "due_at"), ("assignee", "due_at"), ("due_at",), ("related_case_id",)),
)

_CALLBACK_RULE = {
    CallbackType.NEW_POLICY: "LIFE-CALLBACK-15D",
    CallbackType.SURVEY: "CO-SURVEY-CALLBACK-2WD",
    CallbackType.CLAIM_CLOSURE: "CO-CLOSURE-CALLBACK-7D",
    CallbackType.MIS_SELLING_REMEDIATION: "LIFE-MISSELL-15WD",
    CallbackType.VALUE_ADDED_SERVICE: "CO-VAS-CALLBACK-3WD",
}
"""The rule a callback task's ``due_by`` was set for, named on its item."""

_AMBER, _RED = 50, 80


@dataclass(frozen=True)
class WorkItemKind:
    """One kind of work: the events that open and close it, who does it, and the rules that date it."""

    item: str
    case_type: str
    role: Role
    opened_by: tuple[str, ...]
    closed_by: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    open_if: Callable[[DomainEvent], bool] | None = None
    assign_opener: bool = False
    assigned_by: tuple[str, ...] = ()

    def closing_events(self) -> frozenset[str]:
        """Its own closing events plus those that satisfy or cancel its rules."""
        names = set(self.closed_by)
        for rule_id in self.rules:
            rule = rule_by_id(rule_id)
            names |= {*rule.satisfied_by, *rule.cancelled_by}
        return frozenset(names)

    def event_names(self) -> frozenset[str]:
        """Every event that may touch an item of this kind."""
        names = {*self.opened_by, *self.closing_events(), *self.assigned_by}
        for rule_id in self.rules:
            names |= rule_by_id(rule_id).event_names()
        return frozenset(names)

    def opens(self, event: DomainEvent) -> bool:
        """Whether ``event`` opens an item of this kind."""
        return event_name(event) in self.opened_by and (self.open_if is None or self.open_if(event))


def _decided_as(*outcomes: ClaimOutcome) -> Callable[[DomainEvent], bool]:
    return lambda event: isinstance(event, ClaimDecided) and event.outcome in outcomes


def _closable(event: DomainEvent) -> bool:
    # A partial decision's notice refuses only the part not paid: the claim closes after its payment.
    return not isinstance(event, RejectionNoticeSent) or event.outcome is ClaimOutcome.NOT_COVERED


def _accepted(event: DomainEvent) -> bool:
    if isinstance(event, UnderwritingDecided):
        return event.decision in (UnderwritingDecision.STANDARD, UnderwritingDecision.PREFERENTIAL)
    return True


def _callback_of(*types: CallbackType) -> Callable[[DomainEvent], bool]:
    return lambda event: isinstance(event, CallbackTaskCreated) and event.type in types


_CLAIM_ENDS = ("ClaimDecided", "ClaimWithdrawn")
_CALLBACK_STAFF = ("CallbackScheduled", "CallbackAttempted")
_CALL_TYPES = (
    CallbackType.NEW_POLICY,
    CallbackType.SURVEY,
    CallbackType.CLAIM_CLOSURE,
    CallbackType.VALUE_ADDED_SERVICE,
)

KINDS: tuple[WorkItemKind, ...] = (
    WorkItemKind(
        "underwrite proposal",
        "policy",
        Role.UNDERWRITER,
        opened_by=("ProposalSubmitted",),
        closed_by=("UnderwritingDecided", "ProposalWithdrawn"),
    ),
    WorkItemKind(
        "issue policy",
        "policy",
        Role.UNDERWRITER,
        opened_by=("UnderwritingDecided", "ConditionalOfferAccepted"),
        closed_by=("PolicyIssued", "ProposalWithdrawn"),
        open_if=_accepted,
    ),
    # 续期 and 退保 (issue #14 points 3 and 4)
    WorkItemKind(
        "send premium reminder",
        "policy",
        Role.UNDERWRITER,
        opened_by=("RenewalPremiumBilled",),
        rules=("CO-PREMIUM-REMIND-15D",),
    ),
    WorkItemKind(
        "decide on suspended policy",
        "policy",
        Role.UNDERWRITER,
        opened_by=("ReinstatementPeriodEnded",),
        closed_by=("PolicyTerminatedAfterSuspension", "PolicyReinstated", "SurrenderNoticeReceived"),
    ),
    WorkItemKind(
        "compute surrender value",
        "policy",
        Role.UNDERWRITER,
        opened_by=("SurrenderNoticeReceived",),
        closed_by=("PolicySurrendered", "PolicyCancelledInCoolingOff"),
        assign_opener=True,
    ),
    WorkItemKind(
        "pay surrender refund",
        "policy",
        Role.UNDERWRITER,
        opened_by=("SurrenderNoticeReceived",),
        rules=("IL47-SURRENDER-30D",),
        assign_opener=True,
    ),
    WorkItemKind(
        "register claim",
        "claim",
        Role.CLAIMS_HANDLER,
        opened_by=("ClaimReported",),
        closed_by=("ClaimRegistered", *_CLAIM_ENDS),
        assign_opener=True,
    ),
    WorkItemKind(
        "send documents list",
        "claim",
        Role.CLAIMS_HANDLER,
        opened_by=("ClaimReported",),
        rules=("IL22-ONE-TIME-NOTICE-1WD", "CTPL28-DOCLIST-1D"),
        assign_opener=True,
    ),
    WorkItemKind(
        "survey",
        "claim",
        Role.SURVEYOR,
        opened_by=("ClaimRegistered", "ClaimReopened"),
        closed_by=("SurveyDone", *_CLAIM_ENDS),
    ),
    WorkItemKind(
        "assess loss",
        "claim",
        Role.SURVEYOR,
        opened_by=("SurveyDone",),
        closed_by=("LossAssessed", *_CLAIM_ENDS),
        assign_opener=True,
    ),
    WorkItemKind(
        "collect documents",
        "claim",
        Role.CLAIMS_HANDLER,
        opened_by=("ClaimDocumentsRequested",),
        closed_by=("ClaimDocumentsCompleted", *_CLAIM_ENDS),
        assign_opener=True,
    ),
    WorkItemKind(
        "adjust claim",
        "claim",
        Role.ADJUSTER,
        opened_by=("LossAssessed",),
        closed_by=("ClaimAdjusted", *_CLAIM_ENDS),
    ),
    WorkItemKind(
        "review claim",
        "claim",
        Role.CLAIM_REVIEWER,
        opened_by=("ClaimAdjusted",),
        closed_by=("ClaimReviewed", *_CLAIM_ENDS),
    ),
    WorkItemKind(
        "decide claim",
        "claim",
        Role.CLAIM_REVIEWER,
        opened_by=("ClaimReported", "ClaimReviewed"),
        rules=("IL23-DETERMINE-30D", "CTPL29-DECIDE-5D"),
    ),
    WorkItemKind(
        "send rejection notice",
        "claim",
        Role.CLAIMS_HANDLER,
        opened_by=("ClaimDecided",),
        rules=("IL24-REJECT-3D",),
        open_if=_decided_as(ClaimOutcome.NOT_COVERED, ClaimOutcome.PARTIAL),
    ),
    WorkItemKind(
        "agree settlement",
        "claim",
        Role.CLAIMS_HANDLER,
        opened_by=("ClaimDecided",),
        closed_by=("SettlementAgreed",),
        open_if=_decided_as(ClaimOutcome.COVERED, ClaimOutcome.PARTIAL),
    ),
    WorkItemKind(
        "pay settlement",
        "claim",
        Role.CLAIMS_HANDLER,
        opened_by=("SettlementAgreed",),
        rules=("IL23-PAY-10D",),
        assign_opener=True,
    ),
    WorkItemKind(
        "close claim",
        "claim",
        Role.CLAIMS_HANDLER,
        opened_by=("PaymentIssued", "RejectionNoticeSent", "ClaimWithdrawn"),
        closed_by=("ClaimClosed",),
        open_if=_closable,
        assign_opener=True,
    ),
    WorkItemKind(
        "acknowledge complaint",
        "complaint",
        Role.COMPLAINTS_OFFICER,
        opened_by=("ComplaintLodged",),
        rules=("CO-CMP-ACK-1WD",),
        assign_opener=True,
    ),
    WorkItemKind(
        "assign complaint",
        "complaint",
        Role.COMPLAINTS_OFFICER,
        opened_by=("ComplaintAcknowledged",),
        closed_by=("ComplaintAssigned", "ComplaintWithdrawn"),
    ),
    WorkItemKind(
        "respond to complaint",
        "complaint",
        Role.COMPLAINTS_OFFICER,
        opened_by=("ComplaintLodged", "ComplaintReopened"),
        rules=("CMP-DECIDE-15D",),
        assigned_by=("ComplaintAssigned",),
    ),
    WorkItemKind(
        "close complaint",
        "complaint",
        Role.COMPLAINTS_OFFICER,
        opened_by=("ComplaintResponded", "ComplaintReviewDecided"),
        closed_by=("ComplaintClosed", "ComplaintReviewRequested", "ComplaintWithdrawn"),
        assign_opener=True,
    ),
    WorkItemKind(
        "decide complaint review",
        "complaint",
        Role.SUPERVISOR,
        opened_by=("ComplaintReviewRequested",),
        rules=("CMP-REVIEW-DECIDE-30D",),
    ),
    WorkItemKind(
        "make callback",
        "callback",
        Role.CALLBACK_AGENT,
        opened_by=("CallbackTaskCreated",),
        closed_by=("CallbackCompleted", "CallbackFailed", "CallbackCancelled"),
        open_if=_callback_of(*_CALL_TYPES),
        assigned_by=_CALLBACK_STAFF,
    ),
    WorkItemKind(
        "remedy mis-selling",
        "callback",
        Role.CALLBACK_AGENT,
        opened_by=("CallbackTaskCreated",),
        closed_by=("MisSellingRemedied", "CallbackCancelled"),
        open_if=_callback_of(CallbackType.MIS_SELLING_REMEDIATION),
        assigned_by=_CALLBACK_STAFF,
    ),
    # 保全 policy service: the request's time standard runs on its handling item until done or refused.
    WorkItemKind(
        "handle policy service request",
        "service_request",
        Role.UNDERWRITER,
        opened_by=("ServiceRequested",),
        rules=("CO-SVC-CONTACT-1WD", "CO-SVC-MONEY-3WD", "CO-SVC-CHANGE-5WD"),
        assigned_by=("ServiceRequestChecked",),
    ),
    WorkItemKind(
        "review policy service request",
        "service_request",
        Role.UNDERWRITER,
        opened_by=("ServiceRequestChecked",),
        closed_by=("ServiceRequestApproved", "ServiceRequestRefused", "ServiceRequestWithdrawn"),
    ),
    WorkItemKind(
        "notify policy service customer",
        "service_request",
        Role.UNDERWRITER,
        opened_by=("ServiceRequestCompleted", "ServiceRequestRefused"),
        rules=("CO-SVC-NOTICE-1WD",),
        assign_opener=True,
    ),
    # ---- 咨询 inquiries and 其他 value-added service orders (issue #14 points 1 and 5)
    WorkItemKind(
        "answer inquiry",
        "inquiry",
        Role.CALLBACK_AGENT,
        opened_by=("InquiryLogged",),
        closed_by=("InquiryAnswered", "InquiryDeferred", "InquiryTransferred"),
        assign_opener=True,
    ),
    WorkItemKind(
        "reply to inquiry",
        "inquiry",
        Role.CALLBACK_AGENT,
        opened_by=("InquiryDeferred",),
        rules=("INQ-REPLY-1WD",),
        assign_opener=True,
    ),
    WorkItemKind(
        "close inquiry",
        "inquiry",
        Role.CALLBACK_AGENT,
        opened_by=("InquiryAnswered", "InquiryTransferred"),
        closed_by=("InquiryClosed",),
        assign_opener=True,
    ),
    WorkItemKind(
        "dispatch service order",
        "service_order",
        Role.CALLBACK_AGENT,
        opened_by=("ServiceOrderRequested",),
        closed_by=("ServiceOrderDispatched", "ServiceOrderCancelled"),
        assign_opener=True,
    ),
    WorkItemKind(
        "provider arrival",
        "service_order",
        Role.CALLBACK_AGENT,
        opened_by=("ServiceOrderRequested",),
        rules=("VAS-ARRIVE-RESCUE-1H", "VAS-ARRIVE-DRIVER-1H", "VAS-ARRIVE-PREVENTION-3WD"),
        assign_opener=True,
    ),
    WorkItemKind(
        "complete service order",
        "service_order",
        Role.CALLBACK_AGENT,
        opened_by=("ServiceProviderArrived",),
        closed_by=("ServiceOrderCompleted", "ServiceOrderCancelled"),
        assign_opener=True,
    ),
)
"""Every kind of work item, as in the table of the module docstring."""

_BY_ITEM: Mapping[str, WorkItemKind] = {kind.item: kind for kind in KINDS}
_CLOSED_BY: Mapping[str, frozenset[str]] = {kind.item: kind.closing_events() for kind in KINDS}
_RULES: Mapping[str, tuple[SlaRule, ...]] = {kind.item: tuple(map(rule_by_id, kind.rules)) for kind in KINDS}
_KINDS_BY_RULE: Mapping[str, tuple[WorkItemKind, ...]] = {
    rule_id: tuple(kind for kind in KINDS if rule_id in kind.rules)
    for rule_id in sorted({rule_id for kind in KINDS for rule_id in kind.rules})
}
_KINDS_BY_EVENT: Mapping[str, tuple[WorkItemKind, ...]] = {
    name: tuple(kind for kind in KINDS if name in kind.event_names())
    for name in sorted({name for kind in KINDS for name in kind.event_names()})
}


class WorklistView:
    """Open work items across policies, claims, complaints and callbacks, keyed by case and item."""

    @property
    def table(self) -> Table:
        return WORKLIST

    def keys(self, event: DomainEvent) -> Sequence[Key]:
        """The items of the event's case that the event may open, change or close."""
        if isinstance(event, TimerBreached | TimerSatisfied | TimerCancelled):
            if event.subject_id is None or event.rule_id is None:
                return []
            return [(event.subject_id, f"{ESCALATION}{event.rule_id}")]
        if isinstance(event, TimerDeadlineRecomputed):
            return [(event.subject_id, kind.item) for kind in _KINDS_BY_RULE.get(event.rule_id, ())]
        return [(event.originator_id, kind.item) for kind in _KINDS_BY_EVENT.get(event_name(event), ())]

    def evolve(self, key: Key, row: Row | None, event: DomainEvent) -> Row | None:
        """The item after ``event``: opened, re-dated, re-assigned, or closed (``None``)."""
        if isinstance(event, TimerBreached | TimerSatisfied | TimerCancelled):
            return _escalation(row, event)
        if isinstance(event, TimerDeadlineRecomputed):
            if row is None:
                return None
            # Dated again on the newest calendar; the item's own version is the case's, left as it is.
            redated: Row = {**row, "sla_clocks": clocks.redated(row["sla_clocks"])}
            return {**redated, **_dates(redated)}
        kind = _BY_ITEM[key[1]]
        name = event_name(event)
        if row is not None and event.originator_version <= row["version"]:
            return row
        if name in _CLOSED_BY[kind.item]:
            return None
        if row is None:
            if not kind.opens(event):
                return None
            row = _opened(kind, event)
        facts = {**row["case_facts"], **_facts(event)}
        running = clocks.advance(row["sla_clocks"], _RULES[kind.item], event, facts)
        assignee = _assignee(event) if name in kind.assigned_by else None
        updated: Row = {
            **row,
            "assignee": assignee or row["assignee"],
            "case_facts": facts,
            "sla_clocks": running,
            "version": event.originator_version,
            "updated_at": utc(event.recorded_at),
        }
        return {**updated, **_dates(updated)} if kind.rules else updated


ESCALATION = "escalation: "
"""Prefix of the item a breached SLA timer opens for the role its rule escalates to."""


def _escalation(row: Row | None, event: TimerBreached | TimerSatisfied | TimerCancelled) -> Row | None:
    """A breach opens an escalation item (a breach never changes a case silently); meeting the obligation
    late, or its falling away, closes it."""
    if not isinstance(event, TimerBreached):
        return None
    if row is not None:
        return row
    assert event.subject_id is not None  # keys() names no row otherwise
    return {
        "case_id": event.subject_id,
        "item": f"{ESCALATION}{event.rule_id}",
        "case_type": event.case_context or "",
        "role": (event.escalate_to or Role.SUPERVISOR).value,
        "assignee": None,
        "due_at": None,
        "rule_id": event.rule_id,
        "amber_at": None,
        "red_at": None,
        "paused": False,
        "provisional": False,
        "opened_at": utc(event.recorded_at),
        "related_case_id": event.originator_id,
        "case_facts": {"regulator_reportable": event.regulator_reportable},
        "sla_clocks": [],
        "version": event.originator_version,
        "updated_at": utc(event.recorded_at),
    }


def _opened(kind: WorkItemKind, event: DomainEvent) -> Row:
    opener = event.actor.id if kind.assign_opener and event.actor.role is kind.role else None
    row: Row = {
        "case_id": event.originator_id,
        "item": kind.item,
        "case_type": kind.case_type,
        "role": kind.role.value,
        "assignee": opener,
        "due_at": None,
        "rule_id": None,
        "amber_at": None,
        "red_at": None,
        "paused": False,
        "provisional": False,
        "opened_at": utc(event.recorded_at),
        "related_case_id": _related_case(event),
        "case_facts": {},
        "sla_clocks": [],
        "version": event.originator_version,
        "updated_at": utc(event.recorded_at),
    }
    if isinstance(event, CallbackTaskCreated):
        row.update(_callback_dates(event))
    return row


def _callback_dates(event: CallbackTaskCreated) -> dict[str, Any]:
    # The task carries its own due instant; the warnings are the same shares of the time it was given.
    opened, due = utc(event.recorded_at), utc(event.due_by)
    span = max(due - opened, timedelta(0))
    return {
        "due_at": due,
        "rule_id": _CALLBACK_RULE[event.type],
        "amber_at": opened + span * _AMBER / 100,
        "red_at": opened + span * _RED / 100,
        # The task's due was counted on the calendar up to its last day: provisional if that day's is.
        "provisional": due.astimezone(SHANGHAI).year in default_calendar().provisional_years,
    }


def _dates(row: Row) -> dict[str, Any]:
    running: list[JsonObject] = row["sla_clocks"]
    due, rule_id = clocks.next_due(running)
    clock = clocks.clock_for(running, rule_id) if rule_id is not None else None
    return {
        "due_at": due,
        "rule_id": rule_id,
        "amber_at": None if clock is None else clocks.warning_at(clock, _AMBER),
        "red_at": None if clock is None else clocks.warning_at(clock, _RED),
        "paused": any(clocks.is_paused(c) for c in running),
        "provisional": clock is not None and clocks.is_provisional(clock),
    }


def _facts(event: DomainEvent) -> dict[str, FactValue]:
    if isinstance(event, ClaimReported):
        return {"ctpl": event.ctpl}
    if isinstance(event, ClaimDecided):
        return {"claim_outcome": event.outcome.value}
    if isinstance(event, ServiceRequested):
        return {"service_item": event.item.value}
    if isinstance(event, ServiceOrderRequested):
        return {"service_kind": event.kind.value}
    return {}


def _assignee(event: DomainEvent) -> str | None:
    if isinstance(event, ComplaintAssigned):
        return event.handler_id
    if isinstance(event, CallbackScheduled | CallbackAttempted) and event.actor.role is not Role.SYSTEM:
        return event.actor.id
    if isinstance(event, ServiceRequestChecked):
        return event.actor.id
    return None


def _related_case(event: DomainEvent) -> UUID | None:
    if isinstance(event, CallbackTaskCreated):
        return event.source_case_id
    if isinstance(event, ServiceRequested):
        return event.policy_id
    return None


def colour(due_at: datetime | None, amber_at: datetime | None, red_at: datetime | None, at: datetime) -> str:
    """The timer colour at ``at``: green, amber (≥ 50 %), red (≥ 80 %), breached; "none" without a due."""
    if due_at is None:
        return "none"
    if at >= due_at:
        return "breached"
    if red_at is not None and at >= red_at:
        return "red"
    if amber_at is not None and at >= amber_at:
        return "amber"
    return "green"
