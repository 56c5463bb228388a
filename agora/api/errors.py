"""Every error of the API as JSON ``{"detail": ..., "code": ...}`` (plus ``field`` when one is at fault).

Domain errors carry their own status and code and are mapped once, here. Whatever else escapes an
endpoint is logged and answered with a 500 that says nothing about the code behind it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

from agora.core.errors import RETRY_AFTER_SECONDS, DomainError, busy_message

logger = logging.getLogger("agora.api")

# Names of endpoint parameters that hold a whole body; they are left out of the field path.
BODY_PARAMS = {"payload", "ninja_pagination"}


def error_body(detail: str, code: str, field: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": detail, "code": code}
    if field:
        body["field"] = field
    body.update(extra)
    return body


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in list(loc)[1:] if p not in BODY_PARAMS]
    return ".".join(parts)


def _message(error: dict[str, Any]) -> str:
    msg = str(error.get("msg", "is invalid"))
    # Our own validators raise ValueError; pydantic prefixes its text, which reads badly to a person.
    return msg.removeprefix("Value error, ")


def validation_body(errors: list[dict[str, Any]]) -> dict[str, Any]:
    items = [{"field": _field_name(e.get("loc", ())), "message": _message(e)} for e in errors]
    detail = "; ".join(f"{i['field']}: {i['message']}" if i["field"] else i["message"] for i in items)
    fields = [i["field"] for i in items if i["field"]]
    return error_body(
        detail or _("The request is not valid."),
        "invalid",
        fields[0] if fields else None,
        errors=items,
    )


def install(api: NinjaAPI) -> None:
    """Register the handlers on ``api``; the most specific exception class wins."""

    def respond(request: HttpRequest, body: dict[str, Any], status: int) -> HttpResponse:
        return api.create_response(request, body, status=status)

    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        response = respond(request, exc.as_dict(), exc.status)
        if exc.status == 429:
            response["Retry-After"] = str(int(exc.extra.get("retry_after") or 60))
        if exc.status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return respond(request, validation_body(exc.errors), 422)

    @api.exception_handler(AuthenticationError)
    def not_authenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        if request.headers.get("Authorization"):
            detail = _("The token is not valid: it is unknown, expired or revoked.")
        else:
            detail = _("Authentication required: send 'Authorization: Bearer <token>' or sign in.")
        response = respond(request, error_body(detail, "not_authenticated"), 401)
        response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response

    @api.exception_handler(Throttled)
    def throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
        response = respond(request, error_body(_("Too many requests. Slow down."), "rate_limited"), 429)
        response["Retry-After"] = str(int(exc.wait or 60))
        return response

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        cause = exc.__cause__
        if isinstance(cause, RequestDataTooBig):
            return respond(request, error_body(_("The request body is too large."), "too_large"), 413)
        if exc.status_code == 400 and isinstance(cause, ValueError):
            # json.JSONDecodeError and UnicodeDecodeError both land here.
            if isinstance(cause, json.JSONDecodeError):
                detail = _("The request body is not valid JSON (line %(line)d, column %(column)d).") % {
                    "line": cause.lineno,
                    "column": cause.colno,
                }
            else:
                detail = _("The request body is not valid JSON.")
            return respond(request, error_body(detail, "malformed_json"), 400)
        codes = {400: "bad_request", 401: "not_authenticated", 403: "permission_denied", 404: "not_found"}
        return respond(request, error_body(str(exc), codes.get(exc.status_code, "error")), exc.status_code)

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return respond(request, error_body(_("Not found."), "not_found"), 404)

    @api.exception_handler(DjangoPermissionDenied)
    def permission_denied(request: HttpRequest, exc: DjangoPermissionDenied) -> HttpResponse:
        detail = str(exc) or _("You do not have permission to do this.")
        return respond(request, error_body(detail, "permission_denied"), 403)

    @api.exception_handler(DjangoValidationError)
    def django_validation_error(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        return respond(request, error_body(" ".join(exc.messages), "invalid"), 422)

    @api.exception_handler(MultiPartParserError)
    def bad_multipart(request: HttpRequest, exc: MultiPartParserError) -> HttpResponse:
        return respond(request, error_body(_("The multipart body could not be read."), "malformed_multipart"), 400)

    @api.exception_handler(RequestDataTooBig)
    def too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        return respond(request, error_body(_("The request body is too large."), "too_large"), 413)

    @api.exception_handler(SuspiciousOperation)
    def suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
        return respond(request, error_body(_("The request was refused."), "bad_request"), 400)

    @api.exception_handler(OperationalError)
    def busy(request: HttpRequest, exc: OperationalError) -> HttpResponse:
        # No database connection free in time (a burst queued on the same rows), a deadlock victim, SQLite busy:
        # the transaction was rolled back, so the client may simply try again.
        logger.warning("api_database_busy", extra={"path": request.path, "method": request.method, "error": str(exc)})
        response = respond(request, error_body(busy_message(), "busy"), 503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @api.exception_handler(Exception)
    def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        # The traceback goes to the log, never to the client.
        logger.error("api_unhandled_error", exc_info=exc, extra={"path": request.path, "method": request.method})
        return respond(
            request, error_body(_("Something went wrong on our side. Try again later."), "server_error"), 500
        )
