"""What every use case's input shares: one pydantic model per use case, the service's argument and the
HTTP request body at once. Who sends a command comes from the caller (the token), never from here.

Money is integer fen; times are timezone-aware ISO 8601; unknown fields are refused, so that a command can
never smuggle in an actor or a version.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict, JsonValue

_NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, StringConstraints(min_length=1, max_length=4000, pattern=_NO_NUL)]
"""Free text: not empty, no NUL character (PostgreSQL text cannot hold one)."""
OptionalText = Annotated[str, StringConstraints(max_length=4000, pattern=_NO_NUL)]
"""Free text that may be empty (the domain decides whether it must say something)."""
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=_NO_NUL)]
"""A short identifier, reference or name."""
Fen = Annotated[int, Field(ge=0, le=10**15, description="amount in fen (0.01 CNY)")]
"""Exact money: integer fen, never a float."""
SignedFen = Annotated[int, Field(ge=-(10**15), le=10**15, description="signed amount in fen (0.01 CNY)")]
"""A change of money, which may be negative: integer fen."""
Names = Annotated[list[Name], Field(max_length=100)]


def examples(*cases: JsonDict) -> ConfigDict:
    """A body's OpenAPI examples: what a client reads first, so they are realistic and always valid.

    tests/api/test_openapi_examples.py validates each one against the model and its JSON schema, so an
    example cannot drift from the body it illustrates. Personal data in them is fictitious (张三, 李四).
    """
    listed: list[JsonValue] = list(cases)
    return ConfigDict(json_schema_extra={"examples": listed})


class Command(BaseModel):
    """Base of every use case's input: strict about unknown fields, immutable once made."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def arguments(self) -> dict[str, Any]:
        """The domain command's keyword arguments: lists become the tuples the domain records."""
        return {name: tuple(value) if isinstance(value, list) else value for name, value in self}


class Reason(Command):
    """The shape of a step that only states its reason (a reopening, a withdrawal): each use case
    names its own subclass."""

    model_config = examples(
        {"reason": "the repair shop found hidden damage to the rear chassis rail"},
        {"reason": "the customer settled directly with the other driver's insurer"},
    )

    reason: Text
