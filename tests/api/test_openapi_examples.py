"""The OpenAPI document's examples: every request body has one, and none can drift from its model.

An example is checked twice: against the JSON schema the document publishes (what a client or a code
generator sees) and against the pydantic model the API validates with (what the server accepts). The two
can differ (a pattern the schema keeps loosely, a custom validator), so neither check alone is enough.
Both read the examples from the built document, not from the models: FastAPI drops null values from the
document, so an example with a null in it would reach clients without that required field.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from jsonschema import Draft202012Validator, FormatChecker
from pydantic import BaseModel
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from starlette.routing import BaseRoute

from api.app import create_app
from infra.bootstrap import System

pytestmark = pytest.mark.integration

DOCUMENT_URI = "urn:caseledger:openapi"

FORMATS = FormatChecker()
"""jsonschema's own format checks, and date-time: its checker needs a package the project does not install."""


@FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None


@pytest.fixture
def app(api_system: System) -> FastAPI:
    return create_app(api_system)


def _json_body(operation: dict[str, Any]) -> dict[str, Any] | None:
    body = operation.get("requestBody")
    if body is None:
        return None
    media: dict[str, Any] = body["content"]["application/json"]
    return media


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    name = ref.removeprefix("#/components/schemas/")
    component: dict[str, Any] = document["components"]["schemas"][name]
    return component


def _body_examples(document: dict[str, Any], media: dict[str, Any]) -> list[Any]:
    """The examples a client sees for a body: the media type's own, or its (referenced) schema's."""
    named = [example["value"] for example in media.get("examples", {}).values() if "value" in example]
    single = [media["example"]] if "example" in media else []
    return [*named, *single, *_resolve(document, media["schema"]).get("examples", [])]


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    # The document is registered as one resource, so that the schemas' "#/components/schemas/..." refs
    # resolve inside it exactly as an OpenAPI 3.1 tool resolves them.
    registry: Registry[Any] = Registry().with_resource(
        DOCUMENT_URI, Resource.from_contents(document, default_specification=DRAFT202012)
    )
    return Draft202012Validator(
        {"$ref": DOCUMENT_URI + schema["$ref"]} if "$ref" in schema else schema,
        registry=registry,
        format_checker=FORMATS,
    )


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        for field in annotation.model_fields.values():
            yield from _models_in(field.annotation)
    for argument in typing.get_args(annotation):
        yield from _models_in(argument)


def _api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        # An included router is a route of its own in newer FastAPI (its routes sit on the original router).
        included = getattr(route, "original_router", route)
        yield from _api_routes(getattr(included, "routes", []))


def _api_models(app: FastAPI) -> dict[str, type[BaseModel]]:
    """Every pydantic model the routes take or answer with, nested ones included, by class name."""
    found: dict[str, type[BaseModel]] = {}
    for route in _api_routes(app.routes):
        annotations = [
            parameter.annotation
            for parameter in inspect.signature(route.endpoint, eval_str=True).parameters.values()
        ]
        annotations.append(route.response_model)
        annotations.extend(response.get("model") for response in route.responses.values())
        for annotation in annotations:
            for model in _models_in(annotation):
                found[model.__name__] = model
    return found


def test_every_operation_with_a_request_body_has_an_example_when_the_document_is_built(app: FastAPI) -> None:
    document = app.openapi()
    bodies = 0
    missing: list[str] = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            media = _json_body(operation)
            if media is None:
                continue
            bodies += 1
            if not _body_examples(document, media):
                missing.append(f"{method.upper()} {path}")

    assert bodies > 60  # every command route with a body was looked at
    assert missing == [], f"{len(missing)} of {bodies} request bodies have no example: {missing}"


def test_every_example_in_the_document_validates_against_its_json_schema_when_refs_are_resolved(
    app: FastAPI,
) -> None:
    document = app.openapi()
    checked = 0
    invalid: list[str] = []
    for name, schema in document["components"]["schemas"].items():
        validator = _validator(document, {"$ref": f"#/components/schemas/{name}"})
        for example in schema.get("examples", []):
            checked += 1
            invalid.extend(f"{name}: {error.message}" for error in validator.iter_errors(example))
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            media = _json_body(operation)
            if media is None or "$ref" in media["schema"]:
                continue  # a referenced schema's examples were checked with the components
            validator = _validator(document, media["schema"])
            for example in _body_examples(document, media):
                checked += 1
                invalid.extend(
                    f"{method} {path}: {error.message}" for error in validator.iter_errors(example)
                )

    assert checked > 60
    assert invalid == []


def test_every_example_in_the_document_is_accepted_by_its_pydantic_model_when_validated(app: FastAPI) -> None:
    document = app.openapi()
    models = _api_models(app)
    checked = 0
    unmatched: list[str] = []
    for name, schema in document["components"]["schemas"].items():
        examples = schema.get("examples", [])
        if not examples:
            continue
        model = models.get(name)
        if model is None:
            unmatched.append(name)  # an example no model check covers: it could drift unseen
            continue
        for example in examples:
            model.model_validate(example)
            checked += 1

    assert unmatched == []
    assert checked > 60


def test_the_example_check_fails_when_an_example_breaks_its_schema(app: FastAPI) -> None:
    document = app.openapi()
    validator = _validator(document, {"$ref": "#/components/schemas/ReportClaim"})
    example = dict(document["components"]["schemas"]["ReportClaim"]["examples"][0])
    example["loss_at"] = "yesterday"
    example["smuggled_actor"] = "someone"

    messages = {error.message for error in validator.iter_errors(example)}

    assert any("smuggled_actor" in message for message in messages)  # unknown fields are refused
    assert any("yesterday" in message for message in messages)  # date-time is format-checked
