"""The normal forms of row values, shared by the folds and the store so that a row round-trips exactly;
and the names events go by in rules, timelines and views.

A fold's row and the same row read back from PostgreSQL must compare equal, so every view writes values in
one form: instants as timezone-aware UTC ``datetime`` (``timestamptz`` columns), calendar dates as
``date``, ids of cases as ``UUID`` (``uuid``), enums as their plain string value (``text``), money as
integer fen (``bigint``), and inside ``jsonb`` only JSON values, with instants as ISO-8601 strings in UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from domain.base import SHANGHAI, DomainEvent

JsonObject = dict[str, Any]


def utc(moment: datetime) -> datetime:
    """An instant in UTC (a ``timestamptz`` read back from PostgreSQL is put in the same form)."""
    if moment.tzinfo is None:
        raise ValueError("an instant must be timezone-aware")
    return moment.astimezone(UTC)


def utc_or_none(moment: datetime | None) -> datetime | None:
    """``utc`` for an optional instant."""
    return None if moment is None else utc(moment)


def iso(moment: datetime) -> str:
    """An instant as it is kept inside ``jsonb``: ISO-8601 in UTC."""
    return utc(moment).isoformat()


def iso_or_none(moment: datetime | None) -> str | None:
    """``iso`` for an optional instant."""
    return None if moment is None else iso(moment)


def from_iso(value: str) -> datetime:
    """An instant kept inside ``jsonb``, back as an aware UTC ``datetime``."""
    return utc(datetime.fromisoformat(value))


def text(value: StrEnum | str | None) -> str | None:
    """An enum (or string) as plain text: rows hold no Python enums, so they compare equal after reading."""
    return None if value is None else str(value.value if isinstance(value, StrEnum) else value)


def event_name(event: DomainEvent) -> str:
    """The event's class name: the name SLA rules and timelines use."""
    return type(event).__name__


def event_classes_named(module_vars: Mapping[str, object], module_name: str) -> frozenset[str]:
    """The names of the event classes defined in a domain module (``vars(domain.claim)``)."""
    return frozenset(
        name
        for name, obj in module_vars.items()
        if isinstance(obj, type) and issubclass(obj, DomainEvent) and obj.__module__ == module_name
    )


def shanghai_month(moment: datetime) -> str:
    """The month ('YYYY-MM') of an instant in Asia/Shanghai, where statistics are reckoned."""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m")
