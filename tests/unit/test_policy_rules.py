"""The rules a policy keeps: for each guard of ``domain/policy.py`` one case it lets through and one it
refuses with the named error (``.refused`` also proves nothing was recorded)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import domain.policy as policy_module
from domain.base import SHANGHAI, Actor, ActorRoleError, DomainEvent, InvalidTransitionError, Role
from domain.cover import PolicyNotInForceError
from domain.policy import (
    BeneficiaryChangeWithoutConsentError,
    CompulsoryMotorCannotBeDeclinedError,
    ConditionalOfferAccepted,
    ConditionalOfferNotAcceptedError,
    ConditionalOfferRejected,
    ConditionalOfferWithoutConditionsError,
    CoolingOffEnded,
    CoolingOffFeeTooHighError,
    CoolingOffNotOverError,
    CoolingOffOverError,
    CoolingOffTooShortError,
    CoverPeriodNotOverError,
    CtplBundlingError,
    CtplConditionalOfferError,
    CtplPremiumNotPaidInFullError,
    CtplWithdrawalByInsurerError,
    DecisionWithoutReasonsError,
    DeclinedProposalCannotBeIssuedError,
    DisclosureIncompleteError,
    DisclosureRecorded,
    DocumentsSealerIsPreparerError,
    EndorsementApplied,
    ExclusionsExplained,
    ExclusionsNotExplainedError,
    ExplanationMethod,
    IncontestablePolicyError,
    InsurerKnewAtFormationError,
    InvalidCoverPeriodError,
    Line,
    NonDisclosureFault,
    Policy,
    PolicyCancelledInCoolingOff,
    PolicyDocumentsPrepared,
    PolicyDocumentsSealed,
    PolicyExpired,
    PolicyIssued,
    PolicyReceiptAcknowledged,
    PolicyRenewed,
    PolicyRescinded,
    PolicyStatus,
    PolicySurrendered,
    PremiumAlreadyReceivedError,
    PremiumAmountMismatchError,
    PremiumNotReceivedError,
    PremiumReceived,
    ProposalDataEntered,
    ProposalEntryVerified,
    ProposalEntryVerifierIsEntererError,
    ProposalPreliminaryChecked,
    ProposalSubmitted,
    ProposalWithdrawn,
    ProxySignatureDetected,
    RescissionGround,
    RescissionGroundDiscovered,
    RescissionGroundNotAllowedError,
    RescissionGroundNotDiscoveredError,
    RescissionTooLateError,
    RescissionWindowClosedError,
    RiskRated,
    SellerNotRegisteredError,
    SellerRegistration,
    SurrenderNoticeReceived,
    UnderwriterIsSellerError,
    UnderwritingDecided,
    UnderwritingDecision,
    WithdrawalParty,
)
from tests.gwt import Expected, ctx, expect, given, refuses

REPO_ROOT = Path(__file__).resolve().parents[2]

Command = Callable[[Policy], object]

SELLER_ID = "zhao.lei"
CLERK_ID = "qian.min"  # enters the data and prepares the documents
CHECKER_ID = "sun.li"  # verifies the entry and seals the documents
UNDERWRITER_ID = "zhou.jie"

UW = Role.UNDERWRITER
SYSTEM = Role.SYSTEM

LIFE_PRODUCT = "LIFE-WL-20"
CTPL_PRODUCT = "CTPL-2026"
MOTOR_PRODUCT = "MOTOR-COMM-2026"
EXCLUSIONS = ("EX-SUICIDE-2Y", "EX-DRUNK-DRIVING")
PREMIUM_FEN = 1_200_000  # 12,000.00 CNY
CTPL_PREMIUM_FEN = 95_000  # 950.00 CNY

PROPOSED_ON = date(2026, 3, 2)
ISSUED_ON = date(2026, 3, 2)  # tests.gwt.T0 is 2026-03-02 10:00 in Shanghai
RECEIVED_ON = date(2026, 3, 5)
COOLING_OFF_LAST_DAY = date(2026, 3, 20)  # receipt day not counted: day 1 is 03-06, day 15 is 03-20


def at(day: date, hour: int = 10) -> datetime:
    """A server time on ``day`` in Shanghai (office hours by default)."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


# --------------------------------------------------------------------------------------------------- builders


def a_registration(**changes: object) -> SellerRegistration:
    """Zhao Lei's practice registration: valid through 2026, for the life, CTPL and motor products."""
    registration = SellerRegistration(
        registration_no="REG-310000-0042",
        seller_id=SELLER_ID,
        valid_from=date(2025, 1, 1),
        valid_to=date(2026, 12, 31),
        authorised_products=frozenset({LIFE_PRODUCT, CTPL_PRODUCT, MOTOR_PRODUCT}),
    )
    return registration.model_copy(update=changes)


def submit(
    *,
    line: Line = Line.LIFE,
    product_code: str = LIFE_PRODUCT,
    term_months: int = 240,
    premium_fen: int = PREMIUM_FEN,
    seller: SellerRegistration | None = None,
    seller_actor: str = SELLER_ID,
    proposed_on: date = PROPOSED_ON,
    linked_to_commercial: bool = False,
) -> Policy:
    return Policy.submit_proposal(
        ctx(Role.SELLER, seller_actor),
        policy_id=uuid4(),
        proposal_no="TB-2026-000123",
        product_code=product_code,
        line=line,
        customer_id="cust-0001",
        applicant_name="张伟",
        applicant_id_number="310101198001011234",
        applicant_phone="13800138000",
        insured_name="张伟",
        beneficiary_names=("李娜",),
        sum_insured_fen=50_000_000,
        term_months=term_months,
        quoted_premium_fen=premium_fen,
        exclusion_clause_ids=EXCLUSIONS,
        seller=seller or a_registration(),
        proposed_on=proposed_on,
        channel="agency",
        linked_proposal_id=uuid4() if linked_to_commercial else None,
    )


def a_life_proposal() -> Policy:
    """A 20-year whole-life proposal: cooling-off applies."""
    return submit()


def a_ctpl_proposal() -> Policy:
    return submit(
        line=Line.MOTOR_CTPL, product_code=CTPL_PRODUCT, term_months=12, premium_fen=CTPL_PREMIUM_FEN
    )


def a_motor_proposal() -> Policy:
    """Commercial motor cover for one year: no cooling-off."""
    return submit(line=Line.MOTOR_COMMERCIAL, product_code=MOTOR_PRODUCT, term_months=12)


