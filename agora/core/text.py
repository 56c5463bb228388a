"""Checks shared by every text field that reaches the database."""

from __future__ import annotations

from agora.core.errors import ValidationFailed


def clean_text(value: str | None, *, field: str, max_length: int, required: bool = False) -> str:
    text = (value or "").strip()
    if "\x00" in text:
        # PostgreSQL refuses NUL in text; say so instead of failing with a 500.
        raise ValidationFailed("Text cannot contain NUL characters.", code="invalid_text", field=field)
    if required and not text:
        raise ValidationFailed(f"{field.replace('_', ' ').capitalize()} is required.", code="required", field=field)
    if len(text) > max_length:
        raise ValidationFailed(
            f"{field.replace('_', ' ').capitalize()} is too long ({len(text)} characters; at most {max_length}).",
            code="too_long",
            field=field,
        )
    return text
