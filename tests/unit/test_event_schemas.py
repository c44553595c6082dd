"""The published contract documents: a JSON Schema per event payload, the AsyncAPI document, the export,
and that real payloads and real message headers (built by the domain and ``infra.messaging.contract``)
match them."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import orjson
import pytest
from eventsourcing.persistence import Notification
from jsonschema import Draft202012Validator

import domain.callback
import domain.claim
import domain.complaint
import domain.inquiry
import domain.policy
import domain.privacy
import domain.service_order
import domain.service_request
import domain.timer
from cli import runtime
from domain.base import CaseAggregate, DomainEvent, Role
from domain.claim import Claim, ClaimOutcome, ClaimReported
from domain.cover import PolicyCover
from domain.service_request import ServiceItem
from domain.timer import SlaTimer
from infra import schemas
from infra.messaging import contract
from infra.store.mapper import CaseEventMapper, JsonTranscoder, personal_data_of
from tests.gwt import ctx
from tests.keys import EphemeralKeys
from tests.unit import test_callback_rules as callbacks
from tests.unit import test_complaint_rules as complaints
from tests.unit import test_inquiry_rules as inquiries
from tests.unit import test_policy_rules as policies
from tests.unit import test_retention_rules as privacy
from tests.unit import test_service_order_rules as service_orders
from tests.unit import test_service_request_rules as service_requests
from tests.unit import test_timer_rules as timers

PREFIX = "acme.caseledger"
MAPPER = CaseEventMapper(JsonTranscoder())
MAPPER.use_keys(EphemeralKeys())  # payloads as stored: personal fields sealed
LOSS_AT = datetime(2026, 2, 27, 1, 30, tzinfo=UTC)
EVENT_CLASSES = schemas.event_classes()
ENVELOPE_COLUMNS = {"originator_id", "originator_version"}  # stored in the row's columns, not the payload


def by_wire_name(event_class: type[DomainEvent]) -> str:
    return event_class.TOPIC


# ---------------------------------------------------------------------------------------------- real events


def a_closed_claim() -> Claim:
    """A claim taken through its whole paid lifecycle by the domain's own commands."""
    cover = PolicyCover(
        policy_id=uuid4(),
        policy_no="PDAA2026310000000001",
        customer_id="cust-0001",
        in_force=True,
        effective_from=datetime(2026, 1, 1, tzinfo=UTC).date(),
        effective_to=datetime(2026, 12, 31, tzinfo=UTC).date(),
        sum_insured_fen=20_000_000,
        ctpl=False,
    )
    handler, surveyor = ctx(Role.CLAIMS_HANDLER), ctx(Role.SURVEYOR)
    claim = Claim.report(
        handler,
        claim_id=uuid4(),
        cover=cover,
        loss_at=LOSS_AT,
        reporter_name="张伟",
        reporter_phone="13800138000",
        cause="collision",
        description="rear-ended at a red light",
        channel="phone-95500",
    )
    claim.register(handler, claim_no="CLM-2026-000123", coverages=("vehicle_damage",), reserve_fen=1_500_000)
    claim.record_survey(surveyor, findings="rear bumper", liability_view="third party at fault")
    claim.assess_loss(surveyor, items=("rear bumper",), amount_fen=1_250_000)
    applied_at = handler.recorded_at - timedelta(hours=1)
    claim.receive_application(handler, received_at=applied_at, documents=("claim form",))
    claim.request_documents(handler, required_docs=("police_report",), notice_ref="NTC-22-0001")
    claim.record_request_delivery(handler, delivered_at=handler.recorded_at, notice_ref="NTC-22-0001")
    claim.receive_document(handler, doc_type="police_report", received_at=handler.recorded_at)
    claim.complete_documents(handler)
    claim.adjust(
        ctx(Role.ADJUSTER, "wang.fang"), proposed_amount_fen=1_200_000, deductible_fen=50_000, calculation="x"
    )
    reviewer = ctx(Role.CLAIM_REVIEWER, "li.na")
    claim.review(reviewer, approved_amount_fen=1_150_000)
    claim.decide(reviewer, outcome=ClaimOutcome.COVERED)
    claim.agree_settlement(handler, amount_fen=1_150_000, payee_name="张伟", payee_account="6222000011112222")
    claim.issue_payment(handler, amount_fen=1_150_000, reference="PAY-0001")
    claim.close(handler)
    return claim


