"""SLA timer and callback views, read from ``sla_due`` (the timers' own projection) and the worklist.

Nothing here loads a timer or a task: ``sla_due`` is written by the timers consumer and the scheduler in
the transactions that change the timers, and the callback worklist is the worklist read model's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Annotated, Any
from uuid import UUID

import psycopg
from fastapi import APIRouter, Depends, Query, Request
from psycopg import sql
from psycopg_pool import ConnectionPool

from api.access import reader
from api.auth import ALL_ROLES, require
from api.problems import problem_responses
from domain.base import Actor, Role
from domain.timer import TimerState
from infra.clock import Clock
from infra.services.timers import (
    CallbackCompletion,
    TimerView,
    callback_completion,
    timer_views,
)
from projections import queries
from projections.queries import WorkItem
from projections.schema import read_schema
from projections.scopes import case_condition

router = APIRouter(tags=["timers"])

Reader = Annotated[Actor, Depends(require(*ALL_ROLES))]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


class TimerViews:
    """The timer and callback views of one deployment, on the API's connection pool."""

    def __init__(self, pool: ConnectionPool[Any], base_schema: str, clock: Clock) -> None:
        self.pool = pool
        self.base_schema = base_schema
        self.read_schema = read_schema(base_schema)
        self.clock = clock

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection (``sla_due`` is the migrations', there from the process's start)."""
        with self.pool.connection() as conn:
            yield conn


def _views(request: Request) -> TimerViews:
    views: TimerViews = request.app.state.timer_views
    return views


ViewsDep = Annotated[TimerViews, Depends(_views)]


@router.get("/timers", responses=problem_responses(401, 403, 422))
def list_timers(
    actor: Reader,
    views: ViewsDep,
    case_id: Annotated[UUID | None, Query(description="A case: its timers and its callback tasks'.")] = None,
    rule: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    state: TimerState | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[TimerView]:
    """SLA timers by case, rule and state, soonest due first, with their colour now."""
    with views.connection() as conn:
        return timer_views(
            conn,
            views.base_schema,
            views.clock.now(),
            case_id=case_id,
            rule_id=rule,
            states=() if state is None else (state,),
            limit=limit,
            offset=offset,
            scope=case_condition(views.read_schema, reader(actor), sql.Identifier("case_id")),
        )


@router.get("/timers/due-soon", responses=problem_responses(401, 403, 422))
def timers_due_soon(
    actor: Reader,
    views: ViewsDep,
    within_hours: Annotated[int, Query(ge=1, le=24 * 90, description="Due within this many hours.")] = 24,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[TimerView]:
    """Running timers whose deadline falls within the next ``within_hours`` (or has passed unrecorded)."""
    now = views.clock.now()
    with views.connection() as conn:
        return timer_views(
            conn,
            views.base_schema,
            now,
            due_before=now + timedelta(hours=within_hours),
            limit=limit,
            offset=offset,
            scope=case_condition(views.read_schema, reader(actor), sql.Identifier("case_id")),
        )


@router.get("/timers/breached", responses=problem_responses(401, 403, 422))
def breached_timers(
    actor: Reader,
    views: ViewsDep,
    rule: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[TimerView]:
    """Timers whose deadline was breached, met late or not at all."""
    with views.connection() as conn:
        return timer_views(
            conn,
            views.base_schema,
            views.clock.now(),
            rule_id=rule,
            breached=True,
            limit=limit,
            offset=offset,
            scope=case_condition(views.read_schema, reader(actor), sql.Identifier("case_id")),
        )


@router.get("/callbacks/worklist", responses=problem_responses(401, 403, 422))
def callback_worklist(
    actor: Reader,
    views: ViewsDep,
    assignee: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[WorkItem]:
    """Open callbacks and remediations, soonest deadline first (the worklist's callback agent items)."""
    with views.connection() as conn:
        return queries.worklist(
            conn,
            views.read_schema,
            role=Role.CALLBACK_AGENT,
            assignee=assignee,
            limit=limit,
            offset=offset,
            reader=reader(actor),
        )


@router.get("/callbacks/completion-rate", responses=problem_responses(401, 403))
def callback_completion_rate(_: Reader, views: ViewsDep) -> list[CallbackCompletion]:
    """Per callback rule: met on time, late, missed, open, cancelled, and the on-time share of those due."""
    with views.connection() as conn:
        return callback_completion(conn, views.base_schema)
