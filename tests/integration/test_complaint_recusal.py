"""Recusal (回避) looked up by the system, on real PostgreSQL: a complaint names the policy or claim it is
about by its number (or the seller by their registration), and whoever worked that case is refused as the
complaint's handler; a reference caseledger cannot resolve to one case is refused, never passed over.

No projection runs here: the numbers are resolved from the event store, so a case recorded a moment ago is
found at once.
"""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from cli.scenarios import (
    ADJUSTER,
    HANDLER,
    HANDLING_OFFICER,
    OFFICER,
    REVIEWER,
    SELLER,
    SELLER_REGISTRATION,
    SURVEYOR,
    UNDERWRITER,
    a_policy,
    by,
    claim_story,
    register_demo_seller,
)
from domain.base import SHANGHAI
from domain.complaint import (
    ComplaintAssigned,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintHandlerWorkedSubjectCaseError,
    ComplaintSubjectUnresolvedError,
    SubjectKind,
)
from domain.policy import Line
from infra.bootstrap import System
from infra.clock import ControlledClock
from infra.services.complaints import AcknowledgeComplaint, AssignComplaint, LodgeComplaint, SubjectRefBody
from infra.services.policies import SubmitProposal

pytestmark = pytest.mark.integration

FREE_HANDLER = HANDLING_OFFICER[1]
"""A complaints officer with no part in any case of these tests."""


def lodge(system: System, clock: ControlledClock, kind: SubjectKind, ref: str) -> UUID:
    """A complaint about ``ref`` lodged and acknowledged, ready to be assigned."""
    complaint_id = uuid4()
    system.complaints.lodge(
        LodgeComplaint(
            received_at=clock.now(),
            category=ComplaintCategory.SALES if kind is SubjectKind.SELLER else ComplaintCategory.CLAIMS,
            channel=ComplaintChannel.HOTLINE,
            subject_ref=SubjectRefBody(kind=kind, ref=ref),
            customer_id="CUST-recusal",
            complainant_name="张伟",
            complainant_phone="13800138000",
            facts="the paint work was left out",
            demands="pay the paint work",
        ),
        by(OFFICER),
        complaint_id=complaint_id,
    )
    system.complaints.acknowledge(complaint_id, AcknowledgeComplaint(channel="sms"), by(OFFICER))
    return complaint_id


def assigned(system: System, complaint_id: UUID) -> ComplaintAssigned:
    event = system.complaints.history(complaint_id)[-1]
    assert isinstance(event, ComplaintAssigned)
    return event


@pytest.fixture
def registered_seller(system: System, clock: ControlledClock) -> None:
    register_demo_seller(system, clock.now().astimezone(SHANGHAI).date())


@pytest.fixture
def a_motor_policy(system: System, registered_seller: None) -> UUID:
    """The demo's motor policy: sold by the seller, entered, checked, underwritten and issued."""
    return a_policy(system)


@pytest.fixture
def a_closed_claim(system: System, clock: ControlledClock, a_motor_policy: UUID) -> UUID:
    """The demo's motor claim on that policy: handled, surveyed, adjusted, reviewed, paid and closed."""
    return claim_story(system, clock, a_motor_policy)


def policy_no(system: System, policy_id: UUID) -> str:
    number = system.policies.load(policy_id).policy_no
    assert number is not None
    return number


def claim_no(system: System, claim_id: UUID) -> str:
    number = system.claims.load(claim_id).claim_no
    assert number is not None
    return number


def submit_proposal(system: System, proposal_no: str) -> UUID:
    """A proposal the seller has only submitted: a policy case with its proposal number and no other."""
    policy_id = uuid4()
    system.policies.submit(
        SubmitProposal(
            proposal_no=proposal_no,
            product_code="LIFE-WL-20",
            line=Line.LIFE,
            customer_id=f"CUST-{policy_id.hex[:8]}",
            applicant_name="张伟",
            applicant_id_number="110101199003071234",
            applicant_phone="13800138000",
            insured_name="张伟",
            sum_insured_fen=50_000_000,
            term_months=240,
            quoted_premium_fen=1_200_000,
            exclusion_clause_ids=["EXCL-WAR", "EXCL-FRAUD"],
            seller_registration_no=SELLER_REGISTRATION,
            channel="agency",
        ),
        by(SELLER),
        policy_id=policy_id,
    )
    return policy_id


# ------------------------------------------------------------------------------ a policy by its number


