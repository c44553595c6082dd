"""The metric definitions, the HTTP middleware's labels, and the Grafana dashboard against the code."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from api.metrics import UNMATCHED, install_metrics
from infra import metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "caseledger.json"
SERIES = re.compile(r"\bcaseledger_[a-z0-9_]+\b")


def dashboard_expressions() -> list[str]:
    def walk(panels: list[dict[str, object]]) -> list[str]:
        found: list[str] = []
        for panel in panels:
            for target in panel.get("targets", []):  # type: ignore[attr-defined]
                found.append(target["expr"])
            found.extend(walk(panel.get("panels", [])))  # type: ignore[arg-type]
        return found

    return walk(json.loads(DASHBOARD.read_text(encoding="utf-8"))["panels"])


def family(name: str) -> str:
    return re.sub(r"_(total|bucket|sum|count)$", "", name)


def test_every_dashboard_expression_names_a_series_the_code_exports() -> None:
    named = {name for expr in dashboard_expressions() for name in SERIES.findall(expr)}

    assert named, "the dashboard has no caseledger series"
    assert named - metrics.exported_names() == set()


def test_every_exported_metric_has_a_panel_on_the_dashboard() -> None:
    shown = {family(name) for expr in dashboard_expressions() for name in SERIES.findall(expr)}
    defined = {g.name for g in metrics.GAUGES} | {next(iter(m.describe())).name for m in metrics.EVENTS}

    assert defined - shown == set()


def test_the_exported_names_are_what_a_scrape_shows() -> None:
    metrics.http_request("GET", "/names", 200, 0.01)
    metrics.command_refused("names-rule")
    metrics.timer_fired(
        "warning", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC), None
    )
    scraped = {
        sample.name
        for fam in text_string_to_metric_families(metrics.exposition().decode())
        for sample in fam.samples
        if sample.name.startswith("caseledger_")
    }

    assert {"caseledger_http_requests_total", "caseledger_timer_lateness_seconds_bucket"} <= scraped
    assert scraped - metrics.exported_names() == set()


def test_requests_are_counted_by_route_template_never_by_raw_path() -> None:
    app = FastAPI()

    @app.get("/things/{thing_id}")
    def thing(thing_id: int) -> dict[str, int]:
        return {"id": thing_id}

    install_metrics(app)
    before = REGISTRY.get_sample_value(
        "caseledger_http_requests_total", {"method": "GET", "route": "/things/{thing_id}", "status": "200"}
    )
    unmatched_before = REGISTRY.get_sample_value(
        "caseledger_http_requests_total", {"method": "GET", "route": UNMATCHED, "status": "404"}
    )
    with TestClient(app) as client:
        client.get("/things/1")
        client.get("/things/2")
        client.get("/no/such/path")
        scraped = client.get("/metrics")

    after = REGISTRY.get_sample_value(
        "caseledger_http_requests_total", {"method": "GET", "route": "/things/{thing_id}", "status": "200"}
    )
    unmatched = REGISTRY.get_sample_value(
        "caseledger_http_requests_total", {"method": "GET", "route": UNMATCHED, "status": "404"}
    )
    assert (after or 0) - (before or 0) == 2
    assert (unmatched or 0) - (unmatched_before or 0) == 1
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    assert "/things/1" not in scraped.text
    assert 'route="/things/{thing_id}"' in scraped.text


def test_a_failing_gauge_source_is_left_out_and_the_scrape_still_answers() -> None:
    def broken() -> Mapping[str, metrics.Samples]:
        raise ConnectionError("the database is away")

    unwatch = metrics.watch((metrics.TIMERS_DUE_SOON,), broken)
    try:
        text = metrics.exposition().decode()
    finally:
        unwatch()

    assert "caseledger_timers_due_soon " not in text
    assert "caseledger_commands_total" in text


def test_gauges_read_at_scrape_time_carry_their_labels() -> None:
    unwatch = metrics.watch(
        (metrics.TIMERS_PENDING, metrics.TIMERS_DUE_SOON),
        lambda: {"caseledger_timers_pending": {("running",): 3}, "caseledger_timers_due_soon": {(): 1}},
    )
    try:
        assert REGISTRY.get_sample_value("caseledger_timers_pending", {"state": "running"}) == 3
        assert REGISTRY.get_sample_value("caseledger_timers_due_soon") == 1
    finally:
        unwatch()


def test_a_batch_is_counted_by_outcome_and_its_parked_messages_as_dead_letters() -> None:
    def count(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0

    applied = count("caseledger_consumer_events_total", group="g-unit", outcome="applied")
    parked = count("caseledger_dead_letters_parked_total", group="g-unit")

    metrics.events_recorded("g-unit", ["applied", "applied", "duplicate", "parked"])

    assert count("caseledger_consumer_events_total", group="g-unit", outcome="applied") - applied == 2
    assert count("caseledger_dead_letters_parked_total", group="g-unit") - parked == 1


def test_timer_lateness_runs_from_the_due_instant_and_a_breach_counts_under_its_rule() -> None:
    due = datetime(2026, 3, 1, tzinfo=UTC)
    breaches = REGISTRY.get_sample_value("caseledger_timer_breaches_total", {"rule": "UNIT-RULE"}) or 0
    late = REGISTRY.get_sample_value("caseledger_timer_lateness_seconds_count", {"action": "breach"}) or 0
    within = (
        REGISTRY.get_sample_value(
            "caseledger_timer_lateness_seconds_bucket", {"action": "breach", "le": "2.5"}
        )
        or 0
    )

    metrics.timer_fired("breach", due, due + timedelta(seconds=2), "UNIT-RULE")

    assert REGISTRY.get_sample_value("caseledger_timer_breaches_total", {"rule": "UNIT-RULE"}) == breaches + 1
    assert (
        REGISTRY.get_sample_value("caseledger_timer_lateness_seconds_count", {"action": "breach"}) == late + 1
    )
    assert (
        REGISTRY.get_sample_value(
            "caseledger_timer_lateness_seconds_bucket", {"action": "breach", "le": "2.5"}
        )
        == within + 1
    )


def test_a_fired_batch_counts_each_timer_by_action_and_each_breach_under_its_rule() -> None:
    due = datetime(2026, 3, 1, tzinfo=UTC)

    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0

    fired_before = {a: sample("caseledger_timers_fired_total", action=a) for a in ("breach", "warning")}
    late_before = sample("caseledger_timer_lateness_seconds_count", action="breach")
    slow_before = sample("caseledger_timer_lateness_seconds_bucket", action="breach", le="2.5")
    rules_before = {r: sample("caseledger_timer_breaches_total", rule=r) for r in ("UNIT-A", "UNIT-B")}

    metrics.timers_fired(
        [
            ("breach", due, "UNIT-A"),
            ("breach", due - timedelta(seconds=5), "UNIT-A"),
            ("breach", due, "UNIT-B"),
            ("warning", due, None),
        ],
        due + timedelta(seconds=2),
    )

    assert sample("caseledger_timers_fired_total", action="breach") == fired_before["breach"] + 3
    assert sample("caseledger_timers_fired_total", action="warning") == fired_before["warning"] + 1
    assert sample("caseledger_timer_lateness_seconds_count", action="breach") == late_before + 3
    # Two breaches 2 s late, one 7 s late: only the two fall within 2.5 s.
    assert sample("caseledger_timer_lateness_seconds_bucket", action="breach", le="2.5") == slow_before + 2
    assert sample("caseledger_timer_breaches_total", rule="UNIT-A") == rules_before["UNIT-A"] + 2
    assert sample("caseledger_timer_breaches_total", rule="UNIT-B") == rules_before["UNIT-B"] + 1
