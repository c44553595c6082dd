"""Who may read which records: the record-level scopes, declared once as data (``SCOPES``).

Each role reads each kind of record under one relation (all of them, the ones they sold, the ones claimed
on, …). A relation is an SQL condition on the read-model row, so a case read, a list and a search filter
by the very same rule: an out-of-scope case is simply not found (the API answers 404, revealing nothing),
and a list never counts what its reader may not see. The relations read only read-model columns (the
policy's ``seller_id``, the claim's ``policy_id``, the complaint's ``subject_case_id``, the work item's
``role`` and ``assignee``), so a rebuild of the projections rebuilds the scopes too.

Supervisors and senior managers see "their area": this deployment keeps no area (branch, region) on a
case, so their area is the whole book until one is recorded on the cases and added here as a relation.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from domain.base import Role
from projections.claims import CLAIMS
from projections.complaints import COMPLAINTS
from projections.customers import CUSTOMERS
from projections.policies import POLICIES
from projections.worklist import WORKLIST


class Resource(StrEnum):
    """The kinds of record a reader asks for."""

    POLICY = "policy"
    CLAIM = "claim"
    COMPLAINT = "complaint"
    CUSTOMER = "customer"
    WORK_ITEM = "work_item"
    CALLBACK = "callback"


class Relation(StrEnum):
    """Under which relation to the reader a record is in scope."""

    ALL = "all"
    NONE = "none"
    SOLD_BY_ACTOR = "sold_by_actor"
    """Policies whose ``seller_id`` is the reader."""
    CUSTOMER_OF_ACTOR = "customer_of_actor"
    """Customers holding a policy the reader sold."""
    CLAIMED_ON = "claimed_on"
    """Policies some claim is made on."""
    COMPLAINED_ABOUT = "complained_about"
    """Policies and claims a complaint is about (resolved at assignment, or named by number or id)."""
    CALLED_BACK = "called_back"
    """Policies an open callback task of the reader (or of nobody yet) calls back about."""
    TEAM = "team"
    """Work items routed to the reader's role."""
    TEAM_SOLD_BY_ACTOR = "team_sold_by_actor"
    """Work items routed to the reader's role on a policy the reader sold."""
    TEAM_MINE_OR_OPEN = "team_mine_or_open"
    """Work items (and callback tasks) routed to the reader's role, assigned to them or to nobody yet."""


_NOTHING = dict.fromkeys(Resource, Relation.NONE)
_EVERYTHING = dict.fromkeys(Resource, Relation.ALL)
_CLAIMS_STAFF = {
    **_NOTHING,
    Resource.CLAIM: Relation.ALL,
    Resource.POLICY: Relation.CLAIMED_ON,
    Resource.WORK_ITEM: Relation.TEAM,
}

SCOPES: dict[Role, dict[Resource, Relation]] = {
    Role.SELLER: {
        **_NOTHING,
        Resource.POLICY: Relation.SOLD_BY_ACTOR,
        Resource.CUSTOMER: Relation.CUSTOMER_OF_ACTOR,
        Resource.WORK_ITEM: Relation.TEAM_SOLD_BY_ACTOR,
    },
    Role.UNDERWRITER: {
        **_NOTHING,
        Resource.POLICY: Relation.ALL,
        # Underwriting weighs the customer's other cover (sums insured across policies).
        Resource.CUSTOMER: Relation.ALL,
        Resource.WORK_ITEM: Relation.TEAM,
    },
    Role.CLAIMS_HANDLER: _CLAIMS_STAFF,
    Role.SURVEYOR: _CLAIMS_STAFF,
    Role.ADJUSTER: _CLAIMS_STAFF,
    Role.CLAIM_REVIEWER: _CLAIMS_STAFF,
    Role.COMPLAINTS_OFFICER: {
        **_NOTHING,
        Resource.COMPLAINT: Relation.ALL,
        Resource.POLICY: Relation.COMPLAINED_ABOUT,
        Resource.CLAIM: Relation.COMPLAINED_ABOUT,
        Resource.WORK_ITEM: Relation.TEAM,
    },
    Role.CALLBACK_AGENT: {
        **_NOTHING,
        Resource.CALLBACK: Relation.TEAM_MINE_OR_OPEN,
        Resource.POLICY: Relation.CALLED_BACK,
        Resource.WORK_ITEM: Relation.TEAM_MINE_OR_OPEN,
    },
    Role.SUPERVISOR: _EVERYTHING,
    Role.SENIOR_MANAGER: _EVERYTHING,
    Role.AUDITOR: _EVERYTHING,
    # Timers and consumers read the store, never the read API.
    Role.SYSTEM: _NOTHING,
}
"""Role → what it may read, and under which relation. The one table of record-level access."""


