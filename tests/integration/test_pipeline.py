"""The whole pipeline on real parts: store → relay → Kafka → projections consumer → read models.

The broker here is an embedded Tansu of this test's own, because one test restarts it empty.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from uuid import uuid4

import psycopg
import pytest

from cli.runtime import all_groups, caught_up, serve
from cli.scenarios import a_policy, claim_story, complaint_story, register_demo_seller
from consumers.rebuild import verify_projections
from domain.base import SHANGHAI
from infra.bootstrap import System, bootstrap
from infra.clock import ControlledClock
from infra.messaging.broker import EmbeddedBroker
from infra.messaging.contract import topic_name
from infra.schemas import validate_message
from infra.settings import Settings
from projections.queries import get_claim
from projections.schema import read_schema
from tests.kafka_fixtures import consume_all, free_port

pytestmark = [
    pytest.mark.integration,
    pytest.mark.isolated("runs the relay and every consumer group over everything the schema stores"),
]


@pytest.fixture
def pipeline_system(database_url: str, schema: str, clock: ControlledClock) -> Iterator[System]:
    settings = Settings(
        database_url=database_url, db_schema=schema, topic_prefix=f"t{uuid4().hex[:8]}", db_pool_size=4
    )
    built = bootstrap(settings, clock)
    register_demo_seller(built, clock.now().astimezone(SHANGHAI).date())
    yield built
    built.close()


@pytest.fixture
def broker() -> Iterator[EmbeddedBroker]:
    embedded = EmbeddedBroker(free_port())
    embedded.start()
    yield embedded
    embedded.stop()


def drive_a_claim(system: System, clock: ControlledClock) -> tuple[object, object]:
    policy_id = a_policy(system)
    return claim_story(system, clock, policy_id), complaint_story(system, clock, policy_id)


def claim_in_read_model(system: System, claim_id: object) -> str | None:
    with psycopg.connect(system.database_url) as conn:
        view = get_claim(conn, read_schema(system.settings.db_schema), claim_id)  # type: ignore[arg-type]
    return None if view is None else view.status


def test_every_published_message_validates_against_its_schema_and_reaches_the_read_models(
    pipeline_system: System, broker: EmbeddedBroker, clock: ControlledClock
) -> None:
    system = pipeline_system

    async def scenario() -> None:
        stop = asyncio.Event()

        async def then() -> None:
            claim_id, _ = await asyncio.to_thread(drive_a_claim, system, clock)
            assert await caught_up(system)
            assert await asyncio.to_thread(claim_in_read_model, system, claim_id) == "closed"
            stop.set()

        await serve(system, broker.bootstrap_servers, stop, relay=True, groups=all_groups(), then=then)

    asyncio.run(scenario())

    published = 0
    for context in ("policy", "claim", "complaint"):
        for record in consume_all(
            broker.bootstrap_servers, topic_name(system.settings.topic_prefix, context)
        ):
            headers = dict(record.headers)
            validate_message(record.value, headers["ce_type"].decode())
            published += 1
    assert published == 12 + 17 + 7


def test_read_models_stay_correct_when_the_broker_restarts_empty(
    pipeline_system: System, broker: EmbeddedBroker, clock: ControlledClock
) -> None:
    system = pipeline_system
    port = broker.port

    async def scenario() -> None:
        stop = asyncio.Event()

        async def then() -> None:
            await asyncio.to_thread(drive_a_claim, system, clock)
            assert await caught_up(system)
            await asyncio.to_thread(broker.stop)
            await asyncio.to_thread(broker.start)  # same port, nothing kept: topics and offsets are gone
            assert broker.port == port
            second_claim, _ = await asyncio.to_thread(drive_a_claim, system, clock)
            assert await caught_up(system, timeout=60)
            assert await asyncio.to_thread(claim_in_read_model, system, second_claim) == "closed"
            stop.set()

        await serve(system, broker.bootstrap_servers, stop, relay=True, groups=all_groups(), then=then)

    asyncio.run(scenario())

    # The relay republished everything from the store; the consumer applied each version once.
    assert verify_projections(system, out=None).consistent
