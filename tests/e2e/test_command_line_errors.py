"""`caseledger` run as a person runs it: an expected failure is one line on stderr, and never a secret."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
VALID_SECRET = "a-valid-jwt-secret-of-forty-characters!!"


def caseledger(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """The command line in a process of its own, with only the given caseledger settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CASELEDGER_")}
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=cwd,
        env=clean | env | {"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_one_error_line(done: subprocess.CompletedProcess[str], *, code: int = 1) -> str:
    """The failure's line, once it is shown to be the whole of stderr, without a traceback."""
    assert done.returncode == code, done.stdout + done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("caseledger: error: ")
    return lines[0]


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def test_a_too_short_jwt_secret_names_the_variable_and_never_the_secret(tmp_path: Path) -> None:
    done = caseledger(["api"], {"CASELEDGER_JWT_SECRET": "tooshort12"}, tmp_path)

    line = assert_one_error_line(done)
    assert "CASELEDGER_JWT_SECRET: must be at least 32 characters" in line
    assert "tooshort12" not in done.stdout + done.stderr


def test_a_missing_jwt_secret_stops_the_api_with_one_line(tmp_path: Path) -> None:
    done = caseledger(["api"], {}, tmp_path)

    assert "CASELEDGER_JWT_SECRET is not set" in assert_one_error_line(done)


def test_an_invalid_master_key_names_the_variable_and_never_the_key(tmp_path: Path) -> None:
    key = "c2hvcnQtbWFzdGVyLWtleQ=="  # base64 of 16 bytes: half an AES-256 key

    done = caseledger(["dlq", "list"], {"CASELEDGER_MASTER_KEY": key}, tmp_path)

    assert "CASELEDGER_MASTER_KEY: must be the base64 of 32 bytes" in assert_one_error_line(done)
    assert key not in done.stdout + done.stderr


def test_debug_shows_the_traceback_but_still_not_the_secret(tmp_path: Path) -> None:
    done = caseledger(["--debug", "api"], {"CASELEDGER_JWT_SECRET": "tooshort12"}, tmp_path)

    assert done.returncode == 1
    assert "Traceback" in done.stderr
    assert "CASELEDGER_JWT_SECRET: must be at least 32 characters" in done.stderr
    assert "tooshort12" not in done.stdout + done.stderr


def test_an_unreachable_postgres_names_host_and_port_within_seconds_and_never_the_password(
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    done = caseledger(
        ["dlq", "list"], {"CASELEDGER_DATABASE_URL": "postgresql://u:s3cretpw@127.0.0.1:1/x"}, tmp_path
    )

    line = assert_one_error_line(done)
    assert time.monotonic() - started < 10
    assert "PostgreSQL at 127.0.0.1:1" in line
    assert "s3cretpw" not in done.stdout + done.stderr


def test_an_unreachable_kafka_names_the_configured_address(tmp_path: Path) -> None:
    done = caseledger(["relay"], {"CASELEDGER_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}, tmp_path)

    line = assert_one_error_line(done)
    assert "Kafka at 127.0.0.1:1" in line
    assert "CASELEDGER_KAFKA_BOOTSTRAP_SERVERS" in line


def test_a_taken_api_port_names_the_port(taken_port: int, tmp_path: Path) -> None:
    done = caseledger(
        ["api"], {"CASELEDGER_JWT_SECRET": VALID_SECRET, "CASELEDGER_API_PORT": str(taken_port)}, tmp_path
    )

    assert f"127.0.0.1:{taken_port} is already in use" in assert_one_error_line(done)
    assert VALID_SECRET not in done.stdout + done.stderr


def test_a_bad_argument_is_one_line_with_argparses_exit_code(tmp_path: Path) -> None:
    done = caseledger(["dlq", "retry", "--id", "seven"], {}, tmp_path)

    assert "argument --id: invalid int value: 'seven'" in assert_one_error_line(done, code=2)


def test_a_refused_business_rule_names_the_rule(database_url: str, schema: str, tmp_path: Path) -> None:
    settings = {"CASELEDGER_DATABASE_URL": database_url, "CASELEDGER_DB_SCHEMA": schema}

    done = caseledger(["privacy", "release", "c-1", "--id", "h-1", "--reason", "test"], settings, tmp_path)

    assert "PRIV-HOLD-RELEASE" in assert_one_error_line(done)
