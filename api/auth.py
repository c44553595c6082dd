"""Bearer tokens: an HS256 JWT names the actor (``sub``) and their role; each endpoint names its roles.

The actor recorded in every event is the token's, never anything in a request body.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from api.problems import AuthenticationRequiredError, RoleNotAllowedError
from domain.base import Actor, Role

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


def _verifier(request: Request) -> TokenVerifier:
    verifier: TokenVerifier = request.app.state.token_verifier
    return verifier


def authenticated_actor(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    verifier: Annotated[TokenVerifier, Depends(_verifier)],
) -> Actor:
    """The actor of the request's bearer token."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationRequiredError("this endpoint needs a bearer token")
    return verifier.actor(credentials.credentials)


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
