"""Enterprise sign-in: RS256/ES256 tokens of an identity provider, verified against its JWKS served over a
real local HTTP server (and from a file), with issuer, audience and the roles claim checked; a rotated key
(a new ``kid``) is fetched without a restart, at most once per cooldown."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from api.app import create_app
from domain.base import Role
from infra.bootstrap import System

pytestmark = pytest.mark.integration

ISSUER = "https://idp.example-insurer.cn/realms/staff"
AUDIENCE = "caseledger-api"


@dataclasses.dataclass
class Key:
    kid: str
    algorithm: str
    private: Any

    def jwk(self) -> dict[str, Any]:
        exporter = RSAAlgorithm if self.algorithm == "RS256" else ECAlgorithm
        public = exporter.to_jwk(self.private.public_key(), as_dict=True)
        return {**public, "kid": self.kid, "alg": self.algorithm, "use": "sig"}

    def token(
        self, *, groups: list[str], sub: str = "zhang.wei", iss: str = ISSUER, aud: str = AUDIENCE
    ) -> str:
        now = datetime.now(UTC)
        claims = {
            "iss": iss,
            "aud": aud,
            "sub": sub,
            "groups": groups,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(minutes=5)).timestamp()),
        }
        return jwt.encode(claims, self.private, algorithm=self.algorithm, headers={"kid": self.kid})


def rsa_key(kid: str) -> Key:
    return Key(kid, "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))


def ec_key(kid: str) -> Key:
    return Key(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))


class Jwks:
    """A JWKS endpoint on 127.0.0.1 whose keys a test rotates; it counts the fetches."""

    def __init__(self) -> None:
        self.keys: list[Key] = []
        self.fetches = 0
        jwks = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                jwks.fetches += 1
                payload = json.dumps({"keys": [k.jwk() for k in jwks.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/realms/staff/certs"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def jwks() -> Iterator[Jwks]:
    served = Jwks()
    yield served
    served.close()


def _client(api_system: System, jwks: str, cooldown: float) -> TestClient:
    settings = api_system.settings.model_copy(
        update={
            "oidc_jwks": jwks,
            "oidc_issuer": ISSUER,
            "oidc_audience": AUDIENCE,
            "oidc_roles_claim": "groups",
            "oidc_role_map": {"cn=audit": Role.AUDITOR, "cn=claims-survey": Role.SURVEYOR},
            "oidc_jwks_cooldown_seconds": cooldown,
        }
    )
    return TestClient(
        create_app(dataclasses.replace(api_system, settings=settings)), raise_server_exceptions=False
    )


def _get(client: TestClient, token: str) -> int:
    status: int = client.get("/audit/access-log", headers={"Authorization": f"Bearer {token}"}).status_code
    return status


def test_tokens_of_both_kids_are_accepted_across_a_key_rotation_without_a_restart(
    api_system: System, jwks: Jwks
) -> None:
    first, second = rsa_key("2026-01"), ec_key("2026-07")
    jwks.keys = [first]
    with _client(api_system, jwks.url, cooldown=0) as client:
        before = _get(client, first.token(groups=["cn=audit"]))
        jwks.keys = [first, second]  # the IdP publishes its new key, then signs with it
        after_new = _get(client, second.token(groups=["cn=audit"]))
        after_old = _get(client, first.token(groups=["cn=audit"]))

    assert (before, after_new, after_old) == (200, 200, 200)
    assert jwks.fetches == 2  # the first token, then the unknown kid once


def test_a_wrong_audience_or_issuer_or_an_unknown_key_is_refused_with_401(
    api_system: System, jwks: Jwks
) -> None:
    key = rsa_key("k1")
    stranger = rsa_key("k1")  # the same kid, another key: the signature fails
    jwks.keys = [key]
    with _client(api_system, jwks.url, cooldown=0) as client:
        good = _get(client, key.token(groups=["cn=audit"]))
        audience = _get(client, key.token(groups=["cn=audit"], aud="another-app"))
        issuer = _get(client, key.token(groups=["cn=audit"], iss="https://evil.example/"))
        forged = _get(client, stranger.token(groups=["cn=audit"]))

    assert good == 200
    assert audience == issuer == forged == 401


def test_the_roles_claim_maps_to_one_staff_role(api_system: System, jwks: Jwks) -> None:
    key = ec_key("k-ec")
    jwks.keys = [key]
    with _client(api_system, jwks.url, cooldown=0) as client:
        surveyor = _get(client, key.token(groups=["cn=claims-survey", "cn=everyone"]))
        by_role_name = _get(client, key.token(groups=["auditor"]))
        nothing = _get(client, key.token(groups=["cn=everyone"]))
        two = _get(client, key.token(groups=["cn=audit", "cn=claims-survey"]))

    assert surveyor == 403  # signed in, as a surveyor: the access log is the auditors'
    assert by_role_name == 200
    assert nothing == two == 401


def test_refetches_for_unknown_kids_are_rate_limited(api_system: System, jwks: Jwks) -> None:
    key = rsa_key("known")
    jwks.keys = [key]
    with _client(api_system, jwks.url, cooldown=60) as client:
        assert _get(client, key.token(groups=["cn=audit"])) == 200
        unknown = [_get(client, rsa_key(f"unknown-{n}").token(groups=["cn=audit"])) for n in range(5)]

    assert unknown == [401] * 5
    assert jwks.fetches == 1  # a flood of unknown kids does not hammer the IdP


def test_a_jwks_file_is_read_again_when_a_new_kid_appears(api_system: System, tmp_path: Path) -> None:
    first, second = rsa_key("file-1"), ec_key("file-2")
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [first.jwk()]}))
    with _client(api_system, str(path), cooldown=0) as client:
        before = _get(client, first.token(groups=["cn=audit"]))
        path.write_text(json.dumps({"keys": [first.jwk(), second.jwk()]}))
        after = _get(client, second.token(groups=["cn=audit"]))

    assert (before, after) == (200, 200)


def test_hs256_demo_tokens_still_work_beside_the_identity_provider(api_system: System, jwks: Jwks) -> None:
    from tests.api.conftest import as_

    jwks.keys = [rsa_key("k")]
    with _client(api_system, jwks.url, cooldown=0) as client:
        status = client.get("/audit/access-log", headers=as_(Role.AUDITOR)).status_code

    assert status == 200
