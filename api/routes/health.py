"""Liveness and readiness probes (no token: load balancers and orchestrators call them)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import ReadinessDep
from api.readiness import ReadinessReport

router = APIRouter(tags=["operations"])


class Alive(BaseModel):
    """The process answers."""

    status: str = "ok"


@router.get("/healthz")
def healthz() -> Alive:
    """Liveness: the process is up."""
    return Alive()


@router.get(
    "/readyz",
    response_model=ReadinessReport,
    responses={503: {"model": ReadinessReport, "description": "The database cannot be reached."}},
)
async def readyz(readiness: ReadinessDep) -> JSONResponse:
    """Readiness: the database answers; the relay's lag per context is reported beside it."""
    database = await asyncio.to_thread(readiness.database_reachable)
    report = await readiness.report(database)
    return JSONResponse(report.model_dump(mode="json"), status_code=200 if report.ready else 503)
