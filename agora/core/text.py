"""Checks shared by every text field that reaches the database."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from agora.core.errors import ValidationFailed

# How the fields that services check are named inside their messages ("Title is required."), so that the
# name is translated with the message. A field missing here is shown by its own name.
FIELD_LABELS: dict[str, Promise] = {
    "alt": pgettext_lazy("field name in a message", "Alt text"),
    "bio": pgettext_lazy("field name in a message", "Bio"),
    "description": pgettext_lazy("field name in a message", "Description"),
    "display_name": pgettext_lazy("field name in a message", "Display name"),
    "email": pgettext_lazy("field name in a message", "Email"),
    "name": pgettext_lazy("field name in a message", "Name"),
    "options": pgettext_lazy("field name in a message", "Options"),
    "sku": pgettext_lazy("field name in a message", "SKU"),
    "slug": pgettext_lazy("field name in a message", "Slug"),
    "stock_quantity": pgettext_lazy("field name in a message", "Stock quantity"),
    "tags": pgettext_lazy("field name in a message", "Tags"),
    "title": pgettext_lazy("field name in a message", "Title"),
    "username": pgettext_lazy("field name in a message", "Username"),
    "weight_grams": pgettext_lazy("field name in a message", "Weight in grams"),
}


def field_label(field: str) -> str:
    label = FIELD_LABELS.get(field)
    return str(label) if label is not None else field.replace("_", " ").capitalize()


def clean_text(value: str | None, *, field: str, max_length: int, required: bool = False) -> str:
    text = (value or "").strip()
    if "\x00" in text:
        # PostgreSQL refuses NUL in text; say so instead of failing with a 500.
        raise ValidationFailed(_("Text cannot contain NUL characters."), code="invalid_text", field=field)
    if required and not text:
        raise ValidationFailed(
            _("%(field)s is required.") % {"field": field_label(field)}, code="required", field=field
        )
    if len(text) > max_length:
        raise ValidationFailed(
            _("%(field)s is too long (%(length)d characters; at most %(max)d).")
            % {"field": field_label(field), "length": len(text), "max": max_length},
            code="too_long",
            field=field,
        )
    return text
