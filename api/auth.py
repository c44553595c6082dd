"""Bearer tokens: an HS256 JWT names the actor (``sub``) and their role; each endpoint names its roles.

Enterprise sign-in (OIDC): with ``CASELEDGER_OIDC_JWKS`` set, RS256/ES256 tokens of the company's identity
provider are verified against its JWKS (PyJWT's ``PyJWKClient``: a key id not in the cached set refetches it,
at most once per cooldown, so a rotated key works without a restart), with issuer and audience checked and
the roles claim mapped to a staff role (``CASELEDGER_OIDC_ROLE_MAP``). HS256 stays for the demo's tokens.

Downstream systems may instead present a configured API key (``CASELEDGER_API_KEYS``), which stands for one
actor and role. Keys are held only as SHA-256 digests and compared in constant time.

The actor recorded in every event is the token's (or the key's), never anything in a request body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr
from starlette.concurrency import run_in_threadpool

from api.problems import AuthenticationRequiredError, RoleNotAllowedError
from domain.base import Actor, Role
from infra.settings import ApiKeyGrant, Settings

ALGORITHM = "HS256"
OIDC_ALGORITHMS = ("RS256", "ES256")
ISSUER = "caseledger"
LEEWAY = timedelta(seconds=30)
"""Clock skew tolerated between the token's issuer and this process."""

ALL_ROLES = frozenset(Role)
STAFF_WRITERS = frozenset(Role) - {Role.AUDITOR}
STAFF_ROLES = frozenset(Role) - {Role.SYSTEM}

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    bearerFormat="JWT",
    description="A JWT: HS256 with `sub` (actor id) and `role` (one of the staff roles), as `caseledger up "
    "--demo` issues; or, with `CASELEDGER_OIDC_JWKS` set, an RS256/ES256 token of the company's identity "
    "provider, verified against its JWKS, issuer and audience, whose roles claim maps to a staff role.",
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


def demo_tokens(
    secret: str | SecretStr, ttl: timedelta, actors: Mapping[Role, str] | None = None
) -> dict[Role, str]:
    """One token per staff role, for the demo to print: the actor ``actors`` names for the role (a role
    whose reads are scoped to the actor's own records, as a seller's are, needs the story's actor to see
    them), else ``demo.<role>``."""
    named = actors or {}
    return {
        role: issue_token(secret, named.get(role, f"demo.{role.value}"), role, ttl)
        for role in Role
        if role is not Role.SYSTEM
    }


class _JwksFile(jwt.PyJWKClient):
    """A JWKS kept in a file, read as PyJWKClient reads a URL (same cache, same refetch on an unknown kid)."""

    def __init__(self, path: Path, cooldown: float) -> None:
        # PyJWKClient accepts only http(s) URIs; the URI is never fetched, since fetch_data is replaced.
        super().__init__("https://jwks.file.invalid/", cooldown_duration=cooldown)
        self._path = path

    def fetch_data(self) -> object:
        try:
            data = json.loads(self._path.read_bytes())
        except (OSError, ValueError) as error:
            raise jwt.PyJWKClientConnectionError(f"cannot read the JWKS file {self._path}: {error}") from None
        payload = self._as_jwk_set_payload(data)
        if self.jwk_set_cache is not None:
            self.jwk_set_cache.put(payload)
        # As PyJWKClient.fetch_data does: the cooldown of a forced refetch counts from the last read.
        self._last_successful_fetch = time.monotonic()
        return payload


class OidcVerifier:
    """Verifies the identity provider's RS256/ES256 tokens and maps their roles claim to a staff role."""

    def __init__(
        self,
        jwks: str,
        issuer: str,
        audience: str,
        roles_claim: str = "roles",
        role_map: Mapping[str, Role] | None = None,
        actor_claim: str = "sub",
        cooldown_seconds: float = 30.0,
    ) -> None:
        if jwks.startswith(("https://", "http://")):
            # A slow IdP must not hold a request for the library's default 30 s: 5 s, then 401.
            self._client: jwt.PyJWKClient = jwt.PyJWKClient(
                jwks, cooldown_duration=cooldown_seconds, timeout=5
            )
        else:
            self._client = _JwksFile(Path(jwks.removeprefix("file://")), cooldown_seconds)
        self._issuer = issuer
        self._audience = audience
        self._roles_claim = roles_claim.split(".")
        self._role_map = {**{r.value: r for r in STAFF_ROLES}, **(role_map or {})}
        self._actor_claim = actor_claim

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcVerifier | None:
        """The verifier the settings configure, or None when enterprise sign-in is not configured."""
        if settings.oidc_jwks is None or settings.oidc_issuer is None or settings.oidc_audience is None:
            return None
        return cls(
            settings.oidc_jwks,
            settings.oidc_issuer,
            settings.oidc_audience,
            settings.oidc_roles_claim,
            settings.oidc_role_map,
            settings.oidc_actor_claim,
            settings.oidc_jwks_cooldown_seconds,
        )

    def actor(self, token: str) -> Actor:
        try:
            key = self._client.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key,
                algorithms=list(OIDC_ALGORITHMS),
                issuer=self._issuer,
                audience=self._audience,
                leeway=LEEWAY,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWKClientConnectionError as error:
            raise AuthenticationRequiredError(
                f"the identity provider's keys are not available: {error}"
            ) from None
        except jwt.PyJWKClientError as error:
            raise AuthenticationRequiredError(f"the bearer token is not valid: {error}") from None
        except jwt.InvalidTokenError as error:
            raise AuthenticationRequiredError(f"the bearer token is not valid: {error}") from None
        subject = claims.get(self._actor_claim)
        if not isinstance(subject, str) or not subject:
            raise AuthenticationRequiredError("the bearer token names no actor")
        roles = {self._role_map[v] for v in self._claimed(claims) if v in self._role_map}
        if len(roles) != 1:
            # One token acts in one role: the events record it, and the scopes depend on it.
            named = "no staff role" if not roles else "several staff roles"
            raise AuthenticationRequiredError(f"the bearer token maps to {named}: sign in with one role")
        return Actor(id=subject, role=roles.pop())

    def _claimed(self, claims: Mapping[str, object]) -> list[str]:
        value: object = claims
        for part in self._roles_claim:
            value = value.get(part) if isinstance(value, Mapping) else None
        if isinstance(value, str):
            return value.replace(",", " ").split()
        if isinstance(value, list):
            return [v for v in value if isinstance(v, str)]
        return []


