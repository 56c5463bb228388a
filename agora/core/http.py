"""Request facts shared by the web pages and the API."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The client's address, for rate limits.

    X-Forwarded-For can be written by anybody, so it is read only when the deployment says how many
    proxies of its own stand in front (``AGORA_TRUSTED_PROXIES``): the address the outermost of them saw.
    """
    hops = settings.AGORA_TRUSTED_PROXIES
    if hops > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return str(request.META.get("REMOTE_ADDR") or "")