def real_events() -> Iterator[DomainEvent]:
    """Events of every context, recorded by domain commands (the rule tests' histories reused)."""
    aggregates: list[CaseAggregate] = [
        a_closed_claim(),
        policies.an_in_force_life_policy(),
        complaints.closed(),
        complaints.withdrawn(),
        callbacks.completed(),
        callbacks.failed(),
        callbacks.remedied(),
        privacy.an_erased_subject(),
        a_breached_then_late_timer(),
        a_closed_cooling_off_window(),
        service_requests.notified(ServiceItem.BENEFICIARY_CHANGE),
        service_requests.refused_and_withdrawn_bank_change(),
        an_answered_and_a_transferred_inquiry()[0],
        an_answered_and_a_transferred_inquiry()[1],
        a_done_and_a_cancelled_service_order()[0],
        a_done_and_a_cancelled_service_order()[1],
    ]
    for aggregate in aggregates:
        yield from (e for e in aggregate.collect_events() if isinstance(e, DomainEvent))


def an_answered_and_a_transferred_inquiry() -> tuple[CaseAggregate, CaseAggregate]:
    """An inquiry deferred, answered and closed; another transferred to a complaint."""
    answered = inquiries.deferred()
    answered.answer(inquiries.agent(), answer="paid on Friday")
    answered.close(inquiries.agent())
    transferred = inquiries.logged()
    transferred.transfer(
        inquiries.agent(), target_kind=domain.inquiry.TransferTarget.COMPLAINT, target_id=uuid4()
    )
    return answered, transferred


def a_done_and_a_cancelled_service_order() -> tuple[CaseAggregate, CaseAggregate]:
    """A rescue dispatched, arrived and done; another cancelled."""
    done = service_orders.arrived()
    done.complete(service_orders.agent(), summary="battery jump-started")
    cancelled = service_orders.requested()
    cancelled.cancel(service_orders.agent(), reason="no longer needed")
    return done, cancelled


def a_breached_then_late_timer() -> SlaTimer:
    """A claim's clock warned, paused, resumed, breached, then met late."""
    timer = timers.started()
    assert timer.due_at is not None
    half = timer.warning_at(0.5)
    assert half is not None
    timer.raise_warning(timers.SYSTEM, threshold=0.5, at=half)
    timers.paused(timer, half + timedelta(days=1))
    timer.resume(timers.SYSTEM, at=half + timedelta(days=2), cause_event="Y", cause_event_id=uuid4())
    assert timer.due_at is not None
    timer.breach(timers.SYSTEM, at=timer.due_at + timedelta(seconds=5))
    timer.satisfy(timers.SYSTEM, at=timer.due_at + timedelta(days=1), by_event="Z", cause_event_id=uuid4())
    return timer


def a_closed_cooling_off_window() -> SlaTimer:
    timer = timers.a_cooling_off_window()
    timer.close_window(timers.SYSTEM, at=timers.COOLING_OFF_ENDS + timedelta(seconds=1))
    return timer


def stored_payload(event: DomainEvent) -> bytes:
    """The value the relay publishes: the stored state, exactly as the mapper writes it."""
    # As the event store does: events without a customer_id of their own are sealed for the case's.
    with personal_data_of("cust-0001"):
        return MAPPER.to_stored_event(event).state


def a_reported_claim_payload() -> dict[str, Any]:
    event = next(e for e in a_closed_claim().collect_events() if isinstance(e, ClaimReported))
    payload: dict[str, Any] = orjson.loads(stored_payload(event))
    return payload


# ---------------------------------------------------------------------------------------------- catalogue


