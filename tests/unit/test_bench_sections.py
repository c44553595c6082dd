"""Which `caseledger bench` sections a run chooses, in memory: the sections themselves are stood in for."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cli.bench import main as bench
from cli.bench.figures import Figure
from infra.settings import Settings


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the sections a run called, in order (each stands in for itself and measures nothing)."""
    called: list[str] = []

    def standing_in_for(name: str) -> Callable[[Settings, bool], list[Figure]]:
        def section(settings: Settings, quick: bool) -> list[Figure]:
            called.append(name)
            return []

        return section

    monkeypatch.setattr(bench, "SECTIONS", {name: standing_in_for(name) for name in bench.SECTIONS})
    return called


def test_a_run_of_every_section_leaves_out_the_relay_and_rebuild_rows_the_pipeline_section_already_has(
    ran: list[str],
) -> None:
    bench.run_bench(Settings(), quick=True, out=None)

    assert "pipeline" in ran
    assert "relay" not in ran
    assert "rebuild" not in ran
    assert ran == [name for name in bench.SECTIONS if name not in bench.PART_OF]


def test_only_rebuild_runs_the_rebuild_rows_alone(ran: list[str]) -> None:
    bench.run_bench(Settings(), quick=True, out=None, only=["rebuild"])

    assert ran == ["rebuild"]


def test_only_relay_runs_the_relay_rows_alone(ran: list[str]) -> None:
    bench.run_bench(Settings(), quick=True, out=None, only=["relay"])

    assert ran == ["relay"]