def entered(policy: Policy) -> Policy:
    policy.check_proposal(ctx(UW, CLERK_ID))
    policy.enter_data(ctx(UW, CLERK_ID), form_ref="FORM-0001")
    return policy


def verified(policy: Policy) -> Policy:
    entered(policy).verify_entry(ctx(UW, CHECKER_ID))
    return policy


def rated(policy: Policy) -> Policy:
    verified(policy).rate_risk(ctx(UW, UNDERWRITER_ID), risk_class="standard", factors=("non-smoker",))
    return policy


def decided(policy: Policy, decision: UnderwritingDecision = UnderwritingDecision.STANDARD) -> Policy:
    conditions = ("cardiac exclusion rider",) if decision is UnderwritingDecision.CONDITIONAL else ()
    rated(policy).decide_underwriting(
        ctx(UW, UNDERWRITER_ID), decision=decision, reasons=("blood pressure 150/95",), conditions=conditions
    )
    return policy


def prepared(policy: Policy) -> Policy:
    policy.prepare_documents(
        ctx(UW, CLERK_ID), documents=("policy", "clauses"), template_versions=("2026-01",)
    )
    return policy


def sealed(policy: Policy) -> Policy:
    prepared(policy).seal_documents(ctx(UW, CHECKER_ID), seal_ref="SEAL-0001")
    return policy


def explained(policy: Policy, clause_ids: tuple[str, ...] = EXCLUSIONS) -> Policy:
    policy.record_exclusions_explained(
        ctx(Role.SELLER, SELLER_ID),
        clause_ids=clause_ids,
        method=ExplanationMethod.RECORDED,
        evidence_ref="VID-0001",
        acknowledged_by="张伟",
    )
    return policy


EXPLAINED = expect(
    ExclusionsExplained,
    clause_ids=EXCLUSIONS,
    method=ExplanationMethod.RECORDED,
    evidence_ref="VID-0001",
    acknowledged_by="张伟",
)
"""What ``explained`` records by default."""


def paid(policy: Policy) -> Policy:
    policy.receive_premium(
        ctx(SYSTEM), amount_fen=policy.quoted_premium_fen, method="bank-transfer", receipt_no="RCPT-0001"
    )
    return policy


def ready_to_issue(policy: Policy) -> Policy:
    """Decided as standard, documents sealed, exclusions explained, premium paid."""
    return paid(explained(sealed(decided(policy))))


def issue(policy: Policy) -> None:
    policy.issue(
        ctx(UW, UNDERWRITER_ID),
        policy_no="P-2026-000123",
        effective_from=ISSUED_ON + timedelta(days=1),
        effective_to=ISSUED_ON + timedelta(days=365),
        terms_version="2026-01",
    )


ISSUED = expect(
    PolicyIssued,
    policy_no="P-2026-000123",
    issued_on=ISSUED_ON,  # the command's recording day in Shanghai, not a date it was given
    effective_from=date(2026, 3, 3),
    effective_to=date(2027, 3, 2),
    terms_version="2026-01",
)
"""What ``issue`` records."""


def issued(policy: Policy) -> Policy:
    issue(policy)
    return policy


def an_issued_life_policy() -> Policy:
    return issued(ready_to_issue(a_life_proposal()))


def an_issued_ctpl_policy() -> Policy:
    return issued(ready_to_issue(a_ctpl_proposal()))


def an_issued_motor_policy() -> Policy:
    return issued(ready_to_issue(a_motor_proposal()))


def a_life_policy_in_cooling_off() -> Policy:
    policy = an_issued_life_policy()
    policy.acknowledge_receipt(ctx(Role.SELLER, SELLER_ID), received_on=RECEIVED_ON, method="paper-receipt")
    return policy


def an_in_force_life_policy() -> Policy:
    """Cooling-off over (ended by the system's timer on the morning after its last day)."""
    policy = a_life_policy_in_cooling_off()
    policy.end_cooling_off(ctx(SYSTEM, at=at(COOLING_OFF_LAST_DAY + timedelta(days=1), hour=0)))
    return policy


def with_ground(
    policy: Policy,
    known_on: date,
    ground: RescissionGround = RescissionGround.NON_DISCLOSURE_ART16,
) -> Policy:
    """The insurer learnt of ``ground`` on ``known_on`` (a hospital record found during a claim)."""
    policy.record_rescission_ground(
        ctx(Role.CLAIMS_HANDLER, at=at(known_on, hour=15)),
        ground=ground,
        known_at=at(known_on),
        evidence="hospital record of 2025-11 hypertension treatment",
    )
    return policy


def rescind_on(day: date, ground: RescissionGround = RescissionGround.NON_DISCLOSURE_ART16) -> Command:
    """The command: rescind on ``day``; a non-disclosure was deliberate, so nothing is refunded."""
    fault = NonDisclosureFault.DELIBERATE if ground is RescissionGround.NON_DISCLOSURE_ART16 else None
    return lambda p: p.rescind(
        ctx(UW, UNDERWRITER_ID, at=at(day)), ground=ground, refund_fen=0, notice_ref="N-1", fault=fault
    )


def rescinded(ground: RescissionGround, basis: str) -> Expected:
    """What ``rescind_on`` records: the ground, the legal basis the rule names for it, refund and notice."""
    fault = NonDisclosureFault.DELIBERATE if ground is RescissionGround.NON_DISCLOSURE_ART16 else None
    return expect(PolicyRescinded, ground=ground, basis=basis, refund_fen=0, notice_ref="N-1", fault=fault)


RESCINDED_FOR_NON_DISCLOSURE = rescinded(RescissionGround.NON_DISCLOSURE_ART16, "Insurance Law Art. 16")


# ------------------------------------------------------------------------------------------------- happy path


