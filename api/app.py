"""The HTTP API's composition: ``create_app(system)`` builds it; nothing is built at import."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from api.access import access_description
from api.auth import ApiKeys, OidcVerifier, RoleRequirement, TokenVerifier
from api.console import install_console
from api.console.operations import Operations
from api.deps import ApiServices
from api.docs import install_offline_docs
from api.gateway import CommandGateway
from api.hygiene import RequestHygiene
from api.idempotency import IdempotencyStore
from api.metrics import install_metrics
from api.problems import PROBLEM_JSON, install_problem_handlers
from api.readiness import Readiness, install_database_unavailable_handler
from api.readmodels import ReadModels, ReadSideTimerViews
from api.routes.audit import router as audit_routes
from api.routes.callbacks import router as callback_routes
from api.routes.claims import router as claim_routes
from api.routes.complaints import router as complaint_routes
from api.routes.health import router as health_routes
from api.routes.inquiries import router as inquiry_routes
from api.routes.policies import router as policy_routes
from api.routes.queries import router as query_routes
from api.routes.service_orders import router as service_order_routes
from api.routes.service_requests import router as service_request_routes
from api.routes.timers import router as timer_routes
from api.system import ApiSystem
from infra.audit.history import AuditTrail
from infra.messaging.relay import relay_lag
from infra.tracing import instrument_api
from projections.schema import projections_group_id

DESCRIPTION = """\
Commands and queries on caseledger's policies, claims, complaints and callback tasks.

* **Authentication**: a bearer JWT (HS256) naming the actor (`sub`) and the role (`role`), or a configured
  API key (for downstream systems) standing for one actor and role; each operation lists the roles it
  admits under `x-roles`. The actor recorded in the events is the token's or the key's.
* **Concurrency**: a command answers with the case version as `ETag`; send it back as `If-Match`; a stale
  one answers 409 with `current_version`.
* **Retries**: send an `Idempotency-Key` with each POST; a repeat gets the first answer and stores nothing.
* **Read your writes**: a command answers with the case's `version` and the store `position` of its last
  event (positions are numbered per bounded context). Pass `min_version` to a case query: it waits (bounded)
  until the read model holds that version of the case. Or pass `min_position`: on a case query it waits
  until every event of that case stored up to the position is applied; on a list query (with `context`,
  the command's bounded context) until every event of that context stored up to the position is applied
  (no earlier event can still commit: the relay has passed the position). If the projections do not get
  there within the bound, the answer is 503 with `Retry-After`.
* **Errors**: every refusal is `application/problem+json` (RFC 9457); a broken rule names its `rule`.
"""


class MissingJwtSecretError(ValueError):
    """The API cannot check tokens without ``CASELEDGER_JWT_SECRET``."""


class CaseledgerApi(FastAPI):
    """FastAPI with the OpenAPI document adjusted: problems are served as ``application/problem+json``."""

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            schema = super().openapi()
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    for status, response in operation.get("responses", {}).items():
                        content = response.get("content", {})
                        if _is_problem(status, content):
                            content[PROBLEM_JSON] = content.pop("application/json")
            self.openapi_schema = schema
        return self.openapi_schema


def _is_problem(status: str, content: dict[str, Any]) -> bool:
    schema = content.get("application/json", {}).get("schema", {})
    return status.isdigit() and int(status) >= 400 and schema.get("$ref", "").endswith("/Problem")


def create_app(system: ApiSystem, operations: Operations | None = None) -> FastAPI:
    """The API on ``system``'s services and the process's connection pool (which the system owns).

    The API creates no table: its own (``api_idempotency``, ``console_sessions``) and ``sla_due`` are the
    migrations' (there once the process started); the read models are created by the consumers that write
    them, and a query that meets a missing one answers 503 (``ReadModelsUnavailableError``).

    ``operations``: the consumer groups' dead letters, lag and projections check for the console's
    operations page (the command line builds them; the API cannot import the consumers).
    """
    settings = system.settings
    if settings.jwt_secret is None:
        raise MissingJwtSecretError("set CASELEDGER_JWT_SECRET (at least 32 characters) to run the API")
    database = system.database
    verifier = TokenVerifier(settings.jwt_secret, OidcVerifier.from_settings(settings))
    idempotency = IdempotencyStore(
        database, settings.db_schema, stale_seconds=settings.api_idempotency_stale_seconds
    )
    gateway = CommandGateway(idempotency)
    services = ApiServices(
        gateway=gateway,
        claims=system.claims,
        complaints=system.complaints,
        policies=system.policies,
        callbacks=system.callbacks,
        read_models=ReadModels(
            database,
            settings.db_schema,
            projections_group_id(settings.topic_prefix),
            system.clock,
            settings.api_read_wait_seconds,
            {store.bounded_context: store for store in system.applications()},
        ),
        readiness=Readiness(database, partial(relay_lag, system)),
        service_requests=system.service_requests,
        inquiries=system.inquiries,
        service_orders=system.service_orders,
    )

    app = CaseledgerApi(
        title="caseledger",
        version="0.1.0",
        description=DESCRIPTION + access_description(),
        docs_url=None,
        redoc_url=None,
    )
    install_offline_docs(app)
    app.state.services = services
    app.state.token_verifier = verifier
    app.state.audit = AuditTrail(system)
    app.state.timer_views = ReadSideTimerViews(database, settings.db_schema, system.clock)
    app.state.api_keys = ApiKeys(settings.api_keys)
    install_problem_handlers(app)
    # Before routing: a NUL byte or an over-long URL never reaches a route (nor the database).
    app.add_middleware(RequestHygiene)
    install_database_unavailable_handler(app)
    for router in (
        policy_routes,
        claim_routes,
        complaint_routes,
        callback_routes,
        query_routes,
        health_routes,
        audit_routes,
        timer_routes,
        service_request_routes,
        inquiry_routes,
        service_order_routes,
    ):
        _declare_roles(router)
        app.include_router(router)
    install_console(app, system, system.database, operations)
    install_metrics(app)
    # Request spans, when this process traces (configure_tracing ran first); nothing otherwise.
    instrument_api(app)
    return app


def _declare_roles(router: APIRouter) -> None:
    """Write each operation's admitted roles into its OpenAPI entry, from its own role dependency."""
    for route in router.routes:
        if not isinstance(route, APIRoute) or "x-roles" in (route.openapi_extra or {}):
            continue
        roles = _roles(route.dependant)
        if roles is None:
            continue
        names = sorted(role.value for role in roles)
        route.openapi_extra = {**(route.openapi_extra or {}), "x-roles": names}
        route.description = f"{route.description}\n\nRoles: {', '.join(names)}."


def _roles(dependant: Dependant) -> frozenset[Any] | None:
    if isinstance(dependant.call, RoleRequirement):
        return dependant.call.roles
    for sub in dependant.dependencies:
        found = _roles(sub)
        if found is not None:
            return found
    return None
