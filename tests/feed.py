"""Deliver stored events to a consumer group's processor as the topics would, without a broker.

For tests of a handler's effect on real PostgreSQL: the broker's part is proven in tests/integration
(relay, pipeline), so these tests feed ``Processor.process`` the very messages the relay would publish.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

import psycopg
from psycopg import Connection

from consumers.processing import Outcome, Processor, RawMessage, create_tables, event_stores
from consumers.read_models import projection_handler
from infra.bootstrap import System
from infra.contract import message_for
from infra.eventstore import CaseApplication
from infra.rebuild import PROJECTIONS_GROUP


def deliver(
    system: System,
    processor: Processor,
    conn: Connection[Any],
    apps: Iterable[CaseApplication[Any]] | None = None,
    offsets: Iterator[int] | None = None,
) -> Counter[Outcome]:
    """Every stored event of ``apps`` (all by default), in store order, through ``processor``."""
    outcomes: Counter[Outcome] = Counter()
    numbers = offsets if offsets is not None else itertools.count()
    for app in apps if apps is not None else system.applications():
        for n in app.recorder.select_notifications(start=None, limit=100_000):
            msg = message_for(system.settings.topic_prefix, app.bounded_context, n, n.state)
            raw = RawMessage(msg.topic, 0, next(numbers), msg.key, msg.value, msg.headers)
            outcomes[processor.process(conn, raw)] += 1
    return outcomes


def project(system: System) -> int:
    """Deliver every stored event to the projections group; how many were applied."""
    with psycopg.connect(system.database_url, autocommit=True) as conn:
        create_tables(conn, system.settings.db_schema)
        processor = Processor(
            f"{system.settings.topic_prefix}.{PROJECTIONS_GROUP}",
            projection_handler(system, conn),
            event_stores(system),
            system.settings.db_schema,
        )
        return deliver(system, processor, conn)[Outcome.APPLIED]
