"""Policies (承保): the policy application service; proposals are checked against seller registrations."""

from __future__ import annotations

from uuid import UUID

from domain.base import SHANGHAI
from domain.cover import PolicyCover
from domain.policy import Line, Policy
from infra.clock import Clock
from infra.store.eventstore import Caller, CaseApplication, CommandResult
from infra.store.sellers import SellerRegistry


class Policies(CaseApplication[Policy]):
    """Policy commands: every step after the proposal runs as ``run(policy_id, caller, version, ...)``."""

    aggregate_class = Policy
    kind = "policy"
    bounded_context = "policy"

    def __init__(
        self, env: dict[str, str], clock: Clock, sellers: SellerRegistry, snapshot_interval: int = 50
    ):
        super().__init__(env, clock, snapshot_interval)
        self.sellers = sellers

    def submit_proposal(
        self,
        caller: Caller,
        *,
        policy_id: UUID,
        proposal_no: str,
        product_code: str,
        line: Line,
        customer_id: str,
        applicant_name: str,
        applicant_id_number: str,
        applicant_phone: str,
        insured_name: str,
        beneficiary_names: tuple[str, ...] = (),
        sum_insured_fen: int,
        term_months: int,
        quoted_premium_fen: int,
        exclusion_clause_ids: tuple[str, ...],
        seller_registration_no: str,
        channel: str,
        linked_proposal_id: UUID | None = None,
    ) -> CommandResult:
        """Submit a proposal (投保): the seller's registration is looked up and checked for that day."""
        ctx = self.context(caller)
        policy = Policy.submit_proposal(
            ctx,
            policy_id=policy_id,
            proposal_no=proposal_no,
            product_code=product_code,
            line=line,
            customer_id=customer_id,
            applicant_name=applicant_name,
            applicant_id_number=applicant_id_number,
            applicant_phone=applicant_phone,
            insured_name=insured_name,
            beneficiary_names=beneficiary_names,
            sum_insured_fen=sum_insured_fen,
            term_months=term_months,
            quoted_premium_fen=quoted_premium_fen,
            exclusion_clause_ids=exclusion_clause_ids,
            seller=self.sellers.lookup(seller_registration_no),
            proposed_on=ctx.recorded_at.astimezone(SHANGHAI).date(),
            channel=channel,
            linked_proposal_id=linked_proposal_id,
        )
        return self.save_new(policy)

    def cover(self, policy_id: UUID) -> PolicyCover:
        """The policy's cover as it stands now (what a new claim is checked against)."""
        return self.load(policy_id).cover()
