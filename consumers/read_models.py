"""The ``projections`` group's handler: every read model of the catalogue, kept live from the topics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from psycopg import Connection, sql

from domain.base import DomainEvent
from infra.messaging.contract import ReceivedEvent
from infra.settings import Settings
from projections import store
from projections.base import Projection
from projections.catalogue import ALL_PROJECTIONS
from projections.schema import PAUSE_LOCK, read_schema


class ProjectionHandler:
    """Folds each event into every projection's rows, in the consumer's transaction."""

    def __init__(self, schema: str, projections: Sequence[Projection]) -> None:
        self.schema = schema
        self.projections = tuple(projections)

    def create_tables(self, conn: Connection[Any]) -> None:
        """Create the read schema and the projections' tables if they are missing."""
        with conn.transaction():
            # Every instance of the group creates them at start; they must not collide.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('caseledger.consumers.read_models'))")
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
            for projection in self.projections:
                store.create_tables(conn, self.schema, projection)

    def handle(self, conn: Connection[Any], event: DomainEvent, received: ReceivedEvent) -> None:
        """Apply the event to every projection."""
        # A rebuild holds this lock exclusively while it replays up to our tracked versions and swaps.
        conn.execute("SELECT pg_advisory_xact_lock_shared(hashtext(%s))", (PAUSE_LOCK,))
        for projection in self.projections:
            store.apply(conn, self.schema, projection, event)


class ReadModelSystem(Protocol):
    """What the projections group's handler is built from: the settings naming the read schema."""

    @property
    def settings(self) -> Settings: ...


def projection_handler(system: ReadModelSystem, conn: Connection[Any]) -> ProjectionHandler:
    """The handler of the ``projections`` group, its tables created."""
    handler = ProjectionHandler(read_schema(system.settings.db_schema), ALL_PROJECTIONS)
    handler.create_tables(conn)
    return handler