@dataclass(frozen=True)
class Reader:
    """Who is reading: the actor id and role the scopes are evaluated for."""

    actor_id: str
    role: Role

    def relation(self, resource: Resource) -> Relation:
        """The relation under which this reader sees ``resource`` records."""
        return SCOPES.get(self.role, _NOTHING)[resource]

    def sees_all(self, resource: Resource) -> bool:
        return self.relation(resource) is Relation.ALL


_TABLES = {
    Resource.POLICY: (POLICIES.name, "policy_id"),
    Resource.CLAIM: (CLAIMS.name, "claim_id"),
    Resource.COMPLAINT: (COMPLAINTS.name, "complaint_id"),
    Resource.CUSTOMER: (CUSTOMERS.name, "customer_id"),
    Resource.WORK_ITEM: (WORKLIST.name, "case_id"),
}


def condition(schema: str, resource: Resource, reader: Reader, alias: str = "t") -> sql.Composable:
    """The SQL condition a row of ``resource`` (aliased ``alias``) meets when ``reader`` may see it."""
    relation = reader.relation(resource)
    t = sql.Identifier(alias)
    actor = sql.Literal(reader.actor_id)
    role = sql.Literal(reader.role.value)

    def table(name: str) -> sql.Identifier:
        return sql.Identifier(schema, name)

    match resource, relation:
        case _, Relation.ALL:
            return sql.SQL("TRUE")
        case Resource.POLICY, Relation.SOLD_BY_ACTOR:
            return sql.SQL("{}.seller_id = {}").format(t, actor)
        case Resource.POLICY, Relation.CLAIMED_ON:
            return sql.SQL("EXISTS (SELECT 1 FROM {} c WHERE c.policy_id = {}.policy_id)").format(
                table(CLAIMS.name), t
            )
        case Resource.POLICY, Relation.COMPLAINED_ABOUT:
            return sql.SQL(
                "EXISTS (SELECT 1 FROM {} k WHERE k.subject_case_id = {t}.policy_id OR (k.subject_kind = "
                "'policy' AND k.subject_ref IN ({t}.policy_no, {t}.proposal_no, {t}.policy_id::text)))"
            ).format(table(COMPLAINTS.name), t=t)
        case Resource.CLAIM, Relation.COMPLAINED_ABOUT:
            return sql.SQL(
                "EXISTS (SELECT 1 FROM {} k WHERE k.subject_case_id = {t}.claim_id OR (k.subject_kind = "
                "'claim' AND k.subject_ref IN ({t}.claim_no, {t}.claim_id::text)))"
            ).format(table(COMPLAINTS.name), t=t)
        case Resource.POLICY, Relation.CALLED_BACK:
            return sql.SQL(
                "EXISTS (SELECT 1 FROM {} w WHERE w.related_case_id = {}.policy_id AND w.role = {} "
                "AND (w.assignee = {} OR w.assignee IS NULL))"
            ).format(table(WORKLIST.name), t, role, actor)
        case Resource.CUSTOMER, Relation.CUSTOMER_OF_ACTOR:
            return sql.SQL(
                "EXISTS (SELECT 1 FROM {} p WHERE p.customer_id = {}.customer_id AND p.seller_id = {})"
            ).format(table(POLICIES.name), t, actor)
        case Resource.WORK_ITEM, Relation.TEAM:
            return sql.SQL("{}.role = {}").format(t, role)
        case Resource.WORK_ITEM, Relation.TEAM_MINE_OR_OPEN:
            return sql.SQL("{t}.role = {} AND ({t}.assignee = {} OR {t}.assignee IS NULL)").format(
                role, actor, t=t
            )
        case Resource.WORK_ITEM, Relation.TEAM_SOLD_BY_ACTOR:
            # The seller's policies once (by the seller_id index, hashed), not a probe per work item.
            sold = sql.SQL("(SELECT p.policy_id FROM {} p WHERE p.seller_id = {})").format(
                table(POLICIES.name), actor
            )
            return sql.SQL("{t}.role = {} AND ({t}.case_id IN {s} OR {t}.related_case_id IN {s})").format(
                role, t=t, s=sold
            )
        case _:
            return sql.SQL("FALSE")


