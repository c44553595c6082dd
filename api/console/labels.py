"""The console's words: Chinese first, then English, for roles, case types, colours and statuses."""

from __future__ import annotations

from domain.base import Role

ROLES: dict[str, str] = {
    Role.SELLER.value: "销售人员 Seller",
    Role.UNDERWRITER.value: "核保员 Underwriter",
    Role.CLAIMS_HANDLER.value: "理赔员 Claims handler",
    Role.SURVEYOR.value: "查勘员 Surveyor",
    Role.ADJUSTER.value: "理算员 Adjuster",
    Role.CLAIM_REVIEWER.value: "核赔员 Claim reviewer",
    Role.COMPLAINTS_OFFICER.value: "投诉专员 Complaints officer",
    Role.CALLBACK_AGENT.value: "回访专员 Callback agent",
    Role.SUPERVISOR.value: "主管 Supervisor",
    Role.SENIOR_MANAGER.value: "高级经理 Senior manager",
    Role.AUDITOR.value: "审计员 Auditor",
    Role.SYSTEM.value: "系统 System",
}

CASE_TYPES: dict[str, str] = {
    "policy": "保单 Policy",
    "claim": "理赔 Claim",
    "complaint": "投诉 Complaint",
    "callback": "回访 Callback",
    "service_request": "保全 Policy service",
    "timer": "时限 Timer",
    "privacy": "个人信息 Data subject",
    "inquiry": "咨询 Inquiry",
    "service_order": "增值服务 Service order",
}

COLOURS: dict[str, str] = {
    "green": "正常 On track",
    "amber": "注意 Amber",
    "red": "紧急 Red",
    "breached": "已超时 Breached",
    "none": "无时限 No deadline",
}

TIMER_STATES: dict[str, str] = {
    "running": "计时中 running",
    "paused": "暂停 paused",
    "satisfied": "已满足 met",
    "breached": "已超时 breached",
    "cancelled": "已取消 cancelled",
    "window_closed": "期间届满 window closed",
}


def role(value: str) -> str:
    return ROLES.get(value, value)


def case_type(value: str) -> str:
    return CASE_TYPES.get(value, value)


def colour(value: str) -> str:
    return COLOURS.get(value, value)


def timer_state(value: str) -> str:
    return TIMER_STATES.get(value, value)
