"""The customers' data keys in PostgreSQL: wrapped under the master key, created once, destroyed for good."""

from __future__ import annotations

import base64
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from infra.migrations import upgrade
from infra.store.database import Database
from infra.store.keystore import (
    MASTER_KEY_FILE,
    KeyStore,
    KeyStoreError,
    SubjectErasedError,
    master_key_from,
    open_sealed,
    seal,
    sealed_customers,
)

pytestmark = pytest.mark.integration

MASTER = bytes(range(32))
WHEN = datetime(2032, 3, 1, tzinfo=UTC)


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def migrate(database: Database, schema: str) -> None:
    """The base schema with its tables, as every process's start brings it."""
    with database.connection() as conn:
        upgrade(conn, schema)


@pytest.fixture
def keys(database: Database, schema: str) -> Iterator[KeyStore]:
    migrate(database, schema)
    store = KeyStore(database, schema, MASTER)
    yield store
    store.close()


def test_a_customer_gets_one_key_however_often_it_is_asked_for(database: Database, schema: str) -> None:
    migrate(database, schema)
    first, second = KeyStore(database, schema, MASTER), KeyStore(database, schema, MASTER)
    try:
        sealed = seal(first.key_for_writing("cust-1"), "cust-1", "张伟")
        assert open_sealed(second, sealed) == "张伟"
        assert second.key_for_writing("cust-1") is not None
        assert open_sealed(first, seal(second.key_for_writing("cust-1"), "cust-1", "x")) == "x"
    finally:
        first.close()
        second.close()


def test_the_stored_key_is_wrapped_not_kept_in_clear(
    keys: KeyStore, database: Database, database_url: str, schema: str
) -> None:
    sealed = seal(keys.key_for_writing("cust-2"), "cust-2", "13800138000")
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            sql.SQL("SELECT wrapped_key FROM {} WHERE customer_id = 'cust-2'").format(
                sql.Identifier(schema, "subject_keys")
            )
        ).fetchone()
    assert row is not None
    assert len(bytes(row[0])) == 12 + 32 + 16  # nonce, key, tag: AES-GCM under the master key
    other_master = KeyStore(database, schema, bytes(32))
    try:
        with pytest.raises(KeyStoreError, match="master key"):
            open_sealed(other_master, sealed)
    finally:
        other_master.close()


def test_a_destroyed_key_opens_nothing_and_takes_no_new_data(keys: KeyStore) -> None:
    sealed = seal(keys.key_for_writing("cust-3"), "cust-3", "张伟")

    keys.destroy("cust-3", erased_at=WHEN, erased_by="mgr", reason="asked")
    keys.destroy("cust-3", erased_at=WHEN, erased_by="someone else", reason="again")

    assert open_sealed(keys, sealed) == "[erased]"
    with pytest.raises(SubjectErasedError):
        keys.key_for_writing("cust-3")
    state = keys.state("cust-3")
    assert state is not None
    assert (state.erased_by, state.reason) == ("mgr", "asked")


def test_an_erasure_elsewhere_reaches_a_cached_key_when_the_cache_expires(
    keys: KeyStore, database: Database, schema: str
) -> None:
    ticks = Ticks()
    reader = KeyStore(database, schema, MASTER, cache_seconds=30, monotonic=ticks)
    try:
        sealed = seal(keys.key_for_writing("cust-4"), "cust-4", "张伟")
        assert open_sealed(reader, sealed) == "张伟"
        keys.destroy("cust-4", erased_at=WHEN, erased_by="mgr", reason="asked")
        ticks.now = 31.0
        assert open_sealed(reader, sealed) == "[erased]"
    finally:
        reader.close()


def test_a_forgotten_key_is_read_again_at_once(keys: KeyStore, database: Database, schema: str) -> None:
    reader = KeyStore(database, schema, MASTER, cache_seconds=3600)
    try:
        sealed = seal(keys.key_for_writing("cust-5"), "cust-5", "张伟")
        assert open_sealed(reader, sealed) == "张伟"
        keys.destroy("cust-5", erased_at=WHEN, erased_by="mgr", reason="asked")
        reader.forget("cust-5")  # what a consumer does when it sees PersonalDataErased
        assert open_sealed(reader, sealed) == "[erased]"
    finally:
        reader.close()


def test_without_a_configured_master_key_one_is_created_private_and_then_reused(tmp_path: Path) -> None:
    first = master_key_from(None, tmp_path)
    again = master_key_from(None, tmp_path)

    assert first == again
    assert len(first) == 32
    assert stat.S_IMODE((tmp_path / MASTER_KEY_FILE).stat().st_mode) == 0o600


def test_a_configured_master_key_is_used_as_given(tmp_path: Path) -> None:
    assert master_key_from(base64.b64encode(MASTER).decode(), tmp_path) == MASTER
    assert not (tmp_path / MASTER_KEY_FILE).exists()


def test_preloaded_keys_open_values_without_asking_the_database_again(
    keys: KeyStore, database: Database, database_url: str, schema: str
) -> None:
    sealed = {c: seal(keys.key_for_writing(c), c, f"name of {c}") for c in ("cust-a", "cust:b", "cust-c")}
    keys.destroy("cust-c", erased_at=WHEN, erased_by="dpo", reason="asked")
    payloads = [f'{{"name": "{value}", "other": "pii:v1:"}}'.encode() for value in sealed.values()]
    reader = KeyStore(database, schema, MASTER)
    try:
        reader.preload(sealed_customers(payloads))
        # The rows go away behind the reader's back: only keys it already holds can still open values.
        with psycopg.connect(database_url) as conn:
            conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(schema, "subject_keys")))
        assert open_sealed(reader, sealed["cust-a"]) == "name of cust-a"
        assert open_sealed(reader, sealed["cust:b"]) == "name of cust:b"
        assert reader.key_for_reading("cust-c") is None  # erased when preloaded: stays erased
    finally:
        reader.close()


def test_sealed_customers_names_each_customer_once_when_a_payload_holds_several_values() -> None:
    payload = b'{"a": "pii:v1:c-1:AAAA", "b": "pii:v1:c-1:BBBB", "c": "pii:v1:x:y:CC_-", "d": "plain"}'
    assert sealed_customers([payload, b"{}"]) == {"c-1", "x:y"}