def test_event_classes_are_every_concrete_event_of_the_aggregates_in_wire_name_order() -> None:
    modules = (
        domain.policy,
        domain.claim,
        domain.complaint,
        domain.callback,
        domain.timer,
        domain.privacy,
        domain.service_request,
        domain.inquiry,
        domain.service_order,
    )
    declared = {
        obj
        for module in modules
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, DomainEvent) and "TOPIC" in obj.__dict__
    }
    assert set(EVENT_CLASSES) == declared
    names = [c.TOPIC for c in EVENT_CLASSES]
    assert names == sorted(names)
    assert {schemas.context_of(c) for c in EVENT_CLASSES} == set(schemas.CONTEXTS)


def test_the_documented_contexts_are_the_topics_the_runtime_creates_timer_included() -> None:
    assert set(schemas.CONTEXTS) == set(runtime.CONTEXTS)
    assert "timer" in schemas.CONTEXTS
    assert {"timer.breached.v1", "timer.window-closed.v1"} <= {c.TOPIC for c in EVENT_CLASSES}


# ---------------------------------------------------------------------------------------------- schemas


@pytest.mark.parametrize("event_class", EVENT_CLASSES, ids=by_wire_name)
def test_every_event_has_a_schema_of_exactly_its_stored_fields(
    event_class: type[DomainEvent],
) -> None:
    schema = schemas.payload_schema(event_class)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://caseledger.invalid/schemas/{event_class.TOPIC}.json"
    assert schema["title"] == event_class.__name__
    assert schema["description"] == inspect.getdoc(event_class)
    assert schema["additionalProperties"] is False
    fields = {
        name for name in event_class.model_fields if name not in {"originator_id", "originator_version"}
    }
    version = getattr(event_class, "class_version", 1)
    expected = fields | ({"class_version"} if version > 1 else set())
    assert set(schema["properties"]) == expected
    required = {n for n, f in event_class.model_fields.items() if f.is_required()} & fields
    assert set(schema["required"]) == required | ({"class_version"} if version > 1 else set())
    for name in event_class.personal_fields():
        assert schema["properties"][name]["x-personal-data"] is True, name


def test_a_versioned_event_schema_names_its_class_version_and_marks_the_reporter_personal() -> None:
    schema = schemas.payload_schema(ClaimReported)
    assert schema["properties"]["class_version"]["const"] == 2
    assert "class_version" in schema["required"]
    for name in ("reporter_name", "reporter_phone"):
        assert schema["properties"][name]["x-personal-data"] is True
    assert "x-personal-data" not in schema["properties"]["cause"]


# ---------------------------------------------------------------------------------------------- encoding


def dict_encoded(event: DomainEvent) -> bytes:
    """An event's payload as the mapper wrote every one before it let pydantic write the JSON itself."""
    state = event.model_dump(mode="json", exclude={"originator_id", "originator_version"})
    for name in ("traceparent", "tracestate"):
        if state[name] is None:
            del state[name]
    return orjson.dumps(state)


def test_events_with_nothing_to_seal_are_stored_as_the_bytes_their_fields_encoded_to_before() -> None:
    unsealed = [
        e for e in real_events() if not e.personal_fields() and getattr(type(e), "class_version", 1) == 1
    ]
    traced = [
        e.model_copy(update={"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01", "tracestate": state})
        for e in unsealed[:5]
        for state in (None, "vendor=1")
    ]
    assert len({e.TOPIC for e in unsealed}) >= 25
    for event in unsealed + traced:
        assert stored_payload(event) == dict_encoded(event), event.TOPIC
        stored = MAPPER.to_stored_event(event)
        assert MAPPER.to_domain_event(stored) == event, event.TOPIC


# ---------------------------------------------------------------------------------------------- validation


