"""Building blocks shared by every app's API schemas: safe input types, the error body, response maps."""

from __future__ import annotations

from typing import Annotated, Any

from django.utils.translation import gettext as _
from ninja import Field, Schema
from pydantic import AfterValidator, BaseModel, field_validator, model_validator
from pydantic.functional_validators import ModelWrapValidatorHandler

NUL = "\x00"
# Ids are 64-bit in the database; a bigger number can only be a miss, so it is refused before any query.
MAX_ID = 2**63 - 1


def _no_nul(value: Any) -> Any:
    """PostgreSQL refuses NUL in text; refuse it here, with a 422, before it reaches a query."""
    if isinstance(value, str):
        if NUL in value:
            raise ValueError(_("Text cannot contain NUL characters."))
    elif isinstance(value, list | tuple):
        for item in value:
            _no_nul(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_nul(key)
            _no_nul(item)
    return value


# A string from a path or a query string (body schemas get the same check from InputSchema).
Text = Annotated[str, AfterValidator(_no_nul)]
Slug = Annotated[str, Field(min_length=1, max_length=80), AfterValidator(_no_nul)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class InputSchema(Schema):
    """Base of every request body: unknown NULs are refused in any text, however deeply nested."""

    @model_validator(mode="wrap")
    @classmethod
    def _object_only(cls, value: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        # ninja's Schema reads fields as attributes of whatever it is given, so `[]`, `"x"` or `1` would pass
        # as an empty object when every field is optional (a PATCH then changes nothing and answers 200).
        if not isinstance(value, dict | BaseModel):
            raise ValueError(_("Send a JSON object."))
        return handler(value)

    @field_validator("*", mode="after")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        return _no_nul(value)


class FieldErrorOut(Schema):
    field: str
    message: str


class ErrorOut(Schema):
    """Every error the API returns has this shape."""

    detail: str = Field(..., description="What went wrong, in words meant for a person.")
    code: str = Field(..., description="A stable machine-readable code, e.g. `not_found` or `sku_taken`.")
    field: str | None = Field(None, description="The input field the error is about, when there is one.")
    errors: list[FieldErrorOut] | None = Field(None, description="With code `invalid`: every field at fault.")


class MessageOut(Schema):
    detail: str


# Every 4xx an endpoint may answer, documented so that clients (and schemathesis) know their shape.
ERROR_STATUSES = frozenset({400, 401, 403, 404, 409, 413, 422, 429})


def responses(success: dict[int, Any]) -> dict[Any, Any]:
    """The response map of an operation: its success bodies plus the common error body for every 4xx."""
    return {**success, ERROR_STATUSES: ErrorOut}
