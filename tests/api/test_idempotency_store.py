"""The key's answer is kept by the statement that stores the command's events: both or neither.

The primary key (actor, key) decides between attempts: a second answer under a key is refused in its
statement (so its events roll back), and an attempt running beside the first waits for the first's commit.
Holds left without an answer (by releases that claimed a key before running) are taken over once stale, by
one repeat only.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg import sql

from api.idempotency import (
    TABLE,
    IdempotencyStore,
    IdempotentRequest,
    PendingHold,
    StoredAnswer,
)
from api.problems import IdempotencyKeyReusedError
from domain.base import Actor, Role
from domain.complaint import ComplaintCategory, ComplaintChannel, SubjectKind
from infra.bootstrap import System
from infra.clock import ControlledClock
from infra.services.complaints import LodgeComplaint, SubjectRefBody
from infra.store.eventstore import AlongsideRefusedError, Caller, CommandResult, committed_with

pytestmark = pytest.mark.integration

ANSWER = StoredAnswer(201, {"version": 1})


@pytest.fixture
def request_() -> IdempotentRequest:
    """A request under a key of the test's own: the table is shared by the session's tests."""
    return IdempotentRequest(
        actor_id="a", key=f"k-{uuid4()}", method="POST", path="/claims", request_hash="h"
    )


@pytest.fixture
def store(system: System) -> IdempotencyStore:
    return IdempotencyStore(system.database, system.settings.db_schema, wait_seconds=0.2, stale_seconds=30)


def hold(system: System, request: IdempotentRequest, age: str) -> None:
    """A hold without an answer, as an attempt of an older release left it ``age`` ago."""
    with psycopg.connect(system.database_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (key, actor_id, method, path, request_hash, hold_token, held_since) "
                "VALUES (%s, %s, %s, %s, %s, %s, now() - %s::interval)"
            ).format(sql.Identifier(system.settings.db_schema, TABLE)),
            (request.key, request.actor_id, request.method, request.path, request.request_hash, uuid4(), age),
        )


def lodge(system: System, request: IdempotentRequest, clock_now: datetime) -> CommandResult | None:
    """Lodge a complaint (a case of its own) with the key's answer kept alongside; what was stored."""
    complaint_id = uuid4()
    command = LodgeComplaint(
        received_at=clock_now - timedelta(minutes=5),
        category=ComplaintCategory.CLAIMS,
        channel=ComplaintChannel.HOTLINE,
        subject_ref=SubjectRefBody(kind=SubjectKind.POLICY, ref="P-1"),
        customer_id="CUST-store",
        complainant_name="张伟",
        complainant_phone="13800138000",
        facts="the repair estimate left out the paint work",
        demands="pay the paint work",
    )
    caller = Caller(actor=Actor(id=request.actor_id, role=Role.COMPLAINTS_OFFICER), correlation_id=uuid4())
    store = IdempotencyStore(system.database, system.settings.db_schema)
    with committed_with(complaint_id, store.kept_with_events(request, 201)) as stored:
        system.complaints.lodge(command, caller, complaint_id)
    return stored()


def cases_stored(system: System, case_id: UUID) -> int:
    return len(list(system.complaints.events.get(case_id)))


def test_the_answer_is_kept_by_the_statement_that_stores_the_events(
    store: IdempotencyStore, request_: IdempotentRequest, system: System, clock: ControlledClock
) -> None:
    stored = lodge(system, request_, clock.now())

    assert stored is not None
    assert store.earlier(request_) == StoredAnswer(
        201, {"case_id": str(stored.case_id), "version": stored.version, "position": stored.position}
    )


def test_events_whose_key_already_has_an_answer_are_not_stored(
    store: IdempotencyStore, request_: IdempotentRequest, system: System, clock: ControlledClock
) -> None:
    first = lodge(system, request_, clock.now())
    stored_before = system.complaints.recorder.max_notification_id()

    with pytest.raises(AlongsideRefusedError):
        lodge(system, request_, clock.now())

    assert first is not None
    assert store.earlier(request_) == StoredAnswer(
        201, {"case_id": str(first.case_id), "version": 1, "position": first.position}
    )
    assert system.complaints.recorder.max_notification_id() == stored_before


def test_an_attempt_beside_the_first_waits_for_its_commit_then_stores_nothing(
    store: IdempotencyStore, request_: IdempotentRequest, system: System, clock: ControlledClock
) -> None:
    outcome: list[BaseException | CommandResult | None] = []

    def beside() -> None:
        try:
            outcome.append(lodge(system, request_, clock.now()))
        except AlongsideRefusedError as refused:
            outcome.append(refused)

    # The first attempt's key, inserted and not committed yet (its statement still running).
    with psycopg.connect(system.database_url) as first:
        first.execute(
            sql.SQL(
                "INSERT INTO {} (key, actor_id, method, path, request_hash, status, body) "
                "VALUES (%s, %s, %s, %s, %s, 201, '{{}}')"
            ).format(sql.Identifier(system.settings.db_schema, TABLE)),
            (request_.key, request_.actor_id, request_.method, request_.path, request_.request_hash),
        )
        thread = threading.Thread(target=beside)
        thread.start()
        thread.join(timeout=0.5)
        waited = thread.is_alive()
        first.commit()
    thread.join(timeout=10)

    assert waited is True
    assert len(outcome) == 1
    assert isinstance(outcome[0], AlongsideRefusedError)
    assert store.earlier(request_) == StoredAnswer(201, {})


def test_a_refusal_kept_alone_stands_against_a_later_answer(
    store: IdempotencyStore, request_: IdempotentRequest
) -> None:
    refusal = StoredAnswer(409, {"title": "ClaimCannotCloseError"})

    assert store.keep_alone(request_, refusal) is True
    assert store.keep_alone(request_, ANSWER) is False
    assert store.earlier(request_) == refusal


def test_a_different_request_under_a_used_key_is_refused(
    store: IdempotencyStore, request_: IdempotentRequest
) -> None:
    store.keep_alone(request_, ANSWER)
    other = IdempotentRequest(request_.actor_id, request_.key, "POST", "/claims", "another body")

    with pytest.raises(IdempotencyKeyReusedError):
        store.earlier(other)


def test_a_fresh_hold_without_an_answer_is_not_stale(
    store: IdempotencyStore, request_: IdempotentRequest, system: System
) -> None:
    hold(system, request_, "0 seconds")

    found = store.earlier(request_)

    assert isinstance(found, PendingHold)
    assert found.stale is False


def test_a_stale_hold_is_taken_over_by_one_repeat_only(
    store: IdempotencyStore, request_: IdempotentRequest, system: System
) -> None:
    hold(system, request_, "1 hour")
    found = store.earlier(request_)
    assert isinstance(found, PendingHold)
    assert found.stale is True

    assert (store.take_over(request_, found), store.take_over(request_, found)) == (True, False)
    assert store.earlier(request_) is None
