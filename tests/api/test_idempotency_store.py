"""The key is claimed under a unique constraint: of concurrent repeats exactly one runs.

A hold left by a request that died is taken over once it is older than the bound, by one repeat only.
"""

from __future__ import annotations

from uuid import uuid4

import psycopg
import pytest
from psycopg import sql

from api.idempotency import TABLE, IdempotencyStore, IdempotentRequest, KeyHold, StoredAnswer
from api.problems import IdempotentRequestInProgressError
from infra.bootstrap import System

pytestmark = pytest.mark.integration


@pytest.fixture
def request_() -> IdempotentRequest:
    """A request under a key of the test's own: the table is shared by the session's tests."""
    return IdempotentRequest(
        actor_id="a", key=f"k-{uuid4()}", method="POST", path="/claims", request_hash="h"
    )


@pytest.fixture
def store(system: System) -> IdempotencyStore:
    return IdempotencyStore(system.database, system.settings.db_schema, wait_seconds=0.2, stale_seconds=30)


def abandon(system: System) -> None:
    """Age every pending hold past the bound, as a request that died an hour ago leaves it."""
    with psycopg.connect(system.database_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("UPDATE {} SET held_since = now() - interval '1 hour' WHERE status IS NULL").format(
                sql.Identifier(system.settings.db_schema, TABLE)
            )
        )


def held(claimed: StoredAnswer | KeyHold) -> KeyHold:
    assert isinstance(claimed, KeyHold), claimed
    return claimed


def test_the_first_request_with_a_key_holds_it(store: IdempotencyStore, request_: IdempotentRequest) -> None:
    assert held(store.claim(request_)).taken_over is False


def test_a_repeat_while_the_first_request_runs_is_told_to_retry(
    store: IdempotencyStore, request_: IdempotentRequest
) -> None:
    store.claim(request_)

    with pytest.raises(IdempotentRequestInProgressError):
        store.claim(request_)


def test_a_repeat_after_the_first_answer_gets_it(
    store: IdempotencyStore, request_: IdempotentRequest
) -> None:
    hold = held(store.claim(request_))
    store.record(request_, hold, StoredAnswer(201, {"version": 1}))

    assert store.claim(request_) == StoredAnswer(201, {"version": 1})


def test_a_released_key_runs_again(store: IdempotencyStore, request_: IdempotentRequest) -> None:
    store.release(request_, held(store.claim(request_)))

    assert held(store.claim(request_)).taken_over is False


def test_a_repeat_takes_over_a_key_left_pending_past_the_bound(
    store: IdempotencyStore, request_: IdempotentRequest, system: System
) -> None:
    store.claim(request_)
    abandon(system)

    assert held(store.claim(request_)).taken_over is True


def test_only_one_repeat_takes_over_an_abandoned_key(
    store: IdempotencyStore, request_: IdempotentRequest, system: System
) -> None:
    store.claim(request_)
    abandon(system)
    store.claim(request_)

    with pytest.raises(IdempotentRequestInProgressError):
        store.claim(request_)


def test_the_answer_of_a_request_that_lost_its_hold_is_not_kept(
    store: IdempotencyStore, request_: IdempotentRequest, system: System
) -> None:
    first = held(store.claim(request_))
    abandon(system)
    second = held(store.claim(request_))

    kept_late = store.record(request_, first, StoredAnswer(201, {"version": 1}))
    kept = store.record(request_, second, StoredAnswer(201, {"version": 2}))

    assert (kept_late, kept) == (False, True)
    assert store.claim(request_) == StoredAnswer(201, {"version": 2})