def test_policy_goes_from_proposal_to_in_force_when_every_step_keeps_its_rule() -> None:
    def every_step(p: Policy) -> None:
        # Life insurers take the first premium with the proposal form, before any underwriting.
        p.receive_premium(ctx(SYSTEM), amount_fen=PREMIUM_FEN, method="card", receipt_no="R-1")
        p.check_proposal(ctx(UW, CLERK_ID))
        p.enter_data(ctx(UW, CLERK_ID), form_ref="FORM-0001")
        p.verify_entry(ctx(UW, CHECKER_ID))
        p.record_disclosure(
            ctx(Role.SELLER, SELLER_ID), questions=("hypertension?",), answers=("no",), answered_by="张伟"
        )
        p.record_exclusions_explained(
            ctx(Role.SELLER, SELLER_ID),
            clause_ids=EXCLUSIONS,
            method=ExplanationMethod.WRITTEN,
            evidence_ref="SIGNED-0001",
            acknowledged_by="张伟",
        )
        p.rate_risk(ctx(UW, UNDERWRITER_ID), risk_class="standard")
        p.decide_underwriting(ctx(UW, UNDERWRITER_ID), decision=UnderwritingDecision.PREFERENTIAL)
        p.prepare_documents(ctx(UW, CLERK_ID), documents=("policy", "clauses"))
        p.seal_documents(ctx(UW, CHECKER_ID), seal_ref="SEAL-0001")
        issue(p)
        p.acknowledge_receipt(ctx(Role.SELLER, SELLER_ID), received_on=RECEIVED_ON, method="e-receipt")
        p.end_cooling_off(ctx(SYSTEM, at=at(COOLING_OFF_LAST_DAY + timedelta(days=1), hour=0)))

    then = given(a_life_proposal()).when(every_step)

    then.events(
        expect(PremiumReceived, amount_fen=PREMIUM_FEN, method="card", receipt_no="R-1"),
        expect(ProposalPreliminaryChecked, missing_items=(), passed=True),
        expect(ProposalDataEntered, form_ref="FORM-0001", actor=Actor(id=CLERK_ID, role=UW)),
        expect(ProposalEntryVerified, actor=Actor(id=CHECKER_ID, role=UW)),
        expect(DisclosureRecorded, questions=("hypertension?",), answers=("no",), answered_by="张伟"),
        expect(
            ExclusionsExplained,
            clause_ids=EXCLUSIONS,
            method=ExplanationMethod.WRITTEN,
            evidence_ref="SIGNED-0001",
            acknowledged_by="张伟",
        ),
        expect(RiskRated, risk_class="standard", factors=()),
        expect(UnderwritingDecided, decision=UnderwritingDecision.PREFERENTIAL, reasons=(), conditions=()),
        expect(PolicyDocumentsPrepared, documents=("policy", "clauses"), template_versions=()),
        expect(PolicyDocumentsSealed, seal_ref="SEAL-0001"),
        ISSUED,
        expect(
            PolicyReceiptAcknowledged,
            received_on=RECEIVED_ON,
            method="e-receipt",
            cooling_off_days=15,
            cooling_off_ends_on=COOLING_OFF_LAST_DAY,
        ),
        expect(CoolingOffEnded, ended_on=COOLING_OFF_LAST_DAY),
    )
    assert then.aggregate.status is PolicyStatus.IN_FORCE
    assert then.aggregate.cover().in_force


# --------------------------------------------------------------------------------------------------- proposal


def test_proposal_is_submitted_when_seller_is_registered_for_the_product_that_day() -> None:
    policy = a_life_proposal()

    [event] = policy.collect_events()

    assert isinstance(event, ProposalSubmitted)
    assert (event.seller_id, event.seller_registration_no) == (SELLER_ID, "REG-310000-0042")
    assert policy.status is PolicyStatus.SUBMITTED


def test_proposal_is_refused_when_seller_registration_has_expired() -> None:
    with refuses(SellerNotRegisteredError):
        submit(seller=a_registration(valid_to=date(2026, 3, 1)))


def test_proposal_is_refused_when_seller_registration_is_not_yet_valid() -> None:
    with refuses(SellerNotRegisteredError):
        submit(seller=a_registration(valid_from=date(2026, 3, 3)))


def test_proposal_is_refused_when_registration_does_not_authorise_the_product() -> None:
    with refuses(SellerNotRegisteredError):
        submit(seller=a_registration(authorised_products=frozenset({CTPL_PRODUCT})))


def test_proposal_is_refused_when_seller_submits_under_another_sellers_registration() -> None:
    with refuses(SellerNotRegisteredError):
        submit(seller_actor="someone.else")


def test_proposal_marks_personal_data_when_it_names_applicant_insured_and_beneficiaries() -> None:
    assert ProposalSubmitted.personal_fields() == (
        "applicant_name",
        "applicant_id_number",
        "applicant_phone",
        "insured_name",
        "beneficiary_names",
    )


def test_ctpl_proposal_is_submitted_when_it_is_not_linked_to_other_cover() -> None:
    assert a_ctpl_proposal().ctpl


def test_ctpl_proposal_is_refused_when_it_is_bundled_with_a_commercial_proposal() -> None:
    with refuses(CtplBundlingError):
        submit(line=Line.MOTOR_CTPL, product_code=CTPL_PRODUCT, term_months=12, linked_to_commercial=True)


def test_commercial_motor_proposal_is_submitted_when_it_is_linked_to_another_proposal() -> None:
    policy = submit(
        line=Line.MOTOR_COMMERCIAL, product_code=MOTOR_PRODUCT, term_months=12, linked_to_commercial=True
    )

    assert policy.status is PolicyStatus.SUBMITTED


# -------------------------------------------------------------------------------------------- proxy signature


def test_proxy_signature_is_recorded_as_a_fact_when_detected() -> None:
    then = given(a_life_proposal()).when(
        lambda p: p.record_proxy_signature(
            ctx(Role.CALLBACK_AGENT), document="proposal form", evidence="handwriting differs from ID card"
        )
    )

    then.events(
        expect(ProxySignatureDetected, document="proposal form", evidence="handwriting differs from ID card")
    )
    assert then.aggregate.callback_check_required


def test_proxy_signature_marks_exclusions_unproven_when_they_were_explained_before() -> None:
    then = given(explained(a_life_proposal())).when(
        lambda p: p.record_proxy_signature(
            ctx(UW), document="exclusions declaration", evidence="agent signed"
        )
    )

    then.events(expect(ProxySignatureDetected, document="exclusions declaration", evidence="agent signed"))
    assert then.aggregate.exclusions_explained
    assert not then.aggregate.exclusions_proven


def test_exclusions_stay_unproven_when_explained_after_a_proxy_signature() -> None:
    policy = a_life_proposal()
    policy.record_proxy_signature(ctx(UW), document="proposal form", evidence="agent signed")

    then = given(policy).when(explained)

    then.events(EXPLAINED)
    assert not then.aggregate.exclusions_proven


def test_exclusions_are_proven_when_explained_without_a_proxy_signature() -> None:
    then = given(a_life_proposal()).when(explained)

    then.events(EXPLAINED)
    assert then.aggregate.exclusions_proven


