"""How personal fields read when shown: masked by default, in one place.

Every personal field the domain marks (``PersonalStr``) has a kind here, and each kind its mask: a name
keeps its first character (王*), an identity number its last 4, a phone its first 3 and last 4
(138****5678), a bank account its last 4; free text (answers, signatures) shows nothing. A read masks
every field named here wherever it appears (read models, audit histories, the console); the full value is
shown only through an explicit reveal with a purpose, which the access log records.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from domain.privacy import ERASED


class PersonalKind(StrEnum):
    """What a personal field holds, which decides its mask."""

    NAME = "name"
    IDENTITY_NUMBER = "identity_number"
    PHONE = "phone"
    BANK_ACCOUNT = "bank_account"
    FREE_TEXT = "free_text"


PERSONAL_FIELDS: dict[str, PersonalKind] = {
    "applicant_name": PersonalKind.NAME,
    "insured_name": PersonalKind.NAME,
    "beneficiary_names": PersonalKind.NAME,
    "reporter_name": PersonalKind.NAME,
    "payee_name": PersonalKind.NAME,
    "complainant_name": PersonalKind.NAME,
    "applicant_id_number": PersonalKind.IDENTITY_NUMBER,
    "applicant_phone": PersonalKind.PHONE,
    "reporter_phone": PersonalKind.PHONE,
    "complainant_phone": PersonalKind.PHONE,
    "payee_account": PersonalKind.BANK_ACCOUNT,
    "answers": PersonalKind.FREE_TEXT,
    "answered_by": PersonalKind.NAME,
    # 保全 policy service requests
    "requester_name": PersonalKind.NAME,
    "new_phone": PersonalKind.PHONE,
    "new_email": PersonalKind.FREE_TEXT,
    "new_address": PersonalKind.FREE_TEXT,
    "bank_account_no": PersonalKind.BANK_ACCOUNT,
    "account_holder_name": PersonalKind.NAME,
    "beneficiary_id_numbers": PersonalKind.IDENTITY_NUMBER,
    # 其他 value-added service orders (issue #14): where the provider goes and whom it calls.
    "contact_phone": PersonalKind.PHONE,
    "location": PersonalKind.FREE_TEXT,
}
"""Every personal field of the domain's events and the read models, by name, with its kind."""

MASKING_RULES = {
    PersonalKind.NAME: "first character, then * (王*)",
    PersonalKind.IDENTITY_NUMBER: "* except the last 4 characters",
    PersonalKind.PHONE: "first 3 and last 4 digits (138****5678)",
    PersonalKind.BANK_ACCOUNT: "* except the last 4 digits",
    PersonalKind.FREE_TEXT: "*** (nothing shown)",
}
"""The masks in words, for the OpenAPI document and the README."""


def mask(kind: PersonalKind, value: str) -> str:
    """``value`` as a reader without a reveal sees it (an erased value says so, as it is)."""
    if not value or value == ERASED:
        return value
    match kind:
        case PersonalKind.NAME:
            return value[0] + "*" * max(1, len(value) - 1)
        case PersonalKind.IDENTITY_NUMBER | PersonalKind.BANK_ACCOUNT:
            return "*" * max(0, len(value) - 4) + value[-4:] if len(value) > 4 else "*" * len(value)
        case PersonalKind.PHONE:
            if len(value) <= 7:
                return "*" * len(value)
            return value[:3] + "*" * (len(value) - 7) + value[-4:]
        case _:
            return "***"


def mask_value(field: str, value: Any) -> Any:
    """The masked form of a personal field's value (a string, or a list of them)."""
    kind = PERSONAL_FIELDS[field]
    if isinstance(value, str):
        return mask(kind, value)
    if isinstance(value, list | tuple):
        return [mask(kind, v) if isinstance(v, str) else v for v in value]
    return value


def mask_fields(data: Mapping[str, Any], reveal: frozenset[str] = frozenset()) -> dict[str, Any]:
    """``data`` with every personal field masked, except those in ``reveal``; nested mappings too."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in PERSONAL_FIELDS and key not in reveal:
            out[key] = mask_value(key, value)
        elif isinstance(value, Mapping):
            out[key] = mask_fields(value, reveal)
        elif isinstance(value, list):
            out[key] = [mask_fields(v, reveal) if isinstance(v, Mapping) else v for v in value]
        else:
            out[key] = value
    return out
