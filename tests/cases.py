"""Cases the integration tests set up, and the SLA timers they read back, shared by their modules."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import psycopg
from psycopg import sql

from cli.scenarios import a_policy, register_demo_seller, report_claim, today
from domain.timer import SlaTimer
from infra.bootstrap import System
from infra.clock import ControlledClock
from infra.services.timers import Timers, due_table


def a_motor_policy(system: System, clock: ControlledClock) -> UUID:
    """A commercial motor policy issued now, the demo seller registered today to sell it."""
    register_demo_seller(system, today(system))
    return a_policy(system)


def report_hail_claim(system: System, clock: ControlledClock, policy_id: UUID) -> UUID:
    """A hail claim on ``policy_id`` reported now by the app, the loss two hours earlier; its id."""
    claim_id = uuid4()
    report_claim(
        system,
        claim_id,
        policy_id,
        loss_at=clock.now() - timedelta(hours=2),
        cause="hail",
        description="dents on the roof",
        channel="app",
    )
    return claim_id


def the_timer(system: System, rule_id: str, case_id: UUID, timers: Timers | None = None) -> SlaTimer:
    """The one timer of ``rule_id`` on ``case_id``, found through ``sla_due`` (on ``system.timers`` unless
    given)."""
    with psycopg.connect(system.database_url) as conn:
        rows = conn.execute(
            sql.SQL("SELECT timer_id FROM {} WHERE rule_id = %s AND case_id = %s").format(
                due_table(system.settings.db_schema)
            ),
            (rule_id, case_id),
        ).fetchall()
    assert len(rows) == 1, rows
    return (timers if timers is not None else system.timers).load(rows[0][0])
