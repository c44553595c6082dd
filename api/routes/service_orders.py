"""Value-added service order commands and queries (其他: roadside rescue, designated driver, risk
prevention): request, dispatch, arrival, completion, cancellation; the order."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from api.access import PersonalData, check_reveal, personal_data, request_id
from api.auth import require
from api.deps import ReadModelsDep, ServiceOrdersDep, case_command, opening_command
from api.gateway import CommandCall
from api.problems import problem_responses
from api.routes.answers import command_route
from api.routes.inquiries import CONTACT_READERS
from domain.base import Actor
from domain.service_order import ServiceOrder
from infra.audit.history import AuditTrail
from infra.services.service_orders import (
    CancelServiceOrder,
    CompleteServiceOrder,
    DispatchServiceOrder,
    RecordProviderArrival,
    RequestServiceOrder,
)
from projections.contact_queries import ServiceOrderCase

router = APIRouter(prefix="/service-orders", tags=["service orders"])

OrderId = Annotated[UUID, Path(description="The service order's id.")]


@router.post("", **command_route(HTTPStatus.CREATED))
def request_service_order(
    body: RequestServiceOrder,
    call: Annotated[CommandCall, Depends(opening_command(ServiceOrder.request))],
    orders: ServiceOrdersDep,
) -> JSONResponse:
    """Take a request for a value-added service under a policy: its kind's arrival clock starts."""
    return call.open(orders, body, orders.request)


@router.post("/{order_id}/dispatch", **command_route())
def dispatch_service_order(
    order_id: OrderId,
    body: DispatchServiceOrder,
    call: Annotated[CommandCall, Depends(case_command(ServiceOrder.dispatch))],
    orders: ServiceOrdersDep,
) -> JSONResponse:
    """Send a provider."""
    return call.update(orders, order_id, body, orders.dispatch)


@router.post("/{order_id}/arrival", **command_route())
def record_provider_arrival(
    order_id: OrderId,
    body: RecordProviderArrival,
    call: Annotated[CommandCall, Depends(case_command(ServiceOrder.record_arrival))],
    orders: ServiceOrdersDep,
) -> JSONResponse:
    """Record the provider's arrival on site: the arrival-time standard is measured to it."""
    return call.update(orders, order_id, body, orders.record_arrival)


@router.post("/{order_id}/completion", **command_route())
def complete_service_order(
    order_id: OrderId,
    body: CompleteServiceOrder,
    call: Annotated[CommandCall, Depends(case_command(ServiceOrder.complete))],
    orders: ServiceOrdersDep,
) -> JSONResponse:
    """Record the service as done: its callback task follows."""
    return call.update(orders, order_id, body, orders.complete)


@router.post("/{order_id}/cancellation", **command_route())
def cancel_service_order(
    order_id: OrderId,
    body: CancelServiceOrder,
    call: Annotated[CommandCall, Depends(case_command(ServiceOrder.cancel))],
    orders: ServiceOrdersDep,
) -> JSONResponse:
    """Cancel an order not yet done, with the reason."""
    return call.update(orders, order_id, body, orders.cancel)


@router.get("/{order_id}", responses=problem_responses(401, 403, 404, 422, 503), tags=["queries"])
def get_service_order(
    order_id: OrderId,
    response: Response,
    _: Annotated[Actor, Depends(require(*CONTACT_READERS))],
    read_models: ReadModelsDep,
    min_version: Annotated[int | None, Query(ge=1, le=10**12)] = None,
) -> ServiceOrderCase:
    """A service order: kind, provider, the arrival standard and whether it was kept."""
    case = read_models.service_order(order_id, min_version)
    response.headers["ETag"] = f'"{case.version}"'
    return case


def _trail(request: Request) -> AuditTrail:
    trail: AuditTrail = request.app.state.audit
    return trail


@router.get(
    "/{order_id}/personal-data",
    responses=problem_responses(401, 403, 404, 422, 503),
    tags=["personal data"],
)
def get_service_order_personal_data(
    order_id: OrderId,
    request: Request,
    response: Response,
    actor: Annotated[Actor, Depends(require(*CONTACT_READERS))],
    read_models: ReadModelsDep,
    trail: Annotated[AuditTrail, Depends(_trail)],
    reveal: Annotated[
        list[str] | None,
        Query(description="`contact_phone` or `location`, in full for a role that may (with `purpose`)."),
    ] = None,
    purpose: Annotated[str | None, Query(min_length=3, max_length=500)] = None,
) -> PersonalData:
    """The order's contact phone and location: masked, or in full for `reveal`ed fields the role may see
    (the dispatching callback agent or claims handler; each reveal logged with `purpose`)."""
    found = read_models.service_order(order_id)
    return personal_data(
        actor=actor,
        case_id=order_id,
        subject_id=found.customer_id,
        reveal=check_reveal(actor, reveal or []),
        purpose=purpose,
        request_id=request_id(request, response),
        trail=trail,
        access_log=read_models.access_log,
        clock=read_models.clock,
    )
