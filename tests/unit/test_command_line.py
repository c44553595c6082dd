"""The command line's parser and its one-line errors, in memory: no process, no database."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest
from pydantic import SecretStr, ValidationError

from cli.errors import CliError, UsageError, describe, redact
from cli.main import build_parser, handler, main
from cli.privacy import HOLD_GROUNDS
from cli.timers import TIMER_STATES
from consumers.groups import default_groups
from consumers.names import GROUP_NAMES
from domain.base import DomainError
from domain.privacy import HoldGround
from domain.timer import TimerState
from infra.settings import Settings


def parsers(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every parser of the command line, the top one first, each with its full command."""
    yield parser.prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from parsers(sub)


def subcommand_actions(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.Action]]:
    for prog, each in parsers(parser):
        for action in each._actions:
            if isinstance(action, argparse._SubParsersAction):
                for listed in action._choices_actions:
                    yield f"{prog} {listed.dest}", listed


def test_every_option_and_positional_argument_has_help_text() -> None:
    missing = [
        f"{prog}: {action.dest}"
        for prog, parser in parsers(build_parser())
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction) and not action.help
    ]

    assert missing == []


def test_every_subcommand_has_help_text() -> None:
    missing = [name for name, action in subcommand_actions(build_parser()) if not action.help]

    assert missing == []


def test_every_command_names_a_handler_that_exists() -> None:
    specs = {
        prog: parser.get_default("run")
        for prog, parser in parsers(build_parser())
        if parser.get_default("run") is not None
    }

    assert len(specs) > 20
    assert all(callable(handler(spec)) for spec in specs.values())


def test_the_consume_group_choices_are_the_consumer_groups() -> None:
    assert tuple(default_groups()) == GROUP_NAMES


def test_the_hold_ground_choices_are_the_domain_hold_grounds() -> None:
    assert tuple(ground.value for ground in HoldGround) == HOLD_GROUNDS


def test_the_timer_state_choices_are_the_domain_timer_states() -> None:
    assert tuple(state.value for state in TimerState) == TIMER_STATES


def test_a_bad_argument_is_one_usage_line_and_exit_code_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["consume", "--group", "nobody"])

    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("caseledger: error: argument --group: invalid choice: 'nobody'")
    assert "caseledger consume --help" in err


def test_a_settings_error_names_the_variable_and_never_the_value() -> None:
    with pytest.raises(ValidationError) as invalid:
        Settings(jwt_secret=SecretStr("tooshort12"), master_key=SecretStr("bm90LWEta2V5"))

    line = describe(invalid.value)

    assert line is not None
    assert "CASELEDGER_JWT_SECRET: must be at least 32 characters" in line
    assert "CASELEDGER_MASTER_KEY: must be the base64 of 32 bytes" in line
    assert "tooshort12" not in line
    assert "bm90LWEta2V5" not in line


def test_a_domain_refusal_is_its_rule_id_and_message() -> None:
    class HoldAppliesError(DomainError):
        rule = "PIPL47-RETENTION"

    assert describe(HoldAppliesError("the data must be kept")) == "PIPL47-RETENTION: the data must be kept"


def test_a_missing_optional_extra_names_the_extra_to_install() -> None:
    missing = ModuleNotFoundError("No module named 'httpx'", name="httpx")

    assert describe(missing) == "httpx is not installed: pip install 'caseledger[bench]'"


def test_a_missing_file_is_its_name_and_the_reason() -> None:
    missing = FileNotFoundError(2, "No such file or directory", "export.jsonl")

    assert describe(missing) == "export.jsonl: No such file or directory"


def test_a_bug_is_not_an_expected_failure_and_keeps_its_traceback() -> None:
    assert describe(KeyError("oops")) is None
    assert describe(CliError("worded")) == "worded"
    assert UsageError("bad").exit_code == 2


def test_no_password_of_a_url_or_connection_string_survives_redaction() -> None:
    line = redact("postgresql://u:s3cretpw@db:5432/x and host=db password=hunter2 user=u")

    assert "s3cretpw" not in line
    assert "hunter2" not in line
    assert "postgresql://u:***@db:5432/x" in line