def test_every_real_payload_validates_against_its_schema() -> None:
    seen = set()
    for event in real_events():
        schemas.validate_message(stored_payload(event), event.TOPIC)
        seen.add(event.TOPIC)
    # The histories reach every context and most events: a smaller set means the builders lost coverage.
    assert {name.split(".", 1)[0] for name in seen} == set(schemas.CONTEXTS)
    assert len(seen) >= 35, sorted(seen)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda p: p.pop("reporter_name"), "$: 'reporter_name' is a required property"),
        (lambda p: p.update(sum_insured_fen="lots"), "$.sum_insured_fen: 'lots' is not of type 'integer'"),
        (lambda p: p.update(sum_insured_fen=-1), "$.sum_insured_fen: -1 is less than the minimum of 0"),
        (lambda p: p.update(correlation_id="not-a-uuid"), "$.correlation_id: 'not-a-uuid' is not a 'uuid'"),
        (lambda p: p.update(class_version=1), "$.class_version: 2 was expected"),
        (lambda p: p.update(reporter_name=""), "$.reporter_name: '' should be non-empty"),
        (lambda p: p.update(extra="x"), "Additional properties are not allowed ('extra' was unexpected)"),
        (lambda p: p["actor"].update(role="janitor"), "$.actor.role: 'janitor' is not one of"),
    ],
    ids=["missing", "wrong-type", "negative-money", "bad-uuid", "old-version", "empty", "extra", "nested"],
)
def test_a_broken_payload_is_refused_with_the_path_and_the_reason(change: Any, problem: str) -> None:
    payload = a_reported_claim_payload()
    change(payload)
    with pytest.raises(schemas.PayloadSchemaError) as refused:
        schemas.validate_message(orjson.dumps(payload), ClaimReported.TOPIC)
    assert refused.value.wire_name == ClaimReported.TOPIC
    assert any(problem in p for p in refused.value.problems), refused.value.problems
    assert str(refused.value).startswith("claim.reported.v2 payload does not match its schema: ")


def test_a_value_that_is_not_json_is_refused() -> None:
    with pytest.raises(schemas.PayloadSchemaError, match="not JSON"):
        schemas.validate_message(b"\x00garbage", ClaimReported.TOPIC)


def test_an_unknown_or_old_wire_name_has_no_schema() -> None:
    unknown = re.escape("no event is published as 'claim.eaten.v1'")
    with pytest.raises(schemas.UnknownEventError, match=unknown):
        schemas.validate_message(b"{}", "claim.eaten.v1")
    with pytest.raises(schemas.UnknownEventError, match=re.escape("old wire name of 'claim.reported.v2'")):
        schemas.validate_message(b"{}", "claim.reported.v1")


# ---------------------------------------------------------------------------------------------- AsyncAPI


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return schemas.asyncapi_document(PREFIX)


def _resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _validator_for(document: dict[str, Any], ref: str) -> Draft202012Validator:
    # The whole document is the root resource, so the schema's internal references resolve as written.
    return Draft202012Validator({**document, "$ref": ref}, format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_the_asyncapi_document_has_one_channel_per_context_at_its_topic(document: dict[str, Any]) -> None:
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] == "caseledger events"
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == {f"{PREFIX}.{context}" for context in schemas.CONTEXTS}
    for channel in document["channels"].values():
        assert channel["bindings"]["kafka"]["topic"] == channel["address"]
    actions = {op["action"] for op in document["operations"].values()}
    assert actions == {"send"}
    assert len(document["operations"]) == len(schemas.CONTEXTS)


def test_every_event_is_a_message_of_its_contexts_channel(document: dict[str, Any]) -> None:
    messages = document["components"]["messages"]
    assert set(messages) == {c.TOPIC for c in EVENT_CLASSES}
    for event_class in EVENT_CLASSES:
        address = f"{PREFIX}.{schemas.context_of(event_class)}"
        channel = next(ch for ch in document["channels"].values() if ch["address"] == address)
        assert event_class.TOPIC in channel["messages"]
        message = messages[event_class.TOPIC]
        assert message["name"] == event_class.TOPIC
        assert message["payload"] == {"$ref": f"#/components/schemas/{event_class.__name__}"}
        assert message["bindings"]["kafka"]["key"]["format"] == "uuid"
    for operation in document["operations"].values():
        channel = _resolve(document, operation["channel"]["$ref"])
        assert len(operation["messages"]) == len(channel["messages"])


