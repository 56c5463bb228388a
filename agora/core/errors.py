"""Domain errors. Each app raises subclasses; the API and the web map them to HTTP once."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _


class DomainError(Exception):
    """A rule of the domain said no. ``status`` is the HTTP status it maps to."""

    status: int = 400
    code: str = "invalid"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field
        self.extra = extra

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"detail": self.message, "code": self.code}
        if self.field:
            body["field"] = self.field
        body.update(self.extra)
        return body


class ValidationFailed(DomainError):
    status = 422
    code = "invalid"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class PermissionDenied(DomainError):
    status = 403
    code = "permission_denied"


class NotAuthenticated(DomainError):
    status = 401
    code = "not_authenticated"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"


# The database could not serve in time (no free pooled connection during a burst, a deadlock victim, SQLite busy):
# the transaction was rolled back, so the API and the web answer 503 with this hint rather than a 500.
RETRY_AFTER_SECONDS = 2


def busy_message() -> str:
    return _(
        "We are very busy right now and could not finish your request; nothing was changed. Try again in a moment."
    )
