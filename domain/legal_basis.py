"""The legal basis of each kind of event: the article an auditor would cite for why the step exists.

Events carry facts, not citations, so the citation is data here, keyed by the event's wire name (the stored
topic), and read by the audit history. A step that no law prescribes cites the company's procedure
explicitly rather than nothing. A timer event cites its SLA rule's basis (``domain.sla``), which the rule
already records; ``TIMER_EVENTS`` marks the wire names that take it from there.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from domain.sla import rule_by_id


class Citation(BaseModel):
    """An instrument and, where one applies, its article; ``law`` is False for company procedure."""

    model_config = ConfigDict(frozen=True)

    instrument: str
    article: str | None = None
    law: bool = True

    def __str__(self) -> str:
        return f"{self.instrument} {self.article}" if self.article else self.instrument


INSURANCE_LAW = "中华人民共和国保险法 (Insurance Law, 2015 revision)"
JUDICIAL_INTERPRETATION_II = "保险法司法解释（二） (Judicial Interpretation II, 法释〔2013〕14号)"
CTPL_REGULATION = "机动车交通事故责任强制保险条例 (CTPL Regulation)"
COMPLAINT_MEASURES = "银行业保险业消费投诉处理管理办法 (CBIRC Order 2020 No. 3)"
LIFE_SERVICE = "人身保险业务基本服务规定 (CIRC Order 2010 No. 4)"
SALES_CONDUCT = "保险销售行为管理办法 (Sales Conduct Measures, NFRA Order 2023 No. 2)"
HEALTH_MEASURES = "健康保险管理办法 (Health Insurance Measures, 2019)"
PIPL = "中华人民共和国个人信息保护法 (Personal Information Protection Law, PIPL)"
COMPANY_PROCEDURE = Citation(instrument="company procedure", law=False)
"""A step the company's procedure requires and no law prescribes (e.g. 录单, 复核)."""


def _law(article: str) -> Citation:
    return Citation(instrument=INSURANCE_LAW, article=article)


def _complaints(article: str) -> Citation:
    return Citation(instrument=COMPLAINT_MEASURES, article=article)


def _company(step: str) -> Citation:
    return Citation(instrument="company procedure", article=step, law=False)


_COOLING_OFF = Citation(instrument=HEALTH_MEASURES, article="cooling-off of at least 15 days")

