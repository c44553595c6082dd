"""What a claim needs to know of its policy: the cover over time, so that a loss is judged at its own date.

A loss is covered when it falls inside one of the policy's cover periods (the issued one and each renewal),
before any early end of the contract (surrender, cooling-off cancellation, rescission) and outside any
suspension for unpaid premium (Insurance Law Arts. 14, 36, 37). The policy's state today decides nothing:
a loss suffered before a surrender is still a loss under the policy, reported after it or not.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from domain.base import SHANGHAI, DomainError, Fen


class CoverPeriod(BaseModel):
    """One cover period, in Asia/Shanghai calendar days, both ends included (issue or renewal)."""

    model_config = ConfigDict(frozen=True)

    effective_from: date
    effective_to: date

    def includes(self, day: date) -> bool:
        """Whether ``day`` is one of the period's days."""
        return self.effective_from <= day <= self.effective_to


class CoverSuspension(BaseModel):
    """效力中止 (Art. 36): cover suspended from ``suspended_from`` until reinstated (Art. 37), if ever."""

    model_config = ConfigDict(frozen=True)

    suspended_from: datetime
    reinstated_at: datetime | None = None

    def includes(self, moment: datetime) -> bool:
        """Whether ``moment`` falls while the cover was suspended."""
        return self.suspended_from <= moment and (self.reinstated_at is None or moment < self.reinstated_at)


class GracePremium(BaseModel):
    """A renewal instalment in its Art. 36 payment period: due from 00:00 of ``due_on``, the cover kept
    until ``suspends_at`` unless paid (``paid_at``: 00:00 of the payment's day, the earliest reading)."""

    model_config = ConfigDict(frozen=True)

    instalment_no: int
    due_on: date
    amount_fen: Fen
    suspends_at: datetime
    paid_at: datetime | None = None

    def unpaid_at(self, moment: datetime) -> bool:
        """Whether the instalment was due and unpaid, inside its payment period, at ``moment``."""
        due_at = datetime.combine(self.due_on, datetime.min.time(), tzinfo=SHANGHAI)
        end = self.suspends_at if self.paid_at is None else min(self.paid_at, self.suspends_at)
        return due_at <= moment < end


class PolicyCover(BaseModel):
    """A policy's cover as a claim checks it: its periods, suspensions and early end, its limit, CTPL.

    ``in_force``, ``effective_from`` and ``effective_to`` describe the policy as it stands now; a loss is
    judged by ``gap_at`` from the whole history. A cover built without its history (``periods`` empty)
    has the one period ``effective_from`` to ``effective_to``.
    """

    model_config = ConfigDict(frozen=True)

    policy_id: UUID
    policy_no: str
    customer_id: str
    in_force: bool
    effective_from: date
    effective_to: date
    sum_insured_fen: Fen
    ctpl: bool
    periods: tuple[CoverPeriod, ...] = ()
    suspensions: tuple[CoverSuspension, ...] = ()
    ended_at: datetime | None = None
    """When the contract ended before its period did; a loss from this instant on is not covered."""
    ended_by: str | None = None
    """The event that ended it early (``PolicySurrendered``, ``PolicyCancelledInCoolingOff``,
    ``PolicyRescinded``)."""
    rescission_ground: str | None = None
    """The ``RescissionGround`` value of a rescinded policy (JI-II Art. 8: a rejection for non-disclosure
    needs the contract rescinded first)."""
    grace_premiums: tuple[GracePremium, ...] = ()
    """Every renewal instalment billed, with its payment period: a loss inside it while the instalment was
    unpaid is covered less the premium due (Art. 36)."""

    def premium_due_at(self, loss_at: datetime) -> GracePremium | None:
        """The instalment due and unpaid at ``loss_at``, inside its grace period: the claim deducts it."""
        return next((grace for grace in self.grace_premiums if grace.unpaid_at(loss_at)), None)

    def cover_periods(self) -> tuple[CoverPeriod, ...]:
        """Every period the policy covered, the current one included."""
        current = CoverPeriod(effective_from=self.effective_from, effective_to=self.effective_to)
        return self.periods if current in self.periods else (*self.periods, current)

    def gap_at(self, loss_at: datetime) -> str | None:
        """Why the policy did not cover a loss at ``loss_at``, or None when it did (Insurance Law Art. 14).

        The reason is written for the claimant: it becomes the reason of the not-covered decision and of
        the Art. 24 rejection notice.
        """
        if loss_at.utcoffset() is None:
            raise ValueError("loss_at must be timezone-aware")
        loss_day = loss_at.astimezone(SHANGHAI).date()
        periods = self.cover_periods()
        if not any(period.includes(loss_day) for period in periods):
            spans = "; ".join(f"{p.effective_from} to {p.effective_to}" for p in periods)
            return (
                f"the loss on {loss_day} (Asia/Shanghai) is outside the cover of policy {self.policy_no} "
                f"({spans}): Insurance Law Art. 14"
            )
        if self.ended_at is not None and loss_at >= self.ended_at:
            return (
                f"the loss at {_shanghai(loss_at)} is after policy {self.policy_no} ended "
                f"({self.ended_by or 'contract ended'} at {_shanghai(self.ended_at)})"
            )
        for suspension in self.suspensions:
            if suspension.includes(loss_at):
                until = (
                    "not reinstated"
                    if suspension.reinstated_at is None
                    else f"reinstated at {_shanghai(suspension.reinstated_at)}"
                )
                return (
                    f"the loss at {_shanghai(loss_at)} falls while policy {self.policy_no} was suspended "
                    f"for unpaid premium (from {_shanghai(suspension.suspended_from)}, {until}): "
                    "Insurance Law Arts. 36-37"
                )
        return None


class PolicyNotInForceError(DomainError):
    """A claim needs an issued policy (Insurance Law Art. 14: no liability before cover starts)."""

    rule = "IL14-COVER-START"


def _shanghai(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).isoformat(timespec="minutes")
