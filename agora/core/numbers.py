"""Whole numbers typed by people or sent in JSON: plain ASCII digits or an int, never a bool or a float."""

from __future__ import annotations

from django.utils.translation import gettext as _

from agora.core.errors import DomainError, ValidationFailed


def whole_number(
    value: object,
    *,
    field: str,
    low: int,
    high: int,
    what: str,
    error: type[DomainError] = ValidationFailed,
) -> int:
    """``value`` as an int from ``low`` to ``high``, else ``error`` (the app's own) naming ``what`` and ``field``."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise error(_("%(what)s must be a whole number.") % {"what": what}, field=field)
    if not low <= value <= high:
        raise error(
            _("%(what)s must be between %(low)d and %(high)d.") % {"what": what, "low": low, "high": high},
            field=field,
        )
    return value
