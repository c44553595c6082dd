"""What `caseledger up` hands its child processes: the scale-out commands, and settings that join them to the
parent's servers with small pools."""

from __future__ import annotations

from pathlib import Path

from cli.children import CHILD_POOL_SIZE, child_environment, up_children
from cli.main import build_parser
from infra.settings import Settings

PARENT = {
    "PATH": "/usr/bin",
    "CASELEDGER_METRICS_PORT": "9100",
    "CASELEDGER_DB_POOL_SIZE": "5",
    "CASELEDGER_LOG_FORMAT": "json",
}


def children_settings(settings: Settings) -> Settings:
    environment = child_environment(settings, "postgresql://db/x", "127.0.0.1:9999", PARENT)
    return Settings.model_validate(
        {key.removeprefix("CASELEDGER_").lower(): value for key, value in environment.items()}
    )


def test_up_runs_the_relay_one_consumer_process_with_every_group_and_the_scheduler() -> None:
    children = up_children(("projections", "timers", "callbacks"))

    assert [child.command for child in children] == [
        ("relay",),
        ("consume", "--group", "projections", "--group", "timers", "--group", "callbacks"),
        ("timers",),
    ]
    for child in children:
        assert build_parser().parse_args(list(child.command)).run.startswith("cli.runtime:")


def test_children_join_the_parents_database_broker_schema_and_topics() -> None:
    parent = Settings(db_schema="mine", topic_prefix="mine", data_dir=Path("rel"))

    child = children_settings(parent)

    assert child.database_url == "postgresql://db/x"
    assert child.kafka_bootstrap_servers == "127.0.0.1:9999"
    assert (child.db_schema, child.topic_prefix) == ("mine", "mine")
    assert child.data_dir.is_absolute()  # the parent's master key file, whatever the child's directory
    assert child.log_format == "json"


def test_children_keep_small_pools_that_soon_close_a_burst_and_serve_no_metrics_port_of_their_own() -> None:
    child = children_settings(Settings())

    assert child.db_pool_size == CHILD_POOL_SIZE == 1
    assert child.db_pool_max_idle_seconds < Settings().db_pool_max_idle_seconds
    assert child.metrics_port is None
