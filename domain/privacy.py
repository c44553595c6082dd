"""个人信息 Personal data: the retention clocks that keep a customer's personal data, and its erasure.

Personal fields are encrypted at rest with one key per customer (``infra/keystore.py``). Erasing a customer
destroys that key (crypto-shredding): every stored, published or projected copy of the fields then reads as
``ERASED``, while the rest of each case stays as it was. PIPL Art. 47 asks for deletion once the purpose is
served, except where another law requires the data to be kept; so the key may be destroyed only when every
retention clock of the customer (reference §1.6) has run out. The clocks, as data (``RETENTION_RULES``):

- an open case (a policy not yet ended, a claim or complaint not yet closed) holds everything: its clock
  has not even started (``RET-OPEN-CASE``);
- sales records (双录, electronic records) of a contract: 5 years after it ends when its term is at most one
  year, 10 years when longer (``RET-SALES-5Y`` / ``RET-SALES-10Y``). A proposal that never became a contract
  is counted from the day it ended, as its sales records exist all the same;
- a complaint file: 3 years after closure (``RET-COMPLAINT-3Y``);
- a claim that paid money: its payment is an accounting voucher, kept 30 years (会计档案管理办法 2015),
  and the payee's name and account are part of it, so the customer's key is kept 30 years after the claim
  closed (``RET-VOUCHER-30Y``). Premium receipts carry no personal field: erasure leaves them whole;
- a manual hold (``RetentionHoldPlaced``): a legal hold (litigation, a regulator's request) lasts until it
  is released; a dispute hold lasts until 2 years after the dispute ends, i.e. after its release
  (``RET-DISPUTE-2Y``, the "+2 y after a dispute ends" of the sales-record rule).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Self
from uuid import UUID, uuid5

from pydantic import BaseModel, ConfigDict, Field

from domain.base import (
    SHANGHAI,
    CaseAggregate,
    CaseCreated,
    Context,
    DomainError,
    DomainEvent,
    Role,
    taken_by,
)
from domain.claim import Claim, ClaimStatus
from domain.complaint import Complaint, ComplaintStatus
from domain.policy import Policy, PolicyStatus

ERASED = "[erased]"
"""What a personal field reads as once its customer's key is destroyed (a string, so every schema holds)."""

_SUBJECT_ID_NAMESPACE = UUID("3d1e5f0a-7c2b-5e4d-8a6f-0b9c1d2e3f4a")


def subject_id_for(customer_id: str) -> UUID:
    """The id of a customer's data-subject record: one per customer, the same in every process."""
    return uuid5(_SUBJECT_ID_NAMESPACE, customer_id)


class CaseKind(StrEnum):
    """The kinds of case whose records hold a customer's personal data."""

    POLICY = "policy"
    CLAIM = "claim"
    COMPLAINT = "complaint"


@dataclass(frozen=True)
class CaseRecord:
    """What the retention rules read of one of the customer's cases, taken from its aggregate."""

    kind: CaseKind
    case_id: UUID
    ended_on: date | None
    """The day the contract ended or the case closed; ``None`` while it is open."""
    term_months: int = 0
    money_paid: bool = False


@dataclass(frozen=True)
class RetentionRule:
    """A minimum retention period: ``years`` after the case ended, for cases ``applies`` accepts."""

    rule_id: str
    applies_to: CaseKind
    years: int
    after: str
    basis: str
    applies: Callable[[CaseRecord], bool]


OPEN_CASE_RULE = "RET-OPEN-CASE"
LEGAL_HOLD_RULE = "RET-LEGAL-HOLD"
DISPUTE_RULE = "RET-DISPUTE-2Y"
DISPUTE_YEARS = 2

RETENTION_RULES: tuple[RetentionRule, ...] = (
    RetentionRule(
        "RET-SALES-5Y",
        CaseKind.POLICY,
        5,
        "the contract ends",
        "sales records of a contract of at most one year (reference §1.6, [S R18])",
        lambda case: case.term_months <= 12,
    ),
    RetentionRule(
        "RET-SALES-10Y",
        CaseKind.POLICY,
        10,
        "the contract ends",
        "sales records of a contract of more than one year (reference §1.6, [S R18])",
        lambda case: case.term_months > 12,
    ),
    RetentionRule(
        "RET-COMPLAINT-3Y",
        CaseKind.COMPLAINT,
        3,
        "the complaint is closed",
        "complaint files (reference §1.6)",
        lambda case: True,
    ),
    RetentionRule(
        "RET-VOUCHER-30Y",
        CaseKind.CLAIM,
        30,
        "the claim is closed",
        "accounting vouchers of claim payments, payee included (会计档案管理办法 2015)",
        lambda case: case.money_paid,
    ),
)


class HoldGround(StrEnum):
    """Why a hold was placed by hand: it decides how long it lasts once released."""

    LEGAL = "legal"
    """Litigation or a regulator's request: the data is kept until the hold is released."""
    DISPUTE = "dispute"
    """A dispute about a sale: the sales records are kept 2 years after the dispute ends."""


class RetentionHold(BaseModel):
    """One clock that keeps the customer's personal data, and the day it runs out (``None``: not known)."""

    model_config = ConfigDict(frozen=True)

    rule: str
    until: date | None
    reason: str
    case_id: UUID | None = None

    def applies_on(self, day: date) -> bool:
        """Whether the hold still keeps the data on ``day``."""
        return self.until is None or day < self.until


class ManualHold(BaseModel):
    """A hold placed by hand, and its release once that happened."""

    model_config = ConfigDict(frozen=True)

    hold_id: str
    ground: HoldGround
    reason: str
    released_on: date | None = None


def add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later (29 February becomes 28 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def case_holds(case: CaseRecord) -> list[RetentionHold]:
    """The clocks a case keeps running: open-ended while it is open, then each rule's period."""
    if case.ended_on is None:
        return [
            RetentionHold(
                rule=OPEN_CASE_RULE, until=None, reason=f"the {case.kind} is open", case_id=case.case_id
            )
        ]
    return [
        RetentionHold(
            rule=rule.rule_id,
            until=add_years(case.ended_on, rule.years),
            reason=f"{rule.basis}: {rule.years} years after {rule.after} on {case.ended_on}",
            case_id=case.case_id,
        )
        for rule in RETENTION_RULES
        if rule.applies_to is case.kind and rule.applies(case)
    ]


def manual_hold(hold: ManualHold) -> RetentionHold:
    """The clock of a hold placed by hand."""
    if hold.released_on is None:
        return RetentionHold(
            rule=LEGAL_HOLD_RULE if hold.ground is HoldGround.LEGAL else DISPUTE_RULE,
            until=None,
            reason=f"hold {hold.hold_id}: {hold.reason}",
        )
    if hold.ground is HoldGround.LEGAL:
        return RetentionHold(
            rule=LEGAL_HOLD_RULE, until=hold.released_on, reason=f"hold {hold.hold_id}: {hold.reason}"
        )
    return RetentionHold(
        rule=DISPUTE_RULE,
        until=add_years(hold.released_on, DISPUTE_YEARS),
        reason=f"hold {hold.hold_id}: {hold.reason}; {DISPUTE_YEARS} years after the dispute ended",
    )


def retention_holds(cases: Iterable[CaseRecord], manual: Iterable[ManualHold] = ()) -> list[RetentionHold]:
    """Every retention clock of a customer: their cases' and the holds placed by hand."""
    return [hold for case in cases for hold in case_holds(case)] + [manual_hold(hold) for hold in manual]


# ------------------------------------------------------------------------------- cases as the rules see them

_POLICY_ENDED = frozenset(
    {
        PolicyStatus.DECLINED,
        PolicyStatus.OFFER_REJECTED,
        PolicyStatus.WITHDRAWN,
        PolicyStatus.CANCELLED_IN_COOLING_OFF,
        PolicyStatus.RESCINDED,
        PolicyStatus.SURRENDERED,
        PolicyStatus.EXPIRED,
    }
)
# A lapsed policy is suspended, not ended: it may still be reinstated (Art. 37).
_CLAIM_CLOSED = frozenset({ClaimStatus.CLOSED, ClaimStatus.WITHDRAWN})
_COMPLAINT_CLOSED = frozenset({ComplaintStatus.CLOSED, ComplaintStatus.WITHDRAWN})


def _last_change_on(aggregate: CaseAggregate) -> date:
    # The day of the case's last event: on an ended case that is its ending event or later, so a clock
    # counted from it never runs out early.
    modified: datetime = aggregate.modified_on
    return modified.astimezone(SHANGHAI).date()


def policy_record(policy: Policy) -> CaseRecord:
    """A policy (or a proposal that never became one) as the retention rules see it."""
    ended_on: date | None = None
    if policy.status is PolicyStatus.EXPIRED and policy.effective_to is not None:
        ended_on = policy.effective_to
    elif policy.status in _POLICY_ENDED:
        ended_on = _last_change_on(policy)
    return CaseRecord(CaseKind.POLICY, policy.id, ended_on, term_months=policy.term_months)


def claim_record(claim: Claim) -> CaseRecord:
    """A claim as the retention rules see it: closed or not, and whether it paid money."""
    ended_on = _last_change_on(claim) if claim.status in _CLAIM_CLOSED else None
    return CaseRecord(CaseKind.CLAIM, claim.id, ended_on, money_paid=claim.paid_fen > 0)


def complaint_record(complaint: Complaint) -> CaseRecord:
    """A complaint as the retention rules see it: closed (or withdrawn) or not."""
    ended_on = _last_change_on(complaint) if complaint.status in _COMPLAINT_CLOSED else None
    return CaseRecord(CaseKind.COMPLAINT, complaint.id, ended_on)


# ---------------------------------------------------------------------------------------------- errors


class RetentionHoldAppliesError(DomainError):
    """PIPL Art. 47: personal data another law requires to be kept may not be erased while it must be kept."""

    rule = "PIPL47-RETENTION"

    def __init__(self, customer_id: str, holds: Sequence[RetentionHold]) -> None:
        first = holds[0]
        until = "until it ends" if first.until is None else f"until {first.until}"
        super().__init__(
            f"the personal data of customer {customer_id} must be kept under {first.rule} {until} "
            f"({first.reason})" + (f" and {len(holds) - 1} more hold(s)" if len(holds) > 1 else "")
        )
        self.holds = tuple(holds)
        self.retention_rule = first.rule


class PersonalDataAlreadyErasedError(DomainError):
    """A customer's personal data is erased once; nothing personal can be held for them afterwards."""

    rule = "PRIV-ERASED"


class HoldNotPlacedError(DomainError):
    """Only a hold that is placed and not yet released can be released."""

    rule = "PRIV-HOLD-RELEASE"


class HoldAlreadyPlacedError(DomainError):
    """A hold id names one hold: it is placed once."""

    rule = "PRIV-HOLD-ONCE"


# ---------------------------------------------------------------------------------------------- events


class DataSubjectOpened(CaseCreated):
    """The customer's data-subject record was opened, with the first privacy command on them."""

    TOPIC = "privacy.data-subject-opened.v1"

    customer_id: str = Field(min_length=1)

    def apply(self, subject: DataSubject) -> None:
        subject.customer_id = self.customer_id


class RetentionHoldPlaced(DomainEvent):
    """A hold was placed by hand on the customer's personal data (litigation, a dispute, a regulator)."""

    TOPIC = "privacy.retention-hold-placed.v1"

    hold_id: str = Field(min_length=1)
    ground: HoldGround
    reason: str = Field(min_length=1)

    def apply(self, subject: DataSubject) -> None:
        hold = ManualHold(hold_id=self.hold_id, ground=self.ground, reason=self.reason)
        subject.holds = {**subject.holds, self.hold_id: hold}


class RetentionHoldReleased(DomainEvent):
    """A hold placed by hand was released on ``released_on`` (a dispute hold still runs 2 years more)."""

    TOPIC = "privacy.retention-hold-released.v1"

    hold_id: str = Field(min_length=1)
    released_on: date
    reason: str = Field(min_length=1)

    def apply(self, subject: DataSubject) -> None:
        held = subject.holds[self.hold_id]
        subject.holds = {
            **subject.holds,
            self.hold_id: held.model_copy(update={"released_on": self.released_on}),
        }


class PersonalDataErased(DomainEvent):
    """The customer's personal data was erased: their key is destroyed, their fields read as erased.

    It names the cases it covers (so that the read models can blank their copies) and every retention
    hold that was checked, each run out by ``erased_on``.
    """

    TOPIC = "privacy.personal-data-erased.v1"

    customer_id: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    erased_on: date
    policy_ids: tuple[UUID, ...]
    claim_ids: tuple[UUID, ...]
    complaint_ids: tuple[UUID, ...]
    holds_checked: tuple[RetentionHold, ...]

    def apply(self, subject: DataSubject) -> None:
        subject.erased_at = self.timestamp


# ---------------------------------------------------------------------------------------------- aggregate

_PRIVACY_OFFICERS = (Role.SENIOR_MANAGER,)
_HOLD_KEEPERS = (Role.SENIOR_MANAGER, Role.SUPERVISOR, Role.COMPLAINTS_OFFICER)


class DataSubject(CaseAggregate):
    """A customer as a data subject (PIPL): the holds on their personal data, and its erasure."""

    TOPIC = "privacy.aggregate"
    """Explicit, so that stored events and snapshots never name a Python import path."""

    class Created(CaseAggregate.Created):
        """The library's generic creation event: unused here, but it must carry a topic too."""

        TOPIC = "privacy.library-created"

    customer_id: str
    holds: dict[str, ManualHold]
    erased_at: datetime | None

    def __init__(self) -> None:
        self.holds = {}
        self.erased_at = None

    @classmethod
    @taken_by("open data subject", *_HOLD_KEEPERS)
    def open(cls, ctx: Context, *, customer_id: str) -> Self:
        """Open the customer's data-subject record (with the first privacy command on them)."""
        return cls._open(DataSubjectOpened, subject_id_for(customer_id), ctx, customer_id=customer_id)

    def holds_on(self, cases: Iterable[CaseRecord]) -> list[RetentionHold]:
        """Every retention clock of the customer: their cases' and the holds placed by hand."""
        return retention_holds(cases, self.holds.values())

    @taken_by("place retention hold", *_HOLD_KEEPERS)
    def place_hold(self, ctx: Context, *, hold_id: str, ground: HoldGround, reason: str) -> None:
        """Keep the customer's personal data until the hold is released (and, for a dispute, 2 years more)."""
        self._refuse_if_erased()
        if hold_id in self.holds:
            raise HoldAlreadyPlacedError(f"hold {hold_id} was placed already")
        self._record(RetentionHoldPlaced, ctx, hold_id=hold_id, ground=ground, reason=reason)

    @taken_by("release retention hold", *_HOLD_KEEPERS)
    def release_hold(self, ctx: Context, *, hold_id: str, reason: str) -> None:
        """Release a hold placed by hand, as of the day the command is recorded (Asia/Shanghai)."""
        held = self.holds.get(hold_id)
        if held is None or held.released_on is not None:
            raise HoldNotPlacedError(f"no hold {hold_id} is placed on customer {self.customer_id}")
        self._record(
            RetentionHoldReleased,
            ctx,
            hold_id=hold_id,
            released_on=ctx.recorded_at.astimezone(SHANGHAI).date(),
            reason=reason,
        )

    @taken_by("erase personal data", *_PRIVACY_OFFICERS)
    def erase(self, ctx: Context, *, reason: str, cases: Sequence[CaseRecord]) -> None:
        """Erase the customer's personal data: only when every retention clock has run out (PIPL Art. 47)."""
        self._refuse_if_erased()
        today = ctx.recorded_at.astimezone(SHANGHAI).date()
        holds = self.holds_on(cases)
        applying = [hold for hold in holds if hold.applies_on(today)]
        if applying:
            raise RetentionHoldAppliesError(self.customer_id, applying)
        ids = {kind: tuple(c.case_id for c in cases if c.kind is kind) for kind in CaseKind}
        self._record(
            PersonalDataErased,
            ctx,
            customer_id=self.customer_id,
            reason=reason,
            erased_on=today,
            policy_ids=ids[CaseKind.POLICY],
            claim_ids=ids[CaseKind.CLAIM],
            complaint_ids=ids[CaseKind.COMPLAINT],
            holds_checked=tuple(holds),
        )

    def _refuse_if_erased(self) -> None:
        if self.erased_at is not None:
            raise PersonalDataAlreadyErasedError(
                f"the personal data of customer {self.customer_id} was erased at {self.erased_at.isoformat()}"
            )
