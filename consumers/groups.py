"""Consumer groups: a name, the bounded contexts whose topics it reads, and the handler it applies."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from psycopg import Connection

from consumers.callbacks import CALLBACKS_CONTEXTS, callbacks_handler
from consumers.erasure import ForgetErasedKeys
from consumers.names import CALLBACKS_GROUP, TIMERS_GROUP
from consumers.processing import Handler
from consumers.read_models import projection_handler
from consumers.timers import timers_handler
from infra.messaging.contract import topic_name
from infra.services.callbacks import Callbacks
from infra.services.claims import Claims
from infra.services.complaints import Complaints
from infra.services.inquiries import Inquiries
from infra.services.policies import Policies
from infra.services.privacy import Privacy
from infra.services.service_orders import ServiceOrders
from infra.services.service_requests import ServiceRequests
from infra.services.timers import Timers
from infra.settings import Settings
from infra.store.database import Database
from infra.store.eventstore import CaseApplication
from infra.store.keystore import KeyStore
from projections.schema import PROJECTIONS_GROUP

ALL_CONTEXTS: tuple[str, ...] = (
    Policies.bounded_context,
    Claims.bounded_context,
    Complaints.bounded_context,
    Callbacks.bounded_context,
    ServiceRequests.bounded_context,
    Inquiries.bounded_context,
    ServiceOrders.bounded_context,
)


class ConsumerSystem(Protocol):
    """What the consumer groups use of the composition root: the process's database, the settings, the key
    store, and the application services their handlers call. Each handler factory names the part it uses
    (``TimerSystem``, ``CallbackSystem``, ``ReadModelSystem``)."""

    @property
    def database(self) -> Database: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def keys(self) -> KeyStore: ...

    @property
    def policies(self) -> Policies: ...

    @property
    def claims(self) -> Claims: ...

    @property
    def complaints(self) -> Complaints: ...

    @property
    def callbacks(self) -> Callbacks: ...

    @property
    def service_requests(self) -> ServiceRequests: ...

    @property
    def timers(self) -> Timers: ...

    @property
    def service_orders(self) -> ServiceOrders: ...

    def applications(self) -> list[CaseApplication[Any]]: ...


HandlerFactory = Callable[[ConsumerSystem, Connection[Any]], Handler]
"""Builds a group's handler once per process; it may create its tables through the connection."""


@dataclass(frozen=True)
class ConsumerGroup:
    """A consumer group: every instance with this name shares the partitions of its topics."""

    name: str
    contexts: tuple[str, ...]
    build_handler: HandlerFactory

    def group_id(self, topic_prefix: str) -> str:
        """The Kafka group id, also the key of the group's rows in the tracking and dead-letter tables."""
        return f"{topic_prefix}.{self.name}"

    def topics(self, topic_prefix: str) -> tuple[str, ...]:
        return tuple(topic_name(topic_prefix, context) for context in self.contexts)


def default_groups() -> Mapping[str, ConsumerGroup]:
    """caseledger's own consumer groups by name (``caseledger consume --group NAME``)."""
    groups = [
        # The projections also read the timers' topic: a breach opens an escalation item in the worklist.
        # And the privacy topic: an erasure blanks the customer's personal columns.
        ConsumerGroup(
            PROJECTIONS_GROUP,
            (*ALL_CONTEXTS, Timers.bounded_context, Privacy.bounded_context),
            _projections_forgetting_erased_keys,
        ),
        # The timers also read their own topic: a closed cooling-off window makes the policy record its end.
        ConsumerGroup(TIMERS_GROUP, (*ALL_CONTEXTS, Timers.bounded_context), timers_handler),
        ConsumerGroup(CALLBACKS_GROUP, CALLBACKS_CONTEXTS, callbacks_handler),
    ]
    return {group.name: group for group in groups}


def _projections_forgetting_erased_keys(system: ConsumerSystem, conn: Connection[Any]) -> Handler:
    return ForgetErasedKeys(system.keys, projection_handler(system, conn))


class UnknownGroupError(LookupError):
    """No consumer group has that name."""


def groups_named(
    names: list[str] | tuple[str, ...], groups: Mapping[str, ConsumerGroup]
) -> list[ConsumerGroup]:
    """The groups with these names, refusing a name that is not one of them."""
    unknown = [name for name in names if name not in groups]
    if unknown:
        raise UnknownGroupError(f"unknown consumer group(s) {unknown}; known: {sorted(groups)}")
    return [groups[name] for name in names]
