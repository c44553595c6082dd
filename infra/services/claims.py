"""Claims (理赔): the application service for claims; a new claim reads its policy's cover."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain.claim import Claim
from infra.clock import Clock
from infra.services.policies import Policies
from infra.store.eventstore import Caller, CaseApplication, CommandResult


class Claims(CaseApplication[Claim]):
    """Claim commands: every step but the report runs as ``run(id, caller, version, Claim.step, ...)``."""

    aggregate_class = Claim
    kind = "claim"
    bounded_context = "claim"

    def __init__(self, env: dict[str, str], clock: Clock, policies: Policies, snapshot_interval: int = 50):
        super().__init__(env, clock, snapshot_interval)
        self.policies = policies

    def report_claim(
        self,
        caller: Caller,
        *,
        claim_id: UUID,
        policy_id: UUID,
        loss_at: datetime,
        reporter_name: str,
        reporter_phone: str,
        cause: str,
        description: str,
        channel: str,
    ) -> CommandResult:
        """Report a loss (接报案): the policy's cover comes from the policy's own history."""
        cover = self.policies.cover(policy_id)
        claim = Claim.report(
            self.context(caller),
            claim_id=claim_id,
            cover=cover,
            loss_at=loss_at,
            reporter_name=reporter_name,
            reporter_phone=reporter_phone,
            cause=cause,
            description=description,
            channel=channel,
        )
        return self.save_new(claim)
