"""The idle section of `caseledger bench` tells the CPU of the caseledger process from its children's."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil
import pytest

from cli.bench.idle import shares_over

pytestmark = pytest.mark.integration

SPIN_CHILD = (
    "import subprocess, sys, time;"
    "child = subprocess.Popen([sys.executable, '-c', 'while True: pass']);"
    "time.sleep(60)"
)
"""A parent that sleeps while the child it started spins."""


def test_the_cpu_of_a_busy_child_is_counted_as_the_childrens_not_the_processs() -> None:
    parent = subprocess.Popen([sys.executable, "-c", SPIN_CHILD])
    try:
        process = psutil.Process(parent.pid)
        while not process.children():
            time.sleep(0.01)
        own, children = shares_over(process, 1.0)
    finally:
        for child in psutil.Process(parent.pid).children(recursive=True):
            child.kill()
        parent.kill()
        parent.wait()

    assert children > 0.05  # a spinning child on a shared 2-core box still gets a slice
    assert own < children