def visible(
    conn: psycopg.Connection[Any], schema: str, resource: Resource, key: object, reader: Reader
) -> bool:
    """Whether ``reader`` may see the record of ``resource`` with this key: always under ``ALL``, else only
    when its row is there and meets the relation."""
    if reader.sees_all(resource):
        # No row to look at: whether the record exists is the caller's question (the console's case page
        # shows a case from the store before its read model has it).
        return True
    if resource is Resource.CALLBACK:
        return callback_visible(conn, schema, key, reader)
    name, column = _TABLES[resource]
    query = sql.SQL("SELECT EXISTS (SELECT 1 FROM {} t WHERE t.{} = %s AND {})").format(
        sql.Identifier(schema, name), sql.Identifier(column), condition(schema, resource, reader)
    )
    row = conn.execute(query, (key,)).fetchone()
    return bool(row and row[0])


def callback_visible(conn: psycopg.Connection[Any], schema: str, task_id: object, reader: Reader) -> bool:
    """Whether ``reader`` may see a callback task: all, or an open one on their team's worklist."""
    relation = reader.relation(Resource.CALLBACK)
    if relation is Relation.ALL:
        return True
    if relation is not Relation.TEAM_MINE_OR_OPEN:
        return False
    query = sql.SQL("SELECT EXISTS (SELECT 1 FROM {} t WHERE t.case_id = %s AND {})").format(
        sql.Identifier(schema, WORKLIST.name), condition(schema, Resource.WORK_ITEM, reader)
    )
    row = conn.execute(query, (task_id,)).fetchone()
    return bool(row and row[0])


def visible_ids(
    conn: psycopg.Connection[Any], schema: str, resource: Resource, ids: list[UUID], reader: Reader
) -> list[UUID]:
    """The ids among ``ids`` that ``reader`` may see, in the given order."""
    if not ids or reader.sees_all(resource):
        return list(ids)
    if reader.relation(resource) is Relation.NONE:
        return []
    name, column = _TABLES[resource]
    query = sql.SQL("SELECT t.{} FROM {} t WHERE t.{} = ANY(%s) AND {}").format(
        sql.Identifier(column),
        sql.Identifier(schema, name),
        sql.Identifier(column),
        condition(schema, resource, reader),
    )
    seen = {row[0] for row in conn.execute(query, (ids,)).fetchall()}
    return [i for i in ids if i in seen]


def case_condition(schema: str, reader: Reader, column: sql.Composable) -> sql.Composable:
    """The condition that the case id in ``column`` is a policy, claim, complaint or callback task the
    reader sees (for lists keyed by any case, such as the SLA timers)."""
    if all(
        reader.sees_all(r) for r in (Resource.POLICY, Resource.CLAIM, Resource.COMPLAINT, Resource.CALLBACK)
    ):
        return sql.SQL("TRUE")
    parts: list[sql.Composable] = []
    for resource in (Resource.POLICY, Resource.CLAIM, Resource.COMPLAINT):
        if reader.relation(resource) is Relation.NONE:
            continue
        name, key = _TABLES[resource]
        parts.append(
            sql.SQL("{} IN (SELECT t.{} FROM {} t WHERE {})").format(
                column, sql.Identifier(key), sql.Identifier(schema, name), condition(schema, resource, reader)
            )
        )
    if reader.relation(Resource.CALLBACK) is not Relation.NONE:
        parts.append(
            sql.SQL("{} IN (SELECT t.case_id FROM {} t WHERE {})").format(
                column, sql.Identifier(schema, WORKLIST.name), condition(schema, Resource.WORK_ITEM, reader)
            )
        )
    if not parts:
        return sql.SQL("FALSE")
    return sql.SQL("(") + sql.SQL(" OR ").join(parts) + sql.SQL(")")
