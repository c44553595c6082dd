"""Every Prometheus series caseledger exports, defined in one place (``prometheus_client``).

Two kinds:

* counters and histograms the code moves as things happen (HTTP requests, commands, events published and
  applied, dead letters parked, timers fired): module-level objects on the default registry, moved by the
  small functions below, once per request, command or batch (never per message on a hot path);
* gauges read when scraped (relay lag, consumer lag, open dead letters, timers pending, the pool): a
  ``Readings`` collector per source, registered by the process that runs the piece it reads
  (``cli/metrics.py``), so a scrape costs a few cheap queries and nothing runs between scrapes.

The API serves them on ``/metrics`` (``caseledger up`` is one process: everything is there); ``relay``,
``consume`` and ``timers`` serve them on ``CASELEDGER_METRICS_PORT`` when it is set.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import prometheus_client
from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

# ``*_created`` series (one per counter child, the time it was made) double the output and no dashboard
# uses them.
prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LATENESS_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

HTTP_REQUESTS = Counter(
    "caseledger_http_requests",
    "HTTP requests answered, by method, route template (never the raw path) and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "caseledger_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by method and route template.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
COMMANDS = Counter(
    "caseledger_commands",
    "Commands run: outcome accepted (rule empty) or refused, by the id of the business rule that refused.",
    ["outcome", "rule"],
)
RELAY_PUBLISHED = Counter(
    "caseledger_relay_published_events",
    "Events the broker acknowledged to this relay, by bounded context.",
    ["context"],
)
CONSUMER_EVENTS = Counter(
    "caseledger_consumer_events",
    "Messages a consumer group recorded, by outcome: applied, duplicate, held (behind a parked one), parked.",
    ["group", "outcome"],
)
DEAD_LETTERS_PARKED = Counter(
    "caseledger_dead_letters_parked",
    "Messages a consumer group parked as dead letters (their effect failed every retry, or unreadable).",
    ["group"],
)
TIMERS_FIRED = Counter(
    "caseledger_timers_fired",
    "Due timer instants the scheduler handled, by action (warning, breach, close_window).",
    ["action"],
)
TIMER_LATENESS = Histogram(
    "caseledger_timer_lateness_seconds",
    "From a timer's due instant (warning, deadline) to the scheduler handling it.",
    ["action"],
    buckets=LATENESS_BUCKETS,
)
TIMER_BREACHES = Counter(
    "caseledger_timer_breaches",
    "SLA breaches the scheduler recorded, by rule id.",
    ["rule"],
)

EVENTS: tuple[Counter | Histogram, ...] = (
    HTTP_REQUESTS,
    HTTP_LATENCY,
    COMMANDS,
    RELAY_PUBLISHED,
    CONSUMER_EVENTS,
    DEAD_LETTERS_PARKED,
    TIMERS_FIRED,
    TIMER_LATENESS,
    TIMER_BREACHES,
)


@dataclass(frozen=True)
class Gauge:
    """A gauge read at scrape time: its name, help and label names."""

    name: str
    documentation: str
    labels: tuple[str, ...] = ()


RELAY_LAG_POSITIONS = Gauge(
    "caseledger_relay_lag_positions", "Events stored but not yet published, by context.", ("context",)
)
RELAY_LAG_SECONDS = Gauge(
    "caseledger_relay_lag_seconds",
    "Age of the oldest unpublished event, by context (0: caught up).",
    ("context",),
)
CONSUMER_LAG = Gauge(
    "caseledger_consumer_lag_events",
    "Events stored that a consumer group has not yet recorded as applied, by group and context.",
    ("group", "context"),
)
DEAD_LETTERS_OPEN = Gauge(
    "caseledger_dead_letters_open",
    "Open dead letters by group and status (parked; held behind a parked one).",
    ("group", "status"),
)
TIMERS_PENDING = Gauge(
    "caseledger_timers_pending", "Open SLA timers, by state (running, paused).", ("state",)
)
TIMERS_DUE_SOON = Gauge(
    "caseledger_timers_due_soon", "Running SLA timers whose deadline falls within the next hour."
)
POOL_CONNECTIONS = Gauge(
    "caseledger_db_pool_connections",
    "The process's connection pool: connections open (size), idle (available), in use, and its min and max.",
    ("state",),
)
POOL_WAITING = Gauge(
    "caseledger_db_pool_requests_waiting", "Requests waiting for a connection of the process's pool."
)

GAUGES = (
    RELAY_LAG_POSITIONS,
    RELAY_LAG_SECONDS,
    CONSUMER_LAG,
    DEAD_LETTERS_OPEN,
    TIMERS_PENDING,
    TIMERS_DUE_SOON,
    POOL_CONNECTIONS,
    POOL_WAITING,
)

Samples = Mapping[tuple[str, ...], float]
"""A gauge's values by label values (``()`` for a gauge without labels)."""


