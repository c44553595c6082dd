"""Every read model, by name: the projections the consumers keep and ``projections rebuild`` replays.

The complaint statistics are totals of the complaint rows, so they live in the ``complaints`` projection,
applied and rebuilt together with the rows they count. Claims ageing is computed at query time from the
``claims`` rows (``projections.queries.claims_ageing``), so it needs no table of its own.
"""

from __future__ import annotations

from projections.base import Projection, Rollup
from projections.claims import ClaimsView
from projections.complaints import ComplaintStatsView, ComplaintsView
from projections.contact_history import ContactHistoryView
from projections.customers import CustomersView
from projections.inquiries import InquiriesView, InquiryStatsView
from projections.policies import PoliciesView
from projections.service_orders import ServiceOrdersView
from projections.service_requests import ServiceRequestsView
from projections.worklist import WorklistView


class UnknownProjectionError(LookupError):
    """No projection has that name."""

    def __init__(self, name: str) -> None:
        names = ", ".join(p.name for p in ALL_PROJECTIONS)
        super().__init__(f"no projection {name!r}; the projections are: {names}")
        self.name = name


def _checked(projection: Projection) -> Projection:
    # A rollup is kept from its source's row changes, so the source must be applied first, in the same
    # transaction: anything else would total rows another consumer has not written yet.
    seen: set[str] = set()
    for view in projection.views:
        if isinstance(view, Rollup) and view.source not in seen:
            raise ValueError(
                f"{projection.name}: {view.table.name} totals {view.source}, which must come before it"
            )
        seen.add(view.table.name)
    return projection


ALL_PROJECTIONS: tuple[Projection, ...] = (
    _checked(Projection("policies", (PoliciesView(),))),
    _checked(Projection("claims", (ClaimsView(),))),
    _checked(Projection("complaints", (ComplaintsView(), ComplaintStatsView()))),
    _checked(Projection("customers", (CustomersView(),))),
    _checked(Projection("worklist", (WorklistView(),))),
    _checked(Projection("service_requests", (ServiceRequestsView(),))),
    # 咨询 inquiries, 其他 value-added service orders, and the customer's contact history across them
    # and the cases (issue #14 points 1, 5, 6).
    _checked(Projection("inquiries", (InquiriesView(), InquiryStatsView()))),
    _checked(Projection("service_orders", (ServiceOrdersView(),))),
    _checked(Projection("contact_history", (ContactHistoryView(),))),
)
"""Every projection, in the order a full rebuild runs them."""


def projection_by_name(name: str) -> Projection:
    """The projection called ``name`` (``UnknownProjectionError`` lists the names if there is none)."""
    for projection in ALL_PROJECTIONS:
        if projection.name == name:
            return projection
    raise UnknownProjectionError(name)
