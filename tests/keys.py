"""Customers' data keys held in memory, for unit tests of what the mapper stores (no database)."""

from __future__ import annotations

import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from infra.store.keystore import SubjectErasedError


class EphemeralKeys:
    """``SubjectKeys`` in a dict: a key per customer on first use, and erasure that forgets it for good."""

    def __init__(self) -> None:
        self._keys: dict[str, AESGCM] = {}
        self._erased: set[str] = set()

    def key_for_writing(self, customer_id: str) -> AESGCM:
        if customer_id in self._erased:
            raise SubjectErasedError(customer_id)
        return self._keys.setdefault(customer_id, AESGCM(secrets.token_bytes(32)))

    def key_for_reading(self, customer_id: str) -> AESGCM | None:
        return self._keys.get(customer_id)

    def erase(self, customer_id: str) -> None:
        self._keys.pop(customer_id, None)
        self._erased.add(customer_id)
