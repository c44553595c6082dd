"""The ``projections`` group's handler: every read model of the catalogue, kept live from the topics."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol
from uuid import UUID

from psycopg import Connection, sql

from domain.base import DomainEvent
from infra.messaging.contract import ReceivedEvent
from infra.services.complaints import Complaints
from infra.settings import Settings
from infra.store.eventstore import CaseNotFoundError
from projections import shapes, store
from projections.base import Projection
from projections.catalogue import ALL_PROJECTIONS
from projections.complaints import COMPLAINTS, complaint_needed_by
from projections.schema import PAUSE_LOCK, read_schema

log = logging.getLogger(__name__)

CaseHistory = Callable[[UUID], Sequence[DomainEvent]]
"""A case's stored events, oldest first (an application's ``history``)."""


COMPLAINTS_PROJECTION = "complaints"
"""The projection holding the complaint rows (``projections.catalogue``)."""


class ProjectionHandler:
    """Folds each event into every projection's rows, in the consumer's transaction."""

    def __init__(
        self,
        schema: str,
        projections: Sequence[Projection],
        complaint_history: CaseHistory | None = None,
    ) -> None:
        self.schema = schema
        self.projections = tuple(projections)
        self.complaint_history = complaint_history

    def create_tables(self, conn: Connection[Any]) -> None:
        """Create the read schema and the projections' tables if they are missing, record the shape of
        those new, and say which were built in an older shape (they need a rebuild)."""
        with conn.transaction():
            # Every instance of the group creates them at start; they must not collide.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('caseledger.consumers.read_models'))")
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
            for projection in self.projections:
                store.create_tables(conn, self.schema, projection)
            stale = shapes.stale_projections(conn, self.schema, self.projections)
            shapes.record_shapes(conn, self.schema, self.projections, rebuilt=False)
        for name in stale:
            log.warning(
                "read model %s was built in an older shape than this release's: "
                "run `caseledger projections rebuild %s`",
                name,
                name,
            )

    def handle(self, conn: Connection[Any], event: DomainEvent, received: ReceivedEvent) -> None:
        """Apply the event to every projection."""
        # A rebuild holds this lock exclusively while it replays up to our tracked versions and swaps.
        conn.execute("SELECT pg_advisory_xact_lock_shared(hashtext(%s))", (PAUSE_LOCK,))
        for projection in self.projections:
            if projection.name == COMPLAINTS_PROJECTION:
                self._fold_complaint_first(conn, projection, event)
            store.apply(conn, self.schema, projection, event)

    def handle_many(self, conn: Connection[Any], events: Sequence[tuple[DomainEvent, ReceivedEvent]]) -> None:
        """Apply a batch's events to every projection, reading and writing each row once (``apply_many``)."""
        domain_events = [event for event, _ in events]
        if self.complaint_history is not None and any(complaint_needed_by(e) for e in domain_events):
            # Rare (a decision timer's outcome): the complaint may have to be folded from its store first.
            for event, received in events:
                self.handle(conn, event, received)
            return
        with conn.pipeline():  # the lock goes with the batch's first reads, in their round trip
            conn.execute("SELECT pg_advisory_xact_lock_shared(hashtext(%s))", (PAUSE_LOCK,))
            store.apply_many(conn, self.schema, self.projections, domain_events)

    def _fold_complaint_first(
        self, conn: Connection[Any], projection: Projection, event: DomainEvent
    ) -> None:
        """Fold the complaint a decision timer's outcome needs from the store, if its row is not there yet.

        Its own events arrive later on their topic and change nothing then: the view applies a complaint's
        event only above the version its row holds.
        """
        complaint_id = complaint_needed_by(event)
        if complaint_id is None or self.complaint_history is None:
            return
        if store.read_key(conn, self.schema, COMPLAINTS, (complaint_id,)) is not None:
            return
        try:
            history = self.complaint_history(complaint_id)
        except CaseNotFoundError:
            return
        for past in history:
            store.apply(conn, self.schema, projection, past)


class ReadModelSystem(Protocol):
    """What the projections group's handler is built from: the settings naming the read schema, and the
    complaints' store (a decision timer's outcome may arrive before its complaint's events)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def complaints(self) -> Complaints: ...


def projection_handler(system: ReadModelSystem, conn: Connection[Any]) -> ProjectionHandler:
    """The handler of the ``projections`` group, its tables created."""
    handler = ProjectionHandler(
        read_schema(system.settings.db_schema), ALL_PROJECTIONS, system.complaints.history
    )
    handler.create_tables(conn)
    return handler
