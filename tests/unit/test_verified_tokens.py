"""A bearer token verified once is remembered until it expires: not verified again on every request."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import jwt
import pytest

from api.auth import LEEWAY, TokenVerifier, issue_token
from api.problems import AuthenticationRequiredError
from domain.base import Actor, Role

SECRET = "a-test-secret-of-at-least-32-characters"


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every JWT decode the verifier makes (verifications and expiry reads)."""
    seen: list[str] = []
    decode = jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(token)
        return decode(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting)
    return seen


def test_a_token_is_verified_once_while_it_is_valid(decodes: list[str]) -> None:
    verifier = TokenVerifier(SECRET)
    token = issue_token(SECRET, "officer-1", Role.COMPLAINTS_OFFICER, timedelta(hours=1))

    first = verifier.actor(token)
    verified = len(decodes)
    again = [verifier.actor(token) for _ in range(5)]

    assert again == [first] * 5 == [Actor(id="officer-1", role=Role.COMPLAINTS_OFFICER)] * 5
    assert len(decodes) == verified


def test_a_remembered_token_is_verified_again_once_past_its_expiry(
    decodes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    verifier = TokenVerifier(SECRET)
    token = issue_token(SECRET, "officer-1", Role.COMPLAINTS_OFFICER, timedelta(minutes=10))
    verifier.actor(token)
    verified = len(decodes)
    expired = time.time() + 600 + LEEWAY.total_seconds() + 1
    monkeypatch.setattr(time, "time", lambda: expired)

    verifier.actor(token)

    assert len(decodes) > verified


def test_an_invalid_token_is_refused_every_time(decodes: list[str]) -> None:
    verifier = TokenVerifier(SECRET)
    forged = issue_token("another-secret-of-at-least-32-characters", "x", Role.SUPERVISOR, timedelta(hours=1))

    for _ in range(2):
        with pytest.raises(AuthenticationRequiredError):
            verifier.actor(forged)


def test_the_oldest_remembered_token_is_forgotten_first(decodes: list[str]) -> None:
    verifier = TokenVerifier(SECRET, kept=2)
    tokens = [
        issue_token(SECRET, f"officer-{i}", Role.COMPLAINTS_OFFICER, timedelta(hours=1)) for i in range(3)
    ]
    for token in tokens:
        verifier.actor(token)
    verified = len(decodes)

    verifier.actor(tokens[2])
    verifier.actor(tokens[0])

    assert decodes[verified:] == [tokens[0], tokens[0]]
