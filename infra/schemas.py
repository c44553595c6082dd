"""The published event contract as documents: a JSON Schema per event payload and an AsyncAPI 3.0 document.

Both are generated, so they cannot drift from the code: the payload schemas from the event classes, the
AsyncAPI document by FastStream from one publisher per topic. FastStream 0.7.8 documents one message per
publisher and neither Kafka headers nor the record key, so ``asyncapi_document`` turns that message into one
message per event (each referencing the payload schema FastStream generated) and adds the headers and key
of ``infra.messaging.contract``.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import inspect
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, Union, cast

import orjson
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from pydantic import BaseModel, ConfigDict, create_model

from domain.base import DomainEvent, Role
from infra.messaging import contract
from infra.services.callbacks import Callbacks
from infra.services.claims import Claims
from infra.services.complaints import Complaints
from infra.services.inquiries import Inquiries
from infra.services.policies import Policies
from infra.services.privacy import Privacy
from infra.services.service_orders import ServiceOrders
from infra.services.service_requests import ServiceRequests
from infra.services.timers import Timers
from infra.store.eventstore import CaseApplication
from infra.tracing import H_TRACEPARENT, H_TRACESTATE

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

APPLICATIONS: tuple[type[CaseApplication[Any]], ...] = (
    Policies,
    Claims,
    Complaints,
    Callbacks,
    Timers,
    Privacy,
    ServiceRequests,
    Inquiries,
    ServiceOrders,
)
"""Every application whose events are published: each names its context (topic) and its aggregate."""
CONTEXTS: tuple[str, ...] = tuple(app.bounded_context for app in APPLICATIONS)
AGGREGATE_MODULES: tuple[ModuleType, ...] = tuple(
    importlib.import_module(app.aggregate_class.__module__) for app in APPLICATIONS
)

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_BASE_URI = "https://caseledger.invalid/schemas/"
ASYNCAPI_FILE = "asyncapi.json"
DEFAULT_BOOTSTRAP_SERVERS = "127.0.0.1:9092"

# The mapper keeps these two in the stored row's columns, not in the payload (infra/mapper.py).
_NOT_IN_PAYLOAD = frozenset({"originator_id", "originator_version"})
# The Kafka bindings version FastStream 0.7.8 writes on channels; messages use the same one.
_KAFKA_BINDING_VERSION = "0.4.0"
_HEADERS_COMPONENT = "CaseEventHeaders"


class UnknownEventError(LookupError):
    """No published schema exists for this wire name."""


class PayloadSchemaError(ValueError):
    """A message value does not match the schema of its event."""

    def __init__(self, wire_name: str, problems: list[str]) -> None:
        super().__init__(f"{wire_name} payload does not match its schema: " + "; ".join(problems))
        self.wire_name = wire_name
        self.problems = problems


# ---------------------------------------------------------------------------------------------- events


@functools.cache
def _event_classes() -> tuple[type[DomainEvent], ...]:
    found = {
        obj.TOPIC: obj
        for module in AGGREGATE_MODULES
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, DomainEvent)
        and obj.__module__ == module.__name__
        and "TOPIC" in obj.__dict__
    }
    return tuple(found[name] for name in sorted(found))


def event_classes() -> list[type[DomainEvent]]:
    """Every concrete event class of the published aggregates' modules, sorted by wire name."""
    return list(_event_classes())


def context_of(event_class: type[DomainEvent]) -> str:
    """The bounded context, and so the topic, an event class is published on."""
    return event_class.TOPIC.split(".", 1)[0]


def _class_version(event_class: type[DomainEvent]) -> int:
    return int(getattr(event_class, "class_version", 1))


@functools.cache
def payload_model(event_class: type[DomainEvent]) -> type[BaseModel]:
    """A pydantic model of exactly what the mapper stores and the relay publishes for this event."""
    fields: dict[str, Any] = {
        name: (info.annotation, info)
        for name, info in event_class.model_fields.items()
        if name not in _NOT_IN_PAYLOAD
    }
    version = _class_version(event_class)
    if version > 1:
        # The mapper adds the shape's version to every payload newer than version 1.
        fields["class_version"] = (Literal[version], ...)
    model: type[BaseModel] = create_model(
        event_class.__name__,
        __config__=ConfigDict(frozen=True, extra="forbid"),
        __doc__=event_class.__doc__,
        __module__=__name__,
        **fields,
    )
    return model


