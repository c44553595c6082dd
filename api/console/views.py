"""What each console page shows, read from the read models, ``sla_due`` and the event store.

Every question goes to what already answers it for the API or the command line: the worklist and the
complaint statistics to the read models, the deadlines to ``sla_due``, the timeline and the state as of a
time to the audit trail (the event store), the deadline explanation to ``timers explain``. Nothing here
writes; the console's commands go through the API's own routes (``commands.py``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from pydantic import BaseModel

from api.routes.inquiries import CONTACT_READERS
from api.system import ApiSystem
from domain.base import SHANGHAI, Role
from domain.sla import UnknownSlaRuleError, rule_by_id
from infra.audit.chain import chained_table
from infra.audit.history import AuditTrail, CaseHistory, aggregate_state
from infra.services.explain import explain
from infra.services.timers import (
    CallbackCompletion,
    TimerView,
    callback_completion,
    due_table,
    timer_views,
)
from infra.store.database import Database
from infra.store.eventstore import CaseNotFoundError
from projections import contact_queries, queries, service_request_queries
from projections.contact_queries import InquiryStatistics
from projections.masking import mask_fields
from projections.queries import ComplaintStatistics, WorkItem
from projections.schema import read_schema
from projections.scopes import Reader, Resource, callback_visible, visible, visible_ids
from projections.worklist import KINDS

CASE_TYPES = ("policy", "claim", "complaint", "callback", "service_request", "inquiry", "service_order")
_CONTACT_CONTEXTS = ("inquiry", "service_order")
"""Inquiries and service orders: read by the staff who serve customers (``CONTACT_READERS``)."""
TEAMS: tuple[Role, ...] = (*dict.fromkeys(kind.role for kind in KINDS), Role.SUPERVISOR, Role.SENIOR_MANAGER)
"""The teams work is routed to: the roles of the worklist's items, and those escalations go to."""
WORKLIST_LIMIT = 200

_TEAM_OF_RULE: dict[str, Role] = {rule: kind.role for kind in KINDS for rule in kind.rules}
_SUMMARY_LEFT_OUT = {"timeline", "deadlines", "sla_clocks", "case_facts"}


def team_of(rule_id: str) -> Role | None:
    """The team whose work a rule times (from the worklist's items), else the one its breach escalates to."""
    if rule_id in _TEAM_OF_RULE:
        return _TEAM_OF_RULE[rule_id]
    try:
        return rule_by_id(rule_id).on_breach.escalate_to
    except UnknownSlaRuleError:
        return None


def rule_title(rule_id: str | None) -> str:
    if rule_id is None:
        return ""
    try:
        return rule_by_id(rule_id).title
    except UnknownSlaRuleError:
        return rule_id


