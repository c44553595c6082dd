"""What a claim needs to know of its policy: the cover, as the policy stood when the loss was reported."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from domain.base import SHANGHAI, DomainError, Fen


class PolicyCover(BaseModel):
    """A policy's cover as a claim checks it: in force, its period, its limit, whether it is CTPL."""

    model_config = ConfigDict(frozen=True)

    policy_id: UUID
    policy_no: str
    customer_id: str
    in_force: bool
    effective_from: date
    effective_to: date
    sum_insured_fen: Fen
    ctpl: bool


class PolicyNotInForceError(DomainError):
    """A claim needs a policy in force (Insurance Law Art. 14: no liability before cover starts)."""

    rule = "IL14-COVER-START"


class LossDateOutsideCoverError(DomainError):
    """The loss date must fall inside the policy's cover period."""

    rule = "IL14-COVER-PERIOD"


def check_loss_is_covered(cover: PolicyCover, loss_at: datetime) -> None:
    """A claim is accepted only on a policy in force whose cover period includes the loss date."""
    if loss_at.utcoffset() is None:
        raise ValueError("loss_at must be timezone-aware")
    if not cover.in_force:
        raise PolicyNotInForceError(f"policy {cover.policy_no} is not in force")
    loss_day = loss_at.astimezone(SHANGHAI).date()
    if not cover.effective_from <= loss_day <= cover.effective_to:
        raise LossDateOutsideCoverError(
            f"loss date {loss_day} is outside the cover of policy {cover.policy_no} "
            f"({cover.effective_from} to {cover.effective_to})"
        )