def test_every_reference_in_the_asyncapi_document_resolves(document: dict[str, Any]) -> None:
    for ref in set(_refs(document)):
        _resolve(document, ref)


def test_the_asyncapi_payloads_say_what_the_payload_schemas_say(document: dict[str, Any]) -> None:
    components = document["components"]["schemas"]
    for event_class in EVENT_CLASSES:
        schema = schemas.payload_schema(event_class)
        definitions = schema.pop("$defs", {})
        for key in ("$schema", "$id"):
            schema.pop(key)
        as_components = orjson.loads(orjson.dumps(schema).replace(b"#/$defs/", b"#/components/schemas/"))
        assert components[event_class.__name__] == as_components, event_class.__name__
        # Shared definitions (Actor, enums) land in one namespace: two different ones of one name would clash.
        for name, definition in definitions.items():
            moved = orjson.loads(orjson.dumps(definition).replace(b"#/$defs/", b"#/components/schemas/"))
            assert components[name] == moved, name


def test_real_message_headers_and_key_match_the_documented_ones(document: dict[str, Any]) -> None:
    checked = 0
    for position, event in enumerate(real_events(), start=1):
        context = schemas.context_of(type(event))
        notification = Notification(
            originator_id=event.originator_id,
            originator_version=event.originator_version,
            topic=event.TOPIC,
            state=stored_payload(event),
            id=position,
        )
        message = contract.message_for(PREFIX, context, notification, notification.state)
        pointer = f"#/components/messages/{event.TOPIC.replace('~', '~0')}"
        headers = {name: value.decode() for name, value in message.headers}
        _validator_for(document, f"{pointer}/headers").validate(headers)
        _validator_for(document, f"{pointer}/bindings/kafka/key").validate(message.key.decode())
        assert message.topic in {ch["address"] for ch in document["channels"].values()}
        checked += 1
    assert checked > 0


def test_a_header_of_another_event_type_is_refused(document: dict[str, Any]) -> None:
    event = next(e for e in a_closed_claim().collect_events() if isinstance(e, ClaimReported))
    notification = Notification(event.originator_id, event.originator_version, "claim.closed.v1", b"{}", 1)
    message = contract.message_for(PREFIX, "claim", notification, stored_payload(event))
    headers = {name: value.decode() for name, value in message.headers}
    validator = _validator_for(document, f"#/components/messages/{ClaimReported.TOPIC}/headers")
    assert not validator.is_valid(headers)


# ---------------------------------------------------------------------------------------------- export


def test_export_writes_the_asyncapi_document_and_one_schema_per_event(tmp_path: Path) -> None:
    target = tmp_path / "contract" / "v1"
    written = schemas.export(target, PREFIX)
    expected = {"asyncapi.json"} | {f"{c.TOPIC}.schema.json" for c in EVENT_CLASSES}
    assert {path.name for path in written} == expected
    assert {path.name for path in target.iterdir()} == expected
    assert all(path.parent == target for path in written)
    asyncapi = orjson.loads((target / "asyncapi.json").read_bytes())
    assert asyncapi["asyncapi"] == "3.0.0"
    assert {ch["address"] for ch in asyncapi["channels"].values()} == {
        f"{PREFIX}.{context}" for context in schemas.CONTEXTS
    }
    reported = orjson.loads((target / "claim.reported.v2.schema.json").read_bytes())
    assert reported == schemas.payload_schema(ClaimReported)


def test_an_exported_schema_validates_a_real_payload_on_its_own(tmp_path: Path) -> None:
    schemas.export(tmp_path, PREFIX)
    schema = orjson.loads((tmp_path / "claim.reported.v2.schema.json").read_bytes())
    payload = orjson.loads(stored_payload(next(iter(real_events()))))
    Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(payload)
    assert payload["class_version"] == 2
    assert UUID(payload["correlation_id"])
