"""Startup checks of the feed's settings (``manage.py check`` and every server start)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register


@register()
def feed_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    backend = str(settings.AGORA_FEED_BACKEND or "auto").strip().lower()
    if backend not in ("auto", "database", "redis"):
        errors.append(
            Error(
                f"AGORA_FEED_BACKEND={backend!r} is not a feed backend.",
                hint="Use auto, database or redis.",
                id="feed.E001",
            )
        )
    elif backend == "redis" and not settings.REDIS_URL:
        errors.append(
            Error("AGORA_FEED_BACKEND=redis needs REDIS_URL.", hint="Set REDIS_URL, or use auto.", id="feed.E002")
        )
    if settings.AGORA_TIMELINE_LENGTH < 1 or settings.AGORA_FEED_PAGE_SIZE > settings.AGORA_FEED_MAX_PAGE_SIZE:
        errors.append(
            Error(
                "AGORA_TIMELINE_LENGTH must be at least 1 and AGORA_FEED_PAGE_SIZE at most AGORA_FEED_MAX_PAGE_SIZE.",
                id="feed.E003",
            )
        )
    return errors
