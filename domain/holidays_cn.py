"""Mainland-China statutory holidays and make-up working days (调休), as versioned data.

Plain literals in the shape of ``domain.calendar.HolidayCalendar``: ``domain.calendar`` validates them
when a calendar is first asked for, so importing this module builds nothing and reads nothing.

To add a year: append its periods and its notice, widen ``covered_years`` and bump ``version``. Never edit
a published version in place: every timer records the version it used, and a replay must find the same
dates. Keep the older version's entry so replays of timers that used it still compute the same deadline.
"""

from __future__ import annotations

from typing import Final

CN_MAINLAND_2026_1: Final = {
    "calendar_id": "CN-mainland",
    "version": "2026.1",
    "time_zone": "Asia/Shanghai",
    "covered_years": (2025, 2026),
    "sources": (
        {
            "year": 2025,
            "title": "国务院办公厅关于2025年部分节假日安排的通知",
            "document_number": "国办发明电〔2024〕12号",
            "issued_on": "2024-11-12",
        },
        {
            "year": 2026,
            "title": "国务院办公厅关于2026年部分节假日安排的通知",
            # Published by Xinhua on the day it was signed; the 国办发明电 number was not in the text we saw.
            "document_number": None,
            "issued_on": "2025-11-04",
        },
    ),
    "periods": (
        {"name": "元旦", "first_day": "2025-01-01", "last_day": "2025-01-01", "makeup_working_days": ()},
        {
            "name": "春节",
            "first_day": "2025-01-28",
            "last_day": "2025-02-04",
            "makeup_working_days": ("2025-01-26", "2025-02-08"),
        },
        {"name": "清明节", "first_day": "2025-04-04", "last_day": "2025-04-06", "makeup_working_days": ()},
        {
            "name": "劳动节",
            "first_day": "2025-05-01",
            "last_day": "2025-05-05",
            "makeup_working_days": ("2025-04-27",),
        },
        {"name": "端午节", "first_day": "2025-05-31", "last_day": "2025-06-02", "makeup_working_days": ()},
        {
            "name": "国庆节、中秋节",
            "first_day": "2025-10-01",
            "last_day": "2025-10-08",
            "makeup_working_days": ("2025-09-28", "2025-10-11"),
        },
        {
            "name": "元旦",
            "first_day": "2026-01-01",
            "last_day": "2026-01-03",
            "makeup_working_days": ("2026-01-04",),
        },
        {
            "name": "春节",
            "first_day": "2026-02-15",
            "last_day": "2026-02-23",
            "makeup_working_days": ("2026-02-14", "2026-02-28"),
        },
        {"name": "清明节", "first_day": "2026-04-04", "last_day": "2026-04-06", "makeup_working_days": ()},
        {
            "name": "劳动节",
            "first_day": "2026-05-01",
            "last_day": "2026-05-05",
            "makeup_working_days": ("2026-05-09",),
        },
        {"name": "端午节", "first_day": "2026-06-19", "last_day": "2026-06-21", "makeup_working_days": ()},
        {"name": "中秋节", "first_day": "2026-09-25", "last_day": "2026-09-27", "makeup_working_days": ()},
        {
            "name": "国庆节",
            "first_day": "2026-10-01",
            "last_day": "2026-10-07",
            "makeup_working_days": ("2026-09-20", "2026-10-10"),
        },
    ),
}

CALENDARS: Final = (CN_MAINLAND_2026_1,)
"""Every published calendar version, oldest first; the last one is the default for new timers."""
