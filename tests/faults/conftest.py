"""The fault tests' working directory: their own, not pytest's ``tmp_path``.

A fault test keeps a PostgreSQL data directory there for minutes; pytest removes all but the last few
``tmp_path`` trees whenever another pytest session starts on the machine, which would pull the data
directory from under a running server."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def fault_dir() -> Iterator[Path]:
    made = Path(tempfile.mkdtemp(prefix="caseledger-faults-"))
    try:
        yield made
    finally:
        shutil.rmtree(made, ignore_errors=True)