def test_policy_is_issued_when_a_proxy_signature_was_detected() -> None:
    policy = ready_to_issue(a_life_proposal())
    policy.record_proxy_signature(ctx(UW), document="proposal form", evidence="agent signed")

    given(policy).when(issue).events(ISSUED)


# ------------------------------------------------------------------------------------------------------- 录单


def test_data_is_entered_when_the_preliminary_check_passed() -> None:
    policy = a_life_proposal()
    policy.check_proposal(ctx(UW, CLERK_ID))

    given(policy).when(lambda p: p.enter_data(ctx(UW, CLERK_ID), form_ref="FORM-1")).events(
        expect(ProposalDataEntered, form_ref="FORM-1", actor=Actor(id=CLERK_ID, role=UW))
    )


def test_data_entry_is_refused_when_the_preliminary_check_found_missing_items() -> None:
    policy = a_life_proposal()
    policy.check_proposal(ctx(UW, CLERK_ID), missing_items=("insured's signature",))

    given(policy).when(lambda p: p.enter_data(ctx(UW, CLERK_ID), form_ref="FORM-1")).refused(
        InvalidTransitionError
    )


def test_entry_is_verified_when_the_verifier_did_not_enter_it() -> None:
    given(entered(a_life_proposal())).when(lambda p: p.verify_entry(ctx(UW, CHECKER_ID))).events(
        expect(ProposalEntryVerified, actor=Actor(id=CHECKER_ID, role=UW))
    )


def test_entry_verification_is_refused_when_the_verifier_entered_the_data() -> None:
    given(entered(a_life_proposal())).when(lambda p: p.verify_entry(ctx(UW, CLERK_ID))).refused(
        ProposalEntryVerifierIsEntererError
    )


def test_entry_verification_is_refused_when_the_verifier_entered_data_before_a_correction() -> None:
    policy = entered(a_life_proposal())
    policy.enter_data(ctx(UW, "zheng.hao"), form_ref="FORM-0001-corrected")

    given(policy).when(lambda p: p.verify_entry(ctx(UW, CLERK_ID))).refused(
        ProposalEntryVerifierIsEntererError
    )


# --------------------------------------------------------------------------------------------------- 投保告知


def test_disclosure_is_recorded_when_every_question_is_answered() -> None:
    given(a_life_proposal()).when(
        lambda p: p.record_disclosure(
            ctx(Role.SELLER, SELLER_ID),
            questions=("hypertension?", "smoker?"),
            answers=("no", "no"),
            answered_by="张伟",
        )
    ).events(
        expect(
            DisclosureRecorded,
            questions=("hypertension?", "smoker?"),
            answers=("no", "no"),
            answered_by="张伟",
        )
    )


def test_disclosure_is_refused_when_a_question_is_unanswered() -> None:
    given(a_life_proposal()).when(
        lambda p: p.record_disclosure(
            ctx(Role.SELLER, SELLER_ID),
            questions=("hypertension?", "smoker?"),
            answers=("no",),
            answered_by="张伟",
        )
    ).refused(DisclosureIncompleteError)


# ------------------------------------------------------------------------------------------ 核保 and 承保决策


def decide(
    decision: UnderwritingDecision, reasons: tuple[str, ...] = (), conditions: tuple[str, ...] = ()
) -> Command:
    """The command: the underwriter decides."""
    return lambda p: p.decide_underwriting(
        ctx(UW, UNDERWRITER_ID), decision=decision, reasons=reasons, conditions=conditions
    )


def test_underwriting_is_decided_when_the_underwriter_is_not_the_seller() -> None:
    then = given(rated(a_life_proposal())).when(decide(UnderwritingDecision.STANDARD))

    then.events(
        expect(
            UnderwritingDecided,
            decision=UnderwritingDecision.STANDARD,
            reasons=(),
            conditions=(),
            actor=Actor(id=UNDERWRITER_ID, role=UW),
        )
    )
    assert then.aggregate.status is PolicyStatus.DECIDED


def test_underwriting_decision_is_refused_when_the_underwriter_is_the_seller() -> None:
    given(rated(a_life_proposal())).when(
        lambda p: p.decide_underwriting(ctx(UW, SELLER_ID), decision=UnderwritingDecision.STANDARD)
    ).refused(UnderwriterIsSellerError)


def test_underwriting_decision_is_refused_when_the_actor_is_a_seller() -> None:
    given(rated(a_life_proposal())).when(
        lambda p: p.decide_underwriting(
            ctx(Role.SELLER, "qian.seller"), decision=UnderwritingDecision.STANDARD
        )
    ).refused(ActorRoleError)


def test_ctpl_is_accepted_when_underwritten_as_standard() -> None:
    given(rated(a_ctpl_proposal())).when(decide(UnderwritingDecision.STANDARD)).events(
        expect(UnderwritingDecided, decision=UnderwritingDecision.STANDARD, reasons=(), conditions=())
    )


def test_ctpl_decline_is_refused_when_the_proposal_is_compulsory_motor() -> None:
    given(rated(a_ctpl_proposal())).when(
        decide(UnderwritingDecision.DECLINED, reasons=("high risk",))
    ).refused(CompulsoryMotorCannotBeDeclinedError)


def test_ctpl_conditional_offer_is_refused_when_the_proposal_is_compulsory_motor() -> None:
    given(rated(a_ctpl_proposal())).when(
        decide(UnderwritingDecision.CONDITIONAL, reasons=("claims",), conditions=("buy commercial cover",))
    ).refused(CtplConditionalOfferError)


def test_decline_is_recorded_when_it_states_its_reasons() -> None:
    then = given(rated(a_life_proposal())).when(
        decide(UnderwritingDecision.DECLINED, reasons=("terminal illness",))
    )

    then.events(
        expect(
            UnderwritingDecided,
            decision=UnderwritingDecision.DECLINED,
            reasons=("terminal illness",),
            conditions=(),
        )
    )
    assert then.aggregate.status is PolicyStatus.DECLINED


def test_decline_is_refused_when_it_states_no_reasons() -> None:
    given(rated(a_life_proposal())).when(decide(UnderwritingDecision.DECLINED)).refused(
        DecisionWithoutReasonsError
    )


def test_conditional_decision_is_refused_when_it_states_no_reasons() -> None:
    given(rated(a_life_proposal())).when(
        decide(UnderwritingDecision.CONDITIONAL, conditions=("cardiac exclusion rider",))
    ).refused(DecisionWithoutReasonsError)


