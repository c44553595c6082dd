"""The masks of personal fields, and the settings of enterprise sign-in."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from domain.base import Role
from domain.privacy import ERASED
from infra.settings import Settings
from projections.masking import PersonalKind, mask, mask_fields


@pytest.mark.parametrize(
    ("kind", "value", "shown"),
    [
        (PersonalKind.NAME, "王小明", "王**"),
        (PersonalKind.NAME, "张伟", "张*"),
        (PersonalKind.IDENTITY_NUMBER, "110101199003071234", "**************1234"),
        (PersonalKind.PHONE, "13812345678", "138****5678"),
        (PersonalKind.BANK_ACCOUNT, "6222020200112233445", "***************3445"),
        (PersonalKind.FREE_TEXT, "no, no", "***"),
        (PersonalKind.NAME, ERASED, ERASED),
    ],
)
def test_each_kind_of_personal_field_has_its_mask(kind: PersonalKind, value: str, shown: str) -> None:
    assert mask(kind, value) == shown


def test_masking_reaches_nested_payloads_and_keeps_what_is_revealed() -> None:
    payload = {"applicant_name": "王小明", "applicant_phone": "13812345678", "beneficiary_names": ["李娜"]}

    masked = mask_fields({"state": payload, "premium_fen": 100}, frozenset({"applicant_phone"}))

    assert masked == {
        "state": {"applicant_name": "王**", "applicant_phone": "13812345678", "beneficiary_names": ["李*"]},
        "premium_fen": 100,
    }


def test_enterprise_sign_in_needs_its_issuer_and_audience(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASELEDGER_OIDC_JWKS", "https://idp.example/certs")

    with pytest.raises(ValidationError, match="CASELEDGER_OIDC_ISSUER"):
        Settings()


def test_the_role_map_is_read_from_idp_value_role_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASELEDGER_OIDC_ROLE_MAP", "cn=audit=auditor, cn=claims-survey=surveyor")

    assert Settings().oidc_role_map == {"cn=audit": Role.AUDITOR, "cn=claims-survey": Role.SURVEYOR}


def test_a_role_map_naming_the_system_role_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASELEDGER_OIDC_ROLE_MAP", "cn=robots=system")

    with pytest.raises(ValidationError):
        Settings()
