"""No setting's secret value is ever echoed: not in a validation error, a CLI error (even with --debug),
a log line, an API answer or --help. Distinctive secret values are set, errors are triggered, and every
byte of output is searched for them."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from infra.settings import Settings

pytestmark = pytest.mark.integration

CASELEDGER = Path(sys.executable).with_name("caseledger")
JWT_SHORT = "JwtSecretZq81"  # invalid: under 32 characters
MASTER_BAD = "MasterKeyZq82notbase64!!"
AUDIT = "AuditKeyZq83-signs-the-exports"
API_KEY_SHORT = "ApiKeyZq84"  # invalid: under 32 characters
DB_PASSWORD = "DbPassZq85"
SECRETS = (JWT_SHORT, MASTER_BAD, AUDIT, API_KEY_SHORT, DB_PASSWORD)


def _env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASELEDGER_")}
    return {**env, **overrides}


def _run(*args: str, **env: str) -> str:
    done = subprocess.run(
        [str(CASELEDGER), *args], env=_env(**env), capture_output=True, text=True, timeout=60, check=False
    )
    return done.stdout + done.stderr


def _leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def test_invalid_secret_settings_are_named_without_their_values() -> None:
    env = {
        "CASELEDGER_JWT_SECRET": JWT_SHORT,
        "CASELEDGER_MASTER_KEY": MASTER_BAD,
        "CASELEDGER_AUDIT_KEY": AUDIT,
        "CASELEDGER_API_KEYS": f"{API_KEY_SHORT}:crm:supervisor",
    }
    os.environ.update(env)
    try:
        with pytest.raises(ValidationError) as invalid:
            Settings()
    finally:
        for name in env:
            os.environ.pop(name)

    text = str(invalid.value) + repr(invalid.value) + str(invalid.value.errors(include_input=False))
    assert "jwt_secret" in text
    assert "master_key" in text
    assert _leaks(str(invalid.value.errors(include_input=False))) == []


@pytest.mark.parametrize("debug", [False, True])
def test_the_cli_names_invalid_settings_in_one_line_without_their_values(debug: bool) -> None:
    output = _run(
        *(["--debug"] if debug else []),
        "audit",
        "verify",
        CASELEDGER_JWT_SECRET=JWT_SHORT,
        CASELEDGER_MASTER_KEY=MASTER_BAD,
        CASELEDGER_AUDIT_KEY=AUDIT,
        CASELEDGER_API_KEYS=f"{API_KEY_SHORT}:crm:supervisor",
    )

    assert "CASELEDGER_JWT_SECRET" in output
    assert _leaks(output) == []


def test_an_unreachable_database_is_reported_without_its_password() -> None:
    output = _run(
        "audit",
        "verify",
        CASELEDGER_DATABASE_URL=f"postgresql://caseledger:{DB_PASSWORD}@127.0.0.1:1/caseledger",
        CASELEDGER_AUDIT_KEY=AUDIT,
    )

    assert "caseledger: error:" in output
    assert _leaks(output) == []


def test_help_shows_no_secret_even_when_every_secret_is_set() -> None:
    env = {
        "CASELEDGER_JWT_SECRET": "JwtSecretZq81-long-enough-for-hs256-keys",
        "CASELEDGER_AUDIT_KEY": AUDIT,
    }
    outputs = [
        _run("--help", **env),
        _run("audit", "--help", **env),
        _run("audit", "export", "--help", **env),
        _run("api", "--help", **env),
    ]

    assert all("usage" in text for text in outputs)
    assert [
        secret for text in outputs for secret in (*SECRETS, env["CASELEDGER_JWT_SECRET"]) if secret in text
    ] == []


def test_the_api_logs_and_answers_nothing_of_its_secrets(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.api.conftest import SECRET

    caplog.set_level(logging.DEBUG)
    forged = client.get("/worklist", headers={"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.forged"})
    wrong_key = client.get("/worklist", headers={"Authorization": f"Bearer {'x' * 40}"})
    openapi = client.get("/openapi.json")

    everything = forged.text + wrong_key.text + openapi.text + caplog.text
    assert forged.status_code == wrong_key.status_code == 401
    assert SECRET not in everything