BY_WIRE_NAME: dict[str, Citation] = {
    # 承保 underwriting and the policy in force
    "policy.proposal-submitted.v1": Citation(
        instrument=SALES_CONDUCT, article="registered seller (持证上岗)"
    ),
    "policy.proxy-signature-detected.v1": Citation(instrument=JUDICIAL_INTERPRETATION_II, article="Art. 3"),
    "policy.proposal-preliminary-checked.v1": _company("录单: 初审"),
    "policy.proposal-data-entered.v1": _company("录单: 录入"),
    "policy.proposal-entry-verified.v1": _company("录单: 复核, four-eyes"),
    "policy.disclosure-recorded.v1": _law("Art. 16 ¶1 (duty of disclosure)"),
    "policy.exclusions-explained.v1": _law("Art. 17 ¶2"),
    "policy.risk-rated.v1": _company("核保"),
    "policy.underwriting-decided.v1": _law("Art. 13 (CTPL Regulation Art. 10: may not decline CTPL)"),
    "policy.conditional-offer-accepted.v1": _law("Art. 13"),
    "policy.conditional-offer-rejected.v1": _law("Art. 13"),
    "policy.proposal-withdrawn.v1": _company("proposal withdrawn before formation"),
    "policy.documents-prepared.v1": _company("缮制单证"),
    "policy.documents-sealed.v1": _company("复核签章, four-eyes"),
    "policy.premium-received.v1": _law("Art. 14 (CTPL Regulation Art. 12: full premium)"),
    "policy.issued.v1": _law("Art. 13"),
    "policy.receipt-acknowledged.v1": Citation(instrument=LIFE_SERVICE, article="Arts. 14–15"),
    "policy.cooling-off-ended.v1": Citation(instrument=HEALTH_MEASURES, article="cooling-off ≥ 15 days"),
    "policy.cancelled-in-cooling-off.v1": Citation(
        instrument=HEALTH_MEASURES, article="cooling-off ≥ 15 days"
    ),
    "policy.endorsement-applied.v1": _law("Art. 20 (变更)"),
    "policy.rescission-ground-discovered.v1": _law("Art. 16 ¶3"),
    "policy.rescission-notice-sent.v1": Citation(
        instrument=CTPL_REGULATION, article="Art. 14 (written notice)"
    ),
    "policy.non-disclosure-cured.v1": Citation(
        instrument=CTPL_REGULATION, article="Art. 14 (disclosed in 5 days)"
    ),
    "policy.rescinded.v1": _law("Arts. 15–16 (and the ground cited on the event)"),
    "policy.surrendered.v1": _law("Art. 47"),
    "policy.lapsed.v1": _law("Art. 36"),
    "policy.reinstated.v1": _law("Art. 37"),
    "policy.renewed.v1": _company("续保"),
    "policy.expired.v1": _law("Art. 18 (the agreed cover period)"),
    # 退保 and 续期 (issue #14 points 3 and 4)
    "policy.surrender-notice-received.v1": _law("Arts. 15, 47 (CTPL Regulation Art. 16: its grounds)"),
    "policy.cash-value-table-recorded.v1": _law("Art. 47 (现金价值 per the contract)"),
    "policy.surrender-refund-paid.v1": _law("Art. 47 (within 30 days of the notice)"),
    "policy.premium-schedule-agreed.v1": _law("Art. 35 (分期支付保险费 as agreed)"),
    "policy.renewal-premium-billed.v1": _law("Art. 36 ¶1 (the agreed due date)"),
    "policy.premium-reminder-sent.v1": _law("Art. 36 ¶1 (催告)"),
    "policy.renewal-premium-paid.v1": _law("Art. 36 ¶2 (paid within the period: cover kept)"),
    "policy.reinstatement-period-ended.v1": _law("Art. 37 ¶1 (two years)"),
    "policy.terminated-after-suspension.v1": _law("Art. 37 ¶2"),
    # 理赔 claims
    "claim.reported.v2": _law("Art. 21"),
    "claim.application-received.v1": _law(
        "Art. 22 ¶1, Art. 23 ¶1 (from the claim request); Judicial Interpretation II Art. 15; "
        "CTPL Regulation Art. 28"
    ),
    "claim.registered.v1": _law("Art. 14 (cover in force at the loss)"),
    "claim.survey-done.v1": _company("查勘"),
    "claim.loss-assessed.v1": _company("定损"),
    "claim.documents-requested.v1": _law("Art. 22 ¶2 (one-time notice); CTPL Regulation Art. 28"),
    "claim.documents-request-delivered.v1": Citation(
        instrument=JUDICIAL_INTERPRETATION_II, article="Art. 15 (deducted from the notice's arrival)"
    ),
    "claim.document-received.v1": _law("Art. 22 ¶1"),
    "claim.documents-completed.v1": _law("Art. 23 ¶1; Judicial Interpretation II Art. 15"),
    "claim.adjusted.v1": _company("理算"),
    "claim.reviewed.v1": _company("核赔, four-eyes"),
    "claim.decided.v1": _law("Art. 23 ¶1; CTPL Regulation Art. 29"),
    "claim.rejection-notice-sent.v1": _law("Art. 24 (a refusal in whole or in part)"),
    "claim.settlement-agreed.v1": _law("Art. 23 ¶1"),
    "claim.advance-payment-issued.v1": _law("Art. 25; CTPL Regulation Art. 31 (rescue costs)"),
    "claim.payment-issued.v1": _law("Art. 23 ¶1"),
    "claim.closed.v1": _company("结案"),
    "claim.reopened.v1": _company("重开"),
    "claim.withdrawn.v1": _company("claim withdrawn by the claimant"),
    # 投诉 complaints
    "complaint.lodged.v1": _complaints("receipt starts the handling period"),
    "complaint.acknowledged.v1": _company("CMP-ACK, 1 working day"),
    "complaint.assigned.v1": _complaints("recusal (回避)"),
    "complaint.classified.v1": _complaints("handling period: 15 days, complex cases extended"),
    "complaint.external-appraisal-started.v1": _complaints("appraisal time not counted"),
    "complaint.external-appraisal-completed.v1": _complaints("appraisal time not counted"),
    "complaint.new-facts-received.v1": _complaints("new facts restart the period"),
    "complaint.deadline-extended.v1": _complaints("extension to 30 days; to 60 with senior approval"),
    "complaint.extension-approved.v1": _complaints("extension to 60 days: a senior manager's approval"),
    "complaint.responded.v1": _complaints("Art. 20 (decision content and remedies)"),
    "complaint.review-requested.v1": _complaints("review (核查) within 30 days of the decision"),
    "complaint.review-decided.v1": _complaints("Art. 21 (review decided within 30 days)"),
    "complaint.withdrawn.v1": _complaints("Art. 15"),
    "complaint.closed.v1": _complaints("files kept ≥ 3 years after closure"),
    "complaint.reopened.v1": _company("complaint reopened for a new investigation"),
    "complaint.escalated-externally.v1": _complaints("remedies: mediation, arbitration, litigation"),
    # 回访 callbacks
    "callback.task-created.v1": Citation(instrument=LIFE_SERVICE, article="Arts. 14–15"),
    "callback.scheduled.v1": _company("quiet hours 21:00–09:00 (as for telesales)"),
    "callback.attempted.v1": Citation(instrument=LIFE_SERVICE, article="Art. 15"),
    "callback.completed.v1": Citation(instrument=LIFE_SERVICE, article="Art. 15 (the seven checks)"),
    "callback.failed.v1": Citation(instrument=LIFE_SERVICE, article="Art. 15"),
    "callback.issue-found.v1": Citation(instrument=LIFE_SERVICE, article="Art. 18"),
    "callback.mis-selling-remedied.v1": Citation(instrument=LIFE_SERVICE, article="Art. 18"),
    "callback.cancelled.v1": _company("callback no longer due"),
    # 保全 policy service requests
    "service_request.requested.v1": _company("保全 request received (保全时效 counts from receipt)"),
    "service_request.checked.v1": _company("identity and documents checked"),
    "service_request.approved.v1": _company("four-eyes review of money items and beneficiary changes"),
    "service_request.completed.v1": _law("Art. 20 (the parties may change the contract: 批单)"),
    "service_request.refused.v1": _company("refusal with reasons"),
    "service_request.customer-notified.v1": _company("customer told the outcome"),
    "service_request.withdrawn.v1": _company("request withdrawn by the customer"),
    # 咨询 inquiries and 其他 value-added service orders: company service standards (issue #14).
    "inquiry.logged.v1": _company("inquiry received (咨询)"),
    "inquiry.deferred.v1": _company("INQ-REPLY-1WD, reply within 1 working day"),
    "inquiry.answered.v1": _company("answer; first-contact resolution recorded"),
    "inquiry.transferred.v1": _company("transfer to the case that handles it"),
    "inquiry.closed.v1": _company("inquiry closed"),
    "service_order.requested.v1": _company("value-added service requested (其他); arrival standard starts"),
    "service_order.dispatched.v1": _company("provider dispatched"),
    "service_order.provider-arrived.v1": _company("VAS-ARRIVE-*, arrival-time standard"),
    "service_order.completed.v1": _company("service done; CO-VAS-CALLBACK-3WD callback"),
    "service_order.cancelled.v1": _company("service order cancelled"),
    # 个人信息 personal data
    "privacy.data-subject-opened.v1": Citation(instrument=PIPL, article="Art. 51 (protection measures)"),
    "privacy.personal-data-erased.v1": Citation(instrument=PIPL, article="Arts. 19 and 47 (erasure)"),
    "privacy.retention-hold-placed.v1": Citation(instrument=PIPL, article="Art. 47 ¶1(5) (kept by law)"),
    "privacy.retention-hold-released.v1": Citation(instrument=PIPL, article="Art. 47 (erasure)"),
}

TIMER_EVENTS = frozenset(
    {
        "timer.started.v1",
        "timer.warning-raised.v1",
        "timer.paused.v1",
        "timer.resumed.v1",
        "timer.restarted.v1",
        "timer.extended.v1",
        "timer.deadline-recomputed.v1",
        "timer.satisfied.v1",
        "timer.breached.v1",
        "timer.cancelled.v1",
    }
)
"""The timers' events: each cites the basis of the SLA rule its timer enforces."""


def rule_citation(rule_id: str) -> Citation:
    """The legal basis an SLA rule records, as a citation."""
    basis = rule_by_id(rule_id).legal_basis
    return Citation(instrument=basis.instrument, article=basis.article, law=basis.duration_set_by == "law")


def legal_basis(wire_name: str, rule_id: str | None = None) -> Citation | None:
    """The citation for an event of ``wire_name``; a timer's event needs its timer's ``rule_id``.

    None only for a wire name this table does not know (a new event kind not yet given a basis).
    """
    if wire_name in TIMER_EVENTS:
        return rule_citation(rule_id) if rule_id is not None else None
    return BY_WIRE_NAME.get(wire_name)
