"""Per-customer data keys (envelope encryption) and the sealed form of a personal field.

Each customer has one AES-256 data key, created the first time a personal field of theirs is stored and kept
in ``<prefix>.subject_keys`` wrapped (AES-256-GCM) under the master key, which never reaches the database.
A personal field is stored, published and dead-lettered as ``pii:v1:<customer id>:<base64url(nonce ||
ciphertext)>``: still a string, so every published JSON Schema holds, and naming its customer, so that any
reader holding the key store can open it without knowing the event. The customer id (internal, not
personal) is the associated data, so a sealed value cannot be moved to another customer.

Erasure sets the wrapped key to NULL: the key is gone, every sealed value of that customer, wherever it was
copied, opens to ``ERASED``, and no stored row is rewritten (the hash chain over them still verifies).

Unwrapped keys are cached in memory for ``cache_seconds``, so that a write does not cost a round trip; an
erasure in another process reaches this one within that time at the latest (consumers drop the key as soon
as they see ``PersonalDataErased``). An erased customer is remembered for good: erasure is final.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from psycopg import sql

from domain.privacy import ERASED
from infra.store.database import Database

SEALED_PREFIX = "pii:v1:"
MASTER_KEY_FILE = "master.key"
_NONCE_BYTES = 12
_KEY_BYTES = 32
_WRAP_CONTEXT = b"caseledger.subject-key:"


class SubjectErasedError(Exception):
    """The customer's personal data was erased: nothing personal can be recorded for them again."""

    def __init__(self, customer_id: str) -> None:
        super().__init__(
            f"the personal data of customer {customer_id} was erased: record new personal data under a new "
            "customer id"
        )
        self.customer_id = customer_id


class KeyStoreError(Exception):
    """A sealed value or a wrapped key cannot be opened: the wrong master key, or tampered bytes."""


class SubjectKeys(Protocol):
    """Where the mapper gets a customer's data key."""

    def key_for_writing(self, customer_id: str) -> AESGCM:
        """The customer's key, created on first use; ``SubjectErasedError`` once they are erased."""
        ...

    def key_for_reading(self, customer_id: str) -> AESGCM | None:
        """The customer's key, or ``None`` once they are erased (or never had one)."""
        ...


def seal(key: AESGCM, customer_id: str, plaintext: str) -> str:
    """A personal value encrypted under the customer's key, as a JSON string."""
    nonce = secrets.token_bytes(_NONCE_BYTES)
    sealed = nonce + key.encrypt(nonce, plaintext.encode(), customer_id.encode())
    return f"{SEALED_PREFIX}{customer_id}:{base64.urlsafe_b64encode(sealed).rstrip(b'=').decode()}"


def is_sealed(value: str) -> bool:
    return value.startswith(SEALED_PREFIX)


def sealed_customer(value: str) -> str:
    """The customer a sealed value belongs to."""
    return value[len(SEALED_PREFIX) :].rsplit(":", 1)[0]


# A sealed value inside a JSON payload: the customer id runs to the last colon (base64url has none).
_SEALED_IN_JSON = re.compile(rb'"pii:v1:([^"]*):[A-Za-z0-9_-]*"')


def sealed_customers(payloads: Iterable[bytes]) -> set[str]:
    """The customers whose sealed values appear in these stored payloads, to load their keys at once."""
    found: set[str] = set()
    for payload in payloads:
        found.update(match.decode() for match in _SEALED_IN_JSON.findall(payload))
    return found


def open_sealed(keys: SubjectKeys, value: str) -> str:
    """The plaintext of a sealed value, or ``ERASED`` when its customer's key is destroyed."""
    customer_id, _, encoded = value[len(SEALED_PREFIX) :].rpartition(":")
    key = keys.key_for_reading(customer_id)
    if key is None:
        return ERASED
    try:
        sealed = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        return key.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], customer_id.encode()).decode()
    except (InvalidTag, ValueError, binascii.Error) as exc:
        raise KeyStoreError(
            f"a personal value of customer {customer_id} does not open under its key"
        ) from exc


def master_key_from(configured: str | None, data_dir: Path) -> bytes:
    """The master key: the configured one (base64 of 32 bytes), else a key file in ``data_dir``.

    The file is created on first use with mode 0600, so that a fresh machine runs with nothing to set;
    production sets CASELEDGER_MASTER_KEY (from a secrets manager) instead.
    """
    if configured is not None:
        key = base64.b64decode(configured, validate=True)
        if len(key) != _KEY_BYTES:
            raise KeyStoreError(f"the master key must be {_KEY_BYTES} bytes (base64), not {len(key)}")
        return key
    path = data_dir / MASTER_KEY_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two processes starting at once must not each write a different key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "wb") as out:
            out.write(base64.b64encode(secrets.token_bytes(_KEY_BYTES)))
    for _ in range(50):
        text = path.read_bytes().strip()
        if text:
            return master_key_from(text.decode(), data_dir)
        time.sleep(0.01)  # the creating process has not written it yet
    raise KeyStoreError(f"the master key file {path} is empty")


@dataclass(frozen=True)
class SubjectKeyState:
    """What the key store knows of one customer's key."""

    customer_id: str
    created_at: datetime
    erased_at: datetime | None
    erased_by: str | None
    reason: str | None


