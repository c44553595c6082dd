"""Where the read side lives and who keeps it: the read models' schema, their consumer group, its pause lock.

The API reads these tables, the ``projections`` consumer group writes them and a rebuild replaces them;
all three take the names from here, so that none of them spells them on its own.
"""

from __future__ import annotations

PROJECTIONS_GROUP = "projections"
"""The consumer group that keeps the read models (its Kafka group id is ``<topic prefix>.projections``)."""

PAUSE_LOCK = "caseledger.projections.pause"
"""Taken shared by every transaction of the projections group and exclusive by a rebuild, which pauses it."""


def read_schema(base_schema: str) -> str:
    """The schema the read models live in, beside the event store's schemas."""
    return f"{base_schema}_read"


def projections_group_id(topic_prefix: str) -> str:
    """The projections group's Kafka group id, also the key of its rows in the tracking tables."""
    return f"{topic_prefix}.{PROJECTIONS_GROUP}"