def time_left(due_at: datetime | None, now: datetime) -> str:
    """``3 d 4 h left`` or ``overdue 5 h``: the deadline as a person reads it."""
    if due_at is None:
        return "—"
    seconds = int((due_at - now).total_seconds())
    span = abs(seconds)
    days, rest = divmod(span, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    if days:
        text = f"{days} d {hours} h"
    elif hours:
        text = f"{hours} h {minutes} min"
    else:
        text = f"{minutes} min"
    return f"剩余 {text} left" if seconds >= 0 else f"逾期 overdue {text}"


def duration(seconds: float | None) -> str:
    """A span as a person reads it: ``0.42 s``, ``3 min 5 s``, ``11 d 9 h``."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.2f} s"
    whole = int(seconds)
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s"


def shanghai(moment: datetime | None) -> str:
    """A time as staff read it: Asia/Shanghai, to the minute."""
    return "" if moment is None else moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class WorkRow:
    """One worklist line with its colour and time left at the instant asked."""

    item: WorkItem
    colour: str
    left: str


@dataclass(frozen=True)
class CaseLink:
    """Another case tied to this one, and how."""

    relation: str
    context: str
    case_id: UUID


@dataclass(frozen=True)
class TimerRow:
    view: TimerView
    title: str
    left: str


_RESOURCES = {"policy": Resource.POLICY, "claim": Resource.CLAIM, "complaint": Resource.COMPLAINT}


@dataclass
class CaseFile:
    """Everything the case page shows of one case."""

    case_id: UUID
    history: CaseHistory
    summary: dict[str, Any]
    summary_source: str
    timers: list[TimerRow]
    explanation: str
    links: list[CaseLink] = field(default_factory=list)

    @property
    def context(self) -> str:
        return self.history.context

    @property
    def version(self) -> int:
        return self.history.version


@dataclass(frozen=True)
class BoardLine:
    """Due-soon and breached timers of one rule on one day (Asia/Shanghai)."""

    day: str
    rule_id: str
    title: str
    team: Role | None
    due_soon: int
    breached: int


@dataclass(frozen=True)
class Share:
    label: str
    lodged: int
    responded: int
    on_time: int

    @property
    def rate(self) -> float | None:
        return self.on_time / self.responded if self.responded else None


@dataclass(frozen=True)
class ComplaintFigures:
    """The regulator's complaint figures: volume by category and by channel, and the on-time rate."""

    rows: list[ComplaintStatistics]
    by_category: list[Share]
    by_channel: list[Share]
    total: Share


@dataclass(frozen=True)
class TimerBacklog:
    """The scheduler's backlog and lateness, from ``sla_due``."""

    pending: int
    overdue_actions: int
    oldest_overdue_seconds: float
    breaches_recorded: int
    lateness_p50_seconds: float | None
    lateness_max_seconds: float | None


class ConsoleViews:
    """The console's read side on the API's connection pool and the system's stores."""

    def __init__(self, pool: Database, system: ApiSystem) -> None:
        self._pool = pool
        self._system = system
        self._base = system.settings.db_schema
        self._read = read_schema(system.settings.db_schema)
        self.trail = AuditTrail(system)

    def now(self) -> datetime:
        return self._system.clock.now()

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        with self._pool.connection() as conn:
            yield conn

    # ------------------------------------------------------------------------------------------ worklist

    def worklist(
        self,
        *,
        team: str | None,
        case_type: str | None,
        rule_id: str | None,
        mine: str | None,
        reader: Reader | None = None,
    ) -> list[WorkRow]:
        """Open work of every case type in ``reader``'s scope, soonest deadline first, with its colour now."""
        now = self.now()
        try:
            with self._connection() as conn:
                items = queries.worklist(
                    conn,
                    self._read,
                    role=team,
                    assignee=mine,
                    case_type=case_type,
                    rule_id=rule_id,
                    limit=WORKLIST_LIMIT,
                    reader=reader,
                )
        except psycopg.errors.UndefinedTable:
            return []
        return [WorkRow(item, item.colour(now), time_left(item.due_at, now)) for item in items]

    def worklist_rules(self) -> list[str]:
        """The rules that date some open item (for the filter)."""
        try:
            with self._connection() as conn:
                rows = conn.execute(
                    sql.SQL("SELECT DISTINCT rule_id FROM {} WHERE rule_id IS NOT NULL ORDER BY 1").format(
                        sql.Identifier(self._read, "worklist")
                    )
                ).fetchall()
        except psycopg.errors.UndefinedTable:
            return []
        return [row[0] for row in rows]

    # ------------------------------------------------------------------------------------------ case file

    def case_file(self, case_id: UUID, reader: Reader | None = None) -> CaseFile:
        """The case as it stands: state, timeline with legal basis, deadlines explained, linked cases.

        With ``reader``: a case out of their scope is not found (as the API answers 404), the linked cases
        are only those in scope, and personal fields read masked (as every read shows them)."""
        history = self.trail.history(case_id)
        if reader is not None and not self._visible(history.context, case_id, reader):
            raise CaseNotFoundError("case", case_id)
        history = history.model_copy(
            update={
                "events": [e.model_copy(update={"payload": mask_fields(e.payload)}) for e in history.events]
            }
        )
        summary, source = self._summary(history.context, case_id)
        summary = mask_fields(summary)
        now = self.now()
        with self._connection() as conn:
            timers = timer_views(conn, self._base, now, case_id=case_id, limit=100)
            links = self._links(conn, history.context, case_id, summary)
            if reader is not None:
                links = self._links_in_scope(conn, links, reader)
        return CaseFile(
            case_id=case_id,
            history=history,
            summary=summary,
            summary_source=source,
            timers=[TimerRow(t, rule_title(t.rule_id), time_left(t.due_at, now)) for t in timers],
            explanation=explain(self._system, case_id),
            links=links,
        )

    def _visible(self, context: str, case_id: UUID, reader: Reader) -> bool:
        resource = _RESOURCES.get(context)
        try:
            with self._connection() as conn:
                if resource is not None:
                    return visible(conn, self._read, resource, case_id, reader)
                if context == "callback":
                    return callback_visible(conn, self._read, case_id, reader)
                if context == "service_request":
                    # 保全: whoever may read the policy may read its requests (as the API's reads).
                    policy_id = self._system.service_requests.load(case_id).policy_id
                    return visible(conn, self._read, Resource.POLICY, policy_id, reader)
                if context in _CONTACT_CONTEXTS:
                    return reader.role in CONTACT_READERS
        except psycopg.errors.UndefinedTable:
            return False
        # Timers and data subjects: for those who read every case only.
        return all(reader.sees_all(r) for r in Resource)

    def _links_in_scope(
        self, conn: psycopg.Connection[Any], links: list[CaseLink], reader: Reader
    ) -> list[CaseLink]:
        kept = []
        for link in links:
            resource = _RESOURCES.get(link.context)
            if resource is not None:
                shown = bool(visible_ids(conn, self._read, resource, [link.case_id], reader))
            elif link.context == "callback":
                shown = callback_visible(conn, self._read, link.case_id, reader)
            elif link.context in _CONTACT_CONTEXTS:
                shown = reader.role in CONTACT_READERS
            else:
                shown = all(reader.sees_all(r) for r in Resource)
            if shown:
                kept.append(link)
        return kept

    def _summary(self, context: str, case_id: UUID) -> tuple[dict[str, Any], str]:
        getters: dict[str, Callable[[psycopg.Connection[Any], str, UUID], BaseModel | None]] = {
            "policy": queries.get_policy,
            "claim": queries.get_claim,
            "complaint": queries.get_complaint,
            "service_request": service_request_queries.get_service_request,
            "inquiry": contact_queries.get_inquiry,
            "service_order": contact_queries.get_service_order,
        }
        getter = getters.get(context)
        if getter is not None:
            try:
                with self._connection() as conn:
                    found: BaseModel | None = getter(conn, self._read, case_id)
            except psycopg.errors.UndefinedTable:
                found = None
            if found is not None:
                dumped = found.model_dump(mode="json")
                return {k: v for k, v in dumped.items() if k not in _SUMMARY_LEFT_OUT}, "read model"
        app = next(a for a in self._system.applications() if a.bounded_context == context)
        return aggregate_state(app.load(case_id)), "event store"

    def _links(
        self, conn: psycopg.Connection[Any], context: str, case_id: UUID, summary: dict[str, Any]
    ) -> list[CaseLink]:
        links: list[CaseLink] = []
        if context == "claim" and summary.get("policy_id"):
            links.append(CaseLink("保单 policy claimed on", "policy", UUID(str(summary["policy_id"]))))
        if context == "complaint":
            ref = summary.get("subject_ref") or ""
            kind = summary.get("subject_kind") or ""
            if kind in ("policy", "claim") and _is_uuid(ref):
                links.append(CaseLink("投诉对象 complained about", kind, UUID(ref)))
        if context == "service_request" and summary.get("policy_id"):
            links.append(CaseLink("保全保单 policy serviced", "policy", UUID(str(summary["policy_id"]))))
        if context == "policy":
            try:
                history = service_request_queries.policy_service_history(conn, self._read, case_id) or []
            except psycopg.errors.UndefinedTable:
                history = []
            links += [CaseLink("保全记录 service request", "service_request", r.request_id) for r in history]
        if context == "callback" and summary.get("source_case_id"):
            source = UUID(str(summary["source_case_id"]))
            links.append(CaseLink("回访来源 called back about", self._context_of(source), source))
        links += self._inquiry_links(conn, context, case_id, summary)
        customer = summary.get("customer_id")
        if isinstance(customer, str) and customer:
            try:
                cases = queries.get_customer(conn, self._read, customer)
            except psycopg.errors.UndefinedTable:
                cases = None
            if cases is not None:
                for relation, kind, ids in (
                    ("同一客户 same customer", "policy", cases.policy_ids),
                    ("同一客户 same customer", "claim", cases.claim_ids),
                    ("同一客户 same customer", "complaint", cases.complaint_ids),
                ):
                    links += [CaseLink(relation, kind, other) for other in ids if other != case_id]
        if context in ("policy", "claim"):
            links += [
                CaseLink("回访任务 callback task", "callback", task) for task in self._tasks_of(conn, case_id)
            ]
        unique: dict[UUID, CaseLink] = {}
        for link in links:
            unique.setdefault(link.case_id, link)
        return list(unique.values())

    def _inquiry_links(
        self, conn: psycopg.Connection[Any], context: str, case_id: UUID, summary: dict[str, Any]
    ) -> list[CaseLink]:
        """An inquiry links to the case it was transferred to; that case links back to the inquiry."""
        target = summary.get("transferred_to")
        if context == "inquiry" and target:
            kind = {"claim_report": "claim", "service_request": "service_request"}.get(
                str(summary.get("transferred_kind")), str(summary.get("transferred_kind"))
            )
            return [CaseLink("转办 transferred to", kind, UUID(str(target)))]
        try:
            origin = contact_queries.inquiry_origin(conn, self._read, case_id)
        except psycopg.errors.UndefinedTable:
            return []
        if origin is None:
            return []
        return [CaseLink("来源咨询 from inquiry", "inquiry", origin.inquiry_id)]

    def _tasks_of(self, conn: psycopg.Connection[Any], case_id: UUID) -> list[UUID]:
        table = chained_table(self._system.callbacks)
        # The stored payload is orjson's compact JSON: the source case appears exactly like this in it.
        needle = f'"source_case_id":"{case_id}"'.encode()
        rows = conn.execute(
            sql.SQL(
                "SELECT originator_id FROM {}"
                " WHERE originator_version = 1 AND position(%s::bytea IN state) > 0"
            ).format(table.identifier),
            (needle,),
        ).fetchall()
        return [row[0] for row in rows]

    def _context_of(self, case_id: UUID) -> str:
        try:
            return self.trail.history(case_id).context
        except CaseNotFoundError:
            return "case"

    # ------------------------------------------------------------------------------------------ SLA board

    def sla_board(self, within_days: int) -> list[BoardLine]:
        """Timers due within ``within_days`` and those breached, per day (of the deadline), rule and team."""
        now = self.now()
        with self._connection() as conn:
            rows = conn.execute(
                sql.SQL(
                    """SELECT to_char(due_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') AS day, rule_id,
                           count(*) FILTER (WHERE breached_at IS NULL AND state = 'running'
                                            AND due_at >= %(now)s AND due_at < %(until)s),
                           count(*) FILTER (WHERE breached_at IS NOT NULL
                                            OR (state = 'running' AND due_at < %(now)s))
                       FROM {t}
                       WHERE due_at IS NOT NULL AND (breached_at IS NOT NULL
                             OR (state = 'running' AND due_at < %(until)s))
                       GROUP BY 1, 2 ORDER BY 1, 2"""
                ).format(t=due_table(self._base)),
                {"now": now, "until": now + timedelta(days=within_days)},
            ).fetchall()
        return [
            BoardLine(day, rule, rule_title(rule), team_of(rule), soon, late)
            for day, rule, soon, late in rows
        ]

    def complaint_figures(self, month_from: str | None, month_to: str | None) -> ComplaintFigures:
        try:
            with self._connection() as conn:
                rows = queries.complaint_statistics(
                    conn, self._read, month_from=month_from, month_to=month_to
                )
        except psycopg.errors.UndefinedTable:
            rows = []
        return ComplaintFigures(
            rows=rows,
            by_category=_shares(rows, "category"),
            by_channel=_shares(rows, "channel"),
            total=Share(
                "total",
                sum(r.lodged for r in rows),
                sum(r.responded for r in rows),
                sum(r.responded_on_time for r in rows),
            ),
        )

    def inquiry_figures(self, month_from: str | None, month_to: str | None) -> InquiryFigures:
        """咨询 statistics: volume by category and channel, and the first-contact resolution rate."""
        try:
            with self._connection() as conn:
                rows = contact_queries.inquiry_statistics(
                    conn, self._read, month_from=month_from, month_to=month_to
                )
        except psycopg.errors.UndefinedTable:
            rows = []
        logged = sum(r.logged for r in rows)
        resolved = sum(r.first_contact_resolved for r in rows)
        return InquiryFigures(
            rows=rows,
            logged=logged,
            first_contact_resolved=resolved,
            transferred=sum(r.transferred for r in rows),
            rate=resolved / logged if logged else None,
        )

    def callback_completion(self) -> list[CallbackCompletion]:
        with self._connection() as conn:
            return callback_completion(conn, self._base)

    # ------------------------------------------------------------------------------------------ operations

    def timer_backlog(self) -> TimerBacklog:
        """Pending timers, scheduler actions already due (backlog) and breach lateness over the last day."""
        now = self.now()
        with self._connection() as conn:
            row = conn.execute(
                sql.SQL(
                    """SELECT count(*) FILTER (WHERE state IN ('running', 'paused')),
                           count(*) FILTER (WHERE next_fire_at <= %(now)s),
                           coalesce(extract(epoch FROM %(now)s - min(next_fire_at)
                                            FILTER (WHERE next_fire_at <= %(now)s)), 0),
                           count(*) FILTER (WHERE breached_at >= %(day)s),
                           percentile_cont(0.5)
                               WITHIN GROUP (ORDER BY extract(epoch FROM breached_at - due_at))
                               FILTER (WHERE breached_at >= %(day)s),
                           max(extract(epoch FROM breached_at - due_at)) FILTER (WHERE breached_at >= %(day)s)
                       FROM {t}"""
                ).format(t=due_table(self._base)),
                {"now": now, "day": now - timedelta(days=1)},
            ).fetchone()
        assert row is not None
        pending, overdue, oldest, breaches, p50, worst = row
        return TimerBacklog(
            pending=int(pending),
            overdue_actions=int(overdue),
            oldest_overdue_seconds=float(oldest),
            breaches_recorded=int(breaches),
            lateness_p50_seconds=None if p50 is None else float(p50),
            lateness_max_seconds=None if worst is None else float(worst),
        )


@dataclass(frozen=True)
class InquiryFigures:
    """The inquiry card of the SLA page: the rows and their totals (issue #14 point 1)."""

    rows: list[InquiryStatistics]
    logged: int
    first_contact_resolved: int
    transferred: int
    rate: float | None


def _shares(rows: list[ComplaintStatistics], by: str) -> list[Share]:
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in rows:
        totals = sums[getattr(row, by)]
        totals[0] += row.lodged
        totals[1] += row.responded
        totals[2] += row.responded_on_time
    return [Share(label, *totals) for label, totals in sorted(sums.items())]


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True
