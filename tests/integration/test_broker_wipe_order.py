"""After a broker wipe, a fresh subscriber reading the recreated topics from offset 0 sees every case's events
complete and in version order: nothing the relay sent before it found the topic recreated lands ahead of
(or after) the republished history.

Real PostgreSQL, a real Tansu broker of the test's own that is wiped (stopped: its memory storage is lost,
then started again on the same port) while the relay is publishing what a writer keeps committing.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from cli.scenarios import claim_story, complaint_story, issue_policy, register_demo_seller
from domain.base import SHANGHAI
from domain.policy import Line
from infra.bootstrap import System, bootstrap
from infra.clock import ControlledClock
from infra.messaging.broker import EmbeddedBroker
from infra.messaging.contract import H_VERSION, topic_name
from infra.messaging.relay import Relay, RelayOptions, RelayThread
from infra.settings import Settings
from infra.store.eventstore import CaseApplication
from tests.kafka_fixtures import consume_all, free_port

pytestmark = pytest.mark.integration

FAST = RelayOptions(
    idle_poll_s=0.2,
    hole_poll_s=0.02,
    verify_interval_s=0.3,
    standby_poll_s=0.05,
    retry_backoff_s=0.1,
    kafka_request_timeout_ms=5_000,
)
WIPES = 5


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    broker = EmbeddedBroker(free_port(), tmp_path / "tansu.log")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def wipe_system(database_url: str, schema: str, clock: ControlledClock) -> Iterator[System]:
    settings = Settings(
        database_url=database_url, db_schema=schema, topic_prefix=schema, db_pool_size=4, db_max_overflow=4
    )
    built = bootstrap(settings, clock)
    register_demo_seller(built, clock.now().astimezone(SHANGHAI).date())
    yield built
    built.close()


STORY_HORIZON = datetime(2027, 9, 1, tzinfo=UTC)
"""The last instant a round tells a whole story: they end within the calendar's last year (2027)."""


class Writer:
    """Claim and complaint stories, one after another, until stopped: cases of many versions each."""

    def __init__(self, system: System, clock: ControlledClock) -> None:
        self.system, self.clock = system, clock
        self.stories = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.failure: BaseException | None = None

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                # A policy per round: a story's claim is found again by its policy and day.
                policy_id = issue_policy(
                    self.system,
                    line=Line.MOTOR_COMMERCIAL,
                    product_code="MOTOR-COMM-2026",
                    term_months=12,
                    premium_fen=480_000,
                )
                # A story moves the clock about a month; near the end of the calendar's years a round only
                # issues the policy (several versions, no clock move), so a long run stays writable.
                if self.clock.now() < STORY_HORIZON:
                    claim_story(self.system, self.clock, policy_id)
                    complaint_story(self.system, self.clock, policy_id)
                self.stories += 1
        except BaseException as exc:  # noqa: BLE001 - reported by stop()
            self.failure = exc

    def __enter__(self) -> Writer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(60)
        assert self.failure is None, f"the writer failed: {self.failure!r}"


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def test_a_fresh_subscriber_after_broker_wipes_sees_every_case_complete_and_in_version_order(
    wipe_system: System, clock: ControlledClock, own_broker: EmbeddedBroker
) -> None:
    system = wipe_system
    apps: list[CaseApplication[Any]] = [system.policies, system.claims, system.complaints]
    relay = RelayThread(Relay(system, own_broker.bootstrap_servers, options=FAST)).start()

    def published() -> int:
        return sum(relay.relay.published_counts().values())

    def more_than(count: int) -> bool:
        return published() > count

    try:
        with Writer(system, clock) as writer:
            for _ in range(WIPES):
                # Wiped while the relay has sends in flight: the writer keeps it busy.
                wait_until(partial(more_than, published() + 20), 30, "the relay to publish")
                own_broker.stop()
                own_broker.start()  # same port, memory storage: no topics, no offsets
            wait_until(lambda: writer.stories >= 3, 60, "the writer to tell a few stories")

        def caught_up() -> bool:
            positions = relay.relay.positions()
            return all(
                positions[app.bounded_context] >= (app.recorder.max_notification_id() or 0) for app in apps
            )

        # Long enough for a verification to find the last recreated topic, then to republish it.
        time.sleep(3 * FAST.verify_interval_s)
        wait_until(caught_up, 60, "the relay to publish everything after the wipes")
    finally:
        relay.stop()

    for app in apps:
        topic = topic_name(system.settings.topic_prefix, app.bounded_context)
        seen: dict[str, list[int]] = defaultdict(list)
        for record in consume_all(own_broker.bootstrap_servers, topic, timeout=30):
            version = record.header(H_VERSION)
            assert record.key is not None
            assert version is not None
            seen[record.key.decode()].append(int(version))
        stored: dict[str, list[int]] = defaultdict(list)
        for notification in app.recorder.select_notifications(1, 1_000_000):
            stored[str(notification.originator_id)].append(notification.originator_version)
        assert seen.keys() == stored.keys(), app.bounded_context
        out_of_order = {case: versions for case, versions in seen.items() if versions != stored[case]}
        assert out_of_order == {}, f"{topic}: cases whose versions are not 1..n once each, in order"
