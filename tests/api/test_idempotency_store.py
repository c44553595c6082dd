"""The key is claimed under a unique constraint: of concurrent repeats exactly one runs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from psycopg_pool import ConnectionPool

from api.idempotency import IdempotencyStore, IdempotentRequest, StoredAnswer
from api.problems import IdempotentRequestInProgressError
from infra.bootstrap import System

pytestmark = pytest.mark.integration

REQUEST = IdempotentRequest(actor_id="a", key="k", method="POST", path="/claims", request_hash="h")


@pytest.fixture
def store(system: System) -> Iterator[IdempotencyStore]:
    pool: ConnectionPool[Any] = ConnectionPool(
        system.database_url, min_size=1, max_size=2, kwargs={"autocommit": True}
    )
    built = IdempotencyStore(pool, system.settings.db_schema, wait_seconds=0.2)
    built.create_table()
    yield built
    pool.close()


def test_a_repeat_while_the_first_request_runs_is_told_to_retry(store: IdempotencyStore) -> None:
    assert store.claim(REQUEST) is None

    with pytest.raises(IdempotentRequestInProgressError):
        store.claim(REQUEST)


def test_a_repeat_after_the_first_answer_gets_it(store: IdempotencyStore) -> None:
    store.claim(REQUEST)
    store.record(REQUEST, StoredAnswer(201, {"version": 1}))

    assert store.claim(REQUEST) == StoredAnswer(201, {"version": 1})


def test_a_released_key_runs_again(store: IdempotencyStore) -> None:
    store.claim(REQUEST)
    store.release(REQUEST)

    assert store.claim(REQUEST) is None
