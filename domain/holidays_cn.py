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

# 2027 until its State Council notice is added: only what the law itself fixes in advance. The holidays
# of 全国年节及纪念日放假办法 Art. 2 (2024 revision, in force 2025-01-01) on their 2027 dates (the lunar
# ones from the lunar calendar: 除夕 Feb 5, 端午 Jun 9, 中秋 Sep 15; 清明 Apr 5), and Art. 6: a holiday
# falling on a Saturday or Sunday is made up on the following working day(s) (补假). The notice's bridging
# days and make-up weekend days (调休) cannot be known before it is issued, so a deadline computed on this
# year is marked provisional in its steps; when the notice comes, add it as version 2027.1.
_STATUTORY_2027: Final = (
    {"name": "元旦", "first_day": "2027-01-01", "last_day": "2027-01-01", "makeup_working_days": ()},
    # 除夕 Fri, 初一 Sat, 初二 Sun, 初三 Mon; Sat and Sun made up on Tue and Wed.
    {"name": "春节", "first_day": "2027-02-05", "last_day": "2027-02-10", "makeup_working_days": ()},
    {"name": "清明节", "first_day": "2027-04-05", "last_day": "2027-04-05", "makeup_working_days": ()},
    # May 1 Sat and May 2 Sun, made up on Mon and Tue.
    {"name": "劳动节", "first_day": "2027-05-01", "last_day": "2027-05-04", "makeup_working_days": ()},
    {"name": "端午节", "first_day": "2027-06-09", "last_day": "2027-06-09", "makeup_working_days": ()},
    {"name": "中秋节", "first_day": "2027-09-15", "last_day": "2027-09-15", "makeup_working_days": ()},
    # Oct 1 Fri, Oct 2 Sat, Oct 3 Sun; Sat and Sun made up on Mon and Tue.
    {"name": "国庆节", "first_day": "2027-10-01", "last_day": "2027-10-05", "makeup_working_days": ()},
)

CN_MAINLAND_2026_2: Final = {
    **CN_MAINLAND_2026_1,
    "version": "2026.2",
    "covered_years": (2025, 2026, 2027),
    "sources": (
        *CN_MAINLAND_2026_1["sources"],
        {
            "year": 2027,
            "title": "全国年节及纪念日放假办法 (2024年修订) 第二条、第六条: statutory days only",
            "document_number": None,
            "issued_on": "2024-11-12",
            "provisional": True,
        },
    ),
    "periods": (*CN_MAINLAND_2026_1["periods"], *_STATUTORY_2027),
}

CALENDARS: Final = (CN_MAINLAND_2026_1, CN_MAINLAND_2026_2)
"""Every published calendar version, oldest first; the last one is the default for new timers."""