class KeyStore:
    """The customers' data keys in PostgreSQL, wrapped under the master key; unwrapped ones cached."""

    def __init__(
        self,
        database: Database,
        schema: str,
        master_key: bytes,
        *,
        cache_seconds: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._master = AESGCM(master_key)
        self._master_id = hashlib.sha256(b"caseledger.master-key-id:" + master_key).hexdigest()[:16]
        self._table = sql.Identifier(schema, "subject_keys")
        self._cache_seconds = cache_seconds
        self._monotonic = monotonic
        self._cache: dict[str, tuple[AESGCM, float]] = {}
        self._erased: set[str] = set()
        self._lock = threading.Lock()
        self._database = database  # its table is created by the migrations (step 1)

    def close(self) -> None:
        """Nothing to release: the connections are the process's pool's (closed by its owner)."""

    # ------------------------------------------------------------------------------------------- keys

    def key_for_writing(self, customer_id: str) -> AESGCM:
        """The customer's key, created on first use; ``SubjectErasedError`` once they are erased."""
        key = self._cached(customer_id)
        if key is not None:
            return key
        with self._database.connection() as conn:
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} (customer_id, wrapped_key, master_key_id) VALUES (%s, %s, %s)"
                    " ON CONFLICT (customer_id) DO NOTHING"
                ).format(self._table),
                (customer_id, self._wrap(customer_id, secrets.token_bytes(_KEY_BYTES)), self._master_id),
            )
        key = self._load(customer_id)
        if key is None:
            raise SubjectErasedError(customer_id)
        return key

    def key_for_reading(self, customer_id: str) -> AESGCM | None:
        """The customer's key, or ``None`` once they are erased (or never had one)."""
        return self._cached(customer_id) or self._load(customer_id)

    def preload(self, customer_ids: Iterable[str]) -> None:
        """Load the keys of these customers in one round trip (a page of a rebuild, a consumer's batch).

        Reading otherwise loads each customer's key on first sight: one round trip per customer, which
        made a rebuild of many customers' events three times slower.
        """
        wanted = [c for c in set(customer_ids) if c not in self._erased and self._cached(c) is None]
        if wanted:
            self._fetch(wanted)

    def destroy(self, customer_id: str, *, erased_at: datetime, erased_by: str, reason: str) -> None:
        """Destroy the customer's key for good (a second time: no effect); a keyless customer is marked."""
        with self._database.connection() as conn:
            conn.execute(
                sql.SQL(
                    "INSERT INTO {t} (customer_id, wrapped_key, master_key_id, erased_at, erased_by, reason)"
                    " VALUES (%s, NULL, %s, %s, %s, %s)"
                    " ON CONFLICT (customer_id) DO UPDATE SET wrapped_key = NULL,"
                    " erased_at = EXCLUDED.erased_at, erased_by = EXCLUDED.erased_by,"
                    " reason = EXCLUDED.reason"
                    " WHERE {t}.erased_at IS NULL"
                ).format(t=self._table),
                (customer_id, self._master_id, erased_at, erased_by, reason),
            )
        self.forget(customer_id)

    def forget(self, customer_id: str) -> None:
        """Drop the customer's key from this process's cache (their erasure was seen)."""
        with self._lock:
            self._cache.pop(customer_id, None)

    def state(self, customer_id: str) -> SubjectKeyState | None:
        """The customer's key row, without the key; ``None`` if they never had one."""
        with self._database.connection() as conn:
            row = conn.execute(
                sql.SQL(
                    "SELECT created_at, erased_at, erased_by, reason FROM {} WHERE customer_id = %s"
                ).format(self._table),
                (customer_id,),
            ).fetchone()
        if row is None:
            return None
        return SubjectKeyState(customer_id, row[0], row[1], row[2], row[3])

    # -------------------------------------------------------------------------------------- internals

    def _cached(self, customer_id: str) -> AESGCM | None:
        with self._lock:
            entry = self._cache.get(customer_id)
            if entry is None:
                return None
            key, loaded_at = entry
            if self._monotonic() - loaded_at > self._cache_seconds:
                del self._cache[customer_id]
                return None
            return key

    def _load(self, customer_id: str) -> AESGCM | None:
        if customer_id in self._erased:
            return None
        return self._fetch([customer_id]).get(customer_id)

    def _fetch(self, customer_ids: list[str]) -> dict[str, AESGCM]:
        """Read and unwrap these customers' keys in one round trip; cache them, remember the erased."""
        with self._database.connection() as conn:
            rows = conn.execute(
                sql.SQL(
                    "SELECT customer_id, wrapped_key, erased_at FROM {} WHERE customer_id = ANY(%s)"
                ).format(self._table),
                (customer_ids,),
            ).fetchall()
        keys: dict[str, AESGCM] = {}
        erased: set[str] = set()
        for customer_id, wrapped, erased_at in rows:
            if erased_at is not None or wrapped is None:
                erased.add(customer_id)
            else:
                keys[customer_id] = AESGCM(self._unwrap(customer_id, bytes(wrapped)))
        now = self._monotonic()
        with self._lock:
            self._cache.update((c, (key, now)) for c, key in keys.items())
            self._erased.update(erased)
        return keys

    def _wrap(self, customer_id: str, data_key: bytes) -> bytes:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return nonce + self._master.encrypt(nonce, data_key, _WRAP_CONTEXT + customer_id.encode())

    def _unwrap(self, customer_id: str, wrapped: bytes) -> bytes:
        try:
            return self._master.decrypt(
                wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], _WRAP_CONTEXT + customer_id.encode()
            )
        except InvalidTag as exc:
            raise KeyStoreError(
                f"the data key of customer {customer_id} does not unwrap: is this the master key it was "
                "wrapped with?"
            ) from exc