VERIFIED_TOKENS_KEPT = 4096
"""How many verified tokens a process remembers (the oldest is forgotten first)."""


class TokenVerifier:
    """Checks a bearer token's signature, issuer and expiry, and reads the actor from it: HS256 with the
    shared secret, or RS256/ES256 against the identity provider's JWKS when ``oidc`` is configured.

    A client sends the same token with every request: a token verified once is remembered (its actor and
    the moment it stops being accepted, ``exp`` plus the leeway) and is not verified again until then. Only
    valid tokens are remembered; a token is a signed statement, so its actor cannot change while it is valid.
    """

    def __init__(
        self,
        secret: str | SecretStr,
        oidc: OidcVerifier | None = None,
        kept: int = VERIFIED_TOKENS_KEPT,
    ) -> None:
        self._secret = _secret(secret)
        self._oidc = oidc
        self._kept = kept
        self._verified: dict[str, tuple[Actor, float]] = {}
        self._verified_lock = threading.Lock()

    def remembered(self, token: str) -> Actor | None:
        """The actor of a token verified before and still valid; None when it must be verified."""
        remembered = self._verified.get(token)
        if remembered is not None:
            actor, valid_until = remembered
            if time.time() < valid_until:
                return actor
        return None

    def actor(self, token: str) -> Actor:
        """The actor the token names; ``AuthenticationRequiredError`` when it is not valid."""
        remembered = self.remembered(token)
        if remembered is not None:
            return remembered
        actor, valid_until = self._verify(token)
        with self._verified_lock:
            if len(self._verified) >= self._kept:
                self._verified.pop(next(iter(self._verified)))
            self._verified[token] = (actor, valid_until)
        return actor

    def _verify(self, token: str) -> tuple[Actor, float]:
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
        except jwt.InvalidTokenError as error:
            raise AuthenticationRequiredError(f"the bearer token is not valid: {error}") from None
        if algorithm in OIDC_ALGORITHMS:
            if self._oidc is None:
                raise AuthenticationRequiredError(
                    "the bearer token is signed with a key pair, and no identity provider is configured"
                )
            return self._oidc.actor(token), _accepted_until(token)
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
        return Actor(id=subject, role=Role(role)), _accepted_until(token)


def _accepted_until(token: str) -> float:
    """When a verified token stops being accepted (Unix time): its ``exp`` plus the leeway; at once if it
    has no ``exp`` (every token verified here requires one)."""
    expires = jwt.decode(token, options={"verify_signature": False}).get("exp")
    if not isinstance(expires, int | float):
        return 0.0
    return float(expires) + LEEWAY.total_seconds()


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


async def _verifier(request: Request) -> TokenVerifier:
    verifier: TokenVerifier = request.app.state.token_verifier
    return verifier


async def _api_keys(request: Request) -> ApiKeys:
    keys: ApiKeys = request.app.state.api_keys
    return keys


async def authenticated_actor(
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
    if keyed is not None:
        return keyed
    # On the event loop when the token was verified before (a lookup); else in the thread pool, since an
    # identity provider's token may need its JWKS fetched.
    remembered = verifier.remembered(credentials.credentials)
    if remembered is not None:
        return remembered
    return await run_in_threadpool(verifier.actor, credentials.credentials)


class RoleRequirement:
    """A dependency that lets through only actors of the declared roles (read back by the OpenAPI)."""

    def __init__(self, roles: frozenset[Role]) -> None:
        self.roles = roles

    async def __call__(self, actor: Annotated[Actor, Depends(authenticated_actor)]) -> Actor:
        if actor.role not in self.roles:
            raise RoleNotAllowedError(f"the role {actor.role.value} may not use this endpoint")
        return actor


def require(*roles: Role) -> Callable[..., Awaitable[Actor]]:
    """The dependency of an endpoint open to ``roles`` only: it yields the token's actor."""
    if not roles:
        raise ValueError("an endpoint declares at least one role")
    return RoleRequirement(frozenset(roles))
