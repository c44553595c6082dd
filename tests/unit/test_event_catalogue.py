"""The event catalogue is a published contract: wire names, the names the SLA rules use, docstrings,
domain-error rule ids, personal-data marks and the JSON schema downstream systems read.

Events are collected from ``DomainEvent.__subclasses__()`` (recursively) after importing every ``domain``
module, so a new event class is checked without being listed here.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import re
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any, Literal, TypeVar, get_args

import pytest
from eventsourcing.utils import resolve_topic

import domain
from domain.base import PERSONAL, DomainError, DomainEvent
from domain.sla import ALL_RULES, SlaRule

AGGREGATE_MODULES = (
    "policy",
    "claim",
    "complaint",
    "callback",
    "service_request",
    "inquiry",
    "service_order",
)
TOPIC_PATTERN = re.compile(
    r"^(policy|claim|complaint|callback|timer|privacy|service_request|inquiry|service_order)"
    r"\.[a-z0-9-]+\.v[0-9]+$"
)

# The SlaRule fields that name events (by class name), and where on_breach names the one it records.
RULE_EVENT_FIELDS = (
    "starts_on",
    "pauses_on",
    "resumes_on",
    "restarts_on",
    "satisfied_by",
    "extended_by",
    "cancelled_by",
)

# (rule id, start event) pairs whose start event lives on another aggregate than the rule's applies_to,
# with the reason. None today: every rule starts on its own aggregate's event. Callback events do end
# policy and claim rules (LIFE-CALLBACK-15D, CO-SURVEY-CALLBACK-2WD, CO-CLOSURE-CALLBACK-7D are satisfied
# by CallbackCompleted), which is allowed: only the start event decides the timer's subject.
CROSS_AGGREGATE_STARTS: dict[tuple[str, str], str] = {}

# Field names that hold personal data wherever they appear.
PERSONAL_FIELD_NAME = re.compile(r"(^|_)(name|names|phone|phones|mobile|id_number|account|address|email)$")

_T = TypeVar("_T")


# ---------------------------------------------------------------------------------------------- collection


@functools.cache
def _import_domain() -> tuple[str, ...]:
    names = [module.name for module in pkgutil.walk_packages(domain.__path__, prefix="domain.")]
    for name in names:
        importlib.import_module(name)
    return tuple(names)


def _in_domain(cls: type) -> bool:
    return cls.__module__ == "domain" or cls.__module__.startswith("domain.")


def _subclasses(root: type[_T]) -> Iterator[type[_T]]:
    seen: set[type[_T]] = set()
    pending = list(root.__subclasses__())
    while pending:
        cls = pending.pop()
        if cls in seen:
            continue
        seen.add(cls)
        pending.extend(cls.__subclasses__())
        if _in_domain(cls):
            yield cls


@functools.cache
def _domain_events() -> tuple[type[DomainEvent], ...]:
    """Every DomainEvent subclass defined in a domain module, published or not."""
    _import_domain()
    return tuple(sorted(_subclasses(DomainEvent), key=lambda cls: (cls.__module__, cls.__qualname__)))


@functools.cache
def _published_events() -> tuple[type[DomainEvent], ...]:
    """The event classes that declare their own wire name."""
    return tuple(cls for cls in _domain_events() if "TOPIC" in cls.__dict__)


@functools.cache
def _events_by_name() -> dict[str, type[DomainEvent]]:
    return {cls.__name__: cls for cls in _published_events()}


@functools.cache
def _domain_errors() -> tuple[type[DomainError], ...]:
    _import_domain()
    return tuple(sorted(_subclasses(DomainError), key=lambda cls: (cls.__module__, cls.__qualname__)))


def _topic(cls: type[DomainEvent]) -> str:
    topic = cls.__dict__["TOPIC"]
    assert isinstance(topic, str), f"{cls.__qualname__}.TOPIC is {topic!r}, not a string"
    return topic


def _module(cls: type) -> str:
    return cls.__module__.rsplit(".", 1)[-1]


def _where(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _report(offenders: list[str]) -> str:
    return "\n" + "\n".join(offenders)


def _rule_event_names(rule: SlaRule) -> set[str]:
    names: set[str] = set()
    for field_name in RULE_EVENT_FIELDS:
        names.update(getattr(rule, field_name))
    if rule.on_breach.records is not None:
        names.add(rule.on_breach.records)
    return names


def _event_fields(cls: type[DomainEvent]) -> list[str]:
    """The fields an event adds to the envelope every event shares."""
    return [name for name in cls.model_fields if name not in DomainEvent.model_fields]


def _marked_in_type(annotation: object) -> bool:
    """Whether the PERSONAL mark appears anywhere in a type: inside a union, a tuple, an Annotated."""
    return any(arg is PERSONAL or _marked_in_type(arg) for arg in get_args(annotation))


def _schema_marks(node: object, definitions: dict[str, Any], seen: frozenset[str] = frozenset()) -> bool:
    """Whether a JSON-schema node, its references followed, carries ``"x-personal-data": true``."""
    if isinstance(node, dict):
        if node.get("x-personal-data") is True:
            return True
        ref = node.get("$ref")
        if isinstance(ref, str) and ref not in seen:
            target = definitions.get(ref.rsplit("/", 1)[-1])
            if _schema_marks(target, definitions, seen | {ref}):
                return True
        return any(_schema_marks(value, definitions, seen) for value in node.values())
    if isinstance(node, list):
        return any(_schema_marks(value, definitions, seen) for value in node)
    return False


def test_collection_finds_events_of_every_aggregate_when_the_domain_is_imported() -> None:
    modules = {_module(cls) for cls in _published_events()}
    assert set(AGGREGATE_MODULES) <= modules, (
        f"no published events found in {set(AGGREGATE_MODULES) - modules}"
    )


# ---------------------------------------------------------------------------------------------- wire names


def test_every_event_declares_its_own_topic_when_defined_in_an_aggregate_module() -> None:
    # A private class (leading underscore) may be a shared base without a wire name of its own.
    offenders = [
        _where(cls)
        for cls in _domain_events()
        if _module(cls) in AGGREGATE_MODULES
        and not cls.__name__.startswith("_")
        and "TOPIC" not in cls.__dict__
    ]
    assert not offenders, "event classes without their own TOPIC:" + _report(offenders)


def test_every_topic_is_unique_when_events_are_published() -> None:
    counts = Counter(_topic(cls) for cls in _published_events())
    offenders = [
        f"{topic}: {', '.join(_where(cls) for cls in _published_events() if _topic(cls) == topic)}"
        for topic, count in counts.items()
        if count > 1
    ]
    assert not offenders, "topics used by more than one class:" + _report(offenders)


def test_every_topic_is_a_versioned_wire_name_when_events_are_published() -> None:
    offenders = [
        f"{_where(cls)}: {_topic(cls)!r}"
        for cls in _published_events()
        if not TOPIC_PATTERN.fullmatch(_topic(cls))
    ]
    assert not offenders, f"topics not matching {TOPIC_PATTERN.pattern}:" + _report(offenders)


def test_every_topic_names_the_aggregate_of_its_module_when_events_are_published() -> None:
    offenders = [
        f"{_where(cls)}: {_topic(cls)!r} does not start with {_module(cls)!r}"
        for cls in _published_events()
        if _topic(cls).split(".", 1)[0] != _module(cls)
    ]
    assert not offenders, _report(offenders)


def test_every_topic_resolves_to_its_class_when_a_stored_event_is_read() -> None:
    offenders = [
        f"{_topic(cls)!r} resolves to {resolved!r}, not {_where(cls)}"
        for cls in _published_events()
        if (resolved := resolve_topic(_topic(cls))) is not cls
    ]
    assert not offenders, _report(offenders)


def test_every_event_class_name_is_unique_when_rules_refer_to_events_by_name() -> None:
    counts = Counter(cls.__name__ for cls in _published_events())
    offenders = [
        f"{name}: {', '.join(_where(cls) for cls in _published_events() if cls.__name__ == name)}"
        for name, count in counts.items()
        if count > 1
    ]
    assert not offenders, _report(offenders)


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("ProposalSubmitted", "policy"),
        ("RiskRated", "policy"),
        ("ClaimReported", "claim"),
        ("SurveyDone", "claim"),
        ("UnderwritingDecided", "policy"),
        ("ExclusionsExplained", "policy"),
        ("ClaimDocumentsRequested", "claim"),
        ("ComplaintDeadlineExtended", "complaint"),
    ],
)
def test_event_exists_in_its_aggregate_module_when_the_user_named_it(name: str, module: str) -> None:
    cls = _events_by_name().get(name)
    assert cls is not None, f"no published event class {name}"
    assert _module(cls) == module, f"{name} lives in {cls.__module__}, not domain.{module}"


# ---------------------------------------------------------------------------------------------- SLA rules


def test_rule_fields_checked_here_exist_when_the_rule_model_is_read() -> None:
    missing = [name for name in RULE_EVENT_FIELDS if name not in SlaRule.model_fields]
    assert not missing, f"SlaRule has no field {missing}: update RULE_EVENT_FIELDS"


def test_every_event_a_rule_reacts_to_is_checked_here_when_rules_list_their_events() -> None:
    # If SlaRule.event_names() grows a field that RULE_EVENT_FIELDS lacks, the next test would miss it.
    offenders = [
        f"{rule.rule_id}: {sorted(rule.event_names() - _rule_event_names(rule))}"
        for rule in ALL_RULES
        if not rule.event_names() <= _rule_event_names(rule)
    ]
    assert not offenders, _report(offenders)


def test_every_event_a_rule_names_is_a_real_event_class_when_the_rules_are_loaded() -> None:
    known = _events_by_name()
    offenders = [
        f"{rule.rule_id}: {name}"
        for rule in ALL_RULES
        for name in sorted(_rule_event_names(rule))
        if name not in known
    ]
    assert not offenders, "rules name events that do not exist:" + _report(offenders)


def test_every_rule_applies_to_the_aggregate_of_its_start_event_when_its_clock_starts() -> None:
    known = _events_by_name()
    offenders = [
        f"{rule.rule_id}: applies to {rule.applies_to.value} but starts on {name} of {known[name].__module__}"
        for rule in ALL_RULES
        for name in rule.starts_on
        if name in known
        and _module(known[name]) != rule.applies_to.value
        and (rule.rule_id, name) not in CROSS_AGGREGATE_STARTS
    ]
    assert not offenders, _report(offenders)


def test_every_cross_aggregate_allowance_is_used_when_rules_are_loaded() -> None:
    used = {(rule.rule_id, name) for rule in ALL_RULES for name in rule.starts_on}
    stale = sorted(set(CROSS_AGGREGATE_STARTS) - used)
    assert not stale, f"CROSS_AGGREGATE_STARTS entries no rule needs: {stale}"


def test_every_rule_start_field_is_a_time_of_its_start_event_when_its_clock_starts() -> None:
    known = _events_by_name()
    offenders: list[str] = []
    for rule in ALL_RULES:
        for name in rule.starts_on:
            if name not in known:
                continue  # reported by the real-event test
            field = known[name].model_fields.get(rule.start_field)
            if field is None:
                offenders.append(f"{rule.rule_id}: {name} has no field {rule.start_field!r}")
            elif not {date, datetime} & {field.annotation, *get_args(field.annotation)}:
                offenders.append(
                    f"{rule.rule_id}: {name}.{rule.start_field} is {field.annotation}, not a time"
                )
    assert not offenders, _report(offenders)


# ---------------------------------------------------------------------------------------------- docstrings


def test_every_domain_error_has_a_docstring_when_defined() -> None:
    offenders = [_where(cls) for cls in _domain_errors() if not (cls.__dict__.get("__doc__") or "").strip()]
    assert not offenders, "domain errors without a docstring:" + _report(offenders)


def test_every_domain_error_names_its_own_rule_when_defined() -> None:
    offenders = [_where(cls) for cls in _domain_errors() if cls.rule == DomainError.rule]
    assert not offenders, f"domain errors keeping the default rule {DomainError.rule!r}:" + _report(offenders)


def test_every_domain_error_rule_id_is_unique_when_defined() -> None:
    counts = Counter(cls.rule for cls in _domain_errors())
    offenders = [
        f"{rule}: {', '.join(_where(cls) for cls in _domain_errors() if cls.rule == rule)}"
        for rule, count in counts.items()
        if count > 1
    ]
    assert not offenders, "rule ids shared by several errors:" + _report(offenders)


def test_every_public_event_has_a_docstring_when_defined() -> None:
    offenders = [
        _where(cls)
        for cls in _domain_events()
        if not cls.__name__.startswith("_") and not (cls.__dict__.get("__doc__") or "").strip()
    ]
    assert not offenders, "events without a docstring:" + _report(offenders)


# ---------------------------------------------------------------------------------------------- personal data


@pytest.mark.parametrize(
    ("event_name", "expected"),
    [
        ("ProposalSubmitted", {"applicant_name", "applicant_id_number", "applicant_phone", "insured_name"}),
        ("ProposalSubmitted", {"beneficiary_names"}),
        ("EndorsementApplied", {"beneficiary_names"}),
        ("DisclosureRecorded", {"answers", "answered_by"}),
        ("ClaimReported", {"reporter_name", "reporter_phone"}),
        ("ComplaintLodged", {"complainant_name", "complainant_phone"}),
        ("SettlementAgreed", {"payee_name", "payee_account"}),
    ],
    ids=[
        "proposal-applicant-and-insured",
        "proposal-beneficiaries-tuple-marker",
        "endorsement-beneficiaries-optional-marker",
        "disclosure-answers-tuple-marker",
        "claim-reporter",
        "complaint-complainant",
        "settlement-payee",
    ],
)
def test_personal_fields_name_the_personal_data_when_an_event_carries_it(
    event_name: str, expected: set[str]
) -> None:
    cls = _events_by_name()[event_name]
    missing = expected - set(cls.personal_fields())
    assert not missing, f"{event_name}.personal_fields() misses {sorted(missing)}"


def test_personal_fields_include_every_marked_field_when_the_mark_is_nested_in_its_type() -> None:
    # A PersonalStr inside ``X | None`` or ``tuple[...]`` loses the field-level mark unless the field is
    # marked again (policy.py's PersonalStrs / OptionalPersonalStrs): then erasure would skip it.
    offenders = [
        f"{_where(cls)}.{name}"
        for cls in _published_events()
        for name, info in cls.model_fields.items()
        if _marked_in_type(info.annotation) and name not in cls.personal_fields()
    ]
    assert not offenders, "fields whose type is marked personal but personal_fields() skips:" + _report(
        offenders
    )


def test_fields_named_like_personal_data_are_marked_when_events_are_defined() -> None:
    offenders = [
        f"{_where(cls)}.{name}"
        for cls in _published_events()
        for name in _event_fields(cls)
        if PERSONAL_FIELD_NAME.search(name) and name not in cls.personal_fields()
    ]
    assert not offenders, "fields named like personal data but not marked:" + _report(offenders)


# ---------------------------------------------------------------------------------------------- JSON schema

SchemaMode = Literal["validation", "serialization"]
SCHEMA_MODES: tuple[SchemaMode, ...] = ("validation", "serialization")


@pytest.mark.parametrize("mode", SCHEMA_MODES)
def test_every_event_publishes_a_json_schema_when_its_contract_is_asked_for(mode: SchemaMode) -> None:
    failures: list[str] = []
    for cls in _published_events():
        try:
            schema = cls.model_json_schema(mode=mode)
        except Exception as error:  # noqa: BLE001 - every failing class is listed, not only the first
            failures.append(f"{_where(cls)}: {type(error).__name__}: {error}")
            continue
        missing = [name for name in cls.model_fields if name not in schema.get("properties", {})]
        if missing:
            failures.append(f"{_where(cls)}: schema lacks {missing}")
    assert not failures, _report(failures)


@pytest.mark.parametrize("mode", SCHEMA_MODES)
def test_schema_flags_every_personal_field_when_an_event_is_published(mode: SchemaMode) -> None:
    offenders = [
        f"{_where(cls)}.{name}"
        for cls in _published_events()
        for name in cls.personal_fields()
        if cls.model_json_schema(mode=mode)["properties"][name].get("x-personal-data") is not True
    ]
    assert not offenders, 'personal fields without "x-personal-data": true:' + _report(offenders)


@pytest.mark.parametrize("mode", SCHEMA_MODES)
def test_schema_flags_no_field_that_personal_fields_skips_when_an_event_is_published(
    mode: SchemaMode,
) -> None:
    offenders: list[str] = []
    for cls in _published_events():
        schema = cls.model_json_schema(mode=mode)
        definitions = schema.get("$defs", {})
        offenders.extend(
            f"{_where(cls)}.{name}"
            for name, node in schema["properties"].items()
            if _schema_marks(node, definitions) and name not in cls.personal_fields()
        )
    assert not offenders, "schema says personal, personal_fields() does not:" + _report(offenders)