@pytest.mark.parametrize("worked_it", [SELLER[1], UNDERWRITER[1]])
def test_assigning_refuses_the_seller_and_underwriter_of_the_policy_named_by_its_policy_number(
    system: System, clock: ControlledClock, a_motor_policy: UUID, worked_it: str
) -> None:
    complaint_id = lodge(system, clock, SubjectKind.POLICY, policy_no(system, a_motor_policy))

    with pytest.raises(ComplaintHandlerWorkedSubjectCaseError) as refused:
        system.complaints.assign(complaint_id, AssignComplaint(handler_id=worked_it), by(OFFICER))

    assert refused.value.rule == "CMP-RECUSAL-SUBJECT-CASE"


def test_assigning_refuses_the_seller_of_a_proposal_named_by_its_proposal_number(
    system: System, clock: ControlledClock, registered_seller: None
) -> None:
    submit_proposal(system, "TB-RECUSAL-0001")
    complaint_id = lodge(system, clock, SubjectKind.POLICY, "TB-RECUSAL-0001")

    with pytest.raises(ComplaintHandlerWorkedSubjectCaseError):
        system.complaints.assign(complaint_id, AssignComplaint(handler_id=SELLER[1]), by(OFFICER))


def test_assigning_by_the_policy_number_records_the_policy_its_staff_and_version(
    system: System, clock: ControlledClock, a_motor_policy: UUID
) -> None:
    complaint_id = lodge(system, clock, SubjectKind.POLICY, policy_no(system, a_motor_policy))

    system.complaints.assign(complaint_id, AssignComplaint(handler_id=FREE_HANDLER), by(OFFICER))

    event = assigned(system, complaint_id)
    assert {SELLER[1], UNDERWRITER[1]} <= set(event.subject_staff)
    assert event.subject_case_id == a_motor_policy
    assert event.subject_case_version == len(system.policies.history(a_motor_policy))


# ------------------------------------------------------------------------------ a claim by its number


@pytest.mark.parametrize(
    "worked_it", [ADJUSTER[1], HANDLER[1], SURVEYOR[1], REVIEWER[1], SELLER[1], UNDERWRITER[1]]
)
def test_assigning_refuses_the_claims_staff_and_the_policy_staff_of_the_claim_named_by_its_claim_number(
    system: System, clock: ControlledClock, a_closed_claim: UUID, worked_it: str
) -> None:
    complaint_id = lodge(system, clock, SubjectKind.CLAIM, claim_no(system, a_closed_claim))

    with pytest.raises(ComplaintHandlerWorkedSubjectCaseError) as refused:
        system.complaints.assign(complaint_id, AssignComplaint(handler_id=worked_it), by(OFFICER))

    assert refused.value.rule == "CMP-RECUSAL-SUBJECT-CASE"


def test_assigning_by_the_claim_number_records_the_claim_its_staff_and_version(
    system: System, clock: ControlledClock, a_closed_claim: UUID
) -> None:
    complaint_id = lodge(system, clock, SubjectKind.CLAIM, claim_no(system, a_closed_claim))

    system.complaints.assign(complaint_id, AssignComplaint(handler_id=FREE_HANDLER), by(OFFICER))

    event = assigned(system, complaint_id)
    assert {ADJUSTER[1], HANDLER[1], SURVEYOR[1], REVIEWER[1], SELLER[1]} <= set(event.subject_staff)
    assert event.subject_case_id == a_closed_claim
    assert event.subject_case_version == len(system.claims.history(a_closed_claim))


# ------------------------------------------------------------------------------ a seller


@pytest.mark.parametrize("named_as", [SELLER[1], SELLER_REGISTRATION])
def test_assigning_refuses_the_seller_a_seller_complaint_names_by_id_or_practice_registration(
    system: System, clock: ControlledClock, registered_seller: None, named_as: str
) -> None:
    complaint_id = lodge(system, clock, SubjectKind.SELLER, named_as)

    with pytest.raises(ComplaintHandlerWorkedSubjectCaseError) as refused:
        system.complaints.assign(complaint_id, AssignComplaint(handler_id=SELLER[1]), by(OFFICER))

    assert refused.value.rule == "CMP-RECUSAL-SUBJECT-CASE"


def test_assigning_a_seller_complaint_records_the_seller_as_subject_staff(
    system: System, clock: ControlledClock, registered_seller: None
) -> None:
    complaint_id = lodge(system, clock, SubjectKind.SELLER, SELLER_REGISTRATION)

    system.complaints.assign(complaint_id, AssignComplaint(handler_id=FREE_HANDLER), by(OFFICER))

    assert SELLER[1] in assigned(system, complaint_id).subject_staff


