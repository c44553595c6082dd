"""``/metrics`` on the API, and the counts of its requests by route template and status.

A pure ASGI middleware, not Starlette's ``BaseHTTPMiddleware``: nothing is buffered or copied, it only
reads the status from the answer's first message and the route the router matched. The route is the
template (``/claims/{claim_id}``) that the router leaves in ``scope["route"]``, never the raw path: one
series per route, not one per case id.
"""

from __future__ import annotations

import time

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infra import metrics

UNMATCHED = "unmatched"
"""The route label of a request no route matched (a 404 for an unknown path)."""


class HttpMetrics:
    """Counts each HTTP request by method, route template and status, and times it to its answer's end."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers if the app fails before it starts an answer

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            metrics.http_request(scope["method"], route, status, time.perf_counter() - started)


def serve_metrics(_: Request) -> Response:
    # A plain function: Starlette runs it in its thread pool, where the scrape-time gauges may query
    # PostgreSQL without blocking the event loop.
    return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)


def install_metrics(app: FastAPI) -> None:
    """Count ``app``'s requests and serve ``/metrics`` (no token: Prometheus scrapes it; not in OpenAPI)."""
    app.add_middleware(HttpMetrics)
    app.add_route("/metrics", serve_metrics, methods=["GET"], include_in_schema=False)
