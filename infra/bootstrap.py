"""The composition root: settings in, running application services out. Nothing is built at import."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from infra.audit.chain import install_chains
from infra.clock import Clock, SystemClock
from infra.migrations import prepare
from infra.services.callbacks import Callbacks
from infra.services.claims import Claims
from infra.services.complaints import Complaints
from infra.services.inquiries import Inquiries
from infra.services.policies import Policies
from infra.services.privacy import CustomerCases, Privacy
from infra.services.service_orders import ServiceOrders
from infra.services.service_requests import ServiceRequests
from infra.services.timers import Timers
from infra.settings import Settings
from infra.store.database import Database, ProcessKind
from infra.store.embedded import EmbeddedPostgres
from infra.store.eventstore import CaseApplication, ensure_schema, shared_store_env
from infra.store.keystore import KeyStore, master_key_from
from infra.store.sellers import SellerRegistry


@dataclass
class System:
    """Everything one caseledger process uses, built from one Settings object."""

    settings: Settings
    database_url: str
    """Where the database is (for display, and for tools that start processes of their own): this
    process's connections come from ``database``."""
    database: Database
    clock: Clock
    sellers: SellerRegistry
    policies: Policies
    claims: Claims
    complaints: Complaints
    callbacks: Callbacks
    timers: Timers
    keys: KeyStore
    privacy: Privacy
    service_requests: ServiceRequests
    # 咨询 inquiries and 其他 value-added service orders (issue #14 points 1 and 5).
    inquiries: Inquiries
    service_orders: ServiceOrders
    embedded_postgres: EmbeddedPostgres | None = field(default=None, repr=False)

    def applications(self) -> list[CaseApplication[Any]]:
        """Every event-sourced application, in the order the relay and rebuilds read them."""
        return [
            self.policies,
            self.claims,
            self.complaints,
            self.callbacks,
            self.timers,
            self.privacy,
            self.service_requests,
            self.inquiries,
            self.service_orders,
        ]

    def close(self) -> None:
        """Close the process's connections, then stop the embedded server if this process started one."""
        for app in self.applications():
            app.close()
        self.keys.close()
        self.database.close()
        if self.embedded_postgres is not None:
            self.embedded_postgres.stop()


def bootstrap(
    settings: Settings, clock: Clock | None = None, *, process: ProcessKind = ProcessKind.CLI
) -> System:
    """Build the system: the configured PostgreSQL, or an embedded one when none is configured.

    The base schema is brought to this release's version first (``infra.migrations.prepare``): upgraded
    when ``db_auto_upgrade`` is on, else refused when behind. Every part gets its connections from one
    pool (``System.database``), sized by ``db_pool_size`` (kept open) and ``db_max_overflow`` (opened
    under load). ``process`` names the connections; an entry point that runs on a system built as ``CLI``
    names it later (``Database.name_process``).
    """
    embedded: EmbeddedPostgres | None = None
    database_url = settings.database_url
    if database_url is None:
        embedded = EmbeddedPostgres(settings.data_dir)
        database_url = embedded.start()
    database = Database(
        database_url,
        min_size=settings.db_pool_size,
        max_size=settings.db_pool_size + settings.db_max_overflow,
        process=process,
        timeout=settings.db_timeout_seconds,
        max_idle=settings.db_pool_max_idle_seconds,
    )
    try:
        database.open()
        # The one connection of its own a process opens at start: it holds the schema lock while the
        # schema is brought to this release's version (or found behind and refused) and the stores built.
        with database.dedicated() as session, database.schema_lock(session):
            prepare(session, settings.db_schema, auto_upgrade=settings.db_auto_upgrade)
            return _build(settings, database, clock or SystemClock(), embedded)
    except BaseException:
        # Nothing half-built keeps connections (or an embedded server) behind a failed start.
        database.close()
        if embedded is not None:
            embedded.stop()
        raise


def _build(settings: Settings, database: Database, clock: Clock, embedded: EmbeddedPostgres | None) -> System:
    interval = settings.snapshot_interval

    def env(app: type[CaseApplication[Any]]) -> dict[str, str]:
        schema = app.schema_for(settings.db_schema)
        ensure_schema(database, schema)
        return shared_store_env(database, schema)

    sellers = SellerRegistry(database, settings.db_schema)
    keys = KeyStore(
        database, settings.db_schema, master_key_from(_secret(settings.master_key), settings.data_dir)
    )
    policies = Policies(env(Policies), clock, sellers, interval)
    claims = Claims(env(Claims), clock, policies, interval)
    # Complaints read the policies, claims and sellers complained about: who worked them may not handle it.
    complaints = Complaints(env(Complaints), clock, policies, claims, sellers, interval)
    cases = CustomerCases(policies, claims, complaints)
    # 保全 requests read the policy's cover and apply their done change to it.
    service_requests = ServiceRequests(env(ServiceRequests), clock, policies, interval)
    system = System(
        settings=settings,
        database_url=database.url,
        database=database,
        clock=clock,
        sellers=sellers,
        policies=policies,
        claims=claims,
        complaints=complaints,
        callbacks=Callbacks(env(Callbacks), clock, interval),
        timers=Timers(env(Timers), clock, interval),
        keys=keys,
        privacy=Privacy(env(Privacy), clock, keys, cases, interval),
        service_requests=service_requests,
        # Inquiries check that the complaint, claim or service request they are transferred to is on record.
        inquiries=Inquiries(env(Inquiries), clock, complaints, claims, service_requests, interval),
        service_orders=ServiceOrders(env(ServiceOrders), clock, interval),
        embedded_postgres=embedded,
    )
    # Personal fields are sealed per customer in every context, and opened the same way by every reader.
    for app in system.applications():
        app.use_keys(keys)
    # Every stored event is chained to its case's previous one from the first write on.
    install_chains(database, system.applications())
    return system


def _secret(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()