class Readings(Collector):
    """Gauges computed when scraped from one source: ``read`` returns the samples of each gauge by name.

    A failing read (the database away, a table not created yet) leaves its gauges out of that scrape and
    is logged: one broken source must not fail the whole ``/metrics``.
    """

    def __init__(self, gauges: Sequence[Gauge], read: Callable[[], Mapping[str, Samples]]) -> None:
        self._gauges = tuple(gauges)
        self._read = read

    def describe(self) -> Iterable[Metric]:
        # Registration asks for the names: answer without reading anything.
        return [GaugeMetricFamily(g.name, g.documentation, labels=g.labels) for g in self._gauges]

    def collect(self) -> Iterator[Metric]:
        try:
            values = self._read()
        except Exception as exc:  # noqa: BLE001 - see the class docstring
            log.warning("metrics: cannot read %s: %r", ", ".join(g.name for g in self._gauges), exc)
            return
        for gauge in self._gauges:
            family = GaugeMetricFamily(gauge.name, gauge.documentation, labels=gauge.labels)
            for labels, value in values.get(gauge.name, {}).items():
                family.add_metric(list(labels), value)
            yield family


def watch(gauges: Sequence[Gauge], read: Callable[[], Mapping[str, Samples]]) -> Callable[[], None]:
    """Register scrape-time gauges on the default registry; returns the call that unregisters them."""
    collector = Readings(gauges, read)
    REGISTRY.register(collector)
    return lambda: REGISTRY.unregister(collector)


def exported_names() -> frozenset[str]:
    """Every series name a scrape can show (counters with ``_total``, histograms' parts, the gauges)."""
    names: set[str] = {g.name for g in GAUGES}
    for metric in EVENTS:
        for family in metric.describe():
            if family.type == "counter":
                names.add(f"{family.name}_total")
            elif family.type == "histogram":
                names.update(f"{family.name}{part}" for part in ("_bucket", "_sum", "_count"))
    return frozenset(names)


def exposition() -> bytes:
    """The text format of everything registered (``/metrics``)."""
    return prometheus_client.generate_latest(REGISTRY)


CONTENT_TYPE = prometheus_client.CONTENT_TYPE_LATEST


# ------------------------------------------------------------------------------ moved by the code


def http_request(method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_LATENCY.labels(method, route).observe(seconds)


def command_accepted() -> None:
    COMMANDS.labels("accepted", "").inc()


def command_refused(rule: str) -> None:
    COMMANDS.labels("refused", rule).inc()


def events_published(context: str, count: int) -> None:
    RELAY_PUBLISHED.labels(context).inc(count)


def events_recorded(group: str, outcomes: Iterable[str]) -> None:
    """Count a batch's outcomes (one label lookup per distinct outcome, not per message)."""
    # collections.Counter counts in C: a batch of 200 costs about a third of a Python loop.
    for outcome, count in collections.Counter(outcomes).items():
        CONSUMER_EVENTS.labels(group, outcome).inc(count)
        if outcome == "parked":
            DEAD_LETTERS_PARKED.labels(group).inc(count)


def timer_fired(action: str, due: datetime, fired: datetime, breached_rule: str | None) -> None:
    TIMERS_FIRED.labels(action).inc()
    TIMER_LATENESS.labels(action).observe(max(0.0, (fired - due).total_seconds()))
    if breached_rule is not None:
        TIMER_BREACHES.labels(breached_rule).inc()


def timers_fired(fired: Iterable[tuple[str, datetime, str | None]], at: datetime) -> None:
    """``timer_fired`` for a batch fired at ``at``: each (action, due instant, breached rule or None).

    One label lookup and one lateness per distinct (action, due instant, rule), not per timer: a burst of
    breaches is one batch of timers due at one instant (the observations stay one per timer).
    """
    for (action, due, breached_rule), count in collections.Counter(fired).items():
        TIMERS_FIRED.labels(action).inc(count)
        histogram = TIMER_LATENESS.labels(action)
        lateness = max(0.0, (at - due).total_seconds())
        for _ in range(count):
            histogram.observe(lateness)
        if breached_rule is not None:
            TIMER_BREACHES.labels(breached_rule).inc(count)
