"""Console sign-in: who the browser is, kept server-side in PostgreSQL, with a CSRF token per session.

A member of staff signs in by pasting what the API already accepts (a bearer JWT, or an API key); it is
checked exactly as the API checks it, and only the actor and role it names are kept, never the credential.
The browser holds a random session id in an HttpOnly, SameSite=Strict cookie (Secure over https); the
table keeps its SHA-256, so a copy of the table opens no session. Every form carries the session's CSRF
token in a hidden field and every POST is refused without it. Signing out ends the row, so a copied
cookie dies with it; a session also ends when its credential would have (the JWT's ``exp``) and after
``SESSION_HOURS`` at most. Several API processes share the table, so a session works behind any of them.

The seam for single sign-on (OIDC, not built): an identity provider's callback route checks the ID
token, maps it to an ``Actor``, and calls ``ConsoleSessions.open(actor, expires_at)``, as ``sign_in``
does for a pasted credential; nothing else in the console knows how the actor was proven.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from psycopg import sql

from api.auth import ApiKeys, TokenVerifier
from api.problems import AuthenticationRequiredError
from domain.base import Actor, Role
from infra.clock import Clock, SystemClock
from infra.store.database import Database

SESSION_COOKIE = "caseledger_console"
SESSION_HOURS = 8
"""The longest a console session lives, whatever its credential allows (a working day)."""


class SignInRefusedError(ValueError):
    """The pasted credential is not a valid token or a configured API key (or names the system role)."""


@dataclass(frozen=True)
class ConsoleSession:
    """A signed-in member of staff: who they are, the session's CSRF token, when it ends."""

    actor: Actor
    csrf_token: str
    expires_at: datetime

    def csrf_matches(self, presented: str | None) -> bool:
        """Whether a form's hidden token is this session's (compared in constant time)."""
        return presented is not None and hmac.compare_digest(presented.encode(), self.csrf_token.encode())


def _digest(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


class ConsoleSessions:
    """The sessions of one deployment, in ``<schema>.console_sessions``."""

    def __init__(
        self,
        pool: Database,
        base_schema: str,
        verifier: TokenVerifier,
        keys: ApiKeys,
        clock: Clock | None = None,
    ) -> None:
        # Real time, never a demo's story clock: sessions end when the tokens they came from do.
        self.clock = clock or SystemClock()
        self._pool = pool
        self._table = sql.Identifier(base_schema, "console_sessions")
        self._verifier = verifier
        self._keys = keys

    def sign_in(self, credential: str, now: datetime | None = None) -> tuple[str, ConsoleSession]:
        """Check a pasted JWT or API key as the API does; open a session for the actor it names."""
        presented = credential.strip().removeprefix("Bearer ").strip()
        if not presented:
            raise SignInRefusedError("paste a bearer token or an API key")
        at = now or self.clock.now()
        limit = at + timedelta(hours=SESSION_HOURS)
        actor = self._keys.actor(presented)
        if actor is None:
            try:
                actor = self._verifier.actor(presented)
            except AuthenticationRequiredError as error:
                raise SignInRefusedError(error.detail) from None
            limit = min(limit, _token_expiry(presented) or limit)
        if actor.role is Role.SYSTEM:
            raise SignInRefusedError("the system role does not sign in to the console")
        return self.open(actor, limit, at)

    def open(
        self, actor: Actor, expires_at: datetime, now: datetime | None = None
    ) -> tuple[str, ConsoleSession]:
        """Open a session for an actor already proven (by a pasted credential, later by an OIDC callback)."""
        session_id = secrets.token_urlsafe(32)
        session = ConsoleSession(actor=actor, csrf_token=secrets.token_urlsafe(32), expires_at=expires_at)
        with self._pool.connection() as conn:
            conn.execute(
                sql.SQL(
                    """INSERT INTO {t} (id_digest, actor_id, actor_role, csrf_token, opened_at, expires_at)
                       VALUES (%s, %s, %s, %s, %s, %s)"""
                ).format(t=self._table),
                (
                    _digest(session_id),
                    actor.id,
                    actor.role.value,
                    session.csrf_token,
                    now or self.clock.now(),
                    expires_at,
                ),
            )
        return session_id, session

    def find(self, session_id: str | None, now: datetime | None = None) -> ConsoleSession | None:
        """The live session with this id, or None (unknown, ended or expired)."""
        if not session_id:
            return None
        with self._pool.connection() as conn:
            row = conn.execute(
                sql.SQL(
                    """SELECT actor_id, actor_role, csrf_token, expires_at FROM {t}
                       WHERE id_digest = %s AND ended_at IS NULL AND expires_at > %s"""
                ).format(t=self._table),
                (_digest(session_id), now or self.clock.now()),
            ).fetchone()
        if row is None:
            return None
        actor_id, role, csrf_token, expires_at = row
        return ConsoleSession(Actor(id=actor_id, role=Role(role)), csrf_token, expires_at)

    def end(self, session_id: str, now: datetime | None = None) -> None:
        """Sign out: the session (and any copy of its cookie) stops working at once."""
        with self._pool.connection() as conn:
            conn.execute(
                sql.SQL("UPDATE {t} SET ended_at = %s WHERE id_digest = %s AND ended_at IS NULL").format(
                    t=self._table
                ),
                (now or self.clock.now(), _digest(session_id)),
            )


def _token_expiry(token: str) -> datetime | None:
    # The signature was checked by the verifier just before; this only reads the expiry it carries.
    claims = jwt.decode(token, options={"verify_signature": False})
    exp = claims.get("exp")
    return datetime.fromtimestamp(exp, UTC) if isinstance(exp, int | float) else None
