"""The SLA rule table: every rule of the domain brief, as data, with a deadline computed for each."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from domain.base import Role
from domain.calendar import (
    CountingMethod,
    Deadline,
    DurationUnit,
    ExtensionNotAllowedError,
    Pause,
    PausedClock,
    compute_deadline,
    default_calendar,
    extend_deadline,
)
from domain.sla import (
    ALL_RULES,
    CASE_FACTS,
    MissingCaseFactError,
    RuleKind,
    SlaRule,
    UnknownSlaRuleError,
    rule_by_id,
    rules_started_by,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")

# The event class names of the aggregates, as given to the rule author; a separate test checks them
# against the real classes.
EVENT_NAMES = frozenset(
    [
        "SurrenderNoticeReceived",
        "SurrenderRefundPaid",
        "RenewalPremiumBilled",
        "PremiumReminderSent",
        "RenewalPremiumPaid",
        "ReinstatementPeriodEnded",
        "ProposalSubmitted",
        "ProxySignatureDetected",
        "ProposalPreliminaryChecked",
        "ProposalDataEntered",
        "ProposalEntryVerified",
        "DisclosureRecorded",
        "ExclusionsExplained",
        "RiskRated",
        "UnderwritingDecided",
        "ConditionalOfferAccepted",
        "ConditionalOfferRejected",
        "ProposalWithdrawn",
        "PolicyDocumentsPrepared",
        "PolicyDocumentsSealed",
        "PremiumReceived",
        "PolicyIssued",
        "PolicyReceiptAcknowledged",
        "CoolingOffEnded",
        "PolicyCancelledInCoolingOff",
        "EndorsementApplied",
        "RescissionGroundDiscovered",
        "RescissionNoticeSent",
        "NonDisclosureCured",
        "PolicyRescinded",
        "PolicySurrendered",
        "PolicyLapsed",
        "PolicyReinstated",
        "PolicyRenewed",
        "PolicyExpired",
        "ClaimReported",
        "ClaimApplicationReceived",
        "ClaimRegistered",
        "SurveyDone",
        "LossAssessed",
        "ClaimDocumentsRequested",
        "ClaimDocumentsRequestDelivered",
        "ClaimDocumentReceived",
        "ClaimDocumentsCompleted",
        "ClaimAdjusted",
        "ClaimReviewed",
        "ClaimDecided",
        "RejectionNoticeSent",
        "SettlementAgreed",
        "AdvancePaymentIssued",
        "PaymentIssued",
        "ClaimClosed",
        "ClaimReopened",
        "ClaimWithdrawn",
        "ComplaintLodged",
        "ComplaintAcknowledged",
        "ComplaintAssigned",
        "ComplaintClassified",
        "ExternalAppraisalStarted",
        "ExternalAppraisalCompleted",
        "ComplaintNewFactsReceived",
        "ComplaintDeadlineExtended",
        "ComplaintResponded",
        "ComplaintReviewRequested",
        "ComplaintReviewDecided",
        "ComplaintWithdrawn",
        "ComplaintClosed",
        "ComplaintReopened",
        "CallbackTaskCreated",
        "CallbackScheduled",
        "CallbackAttempted",
        "CallbackCompleted",
        "CallbackFailed",
        "CallbackIssueFound",
        "MisSellingRemedied",
        "CallbackCancelled",
        # 保全 policy service requests
        "ServiceRequested",
        "ServiceRequestCompleted",
        "ServiceRequestRefused",
        "ServiceRequestWithdrawn",
        "ServiceCustomerNotified",
        # 咨询 inquiries and 其他 value-added service orders (issue #14 points 1 and 5)
        "InquiryLogged",
        "InquiryDeferred",
        "InquiryAnswered",
        "InquiryTransferred",
        "InquiryClosed",
        "ServiceOrderRequested",
        "ServiceOrderDispatched",
        "ServiceProviderArrived",
        "ServiceOrderCompleted",
        "ServiceOrderCancelled",
    ]
)


def shanghai(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def due_at(rule_id: str, start_at: datetime, pauses: tuple[Pause, ...] = ()) -> datetime:
    result = compute_deadline(rule_by_id(rule_id), start_at, default_calendar(), pauses)
    assert isinstance(result, Deadline)
    assert result.rule_id == rule_id
    return result.due_at


# ---------------------------------------------------------------------------------------- the table


def test_rule_ids_are_unique_when_the_table_is_loaded() -> None:
    ids = [rule.rule_id for rule in ALL_RULES]
    assert len(ids) == len(set(ids))


def test_table_holds_every_rule_of_the_brief_when_loaded() -> None:
    assert {rule.rule_id for rule in ALL_RULES} == {
        "IL22-ONE-TIME-NOTICE-1WD",
        "IL23-DETERMINE-30D",
        "IL23-PAY-10D",
        "IL24-REJECT-3D",
        "IL25-ADVANCE-60D",
        "IL16-RESCIND-30D",
        "IL16-INCONTESTABLE-2Y",
        "CTPL14-CURE-5D",
        "CTPL28-DOCLIST-1D",
        "CTPL29-DECIDE-5D",
        "CMP-DECIDE-15D",
        "CMP-REVIEW-APPLY-30D",
        "CMP-REVIEW-DECIDE-30D",
        "LIFE-COOLOFF-15D",
        "LIFE-CALLBACK-15D",
        "LIFE-MISSELL-15WD",
        "CO-SURVEY-CALLBACK-2WD",
        "CO-CLOSURE-CALLBACK-7D",
        "CO-CMP-ACK-1WD",
        "IL47-SURRENDER-30D",
        "CO-PREMIUM-REMIND-15D",
        "IL36-GRACE-60D",
        "IL36-DEMAND-30D",
        "IL37-REINSTATE-2Y",
        "CO-SVC-CONTACT-1WD",
        "CO-SVC-MONEY-3WD",
        "CO-SVC-CHANGE-5WD",
        "CO-SVC-NOTICE-1WD",
        # 咨询 inquiries and 其他 value-added service orders (issue #14 points 1 and 5)
        "INQ-REPLY-1WD",
        "VAS-ARRIVE-RESCUE-1H",
        "VAS-ARRIVE-DRIVER-1H",
        "VAS-ARRIVE-PREVENTION-3WD",
        "CO-VAS-CALLBACK-3WD",
    }


def test_rules_name_only_aggregate_event_classes_when_they_list_events() -> None:
    for rule in ALL_RULES:
        assert rule.event_names() <= EVENT_NAMES, rule.rule_id
        if rule.on_breach.records is not None:
            assert rule.on_breach.records in EVENT_NAMES


def test_every_case_fact_is_used_when_rules_test_facts() -> None:
    used = {condition.fact for rule in ALL_RULES for condition in rule.applies_if}
    assert used == set(CASE_FACTS)


def test_company_rules_say_company_policy_when_no_law_sets_the_number() -> None:
    for rule_id in ("CO-SURVEY-CALLBACK-2WD", "CO-CLOSURE-CALLBACK-7D", "CO-CMP-ACK-1WD"):
        basis = rule_by_id(rule_id).legal_basis
        assert basis.instrument == "company policy"
        assert basis.duration_set_by == "company policy"
        assert not rule_by_id(rule_id).on_breach.regulator_reportable
    assert rule_by_id("IL22-ONE-TIME-NOTICE-1WD").legal_basis.duration_set_by == "company policy"
    assert "Art. 22" in (rule_by_id("IL22-ONE-TIME-NOTICE-1WD").legal_basis.article or "")


def test_obligations_escalate_and_windows_do_not_when_their_deadline_passes() -> None:
    for rule in ALL_RULES:
        if rule.kind is RuleKind.OBLIGATION:
            assert rule.on_breach.escalate_to is not None, rule.rule_id
        else:
            assert rule.on_breach.escalate_to is None, rule.rule_id
            assert not rule.on_breach.regulator_reportable, rule.rule_id


def test_rule_by_id_refuses_an_unknown_id_when_asked() -> None:
    with pytest.raises(UnknownSlaRuleError):
        rule_by_id("IL99-NOTHING-1D")


def test_claim_application_starts_the_decision_and_notice_clocks_when_looked_up() -> None:
    # JI-II Art. 15 and CTPL Art. 28 count from the claim application, not from the loss report.
    started = {rule.rule_id for rule in rules_started_by("ClaimApplicationReceived")}
    assert started == {"IL22-ONE-TIME-NOTICE-1WD", "IL23-DETERMINE-30D", "CTPL28-DOCLIST-1D"}
    assert rules_started_by("ClaimReported") == ()


def test_complaint_lodged_starts_decision_and_acknowledgement_when_looked_up() -> None:
    started = {rule.rule_id for rule in rules_started_by("ComplaintLodged")}
    assert started == {"CMP-DECIDE-15D", "CO-CMP-ACK-1WD"}
    assert rules_started_by("ComplaintClosed") == ()


def test_ctpl_claims_run_only_the_ctpl_clocks_when_the_application_is_received() -> None:
    started = rules_started_by("ClaimApplicationReceived")
    ctpl = {r.rule_id for r in started if r.applies({"ctpl": True})}
    other = {r.rule_id for r in started if r.applies({"ctpl": False})}
    assert ctpl == {"CTPL28-DOCLIST-1D"}
    assert other == {"IL22-ONE-TIME-NOTICE-1WD", "IL23-DETERMINE-30D"}


def test_rejection_notice_rule_applies_when_the_decision_refuses_all_or_part_of_the_claim() -> None:
    rule = rule_by_id("IL24-REJECT-3D")
    assert rule.applies({"claim_outcome": "not_covered"})
    assert rule.applies({"claim_outcome": "partial"})
    assert not rule.applies({"claim_outcome": "covered"})
    with pytest.raises(MissingCaseFactError):
        rule.applies({})


def test_cooling_off_rules_apply_only_when_the_life_term_is_over_one_year() -> None:
    for rule_id in ("LIFE-COOLOFF-15D", "LIFE-CALLBACK-15D"):
        assert rule_by_id(rule_id).applies({"life_term_over_one_year": True})
        assert not rule_by_id(rule_id).applies({"life_term_over_one_year": False})


def test_clock_starts_from_the_business_time_of_the_start_event_when_it_has_one() -> None:
    start_fields = {rule.rule_id: rule.start_field for rule in ALL_RULES}
    # The claim application's receipt, a stated business time, not when staff recorded it.
    assert start_fields["IL22-ONE-TIME-NOTICE-1WD"] == "received_at"
    assert start_fields["IL23-DETERMINE-30D"] == "received_at"
    assert start_fields["CTPL28-DOCLIST-1D"] == "received_at"
    assert start_fields["IL16-RESCIND-30D"] == "known_at"
    assert start_fields["LIFE-COOLOFF-15D"] == "received_on"
    assert start_fields["CMP-DECIDE-15D"] == "occurred_at"


def test_claim_decision_clock_pauses_for_documents_when_the_notice_reaches_the_claimant() -> None:
    # JI-II Art. 15: from the notice's arrival to the documents' arrival (the completion's occurred_at).
    rule = rule_by_id("IL23-DETERMINE-30D")
    assert rule.pauses_on == ("ClaimDocumentsRequestDelivered",)
    assert rule.resumes_on == ("ClaimDocumentsCompleted",)
    assert rule.satisfied_by == ("ClaimDecided",)


def test_complaint_clock_reacts_to_its_events_when_the_rule_is_read() -> None:
    rule = rule_by_id("CMP-DECIDE-15D")
    assert rule.pauses_on == ("ExternalAppraisalStarted",)
    assert rule.resumes_on == ("ExternalAppraisalCompleted",)
    assert rule.restarts_on == ("ComplaintNewFactsReceived",)
    assert rule.extended_by == ("ComplaintDeadlineExtended",)
    assert rule.satisfied_by == ("ComplaintResponded",)
    assert rule.cancelled_by == ("ComplaintWithdrawn",)


def test_complaint_extensions_top_out_at_sixty_days_when_listed() -> None:
    rule = rule_by_id("CMP-DECIDE-15D")
    assert rule.extension_durations == (30, 60)
    assert rule.max_duration == 60
    to_30, to_60 = rule.extension_to(30), rule.extension_to(60)
    assert to_30 is not None
    assert to_30.reason_required
    assert to_30.approver_role is None
    assert to_60 is not None
    assert to_60.approver_role is Role.SENIOR_MANAGER
    assert to_60.customer_notice_required
    assert rule.extension_to(90) is None


def test_rule_is_rejected_when_its_extensions_do_not_grow() -> None:
    data = rule_by_id("CMP-DECIDE-15D").model_dump()
    data["extensions"] = [data["extensions"][1], data["extensions"][0]]
    with pytest.raises(ValidationError, match="longer than the rule and increasing"):
        SlaRule.model_validate(data)


def test_rule_is_rejected_when_hours_are_counted_the_civil_code_way() -> None:
    data = rule_by_id("IL23-PAY-10D").model_dump()
    data["unit"] = DurationUnit.HOURS
    with pytest.raises(ValidationError, match="cannot be counted"):
        SlaRule.model_validate(data)


def test_rule_is_rejected_when_an_event_both_starts_and_satisfies_it() -> None:
    data = rule_by_id("IL23-PAY-10D").model_dump()
    data["satisfied_by"] = ("SettlementAgreed",)
    with pytest.raises(ValidationError, match="both start and satisfy"):
        SlaRule.model_validate(data)


# ------------------------------------------------------------------- one deadline per rule, by hand


def test_one_time_notice_is_due_after_may_day_when_reported_the_day_before() -> None:
    # Wed 2025-04-30; May 1–5 are off; the first working day is Tue May 6.
    assert due_at("IL22-ONE-TIME-NOTICE-1WD", shanghai(2025, 4, 30, 16)) == shanghai(2025, 5, 7)


def test_claim_decision_is_due_in_thirty_days_when_nothing_pauses_it() -> None:
    # Tue 2025-06-10 + 30 = Thu Jul 10.
    assert due_at("IL23-DETERMINE-30D", shanghai(2025, 6, 10, 10)) == shanghai(2025, 7, 11)


def test_claim_decision_moves_by_the_paused_days_when_documents_were_requested() -> None:
    # Unpaused: Mon 2025-03-03 + 30 = Wed Apr 2. Paused from the notice on Mar 10 to the documents on
    # Mar 20: ten days more, Sat Apr 12, which rolls to Mon Apr 14.
    pause = Pause(paused_at=shanghai(2025, 3, 10, 14), resumed_at=shanghai(2025, 3, 20, 11))
    assert due_at("IL23-DETERMINE-30D", shanghai(2025, 3, 3, 9)) == shanghai(2025, 4, 3)
    assert due_at("IL23-DETERMINE-30D", shanghai(2025, 3, 3, 9), (pause,)) == shanghai(2025, 4, 15)


def test_claim_decision_stops_from_the_notices_arrival_to_the_documents_arrival_across_national_day() -> None:
    # JI-II Art. 15. Application received Fri 2026-09-18: unpaused, + 30 = Sun Oct 18 → Mon Oct 19. The
    # notice reached the claimant on Mon Sep 28 with 20 days left; the last document arrived on Thu Oct 8:
    # + 20 = Wed Oct 28.
    start = shanghai(2026, 9, 18, 15)
    pause = Pause(paused_at=shanghai(2026, 9, 28, 11), resumed_at=shanghai(2026, 10, 8, 16))
    assert due_at("IL23-DETERMINE-30D", start) == shanghai(2026, 10, 20)
    assert due_at("IL23-DETERMINE-30D", start, (pause,)) == shanghai(2026, 10, 29)


def test_one_time_notice_is_due_after_national_day_when_the_application_comes_on_its_eve() -> None:
    # Wed 2026-09-30; Oct 1–7 are off; the first working day is Thu Oct 8.
    assert due_at("IL22-ONE-TIME-NOTICE-1WD", shanghai(2026, 9, 30, 16)) == shanghai(2026, 10, 9)


def test_claim_decision_has_no_deadline_when_documents_are_still_awaited() -> None:
    pause = Pause(paused_at=shanghai(2025, 3, 10, 14))
    result = rule_by_id("IL23-DETERMINE-30D").deadline(shanghai(2025, 3, 3, 9), default_calendar(), (pause,))
    assert isinstance(result, PausedClock)
    assert result.remaining_days == 23


def test_payment_is_due_after_spring_festival_when_day_ten_falls_inside_it() -> None:
    # Mon 2025-01-20 + 10 = Thu Jan 30, inside 春节 (Jan 28–Feb 4) → Wed Feb 5.
    assert due_at("IL23-PAY-10D", shanghai(2025, 1, 20, 9)) == shanghai(2025, 2, 6)


def test_rejection_notice_is_due_after_national_day_when_decided_on_29_september() -> None:
    # Mon 2025-09-29 + 3 = Thu Oct 2 (holiday, Oct 1–8) → Thu Oct 9, ending 24:00.
    assert due_at("IL24-REJECT-3D", shanghai(2025, 9, 29, 10)) == shanghai(2025, 10, 10)


def test_rejection_notice_is_due_after_dragon_boat_when_day_three_is_a_holiday() -> None:
    # Tue 2026-06-16 + 3 = Fri Jun 19 (端午, Jun 19–21) → Mon Jun 22.
    assert due_at("IL24-REJECT-3D", shanghai(2026, 6, 16, 15)) == shanghai(2026, 6, 23)


def test_advance_payment_is_due_the_eve_of_national_day_when_day_sixty_is_30_september() -> None:
    # Fri 2025-08-01 + 60 = Tue Sep 30, a working day.
    assert due_at("IL25-ADVANCE-60D", shanghai(2025, 8, 1, 10)) == shanghai(2025, 10, 1)


def test_rescission_window_closes_inside_spring_festival_when_day_thirty_falls_there() -> None:
    # Sun 2026-01-18 + 30 = Tue Feb 17 (春节, Feb 15–23). The insurer's own right is not rolled over to
    # Tue Feb 24: it lapses at 24:00 Feb 17, as the Policy guard counts it.
    assert due_at("IL16-RESCIND-30D", shanghai(2026, 1, 18, 10)) == shanghai(2026, 2, 18)


def test_incontestability_begins_at_the_second_anniversary_when_the_contract_was_formed() -> None:
    # Exact years need no holiday data, so 2027 is fine here.
    assert due_at("IL16-INCONTESTABLE-2Y", shanghai(2025, 3, 10, 10)) == shanghai(2027, 3, 10, 10)


def test_ctpl_document_list_is_due_monday_when_the_claim_comes_on_friday() -> None:
    # Fri 2025-11-14 + 1 = Sat Nov 15 → Mon Nov 17.
    assert due_at("CTPL28-DOCLIST-1D", shanghai(2025, 11, 14, 18)) == shanghai(2025, 11, 18)


def test_ctpl_decision_is_due_after_qingming_when_day_five_is_a_holiday() -> None:
    # Tue 2025-04-01 + 5 = Sun Apr 6 (清明, Apr 4–6) → Mon Apr 7.
    assert due_at("CTPL29-DECIDE-5D", shanghai(2025, 4, 1, 10)) == shanghai(2025, 4, 8)


def test_complaint_decision_is_due_after_may_day_when_day_fifteen_is_a_holiday() -> None:
    # Mon 2026-04-20 + 15 = Tue May 5 (劳动节, May 1–5) → Wed May 6.
    assert due_at("CMP-DECIDE-15D", shanghai(2026, 4, 20, 10)) == shanghai(2026, 5, 7)


def test_complaint_extends_from_the_same_start_when_extended_to_30_then_60_days() -> None:
    rule = rule_by_id("CMP-DECIDE-15D")
    start = shanghai(2025, 3, 3, 10)
    calendar = default_calendar()
    due = {}
    for days in (30, 60):
        result = extend_deadline(rule, start, days, calendar)
        assert isinstance(result, Deadline)
        assert result.start_at == start
        due[days] = result.due_at
    assert due_at("CMP-DECIDE-15D", start) == shanghai(2025, 3, 19)  # Tue Mar 18
    assert due[30] == shanghai(2025, 4, 3)  # Wed Apr 2
    assert due[60] == shanghai(2025, 5, 7)  # Fri May 2 is 劳动节 → Tue May 6


def test_complaint_extension_is_refused_when_it_goes_beyond_sixty_days() -> None:
    with pytest.raises(ExtensionNotAllowedError):
        extend_deadline(rule_by_id("CMP-DECIDE-15D"), shanghai(2025, 3, 3, 10), 90, default_calendar())


def test_complaint_warnings_fall_at_half_and_four_fifths_when_the_clock_runs() -> None:
    result = compute_deadline(rule_by_id("CMP-DECIDE-15D"), shanghai(2025, 3, 3), default_calendar())
    assert isinstance(result, Deadline)
    assert [w.fraction for w in result.warnings] == [0.5, 0.8]
    assert result.warning_at(0.5) == shanghai(2025, 3, 11)
    assert result.warning_at(0.8) == shanghai(2025, 3, 15, 19, 12)


def test_review_request_window_crosses_the_new_year_when_the_response_is_in_december() -> None:
    # Mon 2025-12-15 + 30 = Wed 2026-01-14.
    assert due_at("CMP-REVIEW-APPLY-30D", shanghai(2025, 12, 15, 10)) == shanghai(2026, 1, 15)


def test_review_decision_ends_on_the_makeup_sunday_when_day_thirty_is_new_year() -> None:
    # Wed 2025-12-03 + 30 = Fri 2026-01-02 (元旦, Jan 1–3) → Sun Jan 4, a make-up working day.
    assert due_at("CMP-REVIEW-DECIDE-30D", shanghai(2025, 12, 3, 10)) == shanghai(2026, 1, 5)


def test_cooling_off_ends_after_mid_autumn_when_day_fifteen_is_a_holiday() -> None:
    # Thu 2026-09-10 + 15 = Fri Sep 25 (中秋, Sep 25–27) → Mon Sep 28.
    assert due_at("LIFE-COOLOFF-15D", shanghai(2026, 9, 10, 10)) == shanghai(2026, 9, 29)
    assert rule_by_id("LIFE-COOLOFF-15D").on_breach.records == "CoolingOffEnded"


def test_new_policy_callback_is_due_when_cooling_off_ends() -> None:
    start = shanghai(2026, 9, 10, 10)
    assert due_at("LIFE-CALLBACK-15D", start) == due_at("LIFE-COOLOFF-15D", start)
    assert rule_by_id("LIFE-CALLBACK-15D").starts_on == rule_by_id("LIFE-COOLOFF-15D").starts_on


def test_mis_selling_remedy_counts_makeup_days_when_it_spans_national_day() -> None:
    # Fri 2025-09-26. Working days: Sep 28 (make-up Sun) 1, Sep 29 2, Sep 30 3, [Oct 1–8 off], Oct 9 4,
    # Oct 10 5, Oct 11 (make-up Sat) 6, Oct 13–17 7–11, Oct 20–23 12–15 → Thu Oct 23.
    assert due_at("LIFE-MISSELL-15WD", shanghai(2025, 9, 26, 10)) == shanghai(2025, 10, 24)


def test_survey_callback_is_due_after_spring_festival_when_surveyed_the_friday_before() -> None:
    # Fri 2026-02-13: Sat Feb 14 (make-up) 1, Feb 15–23 off, Tue Feb 24 2.
    assert due_at("CO-SURVEY-CALLBACK-2WD", shanghai(2026, 2, 13, 16)) == shanghai(2026, 2, 25)


def test_closure_callback_is_due_after_national_day_when_day_seven_is_1_october() -> None:
    # Thu 2026-09-24 + 7 = Thu Oct 1 (国庆, Oct 1–7) → Thu Oct 8.
    assert due_at("CO-CLOSURE-CALLBACK-7D", shanghai(2026, 9, 24, 10)) == shanghai(2026, 10, 9)


def test_complaint_acknowledgement_is_due_on_the_makeup_saturday_when_lodged_on_friday() -> None:
    # Fri 2026-02-27 + 1 working day = Sat Feb 28, a make-up working day.
    assert due_at("CO-CMP-ACK-1WD", shanghai(2026, 2, 27, 10)) == shanghai(2026, 3, 1)


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda rule: rule.rule_id)
def test_every_rule_computes_a_recorded_deadline_when_started_in_2025(rule: SlaRule) -> None:
    result = compute_deadline(rule, shanghai(2025, 3, 3, 10), default_calendar())
    assert isinstance(result, Deadline)
    assert result.due_at > result.start_at
    assert (result.calendar_id, result.calendar_version) == ("CN-mainland", "2026.2")
    assert len(result.warnings) == len(rule.warn_at)
    if rule.counting is not CountingMethod.EXACT:
        assert result.due_at.time().isoformat() == "00:00:00"
