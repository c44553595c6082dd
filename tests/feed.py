"""Deliver stored events to a consumer group's processor as the topics would, without a broker.

For tests of a handler's effect on real PostgreSQL: the broker's part is proven in tests/integration
(relay, pipeline), so these tests feed ``Processor.process`` the very messages the relay would publish.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import psycopg
from eventsourcing.persistence import Notification
from psycopg import Connection, sql

from consumers.processing import Handler, Outcome, Processor, RawMessage, event_stores
from consumers.read_models import projection_handler
from infra.bootstrap import System
from infra.messaging.contract import message_for
from infra.store.eventstore import CaseApplication
from projections.schema import PROJECTIONS_GROUP

_ORIGINS: dict[tuple[str, str], int] = {}
"""Per schema and context: the last notification stored before the running test began (see ``begin``)."""


def begin(system: System) -> None:
    """Mark where the running test's events start in ``system``'s stores: a store shared by the session's
    tests holds the earlier tests' events too, and what a test feeds its groups is its own."""
    for app in system.applications():
        _ORIGINS[(system.settings.db_schema, app.bounded_context)] = app.recorder.max_notification_id() or 0


def stored_since_begin(system: System, app: CaseApplication[Any]) -> list[Notification]:
    """The notifications ``app`` stored since the running test began (in ``system``'s schema)."""
    origin = _ORIGINS.get((system.settings.db_schema, app.bounded_context), 0)
    return list(app.recorder.select_notifications(start=origin + 1, limit=100_000))


def deliver(
    system: System,
    processor: Processor,
    conn: Connection[Any],
    apps: Iterable[CaseApplication[Any]] | None = None,
    offsets: Iterator[int] | None = None,
) -> Counter[Outcome]:
    """Every event of ``apps`` (all by default) stored since the test began, in store order, through
    ``processor``."""
    outcomes: Counter[Outcome] = Counter()
    numbers = offsets if offsets is not None else itertools.count()
    for app in apps if apps is not None else system.applications():
        for n in stored_since_begin(system, app):
            msg = message_for(system.settings.topic_prefix, app.bounded_context, n, n.state)
            raw = RawMessage(msg.topic, 0, next(numbers), msg.key, msg.value, msg.headers)
            outcomes[processor.process(conn, raw)] += 1
    return outcomes


def project(system: System) -> int:
    """Deliver every event stored since the test began to the projections group; how many were applied."""
    with psycopg.connect(system.database_url, autocommit=True) as conn:
        processor = Processor(
            f"{system.settings.topic_prefix}.{PROJECTIONS_GROUP}",
            projection_handler(system, conn),
            event_stores(system),
            system.settings.db_schema,
        )
        return deliver(system, processor, conn)[Outcome.APPLIED]


class Group:
    """A consumer group's Processor on a connection of its own, fed the stored events of its applications
    each time a test says they were published.

    The offsets run on across feeds, so feeding again is a redelivery of the same events, as a broker's
    would be after a restart.
    """

    def __init__(
        self,
        system: System,
        name: str,
        build_handler: Callable[[System, Connection[Any]], Handler],
        apps: Iterable[CaseApplication[Any]],
    ) -> None:
        self.system = system
        self.apps = tuple(apps)
        self.conn = psycopg.connect(system.database_url, autocommit=True)
        self.group_id = f"{system.settings.topic_prefix}.{name}"
        self.processor = Processor(
            self.group_id, build_handler(system, self.conn), event_stores(system), system.settings.db_schema
        )
        self.offsets = itertools.count(1)

    def consume(self, apps: Iterable[CaseApplication[Any]] | None = None) -> Counter[Outcome]:
        """Deliver every stored event of the group's applications (or only of ``apps``), in store order."""
        return deliver(
            self.system, self.processor, self.conn, self.apps if apps is None else apps, self.offsets
        )

    def forget_progress(self) -> None:
        """Lose the group's tracking, so that every event is applied again (a replay from the start)."""
        self.conn.execute(
            sql.SQL("DELETE FROM {}.consumer_applied WHERE group_id = %s").format(
                sql.Identifier(self.system.settings.db_schema)
            ),
            (self.group_id,),
        )

    def close(self) -> None:
        self.conn.close()
