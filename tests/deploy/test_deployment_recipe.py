"""The deployment recipe (``Dockerfile``, ``deploy/compose.yaml``) stays true to the code it deploys.

Where Docker's compose plugin exists, ``docker compose config`` judges the file; everywhere, the file is
checked against the Compose specification's JSON Schema (``compose_spec.json``, taken unchanged from the
Apache-2.0 ``docker-compose`` 1.29.2 wheel), and against caseledger itself: every command a service runs is
one the CLI parses, and every ``CASELEDGER_*`` variable it sets is a setting that exists.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from cli.main import build_parser
from infra.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
SPEC = Path(__file__).with_name("compose_spec.json")
LONG_RUNNING = {"api", "relay", "consume", "timers"}
# Values for the variables the file requires (``${VAR:?…}``): compose refuses to render without them.
REQUIRED_ENV = {
    "POSTGRES_PASSWORD": "pw",
    "CASELEDGER_JWT_SECRET": "x" * 32,
    "CASELEDGER_MASTER_KEY": "A" * 43 + "=",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())  # resolves anchors and << merges
    return loaded


ONE_SHOT = {"migrate", "setup"}
"""The services that run once to their end before the others start."""


def caseledger_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose["services"].items()
        if str(service.get("image", "")).startswith("${CASELEDGER_IMAGE")
    }


def consumer_groups() -> set[str]:
    """The choices of ``caseledger consume --group``, as the CLI declares them."""
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    group = next(a for a in commands.choices["consume"]._actions if a.dest == "group")
    return set(group.choices or ())


def compose_validator() -> jsonschema.Draft201909Validator:
    return jsonschema.Draft201909Validator(json.loads(SPEC.read_text()))


def test_the_compose_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    compose_validator().validate(compose)


def test_the_specification_check_refuses_a_misspelt_key(compose: dict[str, Any]) -> None:
    broken = {**compose, "services": {**compose["services"], "postgres": {**compose["services"]["postgres"]}}}
    broken["services"]["postgres"]["healthcheck"] = {"intervall": "5s"}
    assert not compose_validator().is_valid(broken)


DOCKER = shutil.which("docker")


@pytest.mark.skipif(
    DOCKER is None
    or subprocess.run([DOCKER, "compose", "version"], capture_output=True, check=False).returncode != 0,
    reason="Docker's compose plugin is not installed here; the JSON Schema check above still runs",
)
def test_docker_compose_accepts_the_file() -> None:
    subprocess.run(
        [str(DOCKER), "compose", "-f", str(COMPOSE), "config", "--quiet"],
        env={**os.environ, **REQUIRED_ENV},
        check=True,
    )


def test_the_deployment_runs_each_scale_out_process_with_its_redundancy(compose: dict[str, Any]) -> None:
    commands = [service["command"] for service in caseledger_services(compose).values()]
    assert commands.count(["api"]) == 2
    assert commands.count(["relay"]) == 2  # one active, one standby on the advisory lock
    assert commands.count(["timers"]) == 2
    groups = {c[c.index("--group") + 1] for c in commands if c[0] == "consume"}
    assert groups == consumer_groups()  # every group the CLI offers, each once
    assert {"postgres", "kafka", "proxy"} <= set(compose["services"])


def test_every_service_command_is_one_the_cli_parses(compose: dict[str, Any]) -> None:
    parser = build_parser()
    for name, service in caseledger_services(compose).items():
        args = parser.parse_args(service["command"])  # exits (SystemExit) on a command that does not exist
        assert args.run, name
        if name not in ONE_SHOT:
            assert service["command"][0] in LONG_RUNNING, name
            assert service["restart"] == "unless-stopped", name


def test_every_caseledger_variable_the_deployment_sets_is_a_real_setting(compose: dict[str, Any]) -> None:
    fields = {f"CASELEDGER_{name.upper()}" for name in Settings.model_fields}
    for name, service in caseledger_services(compose).items():
        variables = set(service["environment"])
        assert variables <= fields, (name, variables - fields)
        assert {"CASELEDGER_DATABASE_URL", "CASELEDGER_KAFKA_BOOTSTRAP_SERVERS"} <= variables, name


def test_no_secret_is_written_in_the_deployment_files(compose: dict[str, Any]) -> None:
    secrets = {"CASELEDGER_JWT_SECRET", "CASELEDGER_MASTER_KEY", "POSTGRES_PASSWORD"}
    for service in compose["services"].values():
        for variable, value in (service.get("environment") or {}).items():
            if variable in secrets:
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", value), variable
    assert "password" not in DOCKERFILE.read_text().lower()


def test_processes_start_only_after_postgres_kafka_the_migrations_and_the_one_time_setup(
    compose: dict[str, Any],
) -> None:
    for name, service in caseledger_services(compose).items():
        conditions = {dep: spec["condition"] for dep, spec in service["depends_on"].items()}
        assert conditions["postgres"] == "service_healthy", name
        if name == "migrate":
            assert conditions == {"postgres": "service_healthy"}
        elif name == "setup":
            assert conditions == {"postgres": "service_healthy", "migrate": "service_completed_successfully"}
        else:
            assert conditions == {
                "postgres": "service_healthy",
                "kafka": "service_healthy",
                "migrate": "service_completed_successfully",
                "setup": "service_completed_successfully",
            }, name


def test_the_migrate_job_upgrades_the_schema_and_the_processes_refuse_a_schema_behind(
    compose: dict[str, Any],
) -> None:
    services = caseledger_services(compose)
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    for name, service in services.items():
        # Off: a process of a newer image started before its migrations says so instead of altering tables.
        assert service["environment"]["CASELEDGER_DB_AUTO_UPGRADE"] == "false", name


def test_the_image_is_built_in_stages_and_runs_as_a_user_of_its_own() -> None:
    text = DOCKERFILE.read_text()
    stages = re.findall(r"^FROM\s+\S+", text, flags=re.MULTILINE)
    assert len(stages) >= 2
    final_stage = text.rsplit("\nFROM ", 1)[1]
    user = re.findall(r"^USER\s+(\S+)", final_stage, flags=re.MULTILINE)
    assert user
    assert user[-1].split(":")[0] not in {"root", "0"}
    assert re.search(r'^ENTRYPOINT \["caseledger"\]', final_stage, flags=re.MULTILINE)


def test_the_image_copies_every_package_the_wheel_is_built_from() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = set(re.findall(r"^COPY (\w+) \1$", DOCKERFILE.read_text(), flags=re.MULTILINE))
    assert copied == packages
