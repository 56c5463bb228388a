"""Who is calling: a bearer token (``Authorization: Bearer agora_...``) or, from a browser, the session.

``AUTH`` is for endpoints that need a user; ``OPTIONAL_AUTH`` for public reads, which still know the
user when a token or a session comes with the request (so staff see their drafts). A token that is
sent but wrong, expired or revoked is a 401 on either kind: silently treating it as anonymous would
hide the mistake.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from agora.accounts.models import ApiToken, User
from agora.accounts.services import user_for_token
from agora.core.errors import NotAuthenticated, PermissionDenied


class CsrfFailed(PermissionDenied):
    code = "csrf_failed"


class BearerAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        found = user_for_token(token.strip())
        if found is None:
            return None
        user, api_token = found
        request.user = user
        request.api_token = api_token  # type: ignore[attr-defined]
        return user


class SessionAuth(APIKeyCookie):
    """The browser's Django session. Unsafe methods need the CSRF token, as on any form of the site."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            # Checked first so that a caller without a session gets a 401, not a CSRF complaint.
            return None
        if check_csrf(request) is not None:
            raise CsrfFailed(
                _(
                    "CSRF check failed. From a browser send the X-CSRFToken header with the csrftoken cookie; "
                    "other clients use a bearer token."
                )
            )
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        if key is None:
            return None
        user = request.user
        return user if isinstance(user, User) and user.is_authenticated else None


def anonymous(request: HttpRequest) -> AnonymousUser | None:
    """Lets a public endpoint through without credentials, but not with bad ones."""
    if request.headers.get("Authorization"):
        return None
    return AnonymousUser()


bearer_auth = BearerAuth()
session_auth = SessionAuth()
AUTH: list[Any] = [bearer_auth, session_auth]
OPTIONAL_AUTH: list[Any] = [bearer_auth, session_auth, anonymous]
# OpenAPI: the empty requirement marks credentials as optional on public reads.
OPTIONAL_SECURITY: dict[str, Any] = {"security": [{}]}


def user_of(request: HttpRequest) -> User:
    """The signed-in caller of an endpoint that requires ``AUTH``."""
    user = getattr(request, "auth", None)
    if not isinstance(user, User):
        raise NotAuthenticated(_("Sign in first."))
    return user


def viewer_of(request: HttpRequest) -> User | AnonymousUser:
    """The caller of a public endpoint: a user, or anonymous."""
    user = getattr(request, "auth", None)
    return user if isinstance(user, User) else AnonymousUser()


def token_of(request: HttpRequest) -> ApiToken | None:
    """The API token this request came with, if it came with one."""
    return getattr(request, "api_token", None)
