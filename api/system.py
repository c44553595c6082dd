"""What the API uses of the composition root, as a Protocol: the routes, the console and the queries get
these parts and nothing else (``infra.bootstrap.System`` has them all)."""

from __future__ import annotations

from typing import Any, Protocol

from infra.clock import Clock
from infra.services.callbacks import Callbacks
from infra.services.claims import Claims
from infra.services.complaints import Complaints
from infra.services.inquiries import Inquiries
from infra.services.policies import Policies
from infra.services.service_orders import ServiceOrders
from infra.services.service_requests import ServiceRequests
from infra.services.timers import Timers
from infra.settings import Settings
from infra.store.database import Database
from infra.store.eventstore import CaseApplication


class ApiSystem(Protocol):
    """What the API uses of the composition root: the services its routes call, the stores its queries and
    audit routes read, the process's database and the clock."""

    @property
    def settings(self) -> Settings: ...

    @property
    def database(self) -> Database: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def policies(self) -> Policies: ...

    @property
    def claims(self) -> Claims: ...

    @property
    def complaints(self) -> Complaints: ...

    @property
    def callbacks(self) -> Callbacks: ...

    @property
    def timers(self) -> Timers: ...

    @property
    def service_requests(self) -> ServiceRequests: ...

    @property
    def inquiries(self) -> Inquiries: ...

    @property
    def service_orders(self) -> ServiceOrders: ...

    def applications(self) -> list[CaseApplication[Any]]: ...