def test_conditional_decision_is_refused_when_it_states_no_conditions() -> None:
    given(rated(a_life_proposal())).when(
        decide(UnderwritingDecision.CONDITIONAL, reasons=("blood pressure",))
    ).refused(ConditionalOfferWithoutConditionsError)


def test_conditional_decision_is_recorded_when_it_states_reasons_and_conditions() -> None:
    given(rated(a_life_proposal())).when(
        decide(UnderwritingDecision.CONDITIONAL, reasons=("blood pressure",), conditions=("cardiac rider",))
    ).events(
        expect(
            UnderwritingDecided,
            decision=UnderwritingDecision.CONDITIONAL,
            reasons=("blood pressure",),
            conditions=("cardiac rider",),
        )
    )


# ------------------------------------------------------------------------------------------ conditional offer


def accept_offer(p: Policy) -> None:
    p.accept_conditional_offer(ctx(Role.SELLER, SELLER_ID), accepted_by="张伟", evidence_ref="SIGNED-OFFER-1")


def test_conditional_offer_is_accepted_when_it_is_open() -> None:
    given(decided(a_life_proposal(), UnderwritingDecision.CONDITIONAL)).when(accept_offer).events(
        expect(ConditionalOfferAccepted, accepted_by="张伟", evidence_ref="SIGNED-OFFER-1")
    )


def test_conditional_offer_acceptance_is_refused_when_the_decision_was_standard() -> None:
    given(decided(a_life_proposal())).when(accept_offer).refused(InvalidTransitionError)


def test_proposal_ends_when_the_applicant_rejects_the_conditional_offer() -> None:
    then = given(decided(a_life_proposal(), UnderwritingDecision.CONDITIONAL)).when(
        lambda p: p.reject_conditional_offer(ctx(Role.SELLER, SELLER_ID), reason="will not accept the rider")
    )

    then.events(expect(ConditionalOfferRejected, reason="will not accept the rider"))
    assert then.aggregate.status is PolicyStatus.OFFER_REJECTED


def test_issue_is_refused_when_the_conditional_offer_was_not_accepted() -> None:
    policy = paid(explained(sealed(decided(a_life_proposal(), UnderwritingDecision.CONDITIONAL))))

    given(policy).when(issue).refused(ConditionalOfferNotAcceptedError)


def test_policy_is_issued_when_the_conditional_offer_was_accepted() -> None:
    policy = paid(explained(sealed(decided(a_life_proposal(), UnderwritingDecision.CONDITIONAL))))
    accept_offer(policy)

    given(policy).when(issue).events(ISSUED)


# ------------------------------------------------------------------------------------------------- withdrawal


def withdraw(by: WithdrawalParty) -> Command:
    """The command: withdraw the proposal at ``by``'s request."""
    return lambda p: p.withdraw_proposal(ctx(UW), requested_by=by, reason="no longer wanted")


def test_ctpl_proposal_is_withdrawn_when_the_applicant_asks() -> None:
    given(a_ctpl_proposal()).when(withdraw(WithdrawalParty.APPLICANT)).events(
        expect(ProposalWithdrawn, requested_by=WithdrawalParty.APPLICANT, reason="no longer wanted")
    )


def test_ctpl_withdrawal_is_refused_when_the_insurer_asks() -> None:
    given(a_ctpl_proposal()).when(withdraw(WithdrawalParty.INSURER)).refused(CtplWithdrawalByInsurerError)


def test_commercial_proposal_is_withdrawn_when_the_insurer_asks() -> None:
    given(a_motor_proposal()).when(withdraw(WithdrawalParty.INSURER)).events(
        expect(ProposalWithdrawn, requested_by=WithdrawalParty.INSURER, reason="no longer wanted")
    )


# -------------------------------------------------------------------------------------- 缮制单证 and 复核签章


def test_documents_are_sealed_when_the_sealer_did_not_prepare_them() -> None:
    given(prepared(decided(a_life_proposal()))).when(
        lambda p: p.seal_documents(ctx(UW, CHECKER_ID), seal_ref="SEAL-1")
    ).events(expect(PolicyDocumentsSealed, seal_ref="SEAL-1", actor=Actor(id=CHECKER_ID, role=UW)))


def test_document_sealing_is_refused_when_the_sealer_prepared_an_earlier_version() -> None:
    policy = prepared(decided(a_life_proposal()))
    policy.prepare_documents(ctx(UW, "zheng.hao"), documents=("policy", "clauses", "rider"))

    given(policy).when(lambda p: p.seal_documents(ctx(UW, CLERK_ID), seal_ref="SEAL-1")).refused(
        DocumentsSealerIsPreparerError
    )


def test_document_sealing_is_refused_when_the_sealer_prepared_them() -> None:
    given(prepared(decided(a_life_proposal()))).when(
        lambda p: p.seal_documents(ctx(UW, CLERK_ID), seal_ref="SEAL-1")
    ).refused(DocumentsSealerIsPreparerError)


# --------------------------------------------------------------------------------------------------- 收取保费


def receive(amount_fen: int) -> Command:
    """The command: receive ``amount_fen`` of premium."""
    return lambda p: p.receive_premium(ctx(SYSTEM), amount_fen=amount_fen, method="card", receipt_no="R-2")


def test_premium_is_received_before_the_decision_when_paid_with_the_proposal() -> None:
    given(a_life_proposal()).when(receive(PREMIUM_FEN)).events(
        expect(PremiumReceived, amount_fen=PREMIUM_FEN, method="card", receipt_no="R-2")
    )


def test_premium_is_refused_when_the_amount_differs_from_the_quote() -> None:
    given(a_life_proposal()).when(receive(PREMIUM_FEN - 1)).refused(PremiumAmountMismatchError)


def test_premium_is_refused_when_it_was_already_received() -> None:
    given(paid(a_life_proposal())).when(receive(PREMIUM_FEN)).refused(PremiumAlreadyReceivedError)


