"""Asleep consumer groups are woken by the relay, not by polling the broker.

After each batch the broker acknowledged, the relay NOTIFYs ``published_channel(base schema)`` with the
topic as payload (``infra.messaging.relay``); after it deleted and recreated a topic (a broker that came
back empty), with ``recreated:<topic>``, and the groups that read it start it over (``Pacer.rewind``).
A process that runs consumer groups (`up`, or `consume --group`) LISTENs on ONE dedicated connection shared
by all its groups and wakes the groups that read that topic (consumers/pacing.py). NOTIFY reaches every
process on the database, so this works the same whether the relay runs in the same process as the groups or
in another one, and whichever relay holds the lock.

For wake-ups the listener is an optimisation: while its connection is away (a database restart) the groups
still probe the broker every ``Pace.safety_poll_s``; when it is back it wakes every group once, for what was
published meanwhile. A ``recreated`` notice sent while it is away is lost: the group still sees the new
topic's partitions within ``METADATA_MAX_AGE_MS``, but may keep positions from the old topic and skip the
start of the new one until its process restarts. That takes the broker emptied and this connection away at
the same moment.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterable

import psycopg

from consumers.pacing import Pacer
from infra.messaging.relay import RECREATED
from infra.store.database import Database
from infra.store.listening import listen, notifications

log = logging.getLogger(__name__)

RECONNECT_DELAYS_S = (1.0, 30.0)
"""First and longest pause before the listener connects again after losing its connection."""


class Pacers:
    """The pacers of this process's consumer groups, by the topics each reads."""

    def __init__(self) -> None:
        self._by_topic: dict[str, list[Pacer]] = defaultdict(list)
        self._all: list[Pacer] = []

    def add(self, pacer: Pacer, topics: Iterable[str]) -> None:
        self._all.append(pacer)
        for topic in topics:
            self._by_topic[topic].append(pacer)

    def start(self) -> None:
        """Every group falls asleep once nothing came for a while (in the event loop)."""
        for pacer in self._all:
            pacer.start()

    def published(self, topic: str) -> None:
        """The relay published to ``topic``: wake the groups that read it."""
        for pacer in self._by_topic.get(topic, ()):
            pacer.wake()

    def recreated(self, topic: str) -> None:
        """The relay emptied ``topic`` and is republishing it: the groups that read it start it over."""
        for pacer in self._by_topic.get(topic, ()):
            pacer.rewind(topic)

    def wake_all(self) -> None:
        for pacer in self._all:
            pacer.wake()

    def stop(self) -> None:
        for pacer in self._all:
            pacer.stop()


async def listen_for_published(database: Database, channel: str, pacers: Pacers) -> None:
    """LISTEN on ``channel`` and wake the groups of each topic published, until cancelled."""
    first, longest = RECONNECT_DELAYS_S
    delay = first
    while True:
        try:
            async with await database.dedicated_async() as conn:
                await listen(conn, [channel])
                delay = first
                # What was published while the listener was away (or starting) woke nobody.
                pacers.wake_all()
                async for notify in notifications(conn):
                    if notify.payload.startswith(RECREATED):
                        pacers.recreated(notify.payload.removeprefix(RECREATED))
                    else:
                        pacers.published(notify.payload)
        except psycopg.Error as exc:
            log.warning("LISTEN %s lost (%r): the groups probe the broker until it is back", channel, exc)
        await asyncio.sleep(delay)
        delay = min(delay * 2, longest)