def payload_schema(event_class: type[DomainEvent]) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the payload that is stored and published for this event."""
    schema = payload_model(event_class).model_json_schema(mode="serialization")
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"{SCHEMA_BASE_URI}{event_class.TOPIC}.json",
        **schema,
    }


# ---------------------------------------------------------------------------------------------- AsyncAPI


def asyncapi_document(prefix: str, *, bootstrap_servers: str = DEFAULT_BOOTSTRAP_SERVERS) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the event topics: channels, keys, headers and payloads."""
    broker = KafkaBroker(
        bootstrap_servers,
        description="caseledger's event topics; with no Kafka configured, the embedded broker.",
    )
    by_context = {context: [c for c in _event_classes() if context_of(c) == context] for context in CONTEXTS}
    for context, classes in by_context.items():
        topic = contract.topic_name(prefix, context)
        broker.publisher(
            topic,
            title=topic,
            description=(
                f"Every committed {context} case event, in order per case: key = case id, "
                "value = the event payload as JSON, type in the ce_type header."
            ),
            # Payloads carry no type field (the type travels in ce_type), so this is a plain union.
            schema=Union[tuple(payload_model(c) for c in classes)],  # noqa: UP007
        )
    spec = AsyncAPI(
        broker,
        title="caseledger events",
        version=_package_version(),
        description=(
            "Events of policies, claims, complaints, callbacks, data subjects, inquiries and service orders "
            "as committed to the event "
            "store. "
            "Headers follow the CloudEvents 1.0 Kafka binary binding; values are UTF-8 text."
        ),
    ).to_specification()
    document = cast(dict[str, Any], spec.to_jsonable())
    document["components"]["schemas"][_HEADERS_COMPONENT] = _common_headers_schema()
    for context, classes in by_context.items():
        _one_message_per_event(document, contract.topic_name(prefix, context), context, classes)
    return document


def _package_version() -> str:
    try:
        return importlib.metadata.version("caseledger")
    except importlib.metadata.PackageNotFoundError:
        # Run from a source tree that was never installed: the contract is still worth exporting.
        return "0.0.0"


def _ref(*parts: str) -> dict[str, str]:
    return {"$ref": "#/" + "/".join(parts)}


def _one_message_per_event(
    document: dict[str, Any], topic: str, context: str, classes: list[type[DomainEvent]]
) -> None:
    """Replace FastStream's single union message of a channel by one message per event."""
    components = document["components"]
    channel_key = next(key for key, ch in document["channels"].items() if ch["address"] == topic)
    channel = document["channels"][channel_key]
    for generated in channel["messages"].values():
        name = generated["$ref"].rsplit("/", 1)[-1]
        union = components["messages"].pop(name)["payload"]["$ref"].rsplit("/", 1)[-1]
        if union not in {c.__name__ for c in classes}:
            components["schemas"].pop(union)
    channel["messages"] = {}
    for event_class in classes:
        name = event_class.TOPIC
        if event_class.__name__ not in components["schemas"]:
            raise RuntimeError(f"FastStream did not generate the payload schema of {event_class.__name__}")
        components["messages"][name] = _message(event_class, context)
        channel["messages"][name] = _ref("components", "messages", name)
    for operation in document["operations"].values():
        if operation["channel"] == _ref("channels", channel_key):
            operation["messages"] = [
                _ref("channels", channel_key, "messages", name) for name in channel["messages"]
            ]


def _message(event_class: type[DomainEvent], context: str) -> dict[str, Any]:
    description = inspect.getdoc(event_class) or ""
    return {
        "name": event_class.TOPIC,
        "title": event_class.__name__,
        "summary": description.splitlines()[0] if description else "",
        "description": description,
        "contentType": contract.CONTENT_TYPE.decode(),
        "correlationId": {"location": f"$message.header#/{contract.H_CORRELATION}"},
        "headers": {
            "allOf": [
                _ref("components", "schemas", _HEADERS_COMPONENT),
                {
                    "type": "object",
                    "properties": {
                        "ce_type": {"const": event_class.TOPIC},
                        "ce_source": {"const": f"caseledger/{context}"},
                        contract.H_CONTEXT: {"const": context},
                    },
                },
            ]
        },
        "payload": _ref("components", "schemas", event_class.__name__),
        "bindings": {
            "kafka": {
                "key": {"type": "string", "format": "uuid", "description": "the case id"},
                "bindingVersion": _KAFKA_BINDING_VERSION,
            }
        },
    }


