"""A real Kafka-protocol broker for the tests: the configured Kafka, or the embedded Tansu broker.

Import the fixture into ``tests/conftest.py`` (``from tests.kafka_fixtures import kafka_bootstrap``).
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError

from infra.messaging.broker import EmbeddedBroker
from infra.settings import Settings


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``host:port`` of the configured Kafka (CASELEDGER_KAFKA_BOOTSTRAP_SERVERS) or of an embedded broker."""
    configured = Settings().kafka_bootstrap_servers
    if configured is not None:
        yield configured
        return
    broker = EmbeddedBroker(free_port(), tmp_path_factory.mktemp("kafka") / "tansu.log")
    yield broker.start()
    broker.stop()


@dataclass(frozen=True)
class Record:
    """One consumed Kafka record."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    def header(self, name: str) -> bytes | None:
        return next((v for k, v in self.headers if k == name), None)


def consume_all(bootstrap: str, topic: str, timeout: float = 10.0) -> list[Record]:
    """Every record of ``topic`` from the beginning, in partition then offset order."""
    # No consumer group: a kafka-python group member waits for the rebalance timeout on first join, while
    # manual assignment reads at once.
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    try:
        deadline = time.monotonic() + timeout
        partitions = consumer.partitions_for_topic(topic)
        while not partitions:
            if time.monotonic() > deadline:
                return []  # the topic does not exist
            time.sleep(0.05)
            partitions = consumer.partitions_for_topic(topic)
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        by_partition: dict[int, list[Record]] = {p.partition: [] for p in assigned}
        # The end offsets are only a lower bound (Tansu under-reports them after a batch of several
        # records): read at least up to them, then until a poll finds nothing more.
        ends: dict[TopicPartition, int] = consumer.end_offsets(assigned)
        while True:
            batches = consumer.poll(timeout_ms=300)
            for batch in batches.values():
                for r in batch:
                    by_partition[r.partition].append(
                        Record(r.topic, r.partition, r.offset, r.key, r.value, tuple(r.headers))
                    )
            if not batches and all(consumer.position(p) >= ends[p] for p in assigned):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {topic} to its end within {timeout} s")
        return [record for p in sorted(by_partition) for record in by_partition[p]]
    finally:
        consumer.close()


def delete_topics(bootstrap: str, topics: Sequence[str]) -> None:
    """Delete a test's topics (best effort: they may not exist, or the cluster may refuse deletions)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        existing = set(admin.list_topics())
        doomed = [t for t in topics if t in existing]
        if doomed:
            with contextlib.suppress(KafkaError):
                admin.delete_topics(doomed)
    finally:
        admin.close()