def test_assigning_is_refused_when_the_seller_named_is_on_no_practice_registration(
    system: System, clock: ControlledClock, registered_seller: None
) -> None:
    complaint_id = lodge(system, clock, SubjectKind.SELLER, "li.na")  # a typo for li.na.seller

    with pytest.raises(ComplaintSubjectUnresolvedError) as refused:
        system.complaints.assign(complaint_id, AssignComplaint(handler_id=FREE_HANDLER), by(OFFICER))

    assert refused.value.rule == "CMP-RECUSAL-SUBJECT-UNRESOLVED"


# ------------------------------------------------------------------------------ references that name no case


@pytest.mark.parametrize(
    ("kind", "ref"),
    [
        (SubjectKind.POLICY, "P-LEGACY-0001"),
        (SubjectKind.CLAIM, "LP-LEGACY-0001"),
        (SubjectKind.POLICY, str(uuid4())),
        (SubjectKind.CLAIM, str(uuid4())),
    ],
)
def test_assigning_is_refused_when_no_case_on_record_has_the_reference(
    system: System, clock: ControlledClock, kind: SubjectKind, ref: str
) -> None:
    complaint_id = lodge(system, clock, kind, ref)

    with pytest.raises(ComplaintSubjectUnresolvedError) as refused:
        system.complaints.assign(
            complaint_id,
            AssignComplaint(handler_id=FREE_HANDLER, involved_staff=["old.agent"]),
            by(OFFICER),
        )

    assert refused.value.rule == "CMP-RECUSAL-SUBJECT-UNRESOLVED"
    assert "subject_case_id" in refused.value.message  # it says how to go on
    assert system.complaints.load(complaint_id).handler_id is None


def test_assigning_is_refused_when_a_claim_number_is_given_as_a_policy(
    system: System, clock: ControlledClock, a_closed_claim: UUID
) -> None:
    complaint_id = lodge(system, clock, SubjectKind.POLICY, claim_no(system, a_closed_claim))

    with pytest.raises(ComplaintSubjectUnresolvedError):
        system.complaints.assign(complaint_id, AssignComplaint(handler_id=FREE_HANDLER), by(OFFICER))


def test_assigning_is_refused_when_the_number_names_two_cases(
    system: System, clock: ControlledClock, registered_seller: None
) -> None:
    submit_proposal(system, "TB-TWICE-0001")
    submit_proposal(system, "TB-TWICE-0001")
    complaint_id = lodge(system, clock, SubjectKind.POLICY, "TB-TWICE-0001")

    with pytest.raises(ComplaintSubjectUnresolvedError):
        system.complaints.assign(complaint_id, AssignComplaint(handler_id=FREE_HANDLER), by(OFFICER))


# ------------------------------------------------------------------------------ the officer gives the case id


def test_the_case_id_the_officer_gives_for_an_unresolved_number_is_checked_for_its_staff(
    system: System, clock: ControlledClock, a_motor_policy: UUID
) -> None:
    complaint_id = lodge(system, clock, SubjectKind.POLICY, "P-LEGACY-0001")

    with pytest.raises(ComplaintHandlerWorkedSubjectCaseError):
        system.complaints.assign(
            complaint_id,
            AssignComplaint(handler_id=UNDERWRITER[1], subject_case_id=a_motor_policy),
            by(OFFICER),
        )
    system.complaints.assign(
        complaint_id, AssignComplaint(handler_id=FREE_HANDLER, subject_case_id=a_motor_policy), by(OFFICER)
    )

    event = assigned(system, complaint_id)
    assert (event.subject_case_id, event.subject_case_version) == (
        a_motor_policy,
        len(system.policies.history(a_motor_policy)),
    )


def test_the_case_id_the_officer_gives_is_refused_when_the_number_names_another_case(
    system: System, clock: ControlledClock, a_motor_policy: UUID
) -> None:
    other = submit_proposal(system, "TB-OTHER-0001")
    complaint_id = lodge(system, clock, SubjectKind.POLICY, policy_no(system, a_motor_policy))

    with pytest.raises(ComplaintSubjectUnresolvedError):
        system.complaints.assign(
            complaint_id, AssignComplaint(handler_id=FREE_HANDLER, subject_case_id=other), by(OFFICER)
        )


def test_a_case_id_given_for_a_seller_complaint_is_refused(
    system: System, clock: ControlledClock, a_motor_policy: UUID
) -> None:
    complaint_id = lodge(system, clock, SubjectKind.SELLER, SELLER[1])

    with pytest.raises(ComplaintSubjectUnresolvedError):
        system.complaints.assign(
            complaint_id,
            AssignComplaint(handler_id=FREE_HANDLER, subject_case_id=a_motor_policy),
            by(OFFICER),
        )
