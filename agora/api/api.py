"""The REST API under /api/v1/: one NinjaAPI, a router per app, errors mapped once (see errors.py)."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponseBase, HttpResponseNotAllowed
from django.urls import URLPattern, URLResolver, reverse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Router, Swagger

from agora.accounts.api import router as accounts_router
from agora.api import errors
from agora.api.auth import AUTH
from agora.catalog.api import router as catalog_router
from agora.core.errors import NotFound
from agora.feed.api import router as feed_router
from agora.groupbuy.api import router as groupbuy_router
from agora.notifications.api import router as notifications_router
from agora.orders.api import router as orders_router
from agora.payments.api import router as payments_router
from agora.promotions.api import router as promotions_router
from agora.shipping.api import router as shipping_router
from agora.shops.api import router as shops_router
from agora.social.api import router as social_router

DESCRIPTION = """
The Agora API: accounts, shops and the catalog.

**Authentication**: `Authorization: Bearer agora_...` with a token from `POST /api/v1/auth/login`
(or the tokens page of the site). From a browser the session works too; unsafe methods then need
the `X-CSRFToken` header. Public reads work without credentials.

**Errors** are JSON `{"detail": "...", "code": "...", "field": "..."}` with a 4xx status.
**Lists** are paginated with `?page=` and `?page_size=` (at most 100).
**Prices** are decimal strings (`"19.90"`) in the currency given next to them.
"""


def _json_not_allowed(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """ninja answers a method a path does not have with a plain-text 405; ours is JSON like every error."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        if not isinstance(response, HttpResponseNotAllowed):
            return response
        body = errors.error_body(
            _("The %(method)s method is not allowed here.") % {"method": request.method}, "method_not_allowed"
        )
        json_response = api.create_response(request, body, status=405)
        json_response["Allow"] = response["Allow"]
        return json_response

    return wrapper


def api_root(request: HttpRequest, **kwargs: Any) -> HttpResponseBase:
    """/api/v1/ itself: where to read about the API (ninja's own root is an HTML 404 outside DEBUG)."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    links = {
        "docs": request.build_absolute_uri(reverse("api:openapi-view")),
        "openapi": request.build_absolute_uri(reverse("api:openapi-json")),
    }
    return api.create_response(request, links, status=200)


class AgoraAPI(NinjaAPI):
    def _get_urls(self) -> list[URLResolver | URLPattern]:
        urls = []
        for url in super()._get_urls():
            if isinstance(url, URLPattern):
                view = api_root if url.name == "api-root" else url.callback
                url = URLPattern(url.pattern, _json_not_allowed(view), url.default_args, url.name)
            urls.append(url)
        return urls


api = AgoraAPI(
    title="Agora API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=AUTH,
    # Swagger UI is served from ninja's own static files ("ninja" is in INSTALLED_APPS): no CDN.
    docs=Swagger(settings={"persistAuthorization": True}),
)
errors.install(api)


api.add_router("", accounts_router)
api.add_router("", shops_router)
api.add_router("", catalog_router)
api.add_router("", shipping_router)
api.add_router("", orders_router)
api.add_router("", payments_router)
api.add_router("", notifications_router)
api.add_router("", social_router)
api.add_router("", feed_router)
api.add_router("", groupbuy_router)
api.add_router("", promotions_router)

# Registered last so that it only catches what no endpoint matched: an unknown URL is a JSON 404 too.
fallback = Router()


@fallback.api_operation(["GET", "POST", "PUT", "PATCH", "DELETE"], "{path:rest}", auth=None, include_in_schema=False)
def unknown_endpoint(request: HttpRequest, rest: str) -> None:
    raise NotFound(_("No such endpoint: /api/v1/%(path)s") % {"path": rest})


api.add_router("", fallback)