def test_ctpl_premium_is_refused_when_it_is_not_paid_in_full() -> None:
    given(a_ctpl_proposal()).when(receive(CTPL_PREMIUM_FEN // 2)).refused(CtplPremiumNotPaidInFullError)


def test_ctpl_policy_is_issued_when_the_premium_was_paid_in_full() -> None:
    given(ready_to_issue(a_ctpl_proposal())).when(issue).events(ISSUED)


def test_ctpl_issue_is_refused_when_the_premium_was_not_paid() -> None:
    given(explained(sealed(decided(a_ctpl_proposal())))).when(issue).refused(CtplPremiumNotPaidInFullError)


def test_issue_is_refused_when_the_premium_was_not_received() -> None:
    given(explained(sealed(decided(a_life_proposal())))).when(issue).refused(PremiumNotReceivedError)


# ------------------------------------------------------------------------------------------------------ issue


def test_policy_is_issued_when_everything_is_in() -> None:
    then = given(ready_to_issue(a_life_proposal())).when(issue)

    then.events(ISSUED)


def test_issue_is_refused_when_the_proposal_was_declined() -> None:
    policy = decided(paid(explained(a_life_proposal())), UnderwritingDecision.DECLINED)

    given(policy).when(issue).refused(DeclinedProposalCannotBeIssuedError)


def test_issue_is_refused_when_an_exclusion_clause_was_not_explained() -> None:
    policy = paid(explained(sealed(decided(a_life_proposal())), clause_ids=EXCLUSIONS[:1]))

    given(policy).when(issue).refused(ExclusionsNotExplainedError, match=EXCLUSIONS[1])


def test_issue_is_refused_when_the_documents_are_not_sealed() -> None:
    policy = paid(explained(prepared(decided(a_life_proposal()))))

    given(policy).when(issue).refused(InvalidTransitionError)


def test_issue_is_refused_when_the_cover_ends_before_it_starts() -> None:
    given(ready_to_issue(a_life_proposal())).when(
        lambda p: p.issue(
            ctx(UW),
            policy_no="P-1",
            effective_from=date(2026, 3, 3),
            effective_to=date(2026, 3, 2),
            terms_version="2026-01",
        )
    ).refused(InvalidCoverPeriodError)


def test_cover_is_in_force_when_the_policy_is_issued() -> None:
    cover = given(an_issued_ctpl_policy()).aggregate.cover()

    assert (cover.in_force, cover.ctpl, cover.policy_no) == (True, True, "P-2026-000123")
    assert (cover.effective_from, cover.effective_to) == (date(2026, 3, 3), date(2027, 3, 2))


def test_cover_is_refused_when_the_proposal_was_never_issued() -> None:
    with refuses(PolicyNotInForceError):
        given(ready_to_issue(a_life_proposal())).aggregate.cover()


# ------------------------------------------------------------------------------------ receipt and cooling-off


def acknowledge(cooling_off_days: int = 15) -> Command:
    """The command: the applicant's receipt arrives."""
    return lambda p: p.acknowledge_receipt(
        ctx(Role.SELLER, SELLER_ID),
        received_on=RECEIVED_ON,
        method="paper-receipt",
        cooling_off_days=cooling_off_days,
    )


def test_receipt_starts_a_fifteen_day_cooling_off_when_a_life_policy_runs_over_a_year() -> None:
    then = given(an_issued_life_policy()).when(acknowledge())

    then.events(
        expect(
            PolicyReceiptAcknowledged,
            received_on=RECEIVED_ON,
            method="paper-receipt",
            cooling_off_days=15,
            cooling_off_ends_on=COOLING_OFF_LAST_DAY,
        )
    )
    assert then.aggregate.status is PolicyStatus.IN_COOLING_OFF


def test_receipt_puts_the_policy_in_force_when_no_cooling_off_applies() -> None:
    then = given(an_issued_motor_policy()).when(acknowledge())

    # The 15 days the command offers are not recorded: no cooling-off period applies to this policy.
    then.events(
        expect(
            PolicyReceiptAcknowledged,
            received_on=RECEIVED_ON,
            method="paper-receipt",
            cooling_off_days=None,
            cooling_off_ends_on=None,
        )
    )
    assert then.aggregate.status is PolicyStatus.IN_FORCE


def test_receipt_is_refused_when_the_cooling_off_period_is_shorter_than_fifteen_days() -> None:
    given(an_issued_life_policy()).when(acknowledge(cooling_off_days=10)).refused(CoolingOffTooShortError)


def cancel(requested_on: date, fee_fen: int = 0) -> Command:
    """The command: cancel on a request made on ``requested_on``, processed that day."""
    return lambda p: p.cancel_in_cooling_off(
        ctx(UW, at=at(requested_on)), requested_on=requested_on, fee_fen=fee_fen
    )


def test_cancellation_refunds_the_premium_less_the_fee_when_requested_on_the_last_day() -> None:
    then = given(a_life_policy_in_cooling_off()).when(cancel(COOLING_OFF_LAST_DAY, fee_fen=1_000))

    then.events(
        expect(
            PolicyCancelledInCoolingOff,
            requested_on=COOLING_OFF_LAST_DAY,
            refund_fen=PREMIUM_FEN - 1_000,
            fee_fen=1_000,
        )
    )
    assert not then.aggregate.cover().in_force


def test_cancellation_is_refused_when_requested_after_the_cooling_off_period() -> None:
    given(a_life_policy_in_cooling_off()).when(cancel(COOLING_OFF_LAST_DAY + timedelta(days=1))).refused(
        CoolingOffOverError
    )


def test_cancellation_is_recorded_when_requested_in_time_but_processed_after_cooling_off_ended() -> None:
    given(an_in_force_life_policy()).when(
        lambda p: p.cancel_in_cooling_off(
            ctx(UW, at=at(COOLING_OFF_LAST_DAY + timedelta(days=3))), requested_on=COOLING_OFF_LAST_DAY
        )
    ).events(
        expect(
            PolicyCancelledInCoolingOff, requested_on=COOLING_OFF_LAST_DAY, refund_fen=PREMIUM_FEN, fee_fen=0
        )
    )


def test_cancellation_is_refused_when_the_policy_has_no_cooling_off_period() -> None:
    policy = an_issued_motor_policy()
    policy.acknowledge_receipt(ctx(Role.SELLER, SELLER_ID), received_on=RECEIVED_ON, method="paper-receipt")

    given(policy).when(cancel(RECEIVED_ON)).refused(CoolingOffOverError)


def test_cancellation_is_refused_when_the_fee_exceeds_ten_yuan() -> None:
    given(a_life_policy_in_cooling_off()).when(cancel(RECEIVED_ON, fee_fen=1_001)).refused(
        CoolingOffFeeTooHighError
    )


def test_cooling_off_ends_when_its_last_day_has_passed() -> None:
    then = given(a_life_policy_in_cooling_off()).when(
        lambda p: p.end_cooling_off(ctx(SYSTEM, at=at(COOLING_OFF_LAST_DAY + timedelta(days=1), hour=0)))
    )

    then.events(expect(CoolingOffEnded, ended_on=COOLING_OFF_LAST_DAY))
    assert then.aggregate.status is PolicyStatus.IN_FORCE


def test_cooling_off_end_is_refused_when_its_last_day_has_not_passed() -> None:
    given(a_life_policy_in_cooling_off()).when(
        lambda p: p.end_cooling_off(ctx(SYSTEM, at=at(COOLING_OFF_LAST_DAY, hour=23)))
    ).refused(CoolingOffNotOverError)


def test_cooling_off_end_is_refused_when_the_actor_is_not_the_system() -> None:
    given(a_life_policy_in_cooling_off()).when(
        lambda p: p.end_cooling_off(ctx(UW, at=at(COOLING_OFF_LAST_DAY + timedelta(days=1))))
    ).refused(ActorRoleError)


# ------------------------------------------------------------------------------------------------ endorsement


def endorse_beneficiaries(consent_ref: str | None) -> Command:
    """The command: change the beneficiaries, with or without the insured's consent."""
    return lambda p: p.apply_endorsement(
        ctx(UW),
        endorsement_no="PQ-0001",
        change_type="beneficiary",
        description="beneficiary changed",
        effective_on=date(2026, 6, 1),
        beneficiary_names=("张小伟",),
        insured_consent_ref=consent_ref,
    )


def test_beneficiary_change_is_applied_when_the_insured_consented() -> None:
    given(an_in_force_life_policy()).when(endorse_beneficiaries("CONSENT-0001")).events(
        expect(
            EndorsementApplied,
            endorsement_no="PQ-0001",
            change_type="beneficiary",
            description="beneficiary changed",
            effective_on=date(2026, 6, 1),
            premium_delta_fen=0,
            sum_insured_fen=None,
            beneficiary_names=("张小伟",),
            insured_consent_ref="CONSENT-0001",
        )
    )


def test_beneficiary_change_is_refused_when_the_insured_did_not_consent() -> None:
    given(an_in_force_life_policy()).when(endorse_beneficiaries(None)).refused(
        BeneficiaryChangeWithoutConsentError
    )


def test_sum_insured_endorsement_changes_the_cover_when_applied() -> None:
    then = given(an_in_force_life_policy()).when(
        lambda p: p.apply_endorsement(
            ctx(UW),
            endorsement_no="PQ-0002",
            change_type="sum_insured",
            description="sum insured raised",
            effective_on=date(2026, 6, 1),
            premium_delta_fen=300_000,
            sum_insured_fen=60_000_000,
        )
    )

    then.events(
        expect(
            EndorsementApplied,
            endorsement_no="PQ-0002",
            change_type="sum_insured",
            description="sum insured raised",
            effective_on=date(2026, 6, 1),
            premium_delta_fen=300_000,
            sum_insured_fen=60_000_000,
            beneficiary_names=None,
        )
    )
    assert then.aggregate.cover().sum_insured_fen == 60_000_000


# ------------------------------------------------------------------------------------------------- rescission

DISCOVERED_ON = date(2026, 9, 1)


def test_rescission_is_recorded_when_within_thirty_days_of_discovery() -> None:
    then = given(with_ground(an_in_force_life_policy(), DISCOVERED_ON)).when(
        rescind_on(DISCOVERED_ON + timedelta(days=10))
    )

    then.events(RESCINDED_FOR_NON_DISCLOSURE)
    assert not then.aggregate.cover().in_force


def test_rescission_is_recorded_when_on_the_thirtieth_day_after_discovery() -> None:
    given(with_ground(an_in_force_life_policy(), DISCOVERED_ON)).when(
        rescind_on(DISCOVERED_ON + timedelta(days=30))
    ).events(RESCINDED_FOR_NON_DISCLOSURE)


def test_rescission_is_refused_when_more_than_thirty_days_after_discovery() -> None:
    given(with_ground(an_in_force_life_policy(), DISCOVERED_ON)).when(
        rescind_on(DISCOVERED_ON + timedelta(days=31))
    ).refused(RescissionTooLateError)


def test_rescission_window_counts_from_the_first_discovery_when_the_ground_is_reported_twice() -> None:
    policy = with_ground(
        with_ground(an_in_force_life_policy(), DISCOVERED_ON), DISCOVERED_ON + timedelta(days=20)
    )

    given(policy).when(rescind_on(DISCOVERED_ON + timedelta(days=31))).refused(RescissionTooLateError)


def test_rescission_is_recorded_when_just_inside_two_years_of_formation() -> None:
    last_day = date(2028, 3, 1)  # formed 2026-03-02 10:00 (the decision): incontestable from 2028-03-02 10:00
    policy = with_ground(an_in_force_life_policy(), last_day - timedelta(days=5))

    given(policy).when(rescind_on(last_day)).events(RESCINDED_FOR_NON_DISCLOSURE)


def test_rescission_is_refused_when_more_than_two_years_after_formation() -> None:
    discovered_on = date(2028, 2, 20)
    policy = with_ground(an_in_force_life_policy(), discovered_on)

    then = given(policy).when(rescind_on(date(2028, 3, 2)))

    then.refused(IncontestablePolicyError)
    assert isinstance(then.error, RescissionWindowClosedError)


def test_rescission_is_refused_when_the_insurer_knew_at_formation() -> None:
    policy = an_in_force_life_policy()
    policy.record_rescission_ground(
        ctx(UW, at=at(DISCOVERED_ON)),
        ground=RescissionGround.NON_DISCLOSURE_ART16,
        known_at=at(date(2026, 2, 28)),  # the medical report was on file before the decision
        evidence="medical report in the underwriting file",
    )

    given(policy).when(rescind_on(DISCOVERED_ON)).refused(InsurerKnewAtFormationError)


def test_rescission_is_refused_when_the_ground_is_not_allowed_for_ctpl() -> None:
    policy = with_ground(an_issued_ctpl_policy(), DISCOVERED_ON, RescissionGround.FRAUD_ART27)

    given(policy).when(rescind_on(DISCOVERED_ON, RescissionGround.FRAUD_ART27)).refused(
        RescissionGroundNotAllowedError
    )


def test_rescission_is_refused_when_an_age_ground_is_cited_on_motor_cover() -> None:
    policy = with_ground(an_issued_motor_policy(), DISCOVERED_ON, RescissionGround.AGE_ART32)

    given(policy).when(rescind_on(DISCOVERED_ON, RescissionGround.AGE_ART32)).refused(
        RescissionGroundNotAllowedError
    )


def test_ctpl_rescission_is_recorded_when_the_ground_is_non_disclosure() -> None:
    policy = with_ground(an_issued_ctpl_policy(), DISCOVERED_ON)
    # CTPL Art. 14: the written notice, received Wednesday 2 September; 5 days end with Monday 7 September.
    policy.send_rescission_notice(
        ctx(UW, at=at(date(2026, 9, 2))),
        ground=RescissionGround.NON_DISCLOSURE_ART16,
        notice_ref="CTPL-N-1",
        received_on=date(2026, 9, 2),
    )

    given(policy).when(rescind_on(date(2026, 9, 8))).events(RESCINDED_FOR_NON_DISCLOSURE)


def test_rescission_is_refused_when_no_discovery_of_the_ground_is_on_record() -> None:
    given(an_in_force_life_policy()).when(rescind_on(DISCOVERED_ON)).refused(
        RescissionGroundNotDiscoveredError
    )


def test_fraud_rescission_is_recorded_when_discovered_years_after_formation() -> None:
    discovered_on = date(2029, 1, 10)
    policy = with_ground(an_in_force_life_policy(), discovered_on, RescissionGround.FRAUD_ART27)

    given(policy).when(rescind_on(discovered_on + timedelta(days=90), RescissionGround.FRAUD_ART27)).events(
        rescinded(RescissionGround.FRAUD_ART27, "Insurance Law Art. 27")
    )


def test_rescission_ground_is_recorded_with_the_time_the_insurer_learnt_it() -> None:
    then = given(an_in_force_life_policy()).when(lambda p: with_ground(p, DISCOVERED_ON))

    then.events(
        expect(
            RescissionGroundDiscovered,
            ground=RescissionGround.NON_DISCLOSURE_ART16,
            known_at=at(DISCOVERED_ON),
            occurred_at=at(DISCOVERED_ON),
            evidence="hospital record of 2025-11 hypertension treatment",
        )
    )


# -------------------------------------------------------------------------- lapse, surrender, renewal, expiry

# The Art. 36 suspension and the Art. 37 reinstatement, now driven by the premium schedule, are proven in
# tests/unit/test_surrender_and_renewal_premium.py.


def test_policy_is_surrendered_when_it_is_in_force() -> None:
    given(an_in_force_life_policy()).when(
        lambda p: p.surrender(
            ctx(UW, at=at(date(2027, 6, 1))), requested_on=date(2027, 6, 1), cash_value_fen=400_000
        )
    ).events(
        expect(SurrenderNoticeReceived, received_on=date(2027, 6, 1)),
        expect(
            PolicySurrendered,
            requested_on=date(2027, 6, 1),
            cash_value_fen=400_000,
            ctpl_ground=None,
            proof_ref=None,
        ),
    )


def test_surrender_is_refused_when_the_policy_is_in_cooling_off() -> None:
    given(a_life_policy_in_cooling_off()).when(
        lambda p: p.surrender(ctx(UW), requested_on=RECEIVED_ON, cash_value_fen=0)
    ).refused(InvalidTransitionError)


def renew_from(effective_from: date) -> Command:
    """The command: renew for a year from ``effective_from``."""
    return lambda p: p.renew(
        ctx(UW),
        effective_from=effective_from,
        effective_to=effective_from + timedelta(days=364),
        premium_fen=PREMIUM_FEN,
        terms_version="2027-01",
    )


def test_policy_is_renewed_when_the_new_period_follows_the_current_one() -> None:
    then = given(an_issued_motor_policy()).when(renew_from(date(2027, 3, 3)))

    then.events(
        expect(
            PolicyRenewed,
            effective_from=date(2027, 3, 3),
            effective_to=date(2028, 3, 1),
            premium_fen=PREMIUM_FEN,
            terms_version="2027-01",
        )
    )
    assert then.aggregate.cover().effective_to == date(2028, 3, 1)


def test_renewal_is_refused_when_the_new_period_overlaps_the_current_one() -> None:
    given(an_issued_motor_policy()).when(renew_from(date(2027, 3, 2))).refused(InvalidCoverPeriodError)


def test_policy_expires_when_its_cover_period_is_over() -> None:
    then = given(an_issued_motor_policy()).when(
        lambda p: p.expire(ctx(SYSTEM, at=at(date(2027, 3, 3), hour=0)))
    )

    # The cover's last day, not the day the timer noticed.
    then.events(expect(PolicyExpired, expired_on=date(2027, 3, 2)))
    assert not then.aggregate.cover().in_force


def test_expiry_is_refused_when_the_cover_period_is_not_over() -> None:
    given(an_issued_motor_policy()).when(
        lambda p: p.expire(ctx(SYSTEM, at=at(date(2027, 3, 2), hour=23)))
    ).refused(CoverPeriodNotOverError)


# --------------------------------------------------------------------------------------------- event contract


def test_replay_rebuilds_identical_state_when_a_whole_history_is_replayed() -> None:
    policy = with_ground(an_in_force_life_policy(), DISCOVERED_ON)

    replayed = given(policy).aggregate

    assert replayed is not policy
    assert replayed.__dict__ == policy.__dict__


def test_every_policy_event_has_its_own_versioned_wire_name_when_the_module_is_loaded() -> None:
    events = [
        cls
        for cls in vars(policy_module).values()
        if isinstance(cls, type) and issubclass(cls, DomainEvent) and cls.__module__ == policy_module.__name__
    ]
    topics = [cls.__dict__.get("TOPIC") for cls in events]

    assert len(events) == 38
    assert all(isinstance(t, str) and re.fullmatch(r"policy\.[a-z0-9-]+\.v1", t) for t in topics), topics
    assert len(set(topics)) == len(topics)


def test_every_policy_topic_resolves_to_its_class_when_a_fresh_process_only_reads() -> None:
    code = (
        "import domain.policy as m\n"
        "from eventsourcing.utils import resolve_topic\n"
        "from domain.base import DomainEvent\n"
        "for cls in vars(m).values():\n"
        "    if isinstance(cls, type) and issubclass(cls, DomainEvent) and cls.__module__ == m.__name__:\n"
        "        assert resolve_topic(cls.TOPIC) is cls, cls.TOPIC\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr
