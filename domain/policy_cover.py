"""A policy's cover over time, read from its history: what a claim checks a loss date against.

The policy's state holds only its present (the latest period, the status today); a claim may be reported
after a renewal, a surrender, a rescission or a suspension for a loss suffered before it. So the cover a
claim receives is folded from the policy's events: every period, every suspension and its reinstatement,
and the instant the contract ended early.

Instants, each chosen so that an automatic "not covered" decision is taken only where the record leaves no
doubt (a doubtful case goes to the reviewer's ordinary decision instead):

- suspension (效力中止, Art. 36): from the end of the payment period the suspension recorded
  (``PolicyLapsed.payment_period_ended_at``, holidays rolled over); events recorded without it: 00:00 of the
  first day after the earlier of 60 days after the due date and 30 days after the payment demand;
- grace (Art. 36): an instalment billed and unpaid, from 00:00 of its due date to the end of its payment
  period or 00:00 of the day it was paid: a loss then is covered less the premium due;
- reinstatement (复效, Art. 37): when it was recorded (the agreement takes effect then);
- surrender (退保) and cooling-off cancellation: the contract ends when the applicant's notice reaches the
  insurer (``SurrenderNoticeReceived``, before its value is computed); the time of day is not recorded, so
  the whole day of the notice is still covered; the contract ends at 00:00 of the next day;
- rescission (解除): it takes effect when the notice reaches the applicant, which is not before it was sent;
  the day it was recorded is still covered, the contract ends at 00:00 of the next day.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from domain.base import SHANGHAI, DomainEvent
from domain.cover import CoverPeriod, CoverSuspension, GracePremium, PolicyCover
from domain.policy import (
    GRACE_DAYS,
    REMINDER_DAYS,
    Policy,
    PolicyCancelledInCoolingOff,
    PolicyIssued,
    PolicyLapsed,
    PolicyReinstated,
    PolicyRenewed,
    PolicyRescinded,
    PolicySurrendered,
    PremiumReminderSent,
    RenewalPremiumBilled,
    RenewalPremiumPaid,
    SurrenderNoticeReceived,
)


def cover_over_time(policy: Policy, history: Iterable[DomainEvent]) -> PolicyCover:
    """The policy's cover (``Policy.cover``) with every period, suspension and early end of its history."""
    periods: list[CoverPeriod] = []
    suspensions: list[CoverSuspension] = []
    ended_at: datetime | None = None
    ended_by: str | None = None
    rescission_ground: str | None = None
    graces: dict[int, GracePremium] = {}
    for event in history:
        _fold_grace(graces, event)
        if isinstance(event, PolicyIssued | PolicyRenewed):
            periods.append(CoverPeriod(effective_from=event.effective_from, effective_to=event.effective_to))
        elif isinstance(event, PolicyLapsed):
            suspensions.append(CoverSuspension(suspended_from=suspended_from(event)))
        elif isinstance(event, PolicyReinstated) and suspensions and suspensions[-1].reinstated_at is None:
            suspensions[-1] = suspensions[-1].model_copy(update={"reinstated_at": event.timestamp})
        elif isinstance(event, SurrenderNoticeReceived):
            # The notice ends the contract when it reaches the insurer (Civil Code Art. 565), before the
            # value is computed: the whole day of its receipt is still covered.
            ended_at, ended_by = _start_of_day_after(event.received_on), type(event).__name__
        elif isinstance(event, PolicySurrendered | PolicyCancelledInCoolingOff):
            ended_at, ended_by = _start_of_day_after(event.requested_on), type(event).__name__
        elif isinstance(event, PolicyRescinded):
            recorded_on = event.timestamp.astimezone(SHANGHAI).date()
            ended_at, ended_by = _start_of_day_after(recorded_on), type(event).__name__
            rescission_ground = event.ground.value
    return policy.cover().model_copy(
        update={
            "periods": tuple(periods),
            "suspensions": tuple(suspensions),
            "ended_at": ended_at,
            "ended_by": ended_by,
            "rescission_ground": rescission_ground,
            "grace_premiums": tuple(graces[number] for number in sorted(graces)),
        }
    )


def _fold_grace(graces: dict[int, GracePremium], event: DomainEvent) -> None:
    if isinstance(event, RenewalPremiumBilled):
        graces[event.instalment_no] = GracePremium(
            instalment_no=event.instalment_no,
            due_on=event.due_on,
            amount_fen=event.amount_fen,
            suspends_at=event.suspends_at,
        )
    elif isinstance(event, PremiumReminderSent) and event.instalment_no in graces:
        graces[event.instalment_no] = graces[event.instalment_no].model_copy(
            update={"suspends_at": event.suspends_at}
        )
    elif isinstance(event, RenewalPremiumPaid) and event.instalment_no in graces:
        paid_at = datetime.combine(event.paid_on, time(0), tzinfo=SHANGHAI)
        graces[event.instalment_no] = graces[event.instalment_no].model_copy(update={"paid_at": paid_at})


def suspended_from(lapsed: PolicyLapsed) -> datetime:
    """When Art. 36 suspended the cover: the end of the payment period the suspension recorded; for
    events recorded without it, the first day after the grace period or the demand's 30 days."""
    if lapsed.payment_period_ended_at is not None:
        return lapsed.payment_period_ended_at
    last_days = [lapsed.due_on + timedelta(days=GRACE_DAYS)]
    if lapsed.reminded_on is not None:
        last_days.append(lapsed.reminded_on + timedelta(days=REMINDER_DAYS))
    return _start_of_day_after(min(last_days))


def _start_of_day_after(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=SHANGHAI)
