"""A made-up newer holiday calendar version, for tests of what happens when one is published."""

from __future__ import annotations

from typing import Any

import pytest

import domain.calendar as calendar_module
from domain.calendar import HolidayCalendar
from domain.holidays_cn import CN_MAINLAND_2026_2

TEST_VERSION = "2027.1-test"


def notice_2027() -> HolidayCalendar:
    """2027's notice out (not provisional any more), National Day 1-7 Oct with make-up days 26 Sep, 9 Oct.

    The provisional 2027 of version 2026.2 has National Day 1-5 Oct and no make-up days: the two differ on
    Sun 26 Sep, Wed 6 and Thu 7 Oct and Sat 9 Oct 2027.
    """
    data: dict[str, Any] = dict(CN_MAINLAND_2026_2)
    data["version"] = TEST_VERSION
    data["sources"] = tuple(
        {**source, "provisional": False, "title": "国务院办公厅关于2027年部分节假日安排的通知 (test)"}
        if source["year"] == 2027
        else source
        for source in data["sources"]
    )
    periods = [p for p in data["periods"] if p["name"] != "国庆节" or not p["first_day"].startswith("2027")]
    periods.append(
        {
            "name": "国庆节",
            "first_day": "2027-10-01",
            "last_day": "2027-10-07",
            "makeup_working_days": ("2027-09-26", "2027-10-09"),
        }
    )
    data["periods"] = tuple(periods)
    return HolidayCalendar.model_validate(data)


def publish(monkeypatch: pytest.MonkeyPatch, calendar: HolidayCalendar) -> None:
    """Make ``calendar`` the newest published version for the rest of the test (the default for new
    timers, and findable by its id and version), as a release adding it to ``domain.holidays_cn`` would."""
    published = (*calendar_module._all_calendars(), calendar)
    monkeypatch.setattr(calendar_module, "_all_calendars", lambda: published)
