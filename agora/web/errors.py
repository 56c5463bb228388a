"""Domain errors on the web: a form shows them next to the field; anything else gets an error page."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django import forms
from django.conf import settings
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render, resolve_url

from agora.core.errors import RETRY_AFTER_SECONDS, DomainError, NotAuthenticated, busy_message

logger = logging.getLogger("agora.web")


def apply_domain_error(form: forms.BaseForm, exc: DomainError) -> None:
    """Attach a service's error to the form field it concerns (or to the whole form)."""
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


class DomainErrorMiddleware:
    """Turns a DomainError that escaped a view into a page with the right status and the error's message."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if request.path.startswith("/api/"):
            return None
        if isinstance(exception, OperationalError):
            # Rolled back (no free database connection in time, a deadlock victim): the visitor may retry.
            logger.warning("web_database_busy", extra={"path": request.path, "error": str(exception)})
            response = render(
                request, "web/error.html", {"status": 503, "message": busy_message(), "code": "busy"}, status=503
            )
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        if not isinstance(exception, DomainError):
            return None
        if isinstance(exception, NotAuthenticated):
            from django.contrib.auth.views import redirect_to_login

            return redirect_to_login(request.get_full_path())
        return render(
            request,
            "web/error.html",
            {"status": exception.status, "message": exception.message, "code": exception.code},
            status=exception.status,
        )


class HtmxLoginRedirectMiddleware:
    """An HTMX request whose session has expired is sent to the login page as a whole page.

    Without this, htmx follows the 302 itself and swaps the login form into a table row.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            getattr(request, "htmx", False)
            and response.status_code == 302
            and response["Location"].split("?")[0] == resolve_url(settings.LOGIN_URL)
        ):
            redirect = HttpResponse(status=204)
            redirect["HX-Redirect"] = response["Location"]
            return redirect
        return response