def _common_headers_schema() -> dict[str, Any]:
    """The Kafka headers every case event carries (``infra.messaging.contract.message_for``)."""
    uuid = {"type": "string", "format": "uuid"}
    positive = {"type": "string", "pattern": "^[1-9][0-9]*$"}
    properties: dict[str, dict[str, Any]] = {
        "ce_specversion": {"const": contract.SPEC_VERSION.decode()},
        "ce_id": {**uuid, "description": "stable per (case id, version): a republished event keeps it"},
        "ce_source": {"type": "string", "description": "caseledger/<context>"},
        "ce_type": {"type": "string", "description": "the versioned wire name, e.g. claim.reported.v2"},
        "ce_time": {"type": "string", "format": "date-time", "description": "when the event was recorded"},
        "ce_subject": {**uuid, "description": "the case id (also the record key)"},
        "content-type": {"const": contract.CONTENT_TYPE.decode()},
        contract.H_SEQUENCE: {
            "type": "string",
            "pattern": f"^[0-9]{{{contract.SEQUENCE_DIGITS}}}$",
            "description": "CloudEvents sequence extension: the case version, zero-padded (orders as text)",
        },
        contract.H_PARTITION_KEY: {**uuid, "description": "CloudEvents partitioning extension: the case id"},
        contract.H_CONTEXT: {"enum": list(CONTEXTS)},
        contract.H_VERSION: {**positive, "description": "the case's version after this event"},
        contract.H_POSITION: {**positive, "description": "the position in the event store's log"},
        contract.H_CORRELATION: uuid,
        contract.H_CAUSATION: {**uuid, "description": "absent when none"},
        contract.H_ACTOR_ID: {"type": "string", "minLength": 1},
        contract.H_ACTOR_ROLE: {"enum": [role.value for role in Role]},
        H_TRACEPARENT: {
            "type": "string",
            "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
            "description": "CloudEvents distributed-tracing extension: the W3C traceparent of the span "
            "that published the event (a child of the command's); absent when the command was not traced",
        },
        H_TRACESTATE: {"type": "string", "description": "the W3C tracestate that goes with it, if any"},
    }
    optional = {contract.H_CAUSATION, H_TRACEPARENT, H_TRACESTATE}
    required = [name for name in properties if name not in optional]
    for current, old in contract.DEPRECATED_HEADERS.items():
        properties[old] = {
            **properties[current],
            "description": f"deprecated (one release): the same value as {current}",
            "deprecated": True,
        }
    properties[contract.DEPRECATED_HEADERS[contract.H_CAUSATION]] = {
        "anyOf": [uuid, {"const": ""}],
        "description": f"deprecated (one release): {contract.H_CAUSATION}, or empty when none",
        "deprecated": True,
    }
    return {
        "title": _HEADERS_COMPONENT,
        "description": "Kafka record headers of a case event; every value is UTF-8 text.",
        "type": "object",
        "properties": properties,
        "required": required,
    }


# ---------------------------------------------------------------------------------------------- files


def export(directory: Path, prefix: str, *, bootstrap_servers: str = DEFAULT_BOOTSTRAP_SERVERS) -> list[Path]:
    """Write ``asyncapi.json`` and one ``<wire name>.schema.json`` per event; return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    documents: dict[str, dict[str, Any]] = {
        ASYNCAPI_FILE: asyncapi_document(prefix, bootstrap_servers=bootstrap_servers)
    }
    documents.update({f"{c.TOPIC}.schema.json": payload_schema(c) for c in _event_classes()})
    written = []
    for file_name, document in documents.items():
        path = directory / file_name
        path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE))
        written.append(path)
    return written


# ---------------------------------------------------------------------------------------------- validation


@functools.cache
def _validator(wire: str) -> Validator:
    # Imported here so that exporting the contract does not need the validation library.
    from jsonschema import Draft202012Validator

    event_class = {c.TOPIC: c for c in _event_classes()}.get(wire)
    if event_class is None:
        raise UnknownEventError(_unknown(wire))
    return Draft202012Validator(
        payload_schema(event_class), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def _unknown(wire: str) -> str:
    # By name only: resolving an untrusted header through the topic registry could import any module.
    stem = wire.rpartition(".v")[0]
    current = [c.TOPIC for c in _event_classes() if stem and c.TOPIC.rpartition(".v")[0] == stem]
    if current:
        return f"{wire!r} is an old wire name of {current[0]!r}: upcast on load, it has no published schema"
    return f"no event is published as {wire!r}"


def validate_message(value: bytes, wire_name: str) -> None:
    """Check a published message value against the schema of its event; raise PayloadSchemaError if not."""
    validator = _validator(wire_name)
    try:
        payload = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise PayloadSchemaError(wire_name, [f"not JSON: {exc}"]) from exc
    errors = sorted(validator.iter_errors(payload), key=lambda error: error.json_path)
    if errors:
        raise PayloadSchemaError(wire_name, [f"{error.json_path}: {error.message}" for error in errors])
