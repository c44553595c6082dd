"""Bearer tokens: an HS256 JWT names the actor (``sub``) and their role; each endpoint names its roles.

Downstream systems may instead present a configured API key (``CASELEDGER_API_KEYS``), which stands for one
actor and role. Keys are held only as SHA-256 digests and compared in constant time.

The actor recorded in every event is the token's (or the key's), never anything in a request body.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from api.problems import AuthenticationRequiredError, RoleNotAllowedError
from domain.base import Actor, Role
from infra.settings import ApiKeyGrant

ALGORITHM = "HS256"
ISSUER = "caseledger"
LEEWAY = timedelta(seconds=30)
"""Clock skew tolerated between the token's issuer and this process."""

ALL_ROLES = frozenset(Role)
STAFF_WRITERS = frozenset(Role) - {Role.AUDITOR}

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    bearerFormat="JWT",
    description="An HS256 JWT with `sub` (actor id) and `role` (one of the staff roles).",
)
_api_key = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    bearerFormat="API key",
    description="An API key of a downstream system, configured in `CASELEDGER_API_KEYS` as "
    "`KEY:ACTOR:ROLE` (KEY given as `sha256:<hex digest>` or as the key itself): the key stands for that "
    "actor and role. Sent the same way as a JWT: `Authorization: Bearer <key>`.",
)


def _secret(secret: str | SecretStr) -> str:
    return secret.get_secret_value() if isinstance(secret, SecretStr) else secret


def issue_token(
    secret: str | SecretStr, actor_id: str, role: Role, ttl: timedelta, now: datetime | None = None
) -> str:
    """A signed bearer token for ``actor_id`` acting as ``role``, valid for ``ttl`` from ``now``."""
    issued = now or datetime.now(UTC)
    claims = {
        "iss": ISSUER,
        "sub": actor_id,
        "role": role.value,
        "iat": int(issued.timestamp()),
        "exp": int((issued + ttl).timestamp()),
    }
    return jwt.encode(claims, _secret(secret), algorithm=ALGORITHM)


def demo_tokens(secret: str | SecretStr, ttl: timedelta) -> dict[Role, str]:
    """One token per staff role (actor ``demo.<role>``), for the demo to print."""
    return {
        role: issue_token(secret, f"demo.{role.value}", role, ttl) for role in Role if role is not Role.SYSTEM
    }


class TokenVerifier:
    """Checks a bearer token's signature, issuer and expiry, and reads the actor from it."""

    def __init__(self, secret: str | SecretStr) -> None:
        self._secret = _secret(secret)

    def actor(self, token: str) -> Actor:
        """The actor the token names; ``AuthenticationRequiredError`` when it is not valid."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                leeway=LEEWAY,
                options={"require": ["exp", "iat", "iss", "sub", "role"]},
            )
        except jwt.InvalidTokenError as error:
            raise AuthenticationRequiredError(f"the bearer token is not valid: {error}") from None
        subject, role = claims.get("sub"), claims.get("role")
        if not isinstance(subject, str) or not subject or role not in ALL_ROLES:
            raise AuthenticationRequiredError("the bearer token names no known actor and role")
        return Actor(id=subject, role=Role(role))


class ApiKeys:
    """The configured API keys by digest: a presented key is hashed, then compared in constant time."""

    def __init__(self, grants: Iterable[ApiKeyGrant]) -> None:
        self._grants = tuple((bytes.fromhex(g.digest), Actor(id=g.actor_id, role=g.role)) for g in grants)

    def actor(self, presented: str) -> Actor | None:
        """The actor the key stands for, or None when it is not a configured key."""
        digest = hashlib.sha256(presented.encode()).digest()
        found = None
        # Every digest is compared, match or not: the time taken says nothing about which key matched.
        for known, actor in self._grants:
            if hmac.compare_digest(digest, known):
                found = actor
        return found


def _verifier(request: Request) -> TokenVerifier:
    verifier: TokenVerifier = request.app.state.token_verifier
    return verifier


def _api_keys(request: Request) -> ApiKeys:
    keys: ApiKeys = request.app.state.api_keys
    return keys


def authenticated_actor(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(_api_key)],
    verifier: Annotated[TokenVerifier, Depends(_verifier)],
    api_keys: Annotated[ApiKeys, Depends(_api_keys)],
) -> Actor:
    """The actor of the request's bearer token: a configured API key's, else the JWT's."""
    # Both security schemes read the same Authorization header; the second is declared for the OpenAPI.
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationRequiredError("this endpoint needs a bearer token")
    keyed = api_keys.actor(credentials.credentials)
    return keyed if keyed is not None else verifier.actor(credentials.credentials)


class RoleRequirement:
    """A dependency that lets through only actors of the declared roles (read back by the OpenAPI)."""

    def __init__(self, roles: frozenset[Role]) -> None:
        self.roles = roles

    def __call__(self, actor: Annotated[Actor, Depends(authenticated_actor)]) -> Actor:
        if actor.role not in self.roles:
            raise RoleNotAllowedError(f"the role {actor.role.value} may not use this endpoint")
        return actor


def require(*roles: Role) -> Callable[..., Actor]:
    """The dependency of an endpoint open to ``roles`` only: it yields the token's actor."""
    if not roles:
        raise ValueError("an endpoint declares at least one role")
    return RoleRequirement(frozenset(roles))
