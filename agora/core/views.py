"""Views that belong to no domain: the health check."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe


@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Says the web process is up, without touching the database or the cache.

    A load balancer polls it often, so it must stay cheap; the benchmarks (bench/) use it as the
    ceiling of the framework itself: the same server and middleware, and no work at all. It is a
    sync view on purpose, so it takes the same path through the ASGI handler as the catalog views.
    """
    return JsonResponse({"status": "ok"})
